"""What the health report, /metrics, the manual bot's /status and the dashboard read about the whole system,
bundled for the readers that need all of it (writers take only the one module they use)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from teleglas.state.chats import ChatState
from teleglas.state.checks import CheckState
from teleglas.state.claims import DeliveryLedger
from teleglas.state.deadletters import DeadLetters
from teleglas.state.due import DueWork
from teleglas.state.liveness import Liveness


@dataclass(frozen=True)
class SystemState:
    """What the health report, /metrics, /status and the dashboard read about the whole system."""

    redis: redis.Redis
    liveness: Liveness
    dead_letters: DeadLetters
    checks: CheckState
    chats: ChatState
    due: DueWork
    ledger: DeliveryLedger  # messages sent lately

    @classmethod
    def of(cls, client: redis.Redis) -> SystemState:
        return cls(
            client,
            Liveness(client),
            DeadLetters(client),
            CheckState(client),
            ChatState(client),
            DueWork(client),
            DeliveryLedger(client),
        )

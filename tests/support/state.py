"""Every state module over one Redis client, for tests that look at what the system wrote (the product hands
each component only the module it uses)."""

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
class State:
    redis: redis.Redis
    ledger: DeliveryLedger
    chats: ChatState
    dead_letters: DeadLetters
    liveness: Liveness
    checks: CheckState
    due: DueWork

    @classmethod
    def of(cls, client: redis.Redis) -> State:
        return cls(
            client,
            DeliveryLedger(client),
            ChatState(client),
            DeadLetters(client),
            Liveness(client),
            CheckState(client),
            DueWork(client),
        )

"""Every state module over one Redis client, for tests that look at what the system wrote (the product hands
each component only the module it uses)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from teleglas.deliver.ratelimit import Guard, Permit, RateLimiter, RateLimits
from teleglas.model.chat import ChatId
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


def take_lease(client: redis.Redis, part_id: str, chat_id: ChatId, owner: str, lease_s: float) -> bool:
    """A delivery's lease taken the way a sender takes it (the rate limiter's guarded call), under a budget of its
    own that never waits: what another sender, or one that died, leaves behind."""
    limiter = RateLimiter(client, "lease-test-bot", RateLimits(0.0, 0.0, 0.0, 1.0))
    answer = limiter.acquire(Guard("lease-test-bot", part_id, owner, lease_s), chat_id)
    return isinstance(answer, Permit) and answer.granted

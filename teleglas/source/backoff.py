"""Reconnect delays: exponential from a base, capped, jittered so a fleet of listeners does not reconnect in
lockstep, and reset once a connection has stayed healthy long enough to trust the server again."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base_s: float = 2.0
    cap_s: float = 60.0
    jitter: float = 0.25  # each delay is drawn from [raw * (1 - jitter), raw]
    healthy_reset_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def raw_delay(self, attempt: int) -> float:
        return min(self.base_s * 2 ** min(attempt - 1, 30), self.cap_s)

    def next_delay(self) -> float:
        self.attempt += 1
        raw = self.raw_delay(self.attempt)
        return raw * self.rng.uniform(1 - self.jitter, 1)

    def jump_to_cap(self) -> None:
        """For failures that retrying soon cannot fix (a refused key): wait the longest from now on."""
        while self.raw_delay(self.attempt + 1) < self.cap_s:
            self.attempt += 1

    def connection_ended(self, healthy_for_s: float) -> None:
        if healthy_for_s >= self.healthy_reset_s:
            self.attempt = 0

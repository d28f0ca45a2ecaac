"""The beat checks' state: one alert per subject and cooldown whichever beat process asks first, open-interest
samples, and the time of the last successful whale poll (polling mode's sign of life)."""

from __future__ import annotations

from collections.abc import Callable

import redis

from teleglas.state.client import decoded
from teleglas.state.keys import check_claim_key, oi_samples_key, whale_poll_key


class CheckState:
    """Each method one optimistic transaction, one atomic operation or a read."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def update_check_state(
        self, check: str, subject: str, ttl_s: float, update: Callable[[dict[str, str] | None], dict[str, str] | None]
    ) -> dict[str, str] | None:
        """Optimistic transaction on a check's state hash: `update(previous or None)` returns the new state
        (the decision to alert) or None (no alert); two beat processes cannot both decide the same change."""
        key = check_claim_key(check, subject)
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    previous = decoded(pipe.hgetall(key)) or None
                    new = update(previous)
                    if new is None:
                        pipe.unwatch()
                        return None
                    if new is previous:
                        pipe.unwatch()
                        return new
                    pipe.multi()
                    pipe.delete(key)
                    pipe.hset(key, mapping=new)
                    pipe.expire(key, max(1, int(ttl_s)))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def claim_check(self, check: str, subject: str, claimer: str, ttl_s: float) -> bool:
        """One alert per subject and cooldown; the same claimer (a retried or redelivered task) may finish it."""
        key = check_claim_key(check, subject)
        if self.redis.set(key, claimer, nx=True, px=max(1, int(ttl_s * 1000))):
            return True
        return self.redis.get(key) == claimer.encode()

    def add_oi_sample(
        self, symbol: str, at: float, open_interest_usd: float, keep_s: float
    ) -> list[tuple[float, float]]:
        """Records a sample and returns the samples of the last `keep_s` seconds, oldest first."""
        key = oi_samples_key(symbol)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {f"{at:.3f}|{open_interest_usd!r}": at})
            pipe.zremrangebyscore(key, "-inf", at - keep_s)
            pipe.expire(key, int(keep_s) + 60)
            pipe.zrange(key, 0, -1, withscores=True)
            *_, samples = pipe.execute()
        return [(score, float(member.decode().split("|", 1)[1])) for member, score in samples]

    def mark_whale_poll(self, at: float, ttl_s: int) -> None:
        """A successful REST whale poll: polling mode's sign of life for the health report."""
        self.redis.set(whale_poll_key(), f"{at:.3f}", ex=ttl_s)

    def last_whale_poll(self) -> float | None:
        value = self.redis.get(whale_poll_key())
        return float(value) if value is not None else None

"""Budgets per minute shared by every process: CoinGlass REST requests, the manual bot's commands per user; and
the short shared cache of REST answers."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from teleglas.state.keys import command_count_key, rest_budget_key, rest_cache_key, rest_plan_limit_key

PLAN_LIMIT_TTL_S = 3600  # a plan change shows in the next answer; an idle hour forgets the old one

# CoinGlass's count of the key's requests may be higher than ours (another tool sharing the key): ours follows it.
_RAISE_TO = """
local used = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > current then redis.call('SET', KEYS[1], used, 'EX', 120) end
return 0
"""


def _count_in_minute(client: redis.Redis, key: str) -> int:
    with client.pipeline(transaction=True) as pipe:
        used, _ = pipe.incr(key).expire(key, 120).execute()
    return int(used)


class RestBudget:
    """One budget per minute for the CoinGlass key, whatever process asks, and the plan's limit as CoinGlass
    reports it in its rate-limit headers."""

    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time):
        self.redis = client
        self._clock = clock
        self._raise_to = client.register_script(_RAISE_TO)

    def _minute_key(self) -> str:
        return rest_budget_key(int(self._clock() // 60))

    def take(self, per_minute: int) -> bool:
        """One request from this minute's budget, shared by every process; False when it is used up."""
        return _count_in_minute(self.redis, self._minute_key()) <= per_minute

    def plan_limit(self) -> int | None:
        value = self.redis.get(rest_plan_limit_key())
        return int(value) if value is not None else None

    def observe(self, plan_limit: int | None, used: int | None) -> None:
        """What an answer's headers said: the plan's requests per minute, and how many the key has used."""
        if plan_limit is not None:
            self.redis.set(rest_plan_limit_key(), plan_limit, ex=PLAN_LIMIT_TTL_S)
        if used is not None:
            self._raise_to(keys=[self._minute_key()], args=[used])


class RestCache:
    def __init__(self, client: redis.Redis):
        self.redis = client

    def get(self, request: str) -> bytes | None:
        return self.redis.get(rest_cache_key(request))

    def put(self, request: str, value: str, ttl_s: float) -> None:
        self.redis.set(rest_cache_key(request), value, px=max(1, int(ttl_s * 1000)))


class CommandBudget:
    """The manual bot's commands per user and minute."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def count(self, user_id: int, now: float) -> int:
        """Counts a command against the user's budget; returns how many they sent this minute, this one included."""
        return _count_in_minute(self.redis, command_count_key(user_id, int(now // 60)))

"""Budgets per minute shared by every process: CoinGlass REST requests, the manual bot's commands per user; and
the short shared cache of REST answers."""

from __future__ import annotations

import time

import redis

from teleglas.state.keys import command_count_key, rest_budget_key, rest_cache_key


def _count_in_minute(client: redis.Redis, key: str) -> int:
    with client.pipeline(transaction=True) as pipe:
        used, _ = pipe.incr(key).expire(key, 120).execute()
    return int(used)


class RestBudget:
    """One budget per minute for the CoinGlass key, whatever process asks."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def take(self, per_minute: int) -> bool:
        """One request from this minute's budget, shared by every process; False when it is used up."""
        return _count_in_minute(self.redis, rest_budget_key(int(time.time() // 60))) <= per_minute


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

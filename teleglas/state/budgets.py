"""Budgets per minute shared by every process: CoinGlass REST requests (the alert system's and the manual bot's
share of them, under the plan's limit as CoinGlass reports it), the manual bot's messages per user; and the short
shared cache of REST answers."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from teleglas.state.keys import (
    command_count_key,
    manual_rest_budget_key,
    rest_budget_key,
    rest_cache_key,
    rest_plan_limit_key,
)

BUDGET_TTL_S = 120
PLAN_LIMIT_TTL_S = 3600  # a plan change shows in the next answer; an idle hour forgets the old one

# KEYS[1]: every process's requests this minute; KEYS[2], for the manual bot only: its own. ARGV: cost, the
# requests per minute, the manual bot's cap, the keys' lifetime. Nothing is counted when the request is refused.
_TAKE = """
local cost, per_minute = tonumber(ARGV[1]), tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[1]) or '0') + cost > per_minute then return 0 end
if KEYS[2] then
  if tonumber(redis.call('GET', KEYS[2]) or '0') + cost > tonumber(ARGV[3]) then return 0 end
  redis.call('INCRBY', KEYS[2], cost)
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# CoinGlass's count of the key's requests may be higher than ours (another tool sharing the key): ours follows it.
_RAISE_TO = """
local used = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > current then redis.call('SET', KEYS[1], used, 'EX', ARGV[2]) end
return 0
"""


def _count_in_minute(client: redis.Redis, key: str) -> int:
    with client.pipeline(transaction=True) as pipe:
        used, _ = pipe.incr(key).expire(key, BUDGET_TTL_S).execute()
    return int(used)


class RestBudget:
    """The CoinGlass key's requests per minute, whatever process asks. The alert system (beat's whale fallback,
    funding and open-interest checks) may use all of them; the manual bot, whose market commands any Telegram
    user may send, at most `manual_share` of them, so the alert system always keeps the rest."""

    def __init__(
        self, client: redis.Redis, *, manual_share: float | None = None, clock: Callable[[], float] = time.time
    ):
        """`manual_share` given: this is the manual bot's budget."""
        self.redis = client
        self.manual_share = manual_share
        self._clock = clock
        self._take = client.register_script(_TAKE)
        self._raise_to = client.register_script(_RAISE_TO)

    def _minute(self) -> int:
        return int(self._clock() // 60)

    def take(self, per_minute: int) -> bool:
        """One request from this minute's budget; False when it (or the manual bot's share) is used up."""
        minute = self._minute()
        if self.manual_share is None:
            return bool(self._take(keys=[rest_budget_key(minute)], args=[1, per_minute, 0, BUDGET_TTL_S]))
        keys = [rest_budget_key(minute), manual_rest_budget_key(minute)]
        return bool(self._take(keys=keys, args=[1, per_minute, self.manual_cap(per_minute), BUDGET_TTL_S]))

    def left(self, per_minute: int) -> int:
        """Requests this budget may still make this minute."""
        minute = self._minute()
        used, manual = (int(v or 0) for v in self.redis.mget(rest_budget_key(minute), manual_rest_budget_key(minute)))
        left = per_minute - used
        return max(0, left if self.manual_share is None else min(left, self.manual_cap(per_minute) - manual))

    def manual_cap(self, per_minute: int) -> int:
        return int(per_minute * (self.manual_share or 0))

    def plan_limit(self) -> int | None:
        value = self.redis.get(rest_plan_limit_key())
        return int(value) if value is not None else None

    def observe(self, plan_limit: int | None, used: int | None) -> None:
        """What an answer's headers said: the plan's requests per minute, and how many the key has used."""
        if plan_limit is not None:
            self.redis.set(rest_plan_limit_key(), plan_limit, ex=PLAN_LIMIT_TTL_S)
        if used is not None:
            self._raise_to(keys=[rest_budget_key(self._minute())], args=[used, BUDGET_TTL_S])


class RestCache:
    def __init__(self, client: redis.Redis):
        self.redis = client

    def get(self, request: str) -> bytes | None:
        return self.redis.get(rest_cache_key(request))

    def put(self, request: str, value: str, ttl_s: float) -> None:
        self.redis.set(rest_cache_key(request), value, px=max(1, int(ttl_s * 1000)))


class CommandBudget:
    """The manual bot's answered messages per user and minute: commands, unknown commands and plain text alike."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def count(self, user_id: int, now: float) -> int:
        """Counts a message against the user's budget; returns how many this minute, this one included."""
        return _count_in_minute(self.redis, command_count_key(user_id, int(now // 60)))

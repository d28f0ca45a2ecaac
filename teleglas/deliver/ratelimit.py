"""One send budget for every worker of a bot, kept in Redis: ~25/s per bot, 1/s per chat, 20/min per group.

One Lua call per send attempt decides, atomically and on Redis's clock (so worker clocks never matter):
- the earliest moment this send may start: after the bot's last send + its interval, after the chat's last
  send + its interval, and after any 429 pause of the bot;
- a place in the chat's queue: the first attempt reserves the chat's next free slot, so a burst to one chat
  leaves in the order it arrived and each waiting task knows when to come back (one reschedule, not a
  thundering herd re-polling every second). A held slot that a pause or a long delay overtook is replaced
  by a fresh one.
The answer is "go after a short sleep" (at most TELEGRAM_MAX_INLINE_WAIT) or "come back in N s", which the
task turns into due work in Redis instead of sleeping in a worker slot. Each call carries a send's Guard: the same
call first checks its route and its part's delivery, and a grant takes the part's lease (see Guard).

Groups and channels (negative ids, @names) are spaced by the stricter of the chat and group limits. A margin
is added to chat and group spacing: the limiter sees the start of a send, Telegram its arrival, and the
network between them is not perfectly even.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import redis

from teleglas.model.chat import ChatId, ChatSpacing, parse_chat_id
from teleglas.settings import Settings
from teleglas.state import keys
from teleglas.state.claims import DeliveryState, lease_value, parse_delivery

# KEYS 1-4 and ARGV 1-5: the budget. KEYS 5-8 and ARGV 6-8, the guard: the bot's refused-token flag, the chat
# migrations, the chat's disabled flag, the part's delivery; the chat's field in the migrations, the lease's value
# and its length in ms. A failed condition answers before the budget is touched.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[5]) == 1 then return {'token_invalid'} end
local moved = redis.call('HGET', KEYS[6], ARGV[6])
if moved then return {'migrated', moved} end
if redis.call('EXISTS', KEYS[7]) == 1 then return {'disabled'} end
local delivery = redis.call('GET', KEYS[8])
if delivery then return {'delivery', delivery, redis.call('PTTL', KEYS[8])} end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local bot_interval = tonumber(ARGV[1])
local chat_interval = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local slot = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local gate = now
local v = tonumber(redis.call('GET', KEYS[2]))
if v and v > gate then gate = v end
v = tonumber(redis.call('GET', KEYS[1]))
if v and v + bot_interval > gate then gate = v + bot_interval end
v = tonumber(redis.call('GET', KEYS[3]))
if v and v + chat_interval > gate then gate = v + chat_interval end
if slot == nil or gate > slot + chat_interval then
  slot = gate
  v = tonumber(redis.call('GET', KEYS[4]))
  if v and v > slot then slot = v end
  redis.call('SET', KEYS[4], string.format('%.6f', slot + chat_interval),
    'EX', math.ceil(slot - now + chat_interval) + ttl)
end
local start = math.max(gate, slot)
local granted = 0
if start - now <= max_wait then
  granted = 1
  redis.call('SET', KEYS[1], string.format('%.6f', start), 'EX', ttl)
  redis.call('SET', KEYS[3], string.format('%.6f', start), 'EX', ttl)
  redis.call('SET', KEYS[8], ARGV[7], 'PX', ARGV[8])
end
return {'permit', granted, string.format('%.6f', start - now), string.format('%.6f', slot),
  string.format('%.6f', start)}
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < until_ then
  redis.call('SET', KEYS[1], string.format('%.6f', until_), 'EX', math.ceil(tonumber(ARGV[1])) + 60)
  return string.format('%.6f', tonumber(ARGV[1]))
end
return string.format('%.6f', current - now)
"""

# State outlives an idle minute only in the chat queue horizon, which carries its own TTL.
_KEY_TTL_S = 60


@dataclass(frozen=True, slots=True)
class RateLimits:
    bot_interval_s: float
    chat_interval_s: float
    group_interval_s: float
    max_inline_wait_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        margin = settings.telegram.rate_margin_s
        return cls(
            bot_interval_s=1.0 / settings.telegram.bot_per_s,
            chat_interval_s=settings.telegram.chat_interval_s + margin,
            group_interval_s=max(settings.telegram.chat_interval_s, 60.0 / settings.telegram.group_per_min) + margin,
            max_inline_wait_s=settings.telegram.max_inline_wait_s,
        )

    @property
    def spacing(self) -> ChatSpacing:
        """Also what the digest gate (teleglas.decide.fanout) waits for, so both agree on a chat's spacing."""
        return ChatSpacing(self.chat_interval_s, self.group_interval_s)


@dataclass(frozen=True, slots=True)
class Permit:
    granted: bool  # True: start sending after `wait_s` (a short sleep); False: come back in `wait_s`
    wait_s: float
    slot: float  # this send's place in the chat's queue (Redis time), to hand back on the next attempt
    starts_at: float  # when this send may start, on Redis's clock: what the spacing is kept on


@dataclass(frozen=True, slots=True)
class Guard:
    """What must hold before a part's send, checked inside the budget's own atomic call so that a send costs one
    Redis round trip before its request: the bot's token not refused, the chat neither migrated nor disabled,
    the part neither sent nor in flight elsewhere. A grant then takes the part's lease for `owner`, in the same
    call: no slot is spent on a send that another copy of the task is making."""

    bot_key: str
    part_id: str
    owner: str
    lease_s: float


class Refusal(Enum):
    TOKEN_INVALID = "token_invalid"
    MIGRATED = "migrated"
    DISABLED = "disabled"
    DELIVERY = "delivery"  # the part was sent, or its lease is held by another sender


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal
    migrated_to: ChatId | None = None
    delivery: DeliveryState | None = None


class RateLimiter:
    def __init__(self, client: redis.Redis, bot_id: str, limits: RateLimits):
        self._bot_id = bot_id
        self._limits = limits
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)

    def acquire(self, guard: Guard, chat_id: ChatId, slot: float | None = None) -> Permit | Refused:
        names = [
            keys.rate_bot_last_key(self._bot_id),
            keys.rate_bot_pause_key(self._bot_id),
            keys.rate_chat_last_key(self._bot_id, chat_id),
            keys.rate_chat_next_key(self._bot_id, chat_id),
            keys.token_invalid_key(guard.bot_key),
            keys.chat_migrations_key(),
            keys.chat_key(chat_id, "disabled"),
            keys.delivery_key(guard.part_id, chat_id),
        ]
        args = [
            f"{self._limits.bot_interval_s:.6f}",
            f"{self._limits.spacing.for_chat(chat_id):.6f}",
            f"{self._limits.max_inline_wait_s:.6f}",
            "" if slot is None else f"{slot:.6f}",
            _KEY_TTL_S,
            str(chat_id),
            lease_value(guard.owner),
            int(guard.lease_s * 1000),
        ]
        kind, *rest = self._acquire(keys=names, args=args)
        if kind == b"permit":
            granted, wait, held, start = rest
            return Permit(bool(granted), max(float(wait), 0.0), float(held), float(start))
        reason = Refusal(kind.decode())
        if reason is Refusal.MIGRATED:
            return Refused(reason, migrated_to=parse_chat_id(rest[0]))
        if reason is Refusal.DELIVERY:
            return Refused(reason, delivery=parse_delivery(rest[0], rest[1]))
        return Refused(reason)

    def pause(self, seconds: float) -> float:
        """Every worker sending for this bot waits `seconds` (Telegram's retry_after); returns the pause left."""
        return float(self._pause(keys=[keys.rate_bot_pause_key(self._bot_id)], args=[f"{max(seconds, 0.0):.6f}"]))

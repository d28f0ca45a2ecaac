"""The alert engine's shared state in Redis: recent windows, cooldowns, folded events, storms and digests.

Each state change is one Lua script, so any number of workers can evaluate events for the same symbol or
chat at once. Every decision is memoized per event (or per alert and chat): a Celery redelivery of a task
that already decided gets the same answer back instead of counting the event a second time. Every key has
a TTL. Key names come from teleglas.state.keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import redis

from teleglas.defines import (
    DIGEST_STORM_POLL_S,
    DIGEST_STORM_QUIET_S,
    DIGEST_STORM_SETTLE_S,
    DIGEST_STORM_WAIT_S,
    KIND_LIQUIDATION,
    LIQUIDATION_SIDES,
    STORM_ALL_SIDES,
)
from teleglas.model.chat import ChatId
from teleglas.state import keys
from teleglas.state.client import run_script_many

_LIB = """
local function push_all(key, items)
  for i = 1, #items, 1000 do
    redis.call('RPUSH', key, unpack(items, i, math.min(i + 999, #items)))
  end
end
local function entry_side_usd(entry)
  local side, usd = string.match(entry, '^[^|]*|([^|]*)|([^|]*)|')
  return side, tonumber(usd) or 0
end
"""

# Times are the caller's `now` (worker clocks; tests can drive them); TTLs only collect garbage.
# KEYS: 1 decision memo, 2 recent window (kind, symbol), 3 storm list, 4 cooldown (until when), 5 folded list,
#       6 recent liquidations of the symbol (whale context; KEYS[2] itself for liquidations), 7 storm start,
#       8 the event's claim, 9 the other side's folded list (a liquidation storm counts both sides; KEYS[5] again
#       for a per-side whale cluster), 10 the open storms (scored by their latest event)
# ARGV: 1 now, 2 entry, 3 side, 4 is_trade, 5 storm window, 6 storm min count, 7 storm min usd,
#       8 cooldown s, 9 horizon s, 10 score window s, 11 memo (and claim) ttl s, 12 keep-after s, 13 grace s,
#       14 claimer
# The first evaluation of an event claims it; the same claimer (a redelivered or retried task) may finish it and
# gets the memoized decision; anyone else's copy is a duplicate and changes nothing.
_ADMIT = (
    _LIB
    + """
if not redis.call('SET', KEYS[8], ARGV[14], 'NX', 'EX', tonumber(ARGV[11]))
    and redis.call('GET', KEYS[8]) ~= ARGV[14] then
  return {'duplicate', '0', '0', '0', '0'}
end
local memo = redis.call('LRANGE', KEYS[1], 0, -1)
if #memo > 0 then return memo end
local now = tonumber(ARGV[1])
local entry, side, is_trade = ARGV[2], ARGV[3], ARGV[4] == '1'
local window, cooldown, keep, grace = tonumber(ARGV[5]), tonumber(ARGV[8]), tonumber(ARGV[12]), tonumber(ARGV[13])
redis.call('ZADD', KEYS[2], now, entry)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[9]))
redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[9])) + keep)
local same, liq_long, liq_short = 0, 0, 0
if is_trade then
  local since = now - tonumber(ARGV[10])
  for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], since, '+inf')) do
    local s = entry_side_usd(e)
    if s == side and e ~= entry then same = same + 1 end
  end
  for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], since, '+inf')) do
    local s, usd = entry_side_usd(e)
    if s == 'LONG' then liq_long = liq_long + usd elseif s == 'SHORT' then liq_short = liq_short + usd end
  end
end
local outcome, due, folded = 'lead', 0, {}
local storm_ttl = math.ceil(window) + keep
local function storm_event()
  redis.call('ZADD', KEYS[10], now, KEYS[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', now - storm_ttl)
  redis.call('EXPIRE', KEYS[10], storm_ttl)
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RPUSH', KEYS[3], entry)
  storm_event()
  outcome = 'storm_fold'
  local started = tonumber(redis.call('GET', KEYS[7])) or now
  if now - started > window + grace then
    -- overdue: the flush task was lost (a crash in a flush, an unpersisted restart); ask for another, and
    -- date the start so that the window ends with it
    redis.call('SET', KEYS[7], tostring(now - window + 1), 'EX', storm_ttl)
    due = 1
  end
else
  local count, total = 0, 0
  for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now - window, '+inf')) do
    local s, usd = entry_side_usd(e)
    if (not is_trade) or s == side then count = count + 1; total = total + usd end
  end
  local until_ = tonumber(redis.call('GET', KEYS[4]))
  if count >= tonumber(ARGV[6]) and total >= tonumber(ARGV[7]) then
    -- the storm takes along what its cooldowns folded and no message has told yet: it arrives with the storm,
    -- not in a summary up to a cooldown later
    for _, key in ipairs({KEYS[5], KEYS[9]}) do
      local waiting = redis.call('LRANGE', key, 0, -1)
      if #waiting > 0 then
        push_all(KEYS[3], waiting)
        redis.call('DEL', key)
      end
    end
    redis.call('RPUSH', KEYS[3], entry)
    redis.call('EXPIRE', KEYS[3], storm_ttl)
    redis.call('SET', KEYS[7], tostring(now), 'EX', storm_ttl)
    storm_event()
    outcome, due = 'storm_start', window
  elseif until_ == nil or now >= until_ then
    redis.call('SET', KEYS[4], tostring(now + cooldown), 'EX', math.ceil(cooldown) + keep)
    folded = redis.call('LRANGE', KEYS[5], 0, -1)
    redis.call('DEL', KEYS[5])
  else
    outcome = 'fold'
    if redis.call('RPUSH', KEYS[5], entry) == 1 then due = until_ - now end
    redis.call('EXPIRE', KEYS[5], math.ceil(cooldown) + keep)
  end
end
local result = {outcome, tostring(due), tostring(same), tostring(liq_long), tostring(liq_short)}
for _, e in ipairs(folded) do result[#result + 1] = e end
push_all(KEYS[1], result)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[11]))
return result
"""
)

# KEYS: 1 source list, 2 taken list (named by the claimer), then optional time keys to set to ARGV[2].
# ARGV: 1 ttl of the taken list, 2 now. The same claimer (a redelivered flush) gets the same entries back.
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.call('LRANGE', KEYS[2], 0, -1) end
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
for i = 3, #KEYS do redis.call('SET', KEYS[i], ARGV[2], 'EX', tonumber(ARGV[1])) end
return redis.call('LRANGE', KEYS[2], 0, -1)
"""

# KEYS: 1 storm list, 2 taken list (named by the claimer), 3 storm start, 4 recent window of (kind, symbol),
#       5 the open storms, 6 when a storm was last taken
# ARGV: 1 ttl of the taken list, 2 now, 3 window s, 4 quiet gaps (0: the whole window), 5 least quiet s,
#       6 side of a per-side window ('' for every side)
# Before its window ends a storm is taken only once its events have been quiet for `quiet gaps` of their average
# gap (over the window, as the start counted them); otherwise the answer is {'wait', seconds until it may end}.
_TAKE_STORM = (
    _LIB
    + """
local function taken()
  local entries = redis.call('LRANGE', KEYS[2], 0, -1)
  table.insert(entries, 1, 'taken')
  return entries
end
if redis.call('EXISTS', KEYS[2]) == 1 then return taken() end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[5], KEYS[1])
  return {'taken'}
end
local now, window, gaps, least = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ends = (tonumber(redis.call('GET', KEYS[3])) or 0) + window
if now < ends then
  local until_ = ends
  if gaps > 0 then
    local first, last, count = nil, nil, 0
    local recent = redis.call('ZRANGEBYSCORE', KEYS[4], now - window, '+inf', 'WITHSCORES')
    for i = 1, #recent, 2 do
      if ARGV[6] == '' or entry_side_usd(recent[i]) == ARGV[6] then
        local at = tonumber(recent[i + 1])
        first = first or at
        last = at
        count = count + 1
      end
    end
    if last then
      local quiet = least
      if count > 1 then quiet = math.max(least, gaps * (last - first) / (count - 1)) end
      until_ = math.min(ends, last + quiet)
    else
      until_ = now
    end
  end
  if until_ > now then return {'wait', tostring(until_ - now)} end
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
redis.call('ZREM', KEYS[5], KEYS[1])
redis.call('SET', KEYS[6], ARGV[2], 'EX', tonumber(ARGV[1]))
return taken()
"""
)

# KEYS: 1 when the chat's pending digest flush was due, 2 the open storms, 3 when a storm was last taken,
#       4 the digest this claimer took (a retried flush that took it already sends it, and never waits)
# ARGV: 1 now, 2 quiet s, 3 most wait s, 4 settle s, 5 poll s
# A digest round that comes due while a cascade is ending waits for its storms (seconds to wait, '0': flush now):
# every open storm has been quiet for `quiet` s, or one was taken within `settle` s (its alert is being routed).
# A storm still taking events means the cascade goes on, and the round is sent as due; it never waits beyond
# `most wait` s past its due time.
_DIGEST_WAIT = """
local now = tonumber(ARGV[1])
local latest = (tonumber(redis.call('GET', KEYS[1])) or now) + tonumber(ARGV[3])
if now >= latest or redis.call('EXISTS', KEYS[4]) == 1 then return '0' end
local newest = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #newest > 0 then
  if now - tonumber(newest[2]) < tonumber(ARGV[2]) then return '0' end
else
  local closed = tonumber(redis.call('GET', KEYS[3]))
  if closed == nil or now - closed >= tonumber(ARGV[4]) then return '0' end
end
return tostring(math.min(tonumber(ARGV[5]), latest - now))
"""

# KEYS: 1 route memo (alert, chat), 2 chat's last direct send, 3 chat's digest buffer, 4 chat's last digest,
#       5 when the pending digest flush is due
# ARGV: 1 now, 2 spacing s, 3 group wait s, 4 group interval s, 5 entry, 6 ttl s, 7 grace s
_ROUTE = """
local now = tonumber(ARGV[1])
local memo = redis.call('GET', KEYS[1])
if memo then
  -- Routed before (a redelivered task): the same answer. If that route asked for the digest flush, ask
  -- again: the first task may have died before publishing it (a second flush finds nothing to send).
  local decision, due_at = string.match(memo, '^([^|]+)|?(.*)$')
  if due_at ~= '' then return {decision, tostring(math.max(0.001, tonumber(due_at) - now))} end
  return {decision, '0'}
end
local decision, due = 'buffered', 0
if redis.call('LLEN', KEYS[3]) > 0 then
  redis.call('RPUSH', KEYS[3], ARGV[5])
  local due_at = tonumber(redis.call('GET', KEYS[5]))
  if due_at == nil or now > due_at + tonumber(ARGV[7]) then
    due = tonumber(ARGV[3])  -- overdue: the flush task was lost; ask for another
    redis.call('SET', KEYS[5], tostring(now + due), 'EX', tonumber(ARGV[6]))
  end
else
  -- Apart by the spacing either way: workers read their clocks before their Redis calls, so an alert routed
  -- after another may carry the earlier time (two pool processes, tens of ms apart under load).
  local last = tonumber(redis.call('GET', KEYS[2]))
  if last == nil or math.abs(now - last) >= tonumber(ARGV[2]) then
    decision = 'direct'
    redis.call('SET', KEYS[2], tostring(math.max(now, last or now)), 'EX', tonumber(ARGV[6]))
  else
    redis.call('RPUSH', KEYS[3], ARGV[5])
    local flushed = tonumber(redis.call('GET', KEYS[4])) or 0
    due = math.max(tonumber(ARGV[3]), flushed + tonumber(ARGV[4]) - now)
    redis.call('SET', KEYS[5], tostring(now + due), 'EX', tonumber(ARGV[6]))
  end
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
redis.call('SET', KEYS[1], due > 0 and (decision .. '|' .. tostring(now + due)) or decision, 'EX', tonumber(ARGV[6]))
return {decision, tostring(due)}
"""


class Outcome(StrEnum):
    """What admission decided for a qualifying event (the Lua script's answer)."""

    LEAD = "lead"  # its own alert
    FOLD = "fold"  # within its cooldown: summarized later
    STORM_START = "storm_start"  # opens a storm or cluster window: one message at its end
    STORM_FOLD = "storm_fold"  # part of an open window
    DUPLICATE = "duplicate"  # another claimer's copy of the event: nothing changed


class Decision(StrEnum):
    """Where routing put an alert for one chat."""

    DIRECT = "direct"  # sent at once
    BUFFERED = "buffered"  # waits in the chat's digest


_OTHER_LIQUIDATION_SIDE = dict(zip(LIQUIDATION_SIDES.values(), reversed(LIQUIDATION_SIDES.values())))

# A flush not done this long after it was due was lost (its task vanished with an unpersisted Redis);
# the next event or alert for the same state asks for another, so nothing waits forever.
FLUSH_GRACE_S = 60


@dataclass(frozen=True, slots=True)
class Admission:
    outcome: Outcome
    flush_due_s: float  # > 0: schedule a flush of the folded list (fold) or the storm (storm_start)
    same_side_whales: int
    liquidations_usd: dict[str, float]  # LONG/SHORT → USD in the score window (whales only)
    folded: list[bytes]  # what a lead takes along: the entries its cooldown folded


@dataclass(frozen=True, slots=True)
class Route:
    decision: Decision
    flush_due_s: float  # > 0: the first buffered alert; schedule the chat's digest


@dataclass(frozen=True, slots=True)
class StormEnd:
    """When an open storm may end: its window, or `quiet_gaps` of its average gap without an event (at least
    `least_quiet_s`); quiet_gaps 0: only its window."""

    window_s: float
    quiet_gaps: float
    least_quiet_s: float


@dataclass(frozen=True, slots=True)
class StormTake:
    entries: list[bytes]  # the storm's events, once it ended (empty: taken already by another, or no storm)
    wait_s: float  # > 0: it goes on; ask again in this many seconds


@dataclass(frozen=True, slots=True)
class Candidate:
    """A qualifying event as admission sees it: its identity and entry, and the limits of its rule."""

    fingerprint: str
    kind: str
    symbol: str
    side: str
    entry: str
    is_trade: bool
    storm_window_s: float
    storm_min_count: int
    storm_min_usd: float
    cooldown_s: float


def _admission(reply: list[bytes]) -> Admission:
    outcome, due, same, liq_long, liq_short, *folded = reply
    return Admission(
        Outcome(outcome.decode()), float(due), int(same), {"LONG": float(liq_long), "SHORT": float(liq_short)}, folded
    )


class EngineStore:
    def __init__(self, client: redis.Redis):
        self.redis = client
        self._admit = client.register_script(_ADMIT)
        self._take = client.register_script(_TAKE)
        self._take_storm = client.register_script(_TAKE_STORM)
        self._route = client.register_script(_ROUTE)
        self._digest_wait = client.register_script(_DIGEST_WAIT)

    def admit(
        self,
        candidates: Sequence[Candidate],
        *,
        claimer: str,
        horizon_s: float,
        score_window_s: float,
        memo_ttl_s: int,
        now: float,
        keep_s: int,
    ) -> list[Admission]:
        """Each candidate's claim and admission, in order, in one round trip for them all (a pipeline of the script:
        every call atomic, each seeing the state the calls before it left, as one call at a time would)."""
        calls = []
        for c in candidates:
            storm_scope = c.side if c.is_trade else STORM_ALL_SIDES
            key_list = [
                keys.decision_key(c.fingerprint),
                keys.recent_key(c.kind, c.symbol),
                keys.storm_key(c.kind, c.symbol, storm_scope),
                keys.cooldown_key(c.kind, c.symbol, c.side),
                keys.folded_key(c.kind, c.symbol, c.side),
                keys.recent_key(KIND_LIQUIDATION, c.symbol),
                keys.storm_started_key(c.kind, c.symbol, storm_scope),
                keys.event_key(c.fingerprint),
                keys.folded_key(
                    c.kind, c.symbol, c.side if c.is_trade else _OTHER_LIQUIDATION_SIDE.get(c.side, c.side)
                ),
                keys.storms_open_key(),
            ]
            args = [
                f"{now:.6f}",
                c.entry,
                c.side,
                "1" if c.is_trade else "0",
                c.storm_window_s,
                c.storm_min_count,
                c.storm_min_usd,
                c.cooldown_s,
                horizon_s,
                score_window_s,
                memo_ttl_s,
                keep_s,
                FLUSH_GRACE_S,
                claimer,
            ]
            calls.append((key_list, args))
        return [_admission(reply) for reply in run_script_many(self.redis, self._admit, calls)]

    def take_folded(self, kind: str, symbol: str, side: str, claimer: str, ttl_s: int, now: float) -> list[bytes]:
        return self._take_list(keys.folded_key(kind, symbol, side), claimer, ttl_s, now)

    def take_storm(
        self, kind: str, symbol: str, scope: str, claimer: str, ttl_s: int, now: float, end: StormEnd
    ) -> StormTake:
        """The storm's entries once its window ended or it went quiet (see _TAKE_STORM), else when to ask again."""
        source = keys.storm_key(kind, symbol, scope)
        reply = self._take_storm(
            keys=[
                source,
                keys.taken_key(source, claimer),
                keys.storm_started_key(kind, symbol, scope),
                keys.recent_key(kind, symbol),
                keys.storms_open_key(),
                keys.storm_closed_key(),
            ],
            args=[
                ttl_s,
                f"{now:.6f}",
                end.window_s,
                end.quiet_gaps,
                end.least_quiet_s,
                "" if scope == STORM_ALL_SIDES else scope,
            ],
        )
        if reply[0] == b"wait":
            return StormTake([], float(reply[1]))
        return StormTake(reply[1:], 0.0)

    def route(
        self,
        alert_id: str,
        chat_id: ChatId,
        entry: str,
        spacing_s: float,
        group_wait_s: float,
        group_interval_s: float,
        ttl_s: int,
        now: float,
    ) -> Route:
        key_list = [
            keys.route_key(alert_id, chat_id),
            keys.digest_last_direct_key(chat_id),
            keys.digest_buffer_key(chat_id),
            keys.digest_flushed_key(chat_id),
            keys.digest_due_key(chat_id),
        ]
        args = [f"{now:.6f}", spacing_s, group_wait_s, group_interval_s, entry, ttl_s, FLUSH_GRACE_S]
        decision, due = self._route(keys=key_list, args=args)
        return Route(Decision(decision.decode()), float(due))

    def digest_wait(self, chat_id: ChatId, claimer: str, now: float) -> float:
        """Seconds the chat's due digest round should wait for ending storms (see _DIGEST_WAIT); 0: flush now."""
        reply = self._digest_wait(
            keys=[
                keys.digest_due_key(chat_id),
                keys.storms_open_key(),
                keys.storm_closed_key(),
                keys.taken_key(keys.digest_buffer_key(chat_id), claimer),
            ],
            args=[f"{now:.6f}", DIGEST_STORM_QUIET_S, DIGEST_STORM_WAIT_S, DIGEST_STORM_SETTLE_S, DIGEST_STORM_POLL_S],
        )
        return float(reply)

    def take_digest(self, chat_id: ChatId, claimer: str, ttl_s: int, now: float) -> list[bytes]:
        """Also stamps the chat's last send and last digest with `now`, so the next alert waits its turn."""
        return self._take_list(
            keys.digest_buffer_key(chat_id),
            claimer,
            ttl_s,
            now,
            keys.digest_last_direct_key(chat_id),
            keys.digest_flushed_key(chat_id),
        )

    def _take_list(self, source: str, claimer: str, ttl_s: int, now: float, *stamp_keys: str) -> list[bytes]:
        return self._take(keys=[source, keys.taken_key(source, claimer), *stamp_keys], args=[ttl_s, f"{now:.6f}"])

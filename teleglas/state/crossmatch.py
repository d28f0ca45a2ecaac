"""One event, however many sources bring it: the gate every process_events batch passes before anything counts
or evaluates its events (the market tape, the engine, storms, history).

Two copies of one event arrive in two ways. The same source twice (two listeners side by side, a replay) gives
the same content: the same identity in the same index entry. CoinGlass and the exchange's own stream give the
same liquidation or trade with a price, size and time of their own: matched within tolerances (defines.MATCH_*)
on exchange, symbol (separators and OKX's -SWAP dropped) and side, each entry pairing with at most one copy from
the other source, the nearest in time. The first copy evaluated is kept, the other dropped and counted.

One Lua call per batch decides every event of it atomically. An event another source of SOURCES (which the
workers read as the listeners do) can bring too is looked up in an index of one hash per (kind, exchange, symbol,
side, time bucket of the time tolerance, source): its own source's bucket (the same event again) and the three
buckets of the one source that can carry it too (CoinGlass for an exchange's event, that exchange for a CoinGlass
event). An event no other source can bring (every event, with one source) only needs its own source's copies:
it is looked up by its whole content in one hash per source and MATCH_ALONE_BUCKET_MS, so a batch reads and
writes such an index in two calls, not one or two per event (with CoinGlass alone, a batch of 100 cost Redis 590
µs and the worker 640 µs with a hash per pair and side, 310 and 360 µs now). Index entries live MATCH_KEEP_S. A
retried or redelivered batch (the same claimer) gets its own answers again.
"""

from __future__ import annotations

import functools
import re

import redis

from teleglas.defines import EXCHANGE_OF_SOURCE, MATCH_ALONE_BUCKET_MS, SOURCE_COINGLASS
from teleglas.model.events import MarketEvent
from teleglas.state.keys import match_alone_key, match_key

KEPT, KEPT_AGAIN, DUPLICATE, MERGED, MERGED_AGAIN = range(5)
PASSED = (KEPT, KEPT_AGAIN)
_NATIVE_SOURCE = {exchange.lower(): source for source, exchange in EXCHANGE_OF_SOURCE.items()}
_SEPARATORS = re.compile(r"[-_/ ]")

# KEYS: every index hash the batch looks at, each once.
# ARGV: 1 claimer, 2 time tolerance ms, 3 relative USD tolerance, 4 keep s,
#   5 the events another source can bring, one a line: "<own bucket>[,<other source's buckets>] <identity>",
#     buckets as positions in KEYS, identity "time|usd|price" (one string: one argument instead of several an event),
#   6 the events no other source can bring, by hash: "<position in KEYS> <how many>" for each, 7 their contents
#     in that order, one a line (a line break or backslash in a name escaped: see _content).
# Entry values: claimer|state, state k (kept), p (kept and paired with another source's copy), m (dropped: merged
# into another source's copy). Each hash written is given its lifetime once, at the end.
# Returns two strings of one status digit an event, for ARGV 5's events and ARGV 6's, each in order (read back at
# once, not as an array of many replies): 0 kept, 1 kept before by this claimer (a retry), 2 duplicate (of another
# claimer's, or of one earlier in this same batch), 3 merged, 4 merged before by this claimer.
_ADMIT = """
local claimer, tol, rel, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out, met, written = {}, {}, {}
local kept, merged = claimer .. '|k', claimer .. '|m'
for place, ident in string.gmatch(ARGV[5], '([%d,]+) (%S+)') do
  local at, others = string.match(place, '^(%d+),?(.*)$')
  local own, status = KEYS[tonumber(at)], 0
  local mark = own .. '|' .. ident
  if met[mark] then
    status = 2
  else
    local seen = redis.call('HGET', own, ident)
    if seen then
      local owner, state = string.match(seen, '^(.*)|(%a)$')
      if owner ~= claimer then status = 2 elseif state == 'm' then status = 4 else status = 1 end
    else
      local t, usd = string.match(ident, '^([^|]*)|([^|]*)|')
      t, usd = tonumber(t), tonumber(usd)
      local best_key, best_field, best_value, best_dt
      for j in string.gmatch(others, '%d+') do
        local key = KEYS[tonumber(j)]
        local entries = redis.call('HGETALL', key)
        for e = 1, #entries, 2 do
          local value = entries[e + 1]
          if string.sub(value, -1) == 'k' then
            local et, eusd = string.match(entries[e], '^([^|]*)|([^|]*)|')
            local dt = math.abs(tonumber(et) - t)
            eusd = tonumber(eusd)
            if dt <= tol and math.abs(eusd - usd) <= rel * math.max(eusd, usd) and (best_dt == nil or dt < best_dt) then
              best_key, best_field, best_value, best_dt = key, entries[e], value, dt
            end
          end
        end
      end
      if best_key then
        redis.call('HSET', best_key, best_field, string.sub(best_value, 1, -2) .. 'p')
        redis.call('HSET', own, ident, merged)
        status = 3
      else
        redis.call('HSET', own, ident, kept)
      end
      written[own] = true
    end
  end
  met[mark] = true
  out[#out + 1] = status
end
local contents, alone, next_at = {}, {}, 1
for content in string.gmatch(ARGV[7], '[^\\n]+') do contents[#contents + 1] = content end
for at, count in string.gmatch(ARGV[6], '(%d+) (%d+)') do
  local key, last, seen_here = KEYS[tonumber(at)], next_at + tonumber(count) - 1, {}
  while next_at <= last do
    local upto = math.min(next_at + 999, last)  -- unpack's stack: at most 1,000 contents a call
    local values, new = redis.call('HMGET', key, unpack(contents, next_at, upto)), {}
    for i = next_at, upto do
      local content, value, status = contents[i], values[i - next_at + 1], 0
      if seen_here[content] then status = 2
      elseif value == kept then status = 1
      elseif value then status = 2
      else new[#new + 1] = content; new[#new + 1] = kept end
      seen_here[content] = true
      alone[#alone + 1] = status
    end
    if #new > 0 then
      redis.call('HSET', key, unpack(new))
      written[key] = true
    end
    next_at = upto + 1
  end
end
for key in pairs(written) do redis.call('EXPIRE', key, keep) end
return {table.concat(out), table.concat(alone)}
"""


def _content(event: MarketEvent) -> str:
    """What tells one event from another within its source: every field, on one line. A name holding a line break
    or a backslash (nothing parsed from an exchange does, but a queued item can hold anything) has both escaped, so
    no two events share a line."""
    content = f"{event.kind}|{event.exchange}|{event.symbol}|{event.side}|{event.time_ms}|{event.usd!r}|{event.price!r}"
    if "\n" in content or "\\" in content:
        return content.replace("\\", "\\\\").replace("\n", "\\n")
    return content


@functools.lru_cache(maxsize=4096)
def match_symbol(symbol: str) -> str:
    """`BTC-USDT-SWAP`, `BTC_USDT` and `btcusdt` are one pair to the match."""
    return _SEPARATORS.sub("", symbol.upper()).removesuffix("SWAP")


@functools.lru_cache(maxsize=1024)  # asked once an event; bounded, as a queued item can name any exchange
def other_source(source: str, exchange: str, sources: tuple[str, ...]) -> str | None:
    """The one other source of `sources` that can bring the same event: CoinGlass aggregates each exchange's
    stream."""
    other = SOURCE_COINGLASS if source != SOURCE_COINGLASS else _NATIVE_SOURCE.get(exchange.lower())
    return other if other in sources else None


class CrossSourceMatch:
    def __init__(
        self, client: redis.Redis, tolerance_ms: int, usd_tolerance: float, keep_s: int, sources: tuple[str, ...]
    ):
        """`sources`: SOURCES, as the listeners have it; with one source only its own duplicates are looked for."""
        self._admit = client.register_script(_ADMIT)
        self.sources = sources
        self.tolerance_ms = tolerance_ms
        self.usd_tolerance = usd_tolerance
        self.keep_s = keep_s

    def admit(self, sightings: list[tuple[MarketEvent, str]], claimer: str) -> list[int]:
        """One status per (event, source), in order; one round trip for the whole batch."""
        if not sightings:
            return []
        keys: dict[str, int] = {}  # each hash once, by its position in KEYS
        places: dict[tuple[str, str, str, int, int, str], str] = {}
        paired: list[int] = []  # positions in `sightings`
        lines: list[str] = []
        alone: dict[str, tuple[list[int], list[str]]] = {}  # hash -> positions, contents
        tolerance_ms, sources = self.tolerance_ms, self.sources
        for n, (event, source) in enumerate(sightings):
            exchange = event.exchange
            other = other_source(source, exchange, sources)
            if other is None:
                key = match_alone_key(source, event.time_ms // MATCH_ALONE_BUCKET_MS)
                group = alone.get(key)
                if group is None:
                    group = alone[key] = ([], [])
                group[0].append(n)
                group[1].append(_content(event))
                continue
            spot = (event.kind, exchange, event.symbol, event.side, event.time_ms // tolerance_ms, source)
            place = places.get(spot)
            if place is None:
                place = places[spot] = self._place(spot, other, keys)
            paired.append(n)
            lines.append(f"{place} {event.time_ms}|{event.usd!r}|{event.price!r}")
        spec = " ".join(f"{keys.setdefault(key, len(keys) + 1)} {len(group[0])}" for key, group in alone.items())
        contents = "\n".join(content for _, group in alone.values() for content in group)
        args = [claimer, tolerance_ms, self.usd_tolerance, self.keep_s, "\n".join(lines), spec, contents]
        paired_statuses, alone_statuses = self._admit(keys=list(keys), args=args)
        statuses = [0] * len(sightings)
        for n, status in zip(paired, paired_statuses.decode(), strict=True):
            statuses[n] = int(status)
        order = [n for group, _ in alone.values() for n in group]
        for n, status in zip(order, alone_statuses.decode(), strict=True):
            statuses[n] = int(status)
        return statuses

    def _place(self, spot: tuple[str, str, str, int, int, str], other: str, keys: dict[str, int]) -> str:
        """The event's own bucket and the other source's three around it, as positions in KEYS (new ones added
        to `keys`)."""
        kind, exchange, symbol, side, bucket, source = spot
        exchange, symbol = exchange.lower(), match_symbol(symbol)
        own = str(keys.setdefault(match_key(kind, exchange, symbol, side, bucket, source), len(keys) + 1))
        near = [match_key(kind, exchange, symbol, side, b, other) for b in (bucket - 1, bucket, bucket + 1)]
        return ",".join([own, *(str(keys.setdefault(key, len(keys) + 1)) for key in near)])

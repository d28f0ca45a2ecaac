"""One event, however many sources bring it: the gate every process_events batch passes before anything counts
or evaluates its events (the market tape, the engine, storms, history).

Two copies of one event arrive in two ways. The same source twice (two listeners side by side, a replay) gives
the same content: the same identity in the same index entry. CoinGlass and the exchange's own stream give the
same liquidation or trade with a price, size and time of their own: matched within tolerances (defines.MATCH_*)
on exchange, symbol (separators and OKX's -SWAP dropped) and side, each entry pairing with at most one copy from
the other source, the nearest in time. The first copy evaluated is kept, the other dropped and counted.

One Lua call per batch decides every event of it atomically, over an index of one hash per (kind, exchange,
symbol, side, time bucket of the time tolerance, source), which lives MATCH_KEEP_S: an event looks only at its own
source's bucket (the same event again) and at the three buckets of the one source that can carry it too
(CoinGlass for an exchange's event, that exchange for a CoinGlass event), when SOURCES (which the workers read
as the listeners do) has both. A retried or redelivered batch (the same claimer) gets its own answers again.
"""

from __future__ import annotations

import functools
import re

import redis

from teleglas.defines import EXCHANGE_OF_SOURCE, SOURCE_COINGLASS
from teleglas.model.events import MarketEvent
from teleglas.state.keys import match_key

KEPT, KEPT_AGAIN, DUPLICATE, MERGED, MERGED_AGAIN = range(5)
PASSED = (KEPT, KEPT_AGAIN)
_NATIVE_SOURCE = {exchange.lower(): source for source, exchange in EXCHANGE_OF_SOURCE.items()}
_SEPARATORS = re.compile(r"[-_/ ]")

# KEYS: every index bucket the batch looks at, each once.
# ARGV: 1 claimer, 2 time tolerance ms, 3 relative USD tolerance, 4 keep s, 5 the events, one a line:
#       "<own bucket>[,<other source's buckets>] <identity>", buckets as positions in KEYS, identity "time|usd|price"
#       (one string for the batch: the client packs one argument instead of several per event). Entry values:
#       claimer|state, state k (kept), p (kept and paired with another source's copy), m (dropped: merged into
#       another source's copy). Each bucket written is given its lifetime once, at the end.
# Returns one status digit per event, as one string (read back at once, not as an array of many replies): 0 kept,
# 1 kept before by this claimer (a retry), 2 duplicate (of another claimer's, or of one earlier in this same batch),
# 3 merged, 4 merged before by this claimer.
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
    local seen
    if others == '' then
      -- no other source to pair with: claim the entry in one call; read it only when it was there before
      if redis.call('HSETNX', own, ident, kept) == 1 then written[own] = true
      else seen = redis.call('HGET', own, ident) end
    else
      seen = redis.call('HGET', own, ident)
    end
    if seen then
      local owner, state = string.match(seen, '^(.*)|(%a)$')
      if owner ~= claimer then status = 2 elseif state == 'm' then status = 4 else status = 1 end
    elseif others ~= '' then
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
for key in pairs(written) do redis.call('EXPIRE', key, keep) end
return table.concat(out)
"""


@functools.lru_cache(maxsize=4096)
def match_symbol(symbol: str) -> str:
    """`BTC-USDT-SWAP`, `BTC_USDT` and `btcusdt` are one pair to the match."""
    return _SEPARATORS.sub("", symbol.upper()).removesuffix("SWAP")


def other_source(source: str, exchange: str, sources: tuple[str, ...]) -> str | None:
    """The one other source of `sources` that can bring the same event: CoinGlass aggregates each exchange's
    stream."""
    other = SOURCE_COINGLASS if source != SOURCE_COINGLASS else _NATIVE_SOURCE.get(exchange)
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
        keys: dict[str, int] = {}  # each bucket once, by its position in KEYS
        places: dict[tuple[str, str, str, int, int, str], str] = {}
        lines = []
        tolerance_ms = self.tolerance_ms
        for event, source in sightings:
            spot = (event.kind, event.exchange, event.symbol, event.side, event.time_ms // tolerance_ms, source)
            place = places.get(spot)
            if place is None:
                place = places[spot] = self._place(spot, keys)
            lines.append(f"{place} {event.time_ms}|{event.usd!r}|{event.price!r}")
        args = [claimer, tolerance_ms, self.usd_tolerance, self.keep_s, "\n".join(lines)]
        return [int(status) for status in self._admit(keys=list(keys), args=args).decode()]

    def _place(self, spot: tuple[str, str, str, int, int, str], keys: dict[str, int]) -> str:
        """The event's own bucket and the other source's three around it, as positions in KEYS (new ones added
        to `keys`)."""
        kind, exchange, symbol, side, bucket, source = spot
        exchange, symbol = exchange.lower(), match_symbol(symbol)
        own = str(keys.setdefault(match_key(kind, exchange, symbol, side, bucket, source), len(keys) + 1))
        other = other_source(source, exchange, self.sources)
        if other is None:
            return own
        near = [match_key(kind, exchange, symbol, side, b, other) for b in (bucket - 1, bucket, bucket + 1)]
        return ",".join([own, *(str(keys.setdefault(key, len(keys) + 1)) for key in near)])

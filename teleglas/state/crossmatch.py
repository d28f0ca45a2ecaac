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

# KEYS, per event: its own bucket, then the other source's three buckets (none when no other source carries it).
# ARGV: 1 claimer, 2 time tolerance ms, 3 relative USD tolerance, 4 keep s; then per event: number of its KEYS,
#       time ms, usd, identity ("time|usd|price"). Entry values: claimer|state, state k (kept), p (kept and paired
#       with another source's copy), m (dropped: merged into another source's copy).
# Returns one status per event: 0 kept, 1 kept before by this claimer (a retry), 2 duplicate (of another claimer's,
# or of one earlier in this same batch), 3 merged, 4 merged before by this claimer.
_ADMIT = """
local claimer, tol, rel, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out, k, a, met = {}, 1, 5, {}
while a <= #ARGV do
  local nkeys, t, usd, ident = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3]
  a = a + 4
  local own, status = KEYS[k], 0
  local seen = redis.call('HGET', own, ident)
  if met[own .. '|' .. ident] then
    status = 2
  elseif seen then
    local owner, state = string.match(seen, '^(.*)|(%a)$')
    if owner ~= claimer then status = 2 elseif state == 'm' then status = 4 else status = 1 end
  else
    local best_key, best_field, best_value, best_dt
    for j = k + 1, k + nkeys - 1 do
      local entries = redis.call('HGETALL', KEYS[j])
      for e = 1, #entries, 2 do
        local value = entries[e + 1]
        if string.sub(value, -1) == 'k' then
          local et, eusd = string.match(entries[e], '^([^|]*)|([^|]*)|')
          local dt = math.abs(tonumber(et) - t)
          eusd = tonumber(eusd)
          if dt <= tol and math.abs(eusd - usd) <= rel * math.max(eusd, usd) and (best_dt == nil or dt < best_dt) then
            best_key, best_field, best_value, best_dt = KEYS[j], entries[e], value, dt
          end
        end
      end
    end
    if best_key then
      redis.call('HSET', best_key, best_field, string.sub(best_value, 1, -2) .. 'p')
      redis.call('HSET', own, ident, claimer .. '|m')
      status = 3
    else
      redis.call('HSET', own, ident, claimer .. '|k')
    end
    redis.call('EXPIRE', own, keep)
  end
  met[own .. '|' .. ident] = true
  out[#out + 1] = status
  k = k + nkeys
end
return out
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
        keys: list[str] = []
        args: list[str | int | float] = [claimer, self.tolerance_ms, self.usd_tolerance, self.keep_s]
        for event, source in sightings:
            exchange, symbol = event.exchange.lower(), match_symbol(event.symbol)
            bucket = event.time_ms // self.tolerance_ms
            keys.append(match_key(event.kind, exchange, symbol, event.side, bucket, source))
            other = other_source(source, exchange, self.sources)
            if other is not None:
                keys += [
                    match_key(event.kind, exchange, symbol, event.side, b, other)
                    for b in (bucket - 1, bucket, bucket + 1)
                ]
            args += [
                4 if other is not None else 1,
                event.time_ms,
                repr(event.usd),
                f"{event.time_ms}|{event.usd!r}|{event.price!r}",
            ]
        return [int(status) for status in self._admit(keys=keys, args=args)]

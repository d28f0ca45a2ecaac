"""What the stream did, for the dashboard's market view and the charts: USD liquidated by symbol and side per
10 s bucket, the volume-weighted price of each symbol per bucket, and the largest orders (liquidations and whale
trades) of each minute, kept two hours; and the same at 5 minutes and per hour, kept a day and two hours, for
24 h charts and the daily recap.

The workers record every event they evaluate, not only the ones that alert, through the process's RedisBuffer
(one pipeline a second). Buckets follow the event's exchange time, so a backlog still lands where it
happened. A batch Celery redelivers is counted again: the tape is a picture of the market, not an account.
"""

from __future__ import annotations

import functools
import heapq
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from teleglas.defines import KIND_LIQUIDATION
from teleglas.model.charts import LargeOrder, LiquidationBars, SymbolTotals
from teleglas.model.events import MarketEvent
from teleglas.state.buffer import RedisBuffer
from teleglas.state.keys import (
    tape_day_largest_key,
    tape_day_liquidations_key,
    tape_day_prices_key,
    tape_largest_key,
    tape_liquidations_key,
    tape_prices_key,
)

BUCKET_S = 10
KEEP_S = 2 * 3600
LARGEST_PER_MINUTE = 10
DAY_BUCKET_S = 300
DAY_KEEP_S = 26 * 3600
_COUNT_SUFFIX = "|n"
_PRICE_VOLUME, _VOLUME = "pv", "v"  # per symbol: sum of price × USD and of USD, the bucket's VWAP is their ratio
_TAPES = (  # bucket, lifetime and the keys of liquidations and prices: the 10 s tape and the day tape
    (BUCKET_S, KEEP_S, tape_liquidations_key, tape_prices_key),
    (DAY_BUCKET_S, DAY_KEEP_S, tape_day_liquidations_key, tape_day_prices_key),
)


@dataclass(frozen=True, slots=True)
class LiquidationCell:
    symbol: str
    side: str
    usd: float
    count: int


def liquidation_field(symbol: str, side: str) -> str:
    # The side is ours (LONG/SHORT) and goes first; the symbol is outside text and may hold "|".
    return f"{side}|{symbol}"


def parse_liquidation_bucket(fields: dict[bytes, bytes]) -> list[LiquidationCell]:
    """A bucket hash read back; fields this version did not write are skipped."""
    usd: dict[tuple[str, str], float] = {}
    counts: dict[tuple[str, str], int] = {}
    for raw_key, raw_value in fields.items():
        key = raw_key.decode("utf-8", "replace")
        is_count = key.endswith(_COUNT_SUFFIX)
        side, _, symbol = (key[: -len(_COUNT_SUFFIX)] if is_count else key).partition("|")
        try:
            value = float(raw_value)
        except ValueError:
            continue
        if is_count:
            counts[(symbol, side)] = int(value)
        else:
            usd[(symbol, side)] = value
    return [
        LiquidationCell(symbol, side, value, counts.get((symbol, side), 0)) for (symbol, side), value in usd.items()
    ]


def order_member(event: MarketEvent) -> str:
    return json.dumps(
        {
            "kind": event.kind,
            "exchange": event.exchange,
            "symbol": event.symbol,
            "side": event.side_name,
            "usd": event.usd,
            "price": event.price,
            "time_ms": event.time_ms,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def parse_price_bucket(fields: dict[bytes, bytes]) -> dict[str, tuple[float, float]]:
    """symbol → (sum of price × USD, sum of USD) of a price bucket; fields this version did not write are skipped."""
    sums: dict[str, list[float]] = {}
    for raw_key, raw_value in fields.items():
        symbol, _, part = raw_key.decode("utf-8", "replace").rpartition("|")
        try:
            value = float(raw_value)
        except ValueError:
            continue
        if part in (_PRICE_VOLUME, _VOLUME) and symbol:
            sums.setdefault(symbol, [0.0, 0.0])[part == _VOLUME] += value
    return {symbol: (pv, v) for symbol, (pv, v) in sums.items()}


def parse_order(member: bytes | str, score: float) -> LargeOrder | None:
    """A largest-order member read back; None for anything the tape did not write."""
    try:
        order = json.loads(member)
        return LargeOrder(
            str(order["kind"]),
            str(order["exchange"]),
            str(order["symbol"]),
            str(order["side"]),
            float(score),
            float(order["price"]),
            int(order["time_ms"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


class MarketTape:
    def __init__(self, buffer: RedisBuffer):
        self._buffer = buffer

    def record(self, events: Iterable[MarketEvent]) -> None:
        """A batch of events, summed here per bucket first and handed to the buffer at once: a busy worker pays
        a few dict updates per event and one lock per batch."""
        liquidations: dict[tuple[int, str, str], list[float]] = {}  # (10 s bucket, symbol, side) -> [usd, count]
        prices: dict[tuple[int, str], list[float]] = {}  # (10 s bucket, symbol) -> [price x usd, usd]
        orders: dict[int, list[MarketEvent]] = {}  # by minute
        for event in events:
            seconds = event.time_ms // 1000
            bucket = seconds - seconds % BUCKET_S
            usd = float(event.usd)
            if event.kind == KIND_LIQUIDATION:
                cell = liquidations.get(at := (bucket, event.symbol, event.side_name))
                if cell is None:
                    liquidations[at] = [usd, 1.0]
                else:
                    cell[0] += usd
                    cell[1] += 1.0
            if event.price > 0 and usd > 0:
                weighted = prices.get(symbol_at := (bucket, event.symbol))
                if weighted is None:
                    prices[symbol_at] = [float(event.price) * usd, usd]
                else:
                    weighted[0] += float(event.price) * usd
                    weighted[1] += usd
            same_minute = orders.get(seconds // 60)
            if same_minute is None:
                orders[seconds // 60] = [event]
            else:
                same_minute.append(event)
        # Each 10 s bucket's keys on both tapes, named once: a day bucket holds whole 10 s buckets (DAY_BUCKET_S is a
        # multiple of BUCKET_S), so both tapes add up from the same sums.
        tapes: dict[int, tuple[tuple[str, str, int], ...]] = {
            bucket: tuple(
                (liquidations_key(bucket - bucket % bucket_s), prices_key(bucket - bucket % bucket_s), keep_s)
                for bucket_s, keep_s, liquidations_key, prices_key in _TAPES
            )
            for bucket in {at[0] for at in liquidations} | {at[0] for at in prices}
        }
        sums: dict[tuple[str, str], float] = defaultdict(float)
        ttls: dict[str, int] = {}
        for (bucket, symbol, side), (usd, count) in liquidations.items():
            field = liquidation_field(symbol, side)
            counted = field + _COUNT_SUFFIX
            for key, _, keep_s in tapes[bucket]:
                sums[(key, field)] += usd
                sums[(key, counted)] += count
                ttls[key] = keep_s
        for (bucket, symbol), (price_volume, volume) in prices.items():
            price_volume_field, volume_field = f"{symbol}|{_PRICE_VOLUME}", f"{symbol}|{_VOLUME}"
            for _, key, keep_s in tapes[bucket]:
                sums[(key, price_volume_field)] += price_volume
                sums[(key, volume_field)] += volume
                ttls[key] = keep_s
        self._buffer.add_many(sums, ttls)
        hours: dict[int, list[MarketEvent]] = {}
        for minute, candidates in orders.items():
            largest = heapq.nlargest(LARGEST_PER_MINUTE, candidates, key=_usd)
            self._offer(tape_largest_key(minute), largest, KEEP_S)
            hours.setdefault(minute // 60, []).extend(largest)  # an hour's largest are among its minutes' largest
        for hour, candidates in hours.items():
            self._offer(
                tape_day_largest_key(hour), heapq.nlargest(LARGEST_PER_MINUTE, candidates, key=_usd), DAY_KEEP_S
            )

    def _offer(self, key: str, largest: list[MarketEvent], keep_s: int) -> None:
        for event in largest:
            self._buffer.keep_top(
                key, float(event.usd), functools.partial(order_member, event), LARGEST_PER_MINUTE, keep_s
            )


def _usd(event: MarketEvent) -> float:
    return float(event.usd)


class TapeReader:
    """The tape read back for a chart: bars of a span (10 s buckets up to the two hours they are kept, the day
    tape's 5 minutes beyond), merged so a phone-sized picture has at most `max_bars` of them."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def liquidation_bars(
        self, symbols: tuple[str, ...], start_ms: int, end_ms: int, price_symbol: str | None = None, max_bars: int = 90
    ) -> LiquidationBars:
        fine = end_ms - start_ms <= KEEP_S * 1000
        bucket_s = BUCKET_S if fine else DAY_BUCKET_S
        liquidations_key = tape_liquidations_key if fine else tape_day_liquidations_key
        prices_key = tape_prices_key if fine else tape_day_prices_key
        buckets = list(range(start_ms // 1000 // bucket_s * bucket_s, end_ms // 1000 + 1, bucket_s))
        with self.redis.pipeline(transaction=False) as pipe:
            for bucket in buckets:
                pipe.hgetall(liquidations_key(bucket))
                pipe.hgetall(prices_key(bucket))
            replies = pipe.execute()
        wanted = set(symbols)
        factor = max(1, -(-len(buckets) // max_bars))
        starts, longs, shorts, prices = [], [], [], []
        for group in range(0, len(buckets), factor):
            long_usd = short_usd = pv = v = 0.0
            for index in range(group, min(group + factor, len(buckets))):
                for cell in parse_liquidation_bucket(replies[2 * index]):
                    if cell.symbol in wanted:
                        long_usd += cell.usd if cell.side == "LONG" else 0.0
                        short_usd += cell.usd if cell.side == "SHORT" else 0.0
                bucket_pv, bucket_v = parse_price_bucket(replies[2 * index + 1]).get(price_symbol or symbols[0], (0, 0))
                pv, v = pv + bucket_pv, v + bucket_v
            starts.append(buckets[group] * 1000)
            longs.append(long_usd)
            shorts.append(short_usd)
            prices.append(pv / v if v > 0 else None)
        return LiquidationBars(bucket_s * factor, tuple(starts), tuple(longs), tuple(shorts), tuple(prices))

    def day(self, end_ms: int, top: int = 10) -> tuple[list[SymbolTotals], LiquidationBars, list[LargeOrder]]:
        """The 24 h before `end_ms`: liquidations by symbol and side (every symbol, the largest first), every
        symbol's liquidations per quarter hour, and the `top` largest orders."""
        start_ms = end_ms - 24 * 3600_000
        buckets = list(range(start_ms // 1000 // DAY_BUCKET_S * DAY_BUCKET_S, end_ms // 1000 + 1, DAY_BUCKET_S))
        hours = list(range(start_ms // 3600_000, end_ms // 3600_000 + 1))
        with self.redis.pipeline(transaction=False) as pipe:
            for bucket in buckets:
                pipe.hgetall(tape_day_liquidations_key(bucket))
            for hour in hours:
                pipe.zrevrange(tape_day_largest_key(hour), 0, top - 1, withscores=True)
            replies = pipe.execute()
        totals: dict[str, list[float]] = {}
        per_bucket: list[tuple[float, float]] = []
        for fields in replies[: len(buckets)]:
            long_usd = short_usd = 0.0
            for cell in parse_liquidation_bucket(fields):
                row = totals.setdefault(cell.symbol, [0.0, 0.0])
                row[cell.side != "LONG"] += cell.usd
                long_usd += cell.usd if cell.side == "LONG" else 0.0
                short_usd += cell.usd if cell.side == "SHORT" else 0.0
            per_bucket.append((long_usd, short_usd))
        factor = 3  # quarter hours: 96 bars over the day
        timeline = LiquidationBars(
            DAY_BUCKET_S * factor,
            tuple(buckets[i] * 1000 for i in range(0, len(buckets), factor)),
            tuple(sum(p[0] for p in per_bucket[i : i + factor]) for i in range(0, len(buckets), factor)),
            tuple(sum(p[1] for p in per_bucket[i : i + factor]) for i in range(0, len(buckets), factor)),
        )
        orders = [
            order
            for members in replies[len(buckets) :]
            for member, score in members
            if (order := parse_order(member, score)) is not None and start_ms <= order.time_ms <= end_ms
        ]
        by_symbol = sorted(
            (SymbolTotals(symbol, long_usd, short_usd) for symbol, (long_usd, short_usd) in totals.items()),
            key=lambda row: (-(row.long_usd + row.short_usd), row.symbol),
        )
        return by_symbol, timeline, sorted(orders, key=lambda o: (-o.usd, -o.time_ms))[:top]

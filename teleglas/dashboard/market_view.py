"""The market as the stream showed it, from the tape the workers record (teleglas.state.tape): liquidations
by symbol and side over the last 5 minutes and hour, USD liquidated per 10 s, the largest orders of the hour.

Buckets older than FINAL_AFTER_S are kept in memory once read: events that late are rare, and an hour of
buckets need not cross the network every refresh.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from teleglas.state.keys import tape_largest_key, tape_liquidations_key
from teleglas.state.tape import BUCKET_S, LiquidationCell, parse_liquidation_bucket

HOUR_S = 3600
TIMELINE_S = 30 * 60
FINAL_AFTER_S = 300
TOP_SYMBOLS = 12
TOP_ORDERS = 10


def by_symbol(buckets: list[list[LiquidationCell]], top: int = TOP_SYMBOLS) -> list[dict[str, Any]]:
    """Long and short USD and counts per symbol over the buckets, the largest totals first."""
    totals: dict[str, dict[str, Any]] = {}
    for cells in buckets:
        for cell in cells:
            row = totals.setdefault(cell.symbol, {"symbol": cell.symbol, "long_usd": 0.0, "short_usd": 0.0, "count": 0})
            row["long_usd" if cell.side == "LONG" else "short_usd"] += cell.usd
            row["count"] += cell.count
    return sorted(totals.values(), key=lambda r: (-(r["long_usd"] + r["short_usd"]), r["symbol"]))[:top]


def timeline(buckets: dict[int, list[LiquidationCell]], start: int, end: int) -> list[dict[str, Any]]:
    points = []
    for bucket in range(start, end + 1, BUCKET_S):
        cells = buckets.get(bucket, [])
        points.append(
            {
                "t": bucket,
                "long_usd": sum(c.usd for c in cells if c.side == "LONG"),
                "short_usd": sum(c.usd for c in cells if c.side == "SHORT"),
            }
        )
    return points


def largest_orders(
    raw_sets: list[list[tuple[bytes, float]]], since_ms: int, top: int = TOP_ORDERS
) -> list[dict[str, Any]]:
    """The biggest orders across the minute sets; members that are not what the tape writes are skipped."""
    orders = []
    for members in raw_sets:
        for member, score in members:
            try:
                order = json.loads(member)
                row: dict[str, Any] = {
                    "kind": str(order["kind"]),
                    "exchange": str(order["exchange"]),
                    "symbol": str(order["symbol"]),
                    "side": str(order["side"]),
                    "usd": float(score),
                    "price": float(order["price"]),
                    "time_ms": int(order["time_ms"]),
                }
            except (KeyError, TypeError, ValueError):
                continue
            if row["time_ms"] >= since_ms:
                orders.append(row)
    return sorted(orders, key=lambda o: (-o["usd"], -o["time_ms"]))[:top]


class MarketView:
    def __init__(self, client: redis.Redis):
        self.redis = client
        self._final: dict[int, list[LiquidationCell]] = {}

    def read(self, now: float) -> dict[str, Any]:
        newest = int(now) // BUCKET_S * BUCKET_S
        hour_start = newest - HOUR_S + BUCKET_S
        wanted = [b for b in range(hour_start, newest + 1, BUCKET_S) if b not in self._final]
        minutes = range(int(now - HOUR_S) // 60, int(now) // 60 + 1)
        with self.redis.pipeline(transaction=False) as pipe:
            for bucket in wanted:
                pipe.hgetall(tape_liquidations_key(bucket))
            for minute in minutes:
                pipe.zrevrange(tape_largest_key(minute), 0, TOP_ORDERS - 1, withscores=True)
            replies = pipe.execute()
        buckets = dict(self._final)
        for bucket, fields in zip(wanted, replies):
            buckets[bucket] = parse_liquidation_bucket(fields)
            if bucket < now - FINAL_AFTER_S:
                self._final[bucket] = buckets[bucket]
        for old in [b for b in self._final if b < hour_start]:
            del self._final[old]
        five_min = [cells for b, cells in buckets.items() if b + BUCKET_S > now - 300]
        hour = [cells for b, cells in buckets.items() if b >= hour_start]
        return {
            "bucket_s": BUCKET_S,
            "liquidations_5m": by_symbol(five_min),
            "liquidations_1h": by_symbol(hour),
            "timeline": timeline(buckets, newest - TIMELINE_S + BUCKET_S, newest),
            "largest_orders_1h": largest_orders(replies[len(wanted) :], int((now - HOUR_S) * 1000)),
        }

"""Price candles for the emulator's `/api/futures/price/history`: a deterministic path per pair (a base price,
a slow wave and a faster one), so any minute of the past has a price and the same request always gets the
same answer. Rows are `{"time", "open", "high", "low", "close", "volume_usd"}`, numbers as strings, as the
page's example shows them (https://docs.coinglass.com/reference/price-ohlc-history; `limit` at most 1000).
"""

from __future__ import annotations

import math
from typing import Any

INTERVAL_MINUTES = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "4h": 240,
    "6h": 360,
    "8h": 480,
    "12h": 720,
    "1d": 1440,
}
DEFAULT_LIMIT = 1000
MAX_LIMIT = 1000


class CandleRequestError(ValueError):
    """A parameter the real endpoint would refuse; the text is the envelope's `msg`."""


def price_at(spec: dict[str, float], minute: float) -> float:
    """The pair's price at `minute` (minutes since the epoch)."""
    base = float(spec["base"])
    slow = float(spec.get("wave_pct", 1.0)) / 100 * math.sin(2 * math.pi * minute / float(spec.get("period_min", 240)))
    fast = float(spec.get("ripple_pct", 0.2)) / 100 * math.sin(2 * math.pi * minute / float(spec.get("ripple_min", 7)))
    return base * (1 + slow + fast)


def _decimal(price: float) -> str:
    """Eight significant digits: $56,745.123 and $0.12361234 alike."""
    return f"{price:.8g}"


def candles(spec: dict[str, float], query: dict[str, str], now_ms: int) -> list[dict[str, Any]]:
    interval = query.get("interval", "")
    if interval not in INTERVAL_MINUTES:
        raise CandleRequestError(f"interval {interval!r} not supported")
    try:
        limit = min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        end_ms = min(int(query.get("end_time", now_ms)), now_ms)
        start_ms = int(query["start_time"]) if "start_time" in query else None
    except ValueError:
        raise CandleRequestError("start_time, end_time and limit must be integers") from None
    step = INTERVAL_MINUTES[interval]
    last = end_ms // 60_000 // step * step
    first = last - (limit - 1) * step
    if start_ms is not None:
        first = max(first, -(-start_ms // 60_000 // step) * step)
    rows = []
    now_minute = now_ms / 60_000  # the newest candle is still open: it ends at the price of now
    for minute in range(first, last + 1, step):
        points = [price_at(spec, min(minute + i, now_minute)) for i in range(step + 1)]
        rows.append(
            {
                "time": minute * 60_000,
                "open": _decimal(points[0]),
                "high": _decimal(max(points)),
                "low": _decimal(min(points)),
                "close": _decimal(points[-1]),
                "volume_usd": f"{spec['base'] * 1000 * step:.2f}",
            }
        )
    return rows

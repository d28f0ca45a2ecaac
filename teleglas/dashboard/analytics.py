"""What the alerts have been worth: pure computations over the alert history (teleglas.state.history), so
each can be tested without Redis. The dashboard and the price-move beat task call them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from teleglas.defines import KIND_LIQUIDATION, KIND_SYSTEM, KIND_TRADE, KIND_WHALE_POSITION
from teleglas.source.coinglass.rest_records import Candle
from teleglas.state.history import AlertRecord, DigestRecord, PriceMove, SentRecord

MOVE_WINDOWS_MIN = (5, 15, 60)
CANDLE_MS = 60_000
HOUR_MS = 3_600_000
PRICED_KINDS = (KIND_LIQUIDATION, KIND_TRADE, KIND_WHALE_POSITION)
# The way each side's orders push the price: liquidated longs are sold, liquidated shorts bought.
_PRESSURE = {
    (KIND_LIQUIDATION, "LONG"): -1,
    (KIND_LIQUIDATION, "SHORT"): 1,
    (KIND_TRADE, "BUY"): 1,
    (KIND_TRADE, "SELL"): -1,
    (KIND_WHALE_POSITION, "LONG"): 1,
    (KIND_WHALE_POSITION, "SHORT"): -1,
}


def percentiles(samples: Iterable[float], points: tuple[int, ...] = (50, 95, 99)) -> dict[int, float | None]:
    """Nearest-rank percentiles: each is a value that occurred, never an interpolation."""
    ordered = sorted(samples)
    if not ordered:
        return dict.fromkeys(points)
    return {p: ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in points}


def pressure(kind: str, side: str) -> int:
    """+1 when the alert's orders push the price up, -1 down, 0 unknown."""
    return _PRESSURE.get((kind, side), 0)


def price_moves(
    price: float, event_ms: int, candles: list[Candle], now_ms: int, windows_min: tuple[int, ...] = MOVE_WINDOWS_MIN
) -> dict[int, PriceMove]:
    """The move from `price` to the close of the 1-minute candle holding event time + each window, for the
    windows whose candle has closed and is present."""
    if price <= 0:
        return {}
    by_open = {c.open_ms: c for c in candles}
    moves = {}
    for minutes in windows_min:
        opened = _candle_open(event_ms + minutes * 60_000)
        candle = by_open.get(opened)
        if candle is None or opened + CANDLE_MS > now_ms:
            continue
        moves[minutes] = PriceMove(minutes, candle.close, (candle.close - price) / price * 100)
    return moves


def moves_due(
    record: AlertRecord, known: dict[int, PriceMove], now_ms: int, windows_min: tuple[int, ...] = MOVE_WINDOWS_MIN
) -> tuple[int, ...]:
    """The windows of an alert still to measure whose candle has closed by now."""
    if record.kind not in PRICED_KINDS or not record.price or not record.event_ms:
        return ()
    return tuple(
        m for m in windows_min if m not in known and _candle_open(record.event_ms + m * 60_000) + CANDLE_MS <= now_ms
    )


def _candle_open(at_ms: int) -> int:
    return at_ms - at_ms % CANDLE_MS


def first_deliveries(
    alerts: dict[str, AlertRecord], digests: dict[str, DigestRecord], sent: Iterable[SentRecord]
) -> dict[tuple[str, str], int]:
    """(alert id, chat) → when Telegram first accepted a message carrying the alert, alone or in a digest."""
    first: dict[tuple[str, str], int] = {}
    for record in sent:
        digest = digests.get(record.alert_id)
        for alert_id in digest.covers if digest is not None else (record.alert_id,):
            if alert_id in alerts:
                key = (alert_id, str(record.chat_id))
                first[key] = min(first.get(key, record.sent_ms), record.sent_ms)
    return first


def delivery_latencies(
    alerts: dict[str, AlertRecord], digests: dict[str, DigestRecord], sent: Iterable[SentRecord]
) -> dict[str, list[float]]:
    """Seconds from the quoted event's exchange time to Telegram accepting it, per chat, by alert form. Single
    alerts are the headline figure; summaries and storms wait for their window by design."""
    latencies: dict[str, list[float]] = defaultdict(list)
    for (alert_id, _chat), sent_ms in first_deliveries(alerts, digests, sent).items():
        record = alerts[alert_id]
        if record.event_ms:
            latencies[record.form].append(max(0.0, (sent_ms - record.event_ms) / 1000))
    return dict(latencies)


def alert_counts(alerts: Iterable[AlertRecord], since_ms: int, now_ms: int, top: int = 10) -> dict:
    """Alerts per kind, per symbol (the `top` busiest) and per hour and kind, from `since_ms` on."""
    by_kind: Counter[str] = Counter()
    by_symbol: Counter[str] = Counter()
    by_hour: dict[int, Counter[str]] = {
        hour: Counter() for hour in range(since_ms - since_ms % HOUR_MS, now_ms + 1, HOUR_MS)
    }
    for record in alerts:
        if record.kind == KIND_SYSTEM or record.decided_ms < since_ms:
            continue
        by_kind[record.kind] += 1
        by_symbol[record.symbol] += 1
        by_hour.setdefault(record.decided_ms - record.decided_ms % HOUR_MS, Counter())[record.kind] += 1
    return {
        "by_kind": dict(by_kind.most_common()),
        "by_symbol": [{"symbol": symbol, "alerts": n} for symbol, n in by_symbol.most_common(top)],
        "by_hour": [{"hour_ms": hour, "by_kind": dict(counts)} for hour, counts in sorted(by_hour.items())],
    }


def suppression_totals(hourly: Iterable[dict[tuple[str, ...], float]]) -> dict[str, int]:
    """Sums the hourly `teleglas_suppressed` hashes (reason → count) of a window."""
    totals: Counter[str] = Counter()
    for fields in hourly:
        for (reason, *_), value in fields.items():
            totals[reason] += int(value)
    return dict(totals)


def move_summary(
    records: Iterable[AlertRecord],
    moves: dict[str, dict[int, PriceMove]],
    windows_min: tuple[int, ...] = MOVE_WINDOWS_MIN,
) -> dict[int, dict]:
    """Per window: how many alerts were measured, their mean absolute move, and the share that moved the way
    the alert's orders push the price."""
    summary = {}
    for minutes in windows_min:
        measured = [(r, moves[r.alert_id][minutes]) for r in records if minutes in moves.get(r.alert_id, {})]
        directed = [(r, m) for r, m in measured if pressure(r.kind, r.side) != 0 and m.pct != 0]
        with_pressure = sum(1 for r, m in directed if (m.pct > 0) == (pressure(r.kind, r.side) > 0))
        summary[minutes] = {
            "measured": len(measured),
            "mean_abs_pct": sum(abs(m.pct) for _, m in measured) / len(measured) if measured else None,
            "with_pressure_share": with_pressure / len(directed) if directed else None,
        }
    return summary

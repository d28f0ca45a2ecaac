"""The page's analytics and alert feed, assembled from the mirrored history (teleglas.dashboard.analytics computes)."""

from __future__ import annotations

from typing import Any

from teleglas.dashboard import analytics
from teleglas.dashboard.price_moves import LOOKBACK_S
from teleglas.ops.metrics import SUPPRESSED, parse_fields
from teleglas.state.history import AlertHistory, AlertRecord, DigestRecord, PriceMove, SentRecord
from teleglas.state.keys import hourly_metric_key

WINDOW_H = 24
FEED_SIZE = 50
MOVES_LISTED = 50
TEXT_SHOWN = 600


def alert_feed(
    alerts: dict[str, AlertRecord], digests: dict[str, DigestRecord], newest_sent: list[SentRecord]
) -> list[dict[str, Any]]:
    """The messages Telegram accepted, newest first as given, with what each carried."""
    feed = []
    for record in newest_sent:
        digest = digests.get(record.alert_id)
        carried = [alerts[a] for a in (digest.covers if digest else (record.alert_id,)) if a in alerts]
        first = carried[0] if carried else None
        feed.append(
            {
                "alert_id": record.alert_id,
                "chat_id": str(record.chat_id),
                "message_ids": list(record.message_ids),
                "sent_ms": record.sent_ms,
                "kind": "digest" if digest else (first.kind if first else ""),
                "form": first.form if first and not digest else "",
                "symbol": first.symbol if first else "",
                "symbols": list(dict.fromkeys(a.symbol for a in carried)),
                "side": first.side if first and not digest else "",
                "usd": first.usd if first and not digest else None,
                "latency_s": round((record.sent_ms - first.event_ms) / 1000, 3)
                if first and first.event_ms and not digest
                else None,
                "text": record.text[:TEXT_SHOWN],
            }
        )
    return feed


def _settled_move(moves: dict[int, PriceMove]) -> tuple[int, float]:
    """Which alerts mattered: the longest window measured first, then the size of the move over it."""
    longest = max(moves)
    return longest, abs(moves[longest].pct)


class AlertAnalytics:
    """The analytics report. Price moves are read from Redis only while they can still change: an alert with
    every window measured, or older than the tracker looks back, is served from memory."""

    def __init__(self, history: AlertHistory, window_h: int = WINDOW_H):
        self.history = history
        self.window_h = window_h
        self._final_moves: dict[str, dict[int, PriceMove]] = {}

    def report(
        self, alerts: dict[str, AlertRecord], digests: dict[str, DigestRecord], sent: list[SentRecord], now: float
    ) -> dict[str, Any]:
        now_ms = int(now * 1000)
        since_ms = now_ms - self.window_h * analytics.HOUR_MS
        in_window = {a: r for a, r in alerts.items() if r.decided_ms >= since_ms}
        latencies = analytics.delivery_latencies(in_window, digests, (s for s in sent if s.sent_ms >= since_ms))
        hours = range(int(now // 3600) - self.window_h + 1, int(now // 3600) + 1)
        with self.history.redis.pipeline(transaction=False) as pipe:
            for hour in hours:
                pipe.hgetall(hourly_metric_key(SUPPRESSED.name, hour))
            hourly = [parse_fields(fields) for fields in pipe.execute()]
        priced = [r for r in in_window.values() if r.kind in analytics.PRICED_KINDS and r.price and r.event_ms]
        moves = self._moves(priced, now_ms)
        listed = sorted(
            (r for r in priced if moves.get(r.alert_id)), key=lambda r: _settled_move(moves[r.alert_id]), reverse=True
        )[:MOVES_LISTED]
        return {
            "window_h": self.window_h,
            "alerts": analytics.alert_counts(in_window.values(), since_ms, now_ms),
            "suppressed": analytics.suppression_totals(hourly),
            "latency_s": {
                form: {"count": len(samples), **{f"p{p}": v for p, v in analytics.percentiles(samples).items()}}
                for form, samples in sorted(latencies.items())
            },
            "price_moves": {
                "windows_min": list(analytics.MOVE_WINDOWS_MIN),
                "summary": {str(m): figures for m, figures in analytics.move_summary(priced, moves).items()},
                "alerts": [
                    {
                        "alert_id": r.alert_id,
                        "kind": r.kind,
                        "form": r.form,
                        "symbol": r.symbol,
                        "side": r.side,
                        "usd": r.usd,
                        "price": r.price,
                        "event_ms": r.event_ms,
                        "pressure": analytics.pressure(r.kind, r.side),
                        "moves": {
                            str(m): (round(moves[r.alert_id][m].pct, 4) if m in moves.get(r.alert_id, {}) else None)
                            for m in analytics.MOVE_WINDOWS_MIN
                        },
                    }
                    for r in listed
                ],
            },
        }

    def _moves(self, priced: list[AlertRecord], now_ms: int) -> dict[str, dict[int, PriceMove]]:
        settled_before = now_ms - LOOKBACK_S * 1000
        wanted = [r.alert_id for r in priced if r.alert_id not in self._final_moves]
        fetched = self.history.price_moves(wanted)
        for record in priced:
            found = fetched.get(record.alert_id, {})
            if record.alert_id not in self._final_moves and (
                len(found) == len(analytics.MOVE_WINDOWS_MIN) or (record.event_ms or 0) < settled_before
            ):
                self._final_moves[record.alert_id] = found  # the tracker will not change it any more
        keep = {r.alert_id for r in priced}
        for alert_id in [a for a in self._final_moves if a not in keep]:
            del self._final_moves[alert_id]
        return {**fetched, **{a: m for a, m in self._final_moves.items() if m}}

"""The price 5, 15 and 60 minutes after each liquidation and whale alert, so the dashboard can show which
alerts mattered. celery beat runs it every PRICE_MOVE_INTERVAL.

Prices are the 1-minute candles of `/api/futures/price/history` for the coin's USDT pair on one exchange
(PRICE_MOVE_EXCHANGE): one venue measures every alert, whatever exchange its event came from, and one
request per coin and run covers all of that coin's alerts. Alerts up to LOOKBACK_S old are still measured,
so a beat that was down a while catches up.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from teleglas.dashboard.analytics import CANDLE_MS, PRICED_KINDS, moves_due, price_moves
from teleglas.defines import LOG_RUNNER
from teleglas.model.symbols import coin_of, parse_coin, usdt_pair
from teleglas.source.coinglass.rest import PRICE_HISTORY, CoinGlassError, CoinGlassRest
from teleglas.source.coinglass.rest_records import parse_price_candles
from teleglas.state.history import AlertHistory

log = logging.getLogger(__name__)

LOOKBACK_S = 3 * 3600
MAX_CANDLES = 1000  # the endpoint's largest `limit` (https://docs.coinglass.com/reference/price-ohlc-history)
LAST_WINDOW_MS = 61 * 60_000


@dataclass(frozen=True, slots=True)
class _Due:
    """An alert with a window to measure: where its price moves start."""

    alert_id: str
    price: float
    event_ms: int


class PriceMoveTracker:
    def __init__(self, rest: CoinGlassRest, history: AlertHistory, exchange: str):
        self.rest = rest
        self.history = history
        self.exchange = exchange

    def run(self, now: float) -> int:
        """Measures every window that came due; returns how many alerts got a new figure."""
        now_ms = int(now * 1000)
        records = [r for r in self.history.alerts_since(now - LOOKBACK_S) if r.kind in PRICED_KINDS]
        known = self.history.price_moves([r.alert_id for r in records])
        by_pair: dict[str, list[_Due]] = defaultdict(list)
        for record in records:
            coin = parse_coin(coin_of(record.symbol, record.base_asset))  # None for a symbol no exchange lists
            if coin is None or not record.price or not record.event_ms:
                continue
            if moves_due(record, known.get(record.alert_id, {}), now_ms):
                by_pair[usdt_pair(coin)].append(_Due(record.alert_id, record.price, record.event_ms))
        updated = 0
        for pair, due in sorted(by_pair.items()):
            start = min(r.event_ms for r in due)
            start -= start % CANDLE_MS
            end = min(now_ms, max(r.event_ms for r in due) + LAST_WINDOW_MS)
            params = {
                "exchange": self.exchange,
                "symbol": pair,
                "interval": "1m",
                "start_time": start,
                "end_time": end,
                "limit": min(MAX_CANDLES, (end - start) // CANDLE_MS + 1),
            }
            try:
                candles, rejected = parse_price_candles(self.rest.get(PRICE_HISTORY, params))
            except CoinGlassError as exc:
                log.warning("%s price moves of %s not measured: %s", LOG_RUNNER, pair, exc)
                continue
            for reason in rejected:
                log.warning("%s REST record rejected: %s", LOG_RUNNER, reason)
            for alert in due:
                known_moves = known.get(alert.alert_id, {})
                new = {
                    m: move
                    for m, move in price_moves(alert.price, alert.event_ms, candles, now_ms).items()
                    if m not in known_moves
                }
                if new:
                    self.history.save_price_moves(alert.alert_id, {**known_moves, **new})
                    updated += 1
        return updated

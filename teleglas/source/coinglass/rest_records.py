"""REST `data` payloads → typed records. Outside input: each record is parsed on its own with the same field
rules as the stream (`fields.py`), a bad one is rejected with a reason and the rest kept; numbers may come as
JSON numbers or as strings. Sizes of positions and percentage changes carry a sign; nothing else does.

Whatever the shape of `data`, a parser returns or raises FieldError (the payload as a whole refused), never
another exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from teleglas.model.events import WhalePosition
from teleglas.source.fields import (
    MAX_ABS_NUMBER,
    FieldError,
    number,
    optional_number,
    text,
    time_ms,
    time_s_or_ms,
)

HYPERLIQUID = "Hyperliquid"
AGGREGATE_EXCHANGE = "all"  # the row that sums every exchange in the exchange-list endpoints


@dataclass(frozen=True, slots=True)
class FundingRate:
    symbol: str
    exchange: str
    rate_pct: float  # percent per funding interval, as CoinGlass gives it
    interval_h: float | None
    next_funding_ms: int | None
    margin: str  # stablecoin or token


@dataclass(frozen=True, slots=True)
class OpenInterest:
    symbol: str
    usd: float


@dataclass(frozen=True, slots=True)
class OpenInterestRow:
    exchange: str
    usd: float
    change_pct: dict[str, float]  # timeframe (1h, 4h, 24h) → percent, only those CoinGlass gave


@dataclass(frozen=True, slots=True)
class CoinMarket:
    """One coin of `/api/futures/coins-markets`; None where the plan or the coin has no value."""

    symbol: str
    price: float
    open_interest_usd: float | None
    funding_rate_pct: float | None  # averaged over exchanges, weighted by open interest
    volume_24h_usd: float | None
    price_change_24h_pct: float | None
    open_interest_change_24h_pct: float | None
    long_short_ratio_24h: float | None
    long_liquidation_24h_usd: float | None
    short_liquidation_24h_usd: float | None


@dataclass(frozen=True, slots=True)
class LiquidationTotals:
    timeframe: str
    long_usd: float
    short_usd: float

    @property
    def total_usd(self) -> float:
        return self.long_usd + self.short_usd


@dataclass(frozen=True, slots=True)
class OrderbookDepth:
    bids_usd: float
    asks_usd: float
    time_ms: int

    @property
    def imbalance(self) -> float:
        """(bids − asks) / (bids + asks): +1 all bids, −1 all asks."""
        total = self.bids_usd + self.asks_usd
        return (self.bids_usd - self.asks_usd) / total if total else 0.0


@dataclass(frozen=True, slots=True)
class LongShortRatio:
    long_pct: float
    short_pct: float
    ratio: float
    time_ms: int


@dataclass(frozen=True, slots=True)
class FearGreed:
    value: float
    time_ms: int | None


def _rows(data: Any, what: str) -> list:
    if not isinstance(data, list):
        raise FieldError(f"{what}: data is {type(data).__name__}, not a list")
    return data


def _object(record: Any) -> dict:
    if not isinstance(record, dict):
        raise FieldError("not an object")
    return record


def _string(record: dict, key: str) -> str:
    """record[key] if it is a string, else "": for matching a name, which a number or a list never does."""
    value = record.get(key)
    return value if isinstance(value, str) else ""


def parse_whale_alerts(data: Any) -> tuple[list[WhalePosition], list[str]]:
    """`/api/hyperliquid/whale-alert` records: the sign of position_size is the side (+ long, − short)."""
    if not isinstance(data, list):
        return [], [f"whale alerts: data is {type(data).__name__}, not a list"]
    events, rejected = [], []
    for index, record in enumerate(data):
        try:
            record = _object(record)
            size = number(record.get("position_size"), "position_size", allow_zero=False, signed=True)
            action = number(record.get("position_action"), "position_action")
            if action not in (1, 2):
                raise FieldError(f"position_action {action:g}")
            symbol = text(record.get("symbol"), "symbol")
            events.append(
                WhalePosition(
                    exchange=HYPERLIQUID,
                    symbol=symbol,
                    base_asset=symbol,
                    price=number(record.get("entry_price"), "entry_price", allow_zero=False),
                    side=1 if size > 0 else 2,
                    usd=abs(number(record.get("position_value_usd"), "position_value_usd", signed=True)),
                    time_ms=time_ms(record.get("create_time"), "create_time"),
                    user=text(record.get("user"), "user"),
                    action=int(action),
                )
            )
        except FieldError as exc:
            rejected.append(f"whale alert {index}: {exc}")
    return events, rejected


def parse_funding_rates(data: Any) -> tuple[list[FundingRate], list[str]]:
    """`/api/futures/funding-rate/exchange-list`: per symbol, stablecoin- and token-margined lists."""
    if not isinstance(data, list):
        return [], [f"funding rates: data is {type(data).__name__}, not a list"]
    rates, rejected = [], []
    for index, item in enumerate(data):
        try:
            symbol = text(_object(item).get("symbol"), "symbol")
        except FieldError as exc:
            rejected.append(f"funding item {index}: {exc}")
            continue
        for margin in ("stablecoin", "token"):
            entries = item.get(f"{margin}_margin_list") or []
            if not isinstance(entries, list):
                rejected.append(f"funding {symbol} {margin}: list is {type(entries).__name__}, not a list")
                continue
            for entry in entries:
                try:
                    entry = _object(entry)
                    next_time = entry.get("next_funding_time")
                    rates.append(
                        FundingRate(
                            symbol=symbol,
                            exchange=text(entry.get("exchange"), "exchange"),
                            rate_pct=number(entry.get("funding_rate"), "funding_rate", signed=True),
                            interval_h=optional_number(entry, "funding_rate_interval"),
                            next_funding_ms=None
                            if next_time in (None, "")
                            else time_ms(next_time, "next_funding_time"),
                            margin=margin,
                        )
                    )
                except FieldError as exc:
                    rejected.append(f"funding {symbol} {margin}: {exc}")
    return rates, rejected


def parse_open_interest_rows(data: Any) -> tuple[list[OpenInterestRow], list[str]]:
    """`/api/futures/open-interest/exchange-list`, one row per exchange (and the `All` aggregate)."""
    rows, rejected = [], []
    for index, record in enumerate(_rows(data, "open interest")):
        try:
            record = _object(record)
            changes = {
                frame: optional_number(record, f"open_interest_change_percent_{frame}", signed=True)
                for frame in ("1h", "4h", "24h")
            }
            rows.append(
                OpenInterestRow(
                    text(record.get("exchange"), "exchange"),
                    number(record.get("open_interest_usd"), "open_interest_usd"),
                    {frame: value for frame, value in changes.items() if value is not None},
                )
            )
        except FieldError as exc:
            rejected.append(f"open interest row {index}: {exc}")
    return rows, rejected


def parse_open_interest(data: Any, symbol: str) -> OpenInterest:
    """The `All` row is the aggregate; without it, the sum of the exchanges."""
    rows, _ = parse_open_interest_rows(data)
    if not rows:
        raise FieldError(f"open interest {symbol}: no rows")
    total = aggregate_row(rows)
    return OpenInterest(symbol, total.usd if total else sum(row.usd for row in rows))


def aggregate_row(rows: list[OpenInterestRow]) -> OpenInterestRow | None:
    return next((row for row in rows if row.exchange.lower() == AGGREGATE_EXCHANGE), None)


def parse_coin_market(data: Any, symbol: str) -> CoinMarket | None:
    """The coin's row of `/api/futures/coins-markets`, or None when this page does not list it."""
    for record in _rows(data, "coins markets"):
        if not isinstance(record, dict) or _string(record, "symbol").upper() != symbol:
            continue
        oi = optional_number(record, "open_interest_usd")
        oi_to_volume = optional_number(record, "open_interest_volume_ratio")
        volume = oi / oi_to_volume if oi is not None and oi_to_volume else None
        return CoinMarket(
            symbol=symbol,
            price=number(record.get("current_price"), "current_price", allow_zero=False),
            open_interest_usd=oi,
            funding_rate_pct=optional_number(record, "avg_funding_rate_by_oi", signed=True),
            # The 24 h volume is not a field of its own; CoinGlass gives OI / volume.
            volume_24h_usd=volume if volume is not None and volume < MAX_ABS_NUMBER else None,  # a tiny ratio gives inf
            price_change_24h_pct=optional_number(record, "price_change_percent_24h", signed=True),
            open_interest_change_24h_pct=optional_number(record, "open_interest_change_percent_24h", signed=True),
            long_short_ratio_24h=optional_number(record, "long_short_ratio_24h"),
            long_liquidation_24h_usd=optional_number(record, "long_liquidation_usd_24h"),
            short_liquidation_24h_usd=optional_number(record, "short_liquidation_usd_24h"),
        )
    return None


def parse_liquidation_totals(data: Any, timeframe: str) -> LiquidationTotals:
    """`/api/futures/liquidation/exchange-list?range=…`: the `All` row, or the sum of the exchanges."""
    rows = [_object(r) for r in _rows(data, "liquidations")]
    if not rows:
        raise FieldError(f"liquidations {timeframe}: no rows")
    chosen = [r for r in rows if _string(r, "exchange").lower() == AGGREGATE_EXCHANGE] or rows
    return LiquidationTotals(
        timeframe,
        sum(number(r.get("long_liquidation_usd"), "long_liquidation_usd") for r in chosen),
        sum(number(r.get("short_liquidation_usd"), "short_liquidation_usd") for r in chosen),
    )


def parse_orderbook_depth(data: Any) -> OrderbookDepth:
    """`/api/futures/orderbook/ask-bids-history`: the newest row."""
    rows = [_object(r) for r in _rows(data, "order book")]
    if not rows:
        raise FieldError("order book: no rows")
    latest = max(rows, key=lambda r: time_ms(r.get("time")))
    return OrderbookDepth(
        number(latest.get("bids_usd"), "bids_usd"),
        number(latest.get("asks_usd"), "asks_usd"),
        time_ms(latest.get("time")),
    )


def parse_long_short_ratio(data: Any) -> LongShortRatio:
    """`/api/futures/global-long-short-account-ratio/history`: the newest row."""
    rows = [_object(r) for r in _rows(data, "long/short ratio")]
    if not rows:
        raise FieldError("long/short ratio: no rows")
    latest = max(rows, key=lambda r: time_ms(r.get("time")))
    return LongShortRatio(
        number(latest.get("global_account_long_percent"), "global_account_long_percent"),
        number(latest.get("global_account_short_percent"), "global_account_short_percent"),
        number(latest.get("global_account_long_short_ratio"), "global_account_long_short_ratio"),
        time_ms(latest.get("time")),
    )


def parse_fear_greed(data: Any) -> FearGreed:
    """`/api/index/fear-greed-history`: parallel lists of values and times, newest last. The English page calls
    the values `data_list`, the Chinese one `values`; both wrap the lists in a one-item list; `time_list` is
    printed in seconds, so seconds and milliseconds are both read."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    record = _object(data)
    values = record.get("data_list", record.get("values"))
    if not isinstance(values, list) or not values:
        raise FieldError("fear & greed: no values")
    times = record.get("time_list")
    at = time_s_or_ms(times[-1], "time_list") if isinstance(times, list) and len(times) == len(values) else None
    value = number(values[-1], "fear & greed value")
    if value > 100:
        raise FieldError("fear & greed value above 100")
    return FearGreed(value, at)


@dataclass(frozen=True, slots=True)
class Candle:
    open_ms: int
    close: float


def parse_price_candles(data: Any) -> tuple[list[Candle], list[str]]:
    """`/api/futures/price/history` rows (`time` ms of the candle's open, `open`/`high`/`low`/`close` as strings
    in the doc's example, numbers taken too), oldest first, one per open time."""
    candles: dict[int, Candle] = {}
    rejected: list[str] = []
    for record in data if isinstance(data, list) else []:
        try:
            if not isinstance(record, dict):
                raise FieldError(f"record is {type(record).__name__}, not an object")
            opened = time_ms(record.get("time"), "time")
            candles[opened] = Candle(opened, number(record.get("close"), "close", allow_zero=False))
        except FieldError as exc:
            rejected.append(f"price candle: {exc}")
    if not isinstance(data, list):
        rejected.append(f"price history data is {type(data).__name__}, not a list")
    return [candles[t] for t in sorted(candles)], rejected


RSI_TIMEFRAMES = ("15m", "1h", "4h", "12h", "24h", "1w")


@dataclass(frozen=True, slots=True)
class CoinRsi:
    """One coin's row of `/api/futures/rsi/list`: RSI and price change per timeframe, None where not given."""

    symbol: str
    price: float | None
    rsi: dict[str, float | None]
    price_change_pct: dict[str, float | None]


def parse_coin_rsi(data: Any, symbol: str) -> CoinRsi | None:
    """The coin's row of `/api/futures/rsi/list`, or None when the list has none. An RSI outside 0..100 is
    refused with the row, not shown."""
    for record in _rows(data, "rsi list"):
        if not isinstance(record, dict) or _string(record, "symbol").upper() != symbol:
            continue
        rsi = {frame: optional_number(record, f"rsi_{frame}") for frame in RSI_TIMEFRAMES}
        if any(value is not None and value > 100 for value in rsi.values()):
            raise FieldError("rsi above 100")
        if all(value is None for value in rsi.values()):
            raise FieldError(f"rsi {symbol}: no values")
        return CoinRsi(
            symbol,
            optional_number(record, "current_price"),
            rsi,
            {frame: optional_number(record, f"price_change_percent_{frame}", signed=True) for frame in RSI_TIMEFRAMES},
        )
    return None


@dataclass(frozen=True, slots=True)
class LiquidationPoint:
    time_ms: int
    long_usd: float
    short_usd: float


def parse_liquidation_history(data: Any) -> tuple[list[LiquidationPoint], list[str]]:
    """`/api/futures/liquidation/aggregated-history` rows (`time` ms, `aggregated_long_liquidation_usd`,
    `aggregated_short_liquidation_usd`), oldest first, one per time; a bad row is rejected with a reason."""
    points: dict[int, LiquidationPoint] = {}
    rejected: list[str] = []
    for record in data if isinstance(data, list) else []:
        try:
            row = _object(record)
            at = time_ms(row.get("time"), "time")
            points[at] = LiquidationPoint(
                at,
                number(row.get("aggregated_long_liquidation_usd"), "aggregated_long_liquidation_usd"),
                number(row.get("aggregated_short_liquidation_usd"), "aggregated_short_liquidation_usd"),
            )
        except FieldError as exc:
            rejected.append(f"liquidation history: {exc}")
    if not isinstance(data, list):
        rejected.append(f"liquidation history data is {type(data).__name__}, not a list")
    return [points[t] for t in sorted(points)], rejected


@dataclass(frozen=True, slots=True)
class OpenInterestHistory:
    times_ms: tuple[int, ...]
    by_exchange: dict[str, tuple[float, ...]]  # exchange → USD at each time


def parse_open_interest_history(data: Any) -> OpenInterestHistory:
    """`/api/futures/open-interest/exchange-history-chart`: `time_list` (ms) and `data_map` {exchange: [USD at each
    time]}. An exchange whose list does not match the times, or holds a value that is not a number, is left out;
    no time at all is a FieldError."""
    if not isinstance(data, dict):
        raise FieldError(f"open interest history is {type(data).__name__}, not an object")
    raw_times = data.get("time_list")
    if not isinstance(raw_times, list) or not raw_times:
        raise FieldError("open interest history has no time_list")
    times = tuple(time_ms(t, "time_list") for t in raw_times)
    by_exchange: dict[str, tuple[float, ...]] = {}
    series = data.get("data_map")
    for name, values in series.items() if isinstance(series, dict) else ():
        try:
            exchange = text(name, "exchange")
            if not isinstance(values, list) or len(values) != len(times):
                continue
            by_exchange[exchange] = tuple(number(v, "open_interest") if v is not None else 0.0 for v in values)
        except FieldError:
            continue
    if not by_exchange:
        raise FieldError("open interest history has no exchange with a value per time")
    return OpenInterestHistory(times, by_exchange)

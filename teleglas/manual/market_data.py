"""What the market-data commands ask CoinGlass, through the shared REST client (its Redis cache and request
budget), parsed into typed records. Raises the client's typed errors; the bot turns them into answers."""

from __future__ import annotations

from dataclasses import dataclass

from teleglas.model.events import WhalePosition
from teleglas.model.symbols import usdt_pair
from teleglas.source.coinglass.rest import (
    COINS_MARKETS,
    FEAR_GREED,
    FUNDING_RATES,
    LIQUIDATION_HISTORY,
    LIQUIDATIONS_BY_EXCHANGE,
    LONG_SHORT_RATIO,
    OPEN_INTEREST,
    OPEN_INTEREST_HISTORY,
    ORDERBOOK_DEPTH,
    RSI_LIST,
    SUPPORTED_COINS,
    WHALE_ALERTS,
    CoinGlassError,
    CoinGlassRest,
)
from teleglas.source.coinglass.rest_records import (
    CoinMarket,
    CoinRsi,
    FearGreed,
    FundingRate,
    LiquidationPoint,
    LiquidationTotals,
    LongShortRatio,
    OpenInterestHistory,
    OpenInterestRow,
    OrderbookDepth,
    parse_coin_market,
    parse_coin_rsi,
    parse_fear_greed,
    parse_funding_rates,
    parse_liquidation_history,
    parse_liquidation_totals,
    parse_long_short_ratio,
    parse_open_interest_history,
    parse_open_interest_rows,
    parse_orderbook_depth,
    parse_whale_alerts,
)
from teleglas.source.fields import FieldError

LIQUIDATION_TIMEFRAMES = ("1h", "4h", "12h", "24h")
ORDERBOOK_EXCHANGE = "Binance"
ORDERBOOK_RANGE_PCT = "1"  # depth within ±1 % of the price
MARKET_PAGES = 3  # coins-markets lists 100 coins a page, by market size
LATEST_WHALES = 5
# The exchanges the hourly liquidation chart adds up (the endpoint needs a list; ASSUMED to cover the market).
HISTORY_EXCHANGES = "Binance,OKX,Bybit,Bitget,Gate,Hyperliquid,HTX,BingX,Bitmex,Deribit"
HISTORY_HOURS = 24


class UnknownCoin(ValueError):
    def __init__(self, coin: str, examples: list[str]):
        super().__init__(coin)
        self.coin = coin
        self.examples = examples


class NoData(ValueError):
    """CoinGlass answered, but without the record asked for; the text says what is missing."""


@dataclass(frozen=True, slots=True)
class Sentiment:
    long_short: LongShortRatio
    pair: str
    fear_greed: FearGreed | None
    fear_greed_missing: str  # why there is none (the plan, or CoinGlass had no value)


class MarketData:
    def __init__(self, rest: CoinGlassRest):
        self.rest = rest

    def require_coin(self, coin: str) -> None:
        data = self.rest.get(SUPPORTED_COINS, cache_s=3600)
        coins = [c for c in data if isinstance(c, str)] if isinstance(data, list) else []
        if coins and coin not in coins:
            raise UnknownCoin(coin, [c for c in ("BTC", "ETH", "SOL") if c in coins] or coins[:3])

    def coin_market(self, coin: str) -> CoinMarket:
        for page in range(1, MARKET_PAGES + 1):
            data = self.rest.get(COINS_MARKETS, {"page": page, "per_page": 100}, cache_s=30)
            market = _parsed(parse_coin_market, data, coin)
            if market is not None:
                return market
            if not isinstance(data, list) or len(data) < 100:
                break
        raise NoData(f"CoinGlass lists no market overview for {coin}")

    def liquidations(self, coin: str) -> list[LiquidationTotals]:
        return [
            _parsed(
                parse_liquidation_totals,
                self.rest.get(LIQUIDATIONS_BY_EXCHANGE, {"symbol": coin, "range": frame}, cache_s=30),
                frame,
            )
            for frame in LIQUIDATION_TIMEFRAMES
        ]

    def orderbook(self, coin: str) -> tuple[str, OrderbookDepth]:
        pair = usdt_pair(coin)
        data = self.rest.get(
            ORDERBOOK_DEPTH,
            {
                "exchange": ORDERBOOK_EXCHANGE,
                "symbol": pair,
                "interval": "1h",
                "limit": 1,
                "range": ORDERBOOK_RANGE_PCT,
            },
            cache_s=30,
        )
        return f"{ORDERBOOK_EXCHANGE} {pair}", _parsed(parse_orderbook_depth, data)

    def whales(self) -> list[WhalePosition]:
        events, _ = parse_whale_alerts(self.rest.get(WHALE_ALERTS, cache_s=15))
        return sorted(events, key=lambda e: e.time_ms, reverse=True)[:LATEST_WHALES]

    def funding(self, coin: str) -> list[FundingRate]:
        """The endpoint takes no parameter (its page lists none): every coin, filtered here, one cache entry."""
        rates, _ = parse_funding_rates(self.rest.get(FUNDING_RATES, cache_s=20))
        rates = [r for r in rates if r.symbol.upper() == coin]
        if not rates:
            raise NoData(f"CoinGlass lists no funding rates for {coin}")
        return rates

    def open_interest(self, coin: str) -> list[OpenInterestRow]:
        rows, _ = _parsed(parse_open_interest_rows, self.rest.get(OPEN_INTEREST, {"symbol": coin}, cache_s=10))
        if not rows:
            raise NoData(f"CoinGlass lists no open interest for {coin}")
        return rows

    def rsi(self, coin: str) -> CoinRsi:
        """`/api/futures/rsi/list` (no parameters: every coin, cached once for all of them)."""
        found = _parsed(parse_coin_rsi, self.rest.get(RSI_LIST, cache_s=10), coin)
        if found is None:
            raise NoData(f"CoinGlass lists no RSI for {coin}")
        return found

    def liquidation_history(self, coin: str) -> list[LiquidationPoint]:
        """Long and short liquidations per hour over the last 24 h, all exchanges of HISTORY_EXCHANGES."""
        params = {"exchange_list": HISTORY_EXCHANGES, "symbol": coin, "interval": "1h", "limit": HISTORY_HOURS}
        points, _ = parse_liquidation_history(self.rest.get(LIQUIDATION_HISTORY, params, cache_s=60))
        if not points:
            raise NoData(f"CoinGlass lists no liquidation history for {coin}")
        return points[-HISTORY_HOURS:]

    def open_interest_history(self, coin: str) -> OpenInterestHistory:
        """Open interest per exchange, hourly (`range=1h`, ASSUMED: docs/protocols.md), the last 24 h of it."""
        data = self.rest.get(OPEN_INTEREST_HISTORY, {"symbol": coin, "range": "1h"}, cache_s=60)
        history = _parsed(parse_open_interest_history, data)
        keep = [i for i, t in enumerate(history.times_ms) if t >= history.times_ms[-1] - HISTORY_HOURS * 3600_000]
        return OpenInterestHistory(
            tuple(history.times_ms[i] for i in keep),
            {name: tuple(values[i] for i in keep) for name, values in history.by_exchange.items()},
        )

    def sentiment(self, coin: str) -> Sentiment:
        pair = usdt_pair(coin)
        data = self.rest.get(
            LONG_SHORT_RATIO, {"exchange": ORDERBOOK_EXCHANGE, "symbol": pair, "interval": "1h", "limit": 1}, cache_s=60
        )
        ratio = _parsed(parse_long_short_ratio, data)
        try:
            return Sentiment(
                ratio,
                f"{ORDERBOOK_EXCHANGE} {pair}",
                _parsed(parse_fear_greed, self.rest.get(FEAR_GREED, cache_s=300)),
                "",
            )
        except (CoinGlassError, NoData) as exc:  # optional: the plan may not include it
            return Sentiment(ratio, f"{ORDERBOOK_EXCHANGE} {pair}", None, str(exc))


def _parsed(parse, data, *args):
    """A parser's FieldError becomes NoData: CoinGlass's answer was there but unusable."""
    try:
        return parse(data, *args)
    except FieldError as exc:
        raise NoData(f"CoinGlass's answer could not be read ({exc})") from None

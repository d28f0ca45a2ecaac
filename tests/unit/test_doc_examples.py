"""The client against the providers' own examples: every example a CoinGlass doc page prints
(tests/fixtures/docs/coinglass, each file naming its page) goes through the client's envelope check and parser,
and the values expected below are read off the same page, not off our code. The requests the manual bot makes
use only the parameters each page documents, with every mandatory one present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teleglas.manual.market_data import MarketData
from teleglas.source.coinglass.rest import check_envelope
from teleglas.source.coinglass.rest_records import (
    parse_coin_market,
    parse_coin_rsi,
    parse_fear_greed,
    parse_funding_rates,
    parse_liquidation_totals,
    parse_long_short_ratio,
    parse_open_interest_rows,
    parse_orderbook_depth,
    parse_price_candles,
    parse_whale_alerts,
)
from teleglas.source.coinglass.ws_protocol import FrameKind, parse_frame, subscribe_message, unsubscribe_message
from teleglas.source.fields import FieldError

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs" / "coinglass"


def page(name: str) -> dict:
    return json.loads((DOCS / name).read_text(encoding="utf-8"))


def data_of(name: str):
    """The example's `data`, through the client's own envelope check (HTTP 200, code "0")."""
    example = page(name)
    return check_envelope(200, example["response_example"], example["path"])


def test_every_rest_page_has_its_source_and_an_example_the_envelope_check_accepts():
    for file in sorted(DOCS.glob("rest_*.json")):
        example = json.loads(file.read_text(encoding="utf-8"))
        assert example["_source"].startswith("https://docs.coinglass.com/"), file.name
        assert check_envelope(200, example["response_example"], example["path"]) is not None, file.name


def test_supported_coins():
    assert data_of("rest_supported_coins.json") == ["BTC", "ETH", "SOL", "XRP"]


def test_coins_markets_btc_row():
    market = parse_coin_market(data_of("rest_coins_markets.json"), "BTC")
    assert (market.price, market.open_interest_usd, market.funding_rate_pct) == (84773.6, 55002072334.9376, 0.00196)
    assert (market.price_change_24h_pct, market.open_interest_change_24h_pct) == (1.06, 4.58)
    # The page has no 24 h volume field: OI divided by its OI/volume ratio.
    assert market.volume_24h_usd == pytest.approx(55002072334.9376 / 0.7936)


def test_liquidation_exchange_list_uses_the_all_row():
    totals = parse_liquidation_totals(data_of("rest_liquidation_exchange_list.json"), "24h")
    assert (totals.long_usd, totals.short_usd) == (451394.17404598, 14222125.64334477)
    assert totals.total_usd == pytest.approx(14673519.81739075)


def test_orderbook_history_takes_the_newest_row():
    depth = parse_orderbook_depth(data_of("rest_orderbook_ask_bids_history.json"))
    assert (depth.bids_usd, depth.asks_usd, depth.time_ms) == (62345879.8821, 65918423.4715, 1714089600000)


def test_whale_alert_sign_of_position_size_is_the_side():
    events, rejected = parse_whale_alerts(data_of("rest_hyperliquid_whale_alert.json"))
    assert rejected == []
    assert [(e.symbol, e.side_name, e.usd, e.price, e.action, e.time_ms) for e in events] == [
        ("ETH", "LONG", 21003260.0, 1611.62, 2, 1745219517000),
        ("BTC", "LONG", 2936421.4757, 87486.2, 2, 1745219477000),
    ]


def test_funding_rate_exchange_list_both_margins():
    rates, rejected = parse_funding_rates(data_of("rest_funding_rate_exchange_list.json"))
    assert rejected == []
    assert [(r.exchange, r.margin, r.rate_pct, r.interval_h, r.next_funding_ms) for r in rates] == [
        ("Binance", "stablecoin", 0.007343, 8.0, 1745222400000),
        ("OKX", "stablecoin", 0.00736901950628, 8.0, 1745222400000),
        ("Binance", "token", -0.001829, 8.0, 1745222400000),
    ]


def test_open_interest_exchange_list_rows():
    rows, rejected = parse_open_interest_rows(data_of("rest_open_interest_exchange_list.json"))
    assert rejected == [] and rows[0].exchange == "All"
    assert (rows[0].usd, rows[0].change_pct) == (57437891724.5572, {"1h": 2.27, "4h": 2.95, "24h": 0.9})


def test_global_long_short_account_ratio_takes_the_newest_row():
    ratio = parse_long_short_ratio(data_of("rest_global_long_short_account_ratio_history.json"))
    assert (ratio.long_pct, ratio.short_pct, ratio.ratio, ratio.time_ms) == (73.24, 26.76, 2.74, 1741608000000)


def test_price_history_numbers_come_as_strings():
    candles, rejected = parse_price_candles(data_of("rest_price_history.json"))
    assert rejected == []
    assert [(c.open_ms, c.close) for c in candles] == [(1745366400000, 92858.2), (1745370000000, 92603.8)]


def test_rsi_list_rows_per_coin():
    btc = parse_coin_rsi(data_of("rest_rsi_list.json"), "BTC")
    assert btc.price == 87348.6
    assert btc.rsi == {"15m": 54.71, "1h": 71.91, "4h": 72.12, "12h": 62.33, "24h": 57.88, "1w": 52.04}
    assert btc.price_change_pct["1h"] == -0.23 and btc.price_change_pct["1w"] == 2.6
    assert parse_coin_rsi(data_of("rest_rsi_list.json"), "SOL") is None


@pytest.mark.parametrize("name", ["rest_fear_greed_history.json", "rest_fear_greed_history_zh.json"])
def test_fear_greed_times_in_seconds_are_read_and_the_examples_value_is_refused(name):
    """Both pages print `time_list` in seconds (1636588800) and a value of 4611285.1141, which is no index (0 to
    100): the time is read, the value refused, so the card says "n/a" rather than show it."""
    record = data_of(name)[0]
    with pytest.raises(FieldError, match="above 100"):
        parse_fear_greed(data_of(name))
    plausible = [{**record, "data_list" if "data_list" in record else "values": [61]}]
    reading = parse_fear_greed(plausible)
    assert (reading.value, reading.time_ms) == (61.0, 1636588800000)


@pytest.mark.parametrize("name", ["ws_liquidation_orders.json", "ws_futures_trades.json", "ws_futures_trades_zh.json"])
def test_websocket_data_frame_examples(name):
    example = page(name)
    parsed = parse_frame(json.dumps(example["data_frame_example"]))
    assert parsed.kind is FrameKind.DATA and parsed.rejected == []
    (event,) = parsed.events
    assert (event.exchange, event.symbol, event.price, event.side, event.usd, event.time_ms) == (
        "Binance",
        "BTCUSDT",
        56738.0,
        2,
        3858.184,
        1725416318379,
    )
    # side 2 is a short liquidation on liquidationOrders, a buy on futures_trades (each page's own comment)
    assert event.side_name == ("SHORT" if example["data_frame_example"]["channel"] == "liquidationOrders" else "BUY")
    assert json.loads(subscribe_message(example["subscribe_message"]["channels"])) == example["subscribe_message"]


def test_websocket_getting_started_messages():
    example = page("ws_getting_started.json")
    channels = example["unsubscribe_message"]["channels"]
    assert json.loads(unsubscribe_message(channels)) == example["unsubscribe_message"]
    assert example["heartbeat"] == {
        "client_sends_text": "ping",
        "server_answers_text": "pong",
        "recommended_interval_s": 20,
    }
    assert parse_frame(example["heartbeat"]["server_answers_text"]).kind is FrameKind.PONG


class RecordingRest:
    """Answers every request with its page's example and remembers what was asked."""

    def __init__(self):
        self.asked: list[tuple[str, dict]] = []
        self.pages = {}
        for file in DOCS.glob("rest_*.json"):
            example = json.loads(file.read_text(encoding="utf-8"))
            self.pages.setdefault(example["path"], example)

    def get(self, path, params=None, cache_s=0):
        self.asked.append((path, dict(params or {})))
        return self.pages[path]["response_example"]["data"]


def test_the_manual_bot_sends_only_documented_parameters_and_every_mandatory_one():
    rest = RecordingRest()
    market = MarketData(rest)
    market.require_coin("BTC")
    market.coin_market("BTC")
    market.liquidations("BTC")
    market.orderbook("BTC")
    market.whales()
    market.funding("BTC")
    market.open_interest("BTC")
    market.rsi("BTC")
    market.sentiment("BTC")
    assert {path for path, _ in rest.asked} == set(rest.pages) - {
        "/api/futures/price/history",
        "/api/futures/indicators/rsi",
    }
    for path, params in rest.asked:
        documented = {p["name"]: p["mandatory"] == "YES" for p in rest.pages[path].get("request_parameters", [])}
        assert set(params) <= set(documented), (path, params)
        assert {name for name, needed in documented.items() if needed} <= set(params), (path, params)

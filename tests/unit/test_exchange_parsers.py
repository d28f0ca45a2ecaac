"""The exchange parsers against the frames their docs print (tests/fixtures/docs/{binance,bybit,okx}, each with its
page in `_source`), and fuzzed with hypothesis like the CoinGlass parser: whatever arrives, parse_frame answers,
never raises, and a valid item beside hostile ones still becomes its event."""

import json
import math
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from teleglas.defines import SOURCE_BINANCE
from teleglas.model.events import FuturesTrade, LiquidationOrder
from teleglas.source.exchanges import binance, bybit, okx
from teleglas.source.fields import MAX_TIME_MS, MIN_TIME_MS
from teleglas.source.frames import FrameKind
from teleglas.source.listener.frame_router import FrameRouter
from tests.support.hostile import REFUSED, json_values as any_json

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs"
FUZZ = settings(max_examples=300, deadline=None, database=None)
NOW_MS = 1725478245120  # any time after 2000: the aggTrade page's example time (123456785) is 1970


def doc(venue: str, name: str) -> dict:
    return json.loads((DOCS / venue / f"{name}.json").read_text(encoding="utf-8"))


def contracts(table: dict[str, okx.Contract]) -> okx.Contracts:
    loaded = okx.Contracts(lambda: table, 3600, 60)
    assert loaded.load()
    return loaded


# The OKX pages print no SWAP instrument: these contract values are the test's own (ASSUMED), like the emulator's.
OKX_TABLE = {
    "IOST-USDT-SWAP": okx.Contract(1000.0, inverse=False),
    "BTC-USDT-SWAP": okx.Contract(0.01, inverse=False),
    "BTC-USD-SWAP": okx.Contract(100.0, inverse=True),
}
okx_parse = okx.OkxParser(contracts(OKX_TABLE))


# -- Binance ---------------------------------------------------------------------------------------------------


def test_binance_liquidation_examples_parse_to_the_liquidated_long():
    expected = LiquidationOrder("Binance", "BTCUSDT", "BTC", 9910.0, 1, 9910.0 * 0.014, 1568014460893)
    for name in ("force_order_all_market", "force_order_symbol", "combined_stream_force_order"):
        frame = binance.parse_frame(json.dumps(doc("binance", name)["message"]))
        assert frame.kind is FrameKind.DATA and frame.rejected == []
        assert frame.events == [expected], name  # SELL closes a long: the long was liquidated
    assert binance.parse_frame(json.dumps(doc("binance", "force_order_all_market")["message"])).channel == (
        "!forceOrder@arr"
    )


def test_binance_liquidation_is_valued_at_its_average_fill_price():
    """The COIN-M page's example is the only one where price and average price differ: the average is used."""
    order = doc("binance", "force_order_coin_margined")["message"]
    assert binance.parse_liquidation(order).price == 9496.5
    unfilled = {**order, "o": {**order["o"], "ap": "0", "z": "0"}}
    assert binance.parse_liquidation(unfilled).price == 9425.5


def test_binance_agg_trade_taker_side_follows_the_maker_flag():
    page = doc("binance", "agg_trade")
    for version in ("current", "older"):
        frame = binance.parse_frame(json.dumps(page[version]))
        assert frame.events == [] and frame.rejected == ["item 0: T is not a millisecond timestamp"]  # 1970
        sold = binance.parse_frame(json.dumps({**page[version], "T": NOW_MS}))
        assert sold.channel == page["stream"]
        assert sold.events == [FuturesTrade("Binance", "BTCUSDT", "BTC", 0.001, 1, 0.1, NOW_MS)]  # m: the taker sold
        bought = binance.parse_frame(json.dumps({**page[version], "T": NOW_MS, "m": False}))
        assert bought.events[0].side == 2


def test_binance_control_frames():
    page = doc("binance", "subscribe")
    for name in ("subscribe", "unsubscribe", "list_subscriptions", "set_property", "get_property"):
        assert binance.parse_frame(json.dumps(page[name]["response"])).kind is FrameKind.ACK
    for template in doc("binance", "error_messages")["templates"]:
        frame = binance.parse_frame(template["message"].replace("%s", "1"))
        assert frame.kind is FrameKind.UNKNOWN and frame.reason.startswith("error ")
    wire = binance.wire("ws://h/market/ws", 300)
    assert json.loads(wire.subscribe(binance.channels(("BTCUSDT",)))[0]) == {
        "method": "SUBSCRIBE",
        "params": ["!forceOrder@arr", "btcusdt@aggTrade"],
        "id": 1,
    }
    assert json.loads(wire.unsubscribe(("btcusdt@aggTrade",))[0])["id"] == 2  # a new id per request
    assert wire.ping is None and wire.silence_timeout_s == 300 and wire.max_age_s < 24 * 3600
    assert [len(group) for group in binance.per_connection(tuple(f"s{i}" for i in range(450)))] == [200, 200, 50]


# -- Bybit -----------------------------------------------------------------------------------------------------


def test_bybit_all_liquidation_buy_is_a_long_liquidated():
    page = doc("bybit", "all_liquidation")
    frame = bybit.parse_frame(json.dumps(page["message"]))
    assert frame.channel == "allLiquidation.ROSEUSDT"
    assert frame.events == [LiquidationOrder("Bybit", "ROSEUSDT", "ROSE", 0.04499, 2, 20000 * 0.04499, 1739502302929)]
    buy = json.loads(json.dumps(page["message"]))
    buy["data"][0]["S"] = "Buy"
    assert bybit.parse_frame(json.dumps(buy)).events[0].side == 1
    assert json.loads(bybit.wire("ws://h").subscribe(tuple(page["subscribe"]["args"]))[0]) == page["subscribe"]


def test_bybit_public_trade_side_is_the_taker():
    page = doc("bybit", "public_trade")
    frame = bybit.parse_frame(json.dumps(page["message"]))
    assert frame.events == [FuturesTrade("Bybit", "BTCUSDT", "BTC", 16578.5, 2, 0.001 * 16578.5, 1672304486865)]


def test_bybit_control_frames_and_the_deprecated_topic():
    subscribe, heartbeat = doc("bybit", "subscribe"), doc("bybit", "heartbeat")
    assert bybit.parse_frame(json.dumps(subscribe["subscribe_response_linear_inverse"])).kind is FrameKind.ACK
    refused = {**subscribe["subscribe_response_linear_inverse"], "success": False, "ret_msg": "error:handler not found"}
    assert bybit.parse_frame(json.dumps(refused)).kind is FrameKind.UNKNOWN
    for name in ("pong_linear_inverse", "pong_spot", "pong_option_spread", "pong_private"):
        assert bybit.is_pong(json.dumps(heartbeat[name])), name
    assert not bybit.is_pong(json.dumps(heartbeat["ping"]))
    assert json.loads(bybit.wire("ws://h").ping) == {"op": "ping"}
    old = bybit.parse_frame(json.dumps(doc("bybit", "liquidation_deprecated")["message"]))
    assert old.kind is FrameKind.UNKNOWN and old.events == []


# -- OKX -------------------------------------------------------------------------------------------------------


def test_okx_liquidation_contracts_become_usd_and_the_position_side():
    page = doc("okx", "liquidation_orders")
    frame = okx_parse(json.dumps(page["message"]))
    assert frame.channel == "liquidation-orders:SWAP" and frame.rejected == []
    # posSide short (hedge mode): a short was liquidated; 13 contracts × 1,000 IOST × $0.007831
    assert frame.events == [
        LiquidationOrder("OKX", "IOSTUSDT", "IOST", 0.007831, 2, 13 * 1000 * 0.007831, 1692266434010)
    ]
    net = json.loads(json.dumps(page["message"]))
    net["data"][0]["details"][0].update(posSide="net", side="sell")  # net mode: a sell closes a long
    assert okx_parse(json.dumps(net)).events[0].side == 1
    assert json.loads(okx.wire("ws://h").subscribe(okx.channels(()))[0]) == {
        "op": page["subscribe"]["op"],
        "args": page["subscribe"]["args"],
    }


def test_okx_trades_and_inverse_contracts():
    page = doc("okx", "trades")
    spot = okx.OkxParser(contracts({"BTC-USDT": okx.Contract(1.0, inverse=False)}))  # the page's example is spot
    assert spot(json.dumps(page["message"])).events == [
        FuturesTrade("OKX", "BTCUSDT", "BTC", 42219.9, 2, 42219.9 * 0.12060306, 1630048897897)
    ]
    inverse = json.loads(json.dumps(page["message"]))
    inverse["arg"]["instId"] = inverse["data"][0]["instId"] = "BTC-USD-SWAP"
    assert okx_parse(json.dumps(inverse)).events[0].usd == pytest.approx(0.12060306 * 100)  # contracts of $100
    unknown = okx_parse(json.dumps(page["message"]))
    assert unknown.events == [] and unknown.rejected == ["item 0: no contract size for 'BTC-USDT' yet"]
    assert json.loads(okx.wire("ws://h").subscribe(("trades:BTC-USDT",))[0]) == {
        "op": "subscribe",
        "args": page["subscribe"]["args"],
    }


def test_okx_control_frames():
    subscribe, events = doc("okx", "subscribe"), doc("okx", "events")
    assert okx_parse(json.dumps(subscribe["subscribe_response"])).kind is FrameKind.ACK
    assert okx_parse(json.dumps(subscribe["unsubscribe_response"])).kind is FrameKind.ACK
    assert okx_parse(json.dumps(events["subscribe_error"])).kind is FrameKind.UNKNOWN
    assert okx.is_closing_notice(json.dumps(events["notice_service_upgrade"]))
    assert not okx.is_closing_notice(json.dumps(events["subscribe_error"]))
    heartbeat = doc("okx", "heartbeat")
    wire = okx.wire("ws://h")
    assert wire.ping == heartbeat["client_sends_text"] and wire.is_pong(heartbeat["server_replies_text"])
    assert wire.ping_interval_s < 30  # OKX cuts a connection that received nothing for 30 s


def test_okx_instruments_table():
    records = [
        {"instId": "BTC-USDT-SWAP", "ctVal": "0.01", "ctMult": "1", "ctType": "linear"},
        {"instId": "BTC-USD-SWAP", "ctVal": "100", "ctMult": "", "ctType": "inverse"},
        {"instId": "X-USDT-SWAP", "ctVal": "nan", "ctMult": "1", "ctType": "linear"},
        {"instId": "Y-USDT-SWAP", "ctVal": "1", "ctType": "option"},
    ]
    table, rejected = okx.parse_instruments({"code": "0", "msg": "", "data": records})
    assert table == {"BTC-USDT-SWAP": okx.Contract(0.01, False), "BTC-USD-SWAP": okx.Contract(100.0, True)}
    assert len(rejected) == 2
    spot = doc("okx", "rest_instruments")["response_spot"]  # the page's only example: no contract value
    assert okx.parse_instruments(spot) == ({}, ["record 0: ctType '' is neither linear nor inverse"])
    with pytest.raises(okx.OkxRestError):
        okx.parse_instruments({"code": "50014", "msg": "Parameter instType can not be empty", "data": []})


# -- hostile input ---------------------------------------------------------------------------------------------

BINANCE_ITEM = {**doc("binance", "force_order_all_market")["message"]}
BYBIT_FRAME = doc("bybit", "all_liquidation")["message"]
OKX_FRAME = doc("okx", "liquidation_orders")["message"]


def assert_clean(event):
    for name in ("exchange", "symbol", "base_asset"):
        assert not any(unicodedata.category(c) in REFUSED for c in getattr(event, name)), name
    assert type(event.side) is int and event.side in event.side_names
    assert math.isfinite(event.price) and event.price > 0 and math.isfinite(event.usd) and event.usd >= 0
    assert type(event.time_ms) is int and MIN_TIME_MS <= event.time_ms <= MAX_TIME_MS


# the venues' own field names, so that fuzzed objects often look like the real thing
EXCHANGE_KEYS = sorted(
    {*BINANCE_ITEM, *BINANCE_ITEM["o"], *BYBIT_FRAME, *OKX_FRAME, "T", "s", "S", "v", "p", "bkPx", "posSide", "sz"}
)
json_values = any_json(EXCHANGE_KEYS)
hostile_values = json_values | st.sampled_from(["SELL", "BUY", "Buy", "Sell", "long", "net", "sell", "²", "1e999"])
binance_orders = st.dictionaries(st.sampled_from(list(BINANCE_ITEM["o"]) + ["x"]), hostile_values, max_size=12)
bybit_items = st.dictionaries(st.sampled_from(["T", "s", "S", "v", "p", "x"]), hostile_values, max_size=6)
okx_details = st.dictionaries(st.sampled_from(["bkPx", "posSide", "side", "sz", "ts", "x"]), hostile_values, max_size=6)


@FUZZ
@given(st.lists(binance_orders | json_values, max_size=4), json_values.map(json.dumps))
def test_binance_parser_never_raises_and_keeps_the_valid_item(orders, raw):
    assert binance.parse_frame(raw).kind in FrameKind  # arbitrary JSON at all
    items = [{"e": "forceOrder", "E": 1, "o": o} for o in orders] + [BINANCE_ITEM]
    frame = binance.parse_frame(json.dumps(items))
    assert BINANCE_ITEM and frame.events[-1] == binance.parse_liquidation(BINANCE_ITEM)
    assert len(frame.events) + len(frame.rejected) == len(items)
    for event in frame.events:
        assert_clean(event)


@FUZZ
@given(st.lists(bybit_items | json_values, max_size=4), json_values.map(json.dumps))
def test_bybit_parser_never_raises_and_keeps_the_valid_item(items, raw):
    assert bybit.parse_frame(raw).kind in FrameKind
    valid = BYBIT_FRAME["data"][0]
    frame = bybit.parse_frame(json.dumps({**BYBIT_FRAME, "data": [*items, valid]}))
    assert frame.events[-1] == bybit.parse_liquidation(valid)
    assert len(frame.events) + len(frame.rejected) == len(items) + 1
    for event in frame.events:
        assert_clean(event)


@FUZZ
@given(st.lists(okx_details | json_values, max_size=4), st.lists(json_values, max_size=3), json_values.map(json.dumps))
def test_okx_parser_never_raises_and_keeps_the_valid_item(details, items, raw):
    assert okx_parse(raw).kind in FrameKind
    entry = OKX_FRAME["data"][0]
    hostile = {**entry, "details": [*details, *entry["details"]]}
    frame = okx_parse(json.dumps({**OKX_FRAME, "data": [*items, hostile]}))
    assert frame.events[-1] == okx_parse(json.dumps(OKX_FRAME)).events[0]
    for event in frame.events:
        assert_clean(event)


class Collector:
    def __init__(self):
        self.items = []

    def submit(self, events, received_ms, source):
        self.items += [(source, event.to_payload()) for event in events]


@FUZZ
@given(st.lists(json_values.map(json.dumps) | st.text(max_size=30), min_size=1, max_size=6))
def test_every_venue_router_survives_anything_and_counts_each_frame(texts):
    for source, parse in (("binance", binance.parse_frame), ("bybit", bybit.parse_frame), ("okx", okx_parse)):
        router = FrameRouter(Collector(), 1_000_000, (), parse, source, 10_000)
        for index, text in enumerate(texts):
            router(text, 1_000 + index)
        assert router.counters.frames == len(texts)


def test_exchange_trades_under_the_minimum_stay_in_the_listener():
    collector = Collector()
    router = FrameRouter(collector, 1_000_000, ("btcusdt@aggTrade",), binance.parse_frame, SOURCE_BINANCE, 10_000)
    trade = {**doc("binance", "agg_trade")["older"], "T": NOW_MS, "p": "56000", "q": "0.1"}  # $5,600
    router(json.dumps(trade), 1)
    router(json.dumps({**trade, "q": "1"}), 2)  # $56,000
    assert router.counters.filtered_trades == 1 and [p["usd"] for _, p in collector.items] == [56_000.0]
    assert collector.items[0][0] == SOURCE_BINANCE

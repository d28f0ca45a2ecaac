import json

import pytest

from teleglas.model.events import FuturesTrade, LiquidationOrder
from teleglas.source.coinglass.ws_protocol import (
    FrameKind,
    parse_frame,
    stream_url,
    subscribe_message,
    unsubscribe_message,
)

DOC_LIQUIDATION = {
    "baseAsset": "BTC",
    "exName": "Binance",
    "price": 56738.00,
    "side": 2,
    "symbol": "BTCUSDT",
    "time": 1725416318379,
    "volUsd": 3858.184,
}
TRADE_CHANNEL = "futures_trades@Binance_BTCUSDT@10000"


def frame(channel, *items):
    return json.dumps({"channel": channel, "data": list(items)})


def test_subscribe_message_uses_method_and_channels_exactly():
    text = subscribe_message(["liquidationOrders", TRADE_CHANNEL])
    assert text == '{"method": "subscribe", "channels": ["liquidationOrders", "futures_trades@Binance_BTCUSDT@10000"]}'
    assert json.loads(unsubscribe_message(["liquidationOrders"])) == {
        "method": "unsubscribe",
        "channels": ["liquidationOrders"],
    }


def test_stream_url_carries_the_key_as_query_parameter():
    assert (
        stream_url("wss://open-ws.coinglass.com/ws-api", "k3y/+=")
        == "wss://open-ws.coinglass.com/ws-api?cg-api-key=k3y%2F%2B%3D"
    )
    assert stream_url("ws://h/ws-api?x=1", "k") == "ws://h/ws-api?x=1&cg-api-key=k"


def test_documented_liquidation_frame():
    parsed = parse_frame(frame("liquidationOrders", DOC_LIQUIDATION))
    assert parsed.kind is FrameKind.DATA and parsed.rejected == []
    assert parsed.events == [LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738.0, 2, 3858.184, 1725416318379)]
    assert parsed.events[0].side_name == "SHORT"


def test_trade_frame_english_and_chinese_field_names():
    english = {
        "baseAsset": "BTC",
        "exName": "Binance",
        "price": 56750.0,
        "side": 2,
        "symbol": "BTCUSDT",
        "time": 1725416318379,
        "volUsd": 2500000,
    }
    chinese = {
        "base_asset": "BTC",
        "exchange": "Binance",
        "price": "56750.0",
        "side": "2",
        "symbol": "BTCUSDT",
        "time": "1725416318379",
        "volume_usd": "2500000",
    }
    events = parse_frame(frame(TRADE_CHANNEL, english, chinese)).events
    assert len(events) == 2 and events[0] == events[1]
    assert isinstance(events[0], FuturesTrade) and events[0].side_name == "BUY"


def test_sides_differ_per_channel():
    liq = parse_frame(frame("liquidationOrders", {**DOC_LIQUIDATION, "side": 1})).events[0]
    trade = parse_frame(frame(TRADE_CHANNEL, {**DOC_LIQUIDATION, "side": 1})).events[0]
    assert (liq.side_name, trade.side_name) == ("LONG", "SELL")


def test_pong_and_batches():
    assert parse_frame("pong").kind is FrameKind.PONG
    batch = parse_frame(
        frame("liquidationOrders", *[{**DOC_LIQUIDATION, "time": 1725416318379 + i} for i in range(500)])
    )
    assert len(batch.events) == 500


def test_single_object_data_is_accepted():
    parsed = parse_frame(json.dumps({"channel": "liquidationOrders", "data": DOC_LIQUIDATION}))
    assert len(parsed.events) == 1


@pytest.mark.parametrize(
    "text, reason",
    [
        ("upstream error: service busy", "not JSON"),
        ("{", "not JSON"),
        ("[1, 2]", "not an object"),
        ('"text"', "not an object"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
        ("1" * 5000, "not JSON"),
        (json.dumps({"channel": "liquidationOrders", "data": "nope"}), "not a list"),
    ],
)
def test_malformed_frames(text, reason):
    parsed = parse_frame(text)
    assert parsed.kind is FrameKind.MALFORMED and reason in parsed.reason and parsed.events == []


def test_binary_that_is_not_utf8():
    assert parse_frame(b"\xff\xfe\x00").kind is FrameKind.MALFORMED


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"event": "subscribed"}),
        json.dumps({"channel": "liquidationOrders"}),
        json.dumps({"channel": "spot_trades@Binance_BTCUSDT@1", "data": []}),
    ],
)
def test_unknown_frames(text):
    assert parse_frame(text).kind is FrameKind.UNKNOWN


@pytest.mark.parametrize(
    "patch, reason",
    [
        ({"symbol": None}, "missing field 'symbol'"),
        ({"exName": None}, "missing field 'exName'"),
        ({"price": None}, "missing field 'price'"),
        ({"volUsd": None}, "missing field 'volUsd'"),
        ({"time": None}, "missing field 'time'"),
        ({"side": 3}, "side"),
        ({"side": True}, "side"),
        ({"side": "short"}, "side"),
        ({"price": "abc"}, "price is not a finite number"),
        ({"price": "nan"}, "price is not a finite number"),
        ({"price": 0}, "price out of range"),
        ({"price": -5}, "price out of range"),
        ({"price": True}, "price is bool"),
        ({"price": [1]}, "price is list"),
        ({"volUsd": 1e400}, "volUsd out of range"),
        ({"volUsd": 10**400}, "volUsd is not a finite number"),
        ({"volUsd": {"a": 1}}, "volUsd is dict"),
        ({"time": 1725416318.379}, "time is not a millisecond timestamp"),
        ({"time": 17254163183790000}, "time out of range"),
        ({"symbol": 42}, "symbol is int"),
        ({"symbol": ""}, "symbol length"),
        ({"symbol": "X" * 65}, "symbol length"),
        ({"symbol": "BTC\nUSDT"}, "control characters"),
    ],
)
def test_bad_items_are_rejected_with_a_reason_and_valid_neighbours_kept(patch, reason):
    bad = {**DOC_LIQUIDATION, **patch}
    bad = {k: v for k, v in bad.items() if v is not None}
    parsed = parse_frame(frame("liquidationOrders", DOC_LIQUIDATION, bad, "not an object"))
    assert parsed.kind is FrameKind.DATA
    assert len(parsed.events) == 1
    assert len(parsed.rejected) == 2
    assert reason in parsed.rejected[0], parsed.rejected[0]
    assert "not an object" in parsed.rejected[1]


def test_html_in_symbol_is_kept_verbatim_for_escaping_later():
    parsed = parse_frame(frame("liquidationOrders", {**DOC_LIQUIDATION, "symbol": "<b>X</b>USDT"}))
    assert parsed.events[0].symbol == "<b>X</b>USDT"


@pytest.mark.parametrize("channel", ["liquidationOrders", TRADE_CHANNEL])
@pytest.mark.parametrize("side", ["²", "¹", "①", "٣", "٢", "２", "1" * 5000, "2.0", "+2", "0x2"])
def test_a_side_in_other_digits_is_rejected_and_the_rest_of_the_frame_kept(channel, side):
    """str.isdigit() takes '²' and int() then raised a ValueError that ended the listener; '٢' and '２' were read as 2.
    Only ASCII digits count."""
    neighbour = {**DOC_LIQUIDATION, "time": 1725416318380}
    parsed = parse_frame(frame(channel, DOC_LIQUIDATION, {**DOC_LIQUIDATION, "side": side}, neighbour))
    assert parsed.kind is FrameKind.DATA
    assert [e.time_ms for e in parsed.events] == [1725416318379, 1725416318380]
    [reason] = parsed.rejected
    assert reason.startswith("item 1: side ") and "is not one of [1, 2]" in reason and len(reason) < 80


@pytest.mark.parametrize("side", ["2", " 2 ", 2])
def test_a_side_in_ascii_digits_is_accepted(side):
    assert parse_frame(frame("liquidationOrders", {**DOC_LIQUIDATION, "side": side})).events[0].side == 2


@pytest.mark.parametrize(
    "value", ["５６７３８", "٥٦٧٣٨", "56_738", " 56738", "56738\n", "nan", "Infinity", "0x10", "1e", ".", ""]
)
def test_a_number_string_that_is_not_plain_ascii_decimal_is_rejected(value):
    """float() reads all of these (or the first few) as numbers; CoinGlass sends numbers or strings like "56738.1"."""
    for name in ("price", "volUsd", "time"):
        parsed = parse_frame(frame("liquidationOrders", {**DOC_LIQUIDATION, name: value}, DOC_LIQUIDATION))
        assert len(parsed.events) == 1
        assert parsed.rejected == [f"item 0: {name} is not a finite number"]


@pytest.mark.parametrize(
    "value, expected", [("56738.1", 56738.1), ("-0", 0.0), ("5e4", 50000.0), (".5", 0.5), ("7.", 7.0), ("+3", 3.0)]
)
def test_plain_decimal_strings_are_numbers(value, expected):
    parsed = parse_frame(frame("liquidationOrders", {**DOC_LIQUIDATION, "volUsd": value}))
    assert [repr(e.usd) for e in parsed.events] == [repr(expected)]


SPOOFING = [
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\x85",
    "\x9b",
    "\ud800",
    "\u00ad",
]


@pytest.mark.parametrize("char", SPOOFING)
@pytest.mark.parametrize("name", ["symbol", "exName", "baseAsset"])
def test_control_format_and_bidi_characters_in_names_are_rejected(name, char):
    """A hostile stream must not make a name display as "BTCUSDT" (an RTL override, a zero-width joiner...)."""
    parsed = parse_frame(frame("liquidationOrders", {**DOC_LIQUIDATION, name: f"BTC{char}TDSU"}, DOC_LIQUIDATION))
    assert len(parsed.events) == 1 and parsed.rejected == [f"item 0: {name} contains control characters"]


def test_other_non_ascii_names_are_kept_and_long_ones_are_not_echoed():
    parsed = parse_frame(frame("liquidationOrders", {**DOC_LIQUIDATION, "symbol": "币安人生USDT", "exName": "Bitgét"}))
    assert (parsed.events[0].symbol, parsed.events[0].exchange) == ("币安人生USDT", "Bitgét")
    parsed = parse_frame(frame("liquidationOrders", {**DOC_LIQUIDATION, "symbol": "X" * 10_000 + "\u202e"}))
    assert parsed.rejected == ["item 0: symbol length 10001 outside 1..64"]

"""Fuzz tests (hypothesis) of every parser of outside input: the WebSocket frame parser and FrameRouter, the REST
`data` parsers and the manual bot's market data. Whatever arrives, they answer or raise their documented error,
a valid item beside hostile ones still becomes its event, and what they let through obeys the field rules."""

import dataclasses
import json
import logging
import math
import unicodedata

from hypothesis import example, given, settings, strategies as st

import teleglas.source.listener.frame_router
from teleglas.defines import OTHER_CHANNEL
from teleglas.manual.market_data import MarketData, NoData, UnknownCoin
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent
from teleglas.source.coinglass.rest import (
    LIMIT_HEADER,
    USED_HEADER,
    CoinGlassError,
    check_envelope,
    limit_headers,
)
from teleglas.source.coinglass.rest_records import (
    parse_coin_market,
    parse_coin_rsi,
    parse_fear_greed,
    parse_funding_rates,
    parse_liquidation_totals,
    parse_long_short_ratio,
    parse_open_interest,
    parse_open_interest_rows,
    parse_orderbook_depth,
    parse_price_candles,
    parse_whale_alerts,
)
from teleglas.source.coinglass.ws_protocol import ItemError, parse_frame, parse_liquidation, parse_trade
from teleglas.source.fields import MAX_TIME_MS, MIN_TIME_MS, FieldError
from teleglas.source.frames import FrameKind
from teleglas.source.listener.frame_router import FrameRouter
from tests.support import hostile
from tests.support.hostile import REFUSED, texts

FUZZ = settings(max_examples=300, deadline=None, database=None)
LIQ_CHANNEL = "liquidationOrders"
TRADE_CHANNEL = "futures_trades@Binance_BTCUSDT@10000"
TIME = 1725416318379
ITEM = {
    "baseAsset": "BTC",
    "exName": "Binance",
    "price": 56738.0,
    "side": 2,
    "symbol": "BTCUSDT",
    "time": TIME,
    "volUsd": 3858.184,
}
ITEM_FIELDS = [*ITEM, "base_asset", "exchange", "volume_usd"]  # the English and the Chinese spellings
KEYS = [
    *ITEM_FIELDS,
    "channel",
    "data",
    "user",
    "position_size",
    "position_action",
    "open_interest_usd",
    "data_list",
    "stablecoin_margin_list",
    "token_margin_list",
    "funding_rate",
    "current_price",
    "close",
    "code",
    "msg",
]
json_values = hostile.json_values(KEYS)
# In Python, not over the wire: ints past the 4300 digits int <-> str conversion refuses.
python_values = st.one_of(json_values, st.sampled_from([10**5000, -(10**5000), ["²"] * 3, {"side": 10**5000}]))


def frame(channel, *items):
    return json.dumps({"channel": channel, "data": list(items)})


def assert_clean(event: MarketEvent):
    """What any parser lets through obeys the field rules, whatever the input was."""
    for name in ("exchange", "symbol", "base_asset"):
        assert not any(unicodedata.category(c) in REFUSED for c in getattr(event, name)), name
    assert type(event.side) is int and event.side in event.side_names
    assert math.isfinite(event.price) and event.price > 0 and math.isfinite(event.usd) and event.usd >= 0
    assert type(event.time_ms) is int and MIN_TIME_MS <= event.time_ms <= MAX_TIME_MS


def assert_parsed(parsed, n_items=None):
    assert isinstance(parsed.kind, FrameKind)
    for event in parsed.events:
        assert_clean(event)
    if n_items is not None:
        assert parsed.kind is FrameKind.DATA and len(parsed.events) + len(parsed.rejected) == n_items


@FUZZ
@given(json_values)
@example({"channel": LIQ_CHANNEL, "data": [{**ITEM, "side": "¹"}]})
def test_any_json_value_as_a_whole_frame(value):
    assert_parsed(parse_frame(json.dumps(value)))


@FUZZ
@given(st.sampled_from([LIQ_CHANNEL, TRADE_CHANNEL, "futures_trades@", "other"]) | texts, json_values)
@example(TRADE_CHANNEL, [{**ITEM, "side": "①"}])
def test_any_json_value_as_data(channel, value):
    assert_parsed(parse_frame(json.dumps({"channel": channel, "data": value})))


@FUZZ
@given(st.sampled_from([LIQ_CHANNEL, TRADE_CHANNEL]), st.lists(json_values, max_size=5), st.integers(0, 5))
@example(LIQ_CHANNEL, [{**ITEM, "side": "²"}], 1)
def test_a_valid_item_among_hostile_items_always_becomes_its_event(channel, hostile, position):
    items = [*hostile[:position], ITEM, *hostile[position:]]
    parsed = parse_frame(frame(channel, *items))
    assert_parsed(parsed, len(items))
    cls = LiquidationOrder if channel == LIQ_CHANNEL else FuturesTrade
    assert cls("Binance", "BTCUSDT", "BTC", 56738.0, 2, 3858.184, TIME) in parsed.events


@FUZZ
@given(st.sampled_from([LIQ_CHANNEL, TRADE_CHANNEL]), st.sampled_from(ITEM_FIELDS), json_values)
@example(LIQ_CHANNEL, "side", "²")
@example(TRADE_CHANNEL, "side", "1" * 5000)
@example(TRADE_CHANNEL, "price", "５６７３８")
def test_any_value_in_any_field_of_a_liquidation_or_trade_item(channel, name, value):
    parsed = parse_frame(frame(channel, {**ITEM, name: value}, {**ITEM, "time": TIME + 1}))
    assert_parsed(parsed, 2)
    assert parsed.events[-1].time_ms == TIME + 1


@FUZZ
@given(st.sampled_from([parse_liquidation, parse_trade]), st.sampled_from(ITEM_FIELDS), python_values)
def test_item_parsers_raise_only_item_errors_even_for_values_json_cannot_carry(parse, name, value):
    try:
        assert_clean(parse({**ITEM, name: value}))
    except ItemError:
        pass


class Collector:
    def __init__(self):
        self.payloads = []

    def submit(self, events, received_ms, source="coinglass"):
        self.payloads += [event.to_payload() for event in events]


raw_frames = st.one_of(
    st.text(max_size=40),
    st.text(st.sampled_from('{}[]",:0123456789.-abcnul\\ '), max_size=40),
    st.sampled_from(
        [
            "pong",
            " pong ",
            "1" * 5000,
            "[" * 100_000 + "]" * 100_000,
            '{"channel": "liquidationOrders", "data": ' + "[" * 50_000,
            frame(LIQ_CHANNEL, {**ITEM, "side": "²"}),
            frame(TRADE_CHANNEL, {**ITEM, "side": "①"}, ITEM),
        ]
    ),
    json_values.map(json.dumps),
    st.builds(
        lambda channel, items: frame(channel, *items),
        st.sampled_from([LIQ_CHANNEL, TRADE_CHANNEL, "x\r\x1b[2J"]),
        st.lists(json_values | st.just(ITEM), max_size=4),
    ),
)


@FUZZ
@given(st.lists(raw_frames, min_size=1, max_size=6))
def test_frame_router_never_raises_and_every_frame_is_counted_once(texts_in):
    collector = Collector()
    router = FrameRouter(collector, 1_000_000, (LIQ_CHANNEL, TRADE_CHANNEL))
    for index, text in enumerate(texts_in):
        router(text, 1_000 + index)
    c = router.counters
    parsed = [parse_frame(text) for text in texts_in]
    data_frames = sum(counts[0] for counts in router.by_channel.values())
    assert c.frames == len(texts_in) == c.bad_frames + c.unknown_frames + c.oversized_frames + data_frames
    assert c.bad_frames == sum(p.kind is FrameKind.MALFORMED for p in parsed)
    assert c.unknown_frames == sum(p.kind is FrameKind.UNKNOWN for p in parsed)
    assert c.rejected_items == sum(len(p.rejected) for p in parsed)
    assert c.events == len(collector.payloads) == sum(counts[1] for counts in router.by_channel.values())


def test_frame_router_counts_an_unexpected_exception_as_one_bad_frame_and_goes_on(monkeypatch, caplog):
    """The last resort: whatever a parser bug raises costs its frame, not the read loop."""
    real_parse = teleglas.source.listener.frame_router.parse_frame

    def parse_or_fail(text):
        if "boom" in text:
            raise TypeError("a bug")
        return real_parse(text)

    monkeypatch.setattr(teleglas.source.listener.frame_router, "parse_frame", parse_or_fail)
    caplog.set_level(logging.WARNING)
    collector = Collector()
    router = FrameRouter(collector, 1_000_000, (LIQ_CHANNEL,))
    for text in (frame(LIQ_CHANNEL, ITEM), '"boom\r\x1b[31m"', frame(LIQ_CHANNEL, {**ITEM, "time": TIME + 1})):
        router(text, 1_000)
    assert (router.counters.frames, router.counters.bad_frames, router.counters.events) == (3, 1, 2)
    assert [p["time_ms"] for p in collector.payloads] == [TIME, TIME + 1]
    line = next(r.getMessage() for r in caplog.records if "not handled" in r.getMessage())
    assert line.startswith("[WS_CLIENT] ") and "TypeError" in line and "\r" not in line and "\x1b" not in line


def test_a_channel_name_from_a_frame_is_logged_escaped(caplog):
    router = FrameRouter(Collector(), 1_000_000, (LIQ_CHANNEL,))
    caplog.set_level(logging.WARNING)
    router(frame("futures_trades@X\r\n[WS_CLIENT] forged\x1b[2J", {**ITEM, "side": 9}), 1_000)
    assert router.counters.rejected_items == 1 and router.by_channel[OTHER_CHANNEL] == [1, 0]
    [line] = [r.getMessage() for r in caplog.records]
    assert "\r" not in line and "\n" not in line and "\x1b" not in line and "item rejected" in line


# One valid record per REST parser, and how each is called.
WHALE = {
    "user": "0xabc",
    "symbol": "BTC",
    "position_size": "-12.5",
    "entry_price": 97000,
    "position_value_usd": "-1212500",
    "position_action": 1,
    "create_time": TIME,
}
FUNDING = {
    "symbol": "BTC",
    "stablecoin_margin_list": [
        {"exchange": "Binance", "funding_rate": "0.15", "funding_rate_interval": 8, "next_funding_time": TIME}
    ],
    "token_margin_list": [{"exchange": "OKX", "funding_rate": -0.01}],
}
OI_ROW = {"exchange": "All", "open_interest_usd": 9e9, "open_interest_change_percent_1h": -1.5}
MARKET = {
    "symbol": "BTC",
    "current_price": 97000,
    "open_interest_usd": 5e10,
    "open_interest_volume_ratio": 0.8,
    "avg_funding_rate_by_oi": 0.01,
}
LIQ_ROW = {"exchange": "All", "long_liquidation_usd": 1e6, "short_liquidation_usd": "2e6"}
BOOK = {"bids_usd": 1e7, "asks_usd": 2e7, "time": TIME}
RATIO = {
    "global_account_long_percent": 60,
    "global_account_short_percent": 40,
    "global_account_long_short_ratio": 1.5,
    "time": TIME,
}
FEAR = {"data_list": [50, 61], "time_list": [TIME - 1, TIME]}
CANDLE = {"time": TIME, "open": 1, "close": "1.5"}
RSI = {"symbol": "BTC", "rsi_15m": 54.7, "rsi_1w": "71.9", "price_change_percent_1h": -0.23, "current_price": 87348.6}
REST_PARSERS = {
    "whale alerts": (parse_whale_alerts, (), WHALE),
    "funding rates": (parse_funding_rates, (), FUNDING),
    "open interest rows": (parse_open_interest_rows, (), OI_ROW),
    "open interest": (parse_open_interest, ("BTC",), OI_ROW),
    "coin market": (parse_coin_market, ("BTC",), MARKET),
    "liquidation totals": (parse_liquidation_totals, ("1h",), LIQ_ROW),
    "order book": (parse_orderbook_depth, (), BOOK),
    "long/short ratio": (parse_long_short_ratio, (), RATIO),
    "fear & greed": (parse_fear_greed, (), FEAR),
    "price candles": (parse_price_candles, (), CANDLE),
    "coin rsi": (parse_coin_rsi, ("BTC",), RSI),
}


def assert_finite(result):
    """Every number a REST parser returns is finite, in records, lists of them and their dicts alike."""
    if isinstance(result, MarketEvent):
        assert_clean(result)
    elif dataclasses.is_dataclass(result):
        assert_finite([getattr(result, f.name) for f in dataclasses.fields(result)])
    elif isinstance(result, (list, tuple)):
        for value in result:
            assert_finite(value)
    elif isinstance(result, dict):
        assert_finite(list(result.values()))
    elif isinstance(result, float):
        assert math.isfinite(result)


def parse_or_refuse(name, data):
    parse, args, _ = REST_PARSERS[name]
    try:
        result = parse(data, *args)
    except FieldError:
        return None
    assert_finite(result)
    return result


@FUZZ
@given(python_values)
@example([{"symbol": "BTC", "stablecoin_margin_list": 5}])
def test_rest_parsers_over_any_data_return_or_raise_field_error(value):
    for name in REST_PARSERS:
        parse_or_refuse(name, value)
        parse_or_refuse(name, [value])


@FUZZ
@given(python_values, st.data())
def test_rest_parsers_with_any_value_in_any_field_of_a_valid_record(value, data):
    for name, (_, _, record) in REST_PARSERS.items():
        field = data.draw(st.sampled_from([*record, "exchange", "symbol"]))
        parse_or_refuse(name, [{**record, field: value}])
        parse_or_refuse(name, {**record, field: value})
    margin = data.draw(st.sampled_from(["stablecoin_margin_list", "token_margin_list"]))
    field = data.draw(st.sampled_from([*FUNDING[margin][0], "next_funding_time", "funding_rate_interval"]))
    parse_or_refuse("funding rates", [{**FUNDING, margin: [{**FUNDING[margin][0], field: value}]}])


@FUZZ
@given(st.lists(python_values, max_size=4))
@example([{"symbol": "ETH", "token_margin_list": 7}])
def test_a_valid_rest_record_among_hostile_ones_is_kept(hostile):
    for parse, record, kept in (
        (parse_whale_alerts, WHALE, 1),
        (parse_funding_rates, FUNDING, 2),
        (parse_open_interest_rows, OI_ROW, 1),
        (parse_price_candles, CANDLE, 1),
    ):
        records, _ = parse([*hostile, record])
        assert_finite(records)
        assert len(records) >= kept


@FUZZ
@given(st.integers(100, 599), json_values | st.dictionaries(st.sampled_from(["code", "msg", "data"]), json_values))
def test_check_envelope_returns_data_or_raises_a_coinglass_error(status, body):
    try:
        check_envelope(status, body, "/api/x")
    except CoinGlassError:
        pass


@FUZZ
@given(st.dictionaries(st.sampled_from([LIMIT_HEADER, USED_HEADER, "other"]), st.text(max_size=12)))
def test_rate_limit_headers_are_counts_or_nothing(headers):
    limit, used = limit_headers(headers)
    assert limit is None or 0 < limit < 10**7
    assert used is None or 0 <= used < 10**7


class FixedRest:
    """Answers every path with the same hostile `data` (the envelope is the client's business, tested apart)."""

    def __init__(self, data):
        self.data = data

    def get(self, path, params=None, cache_s=0):
        return self.data


valid_or_hostile_records = (
    st.sampled_from([WHALE, FUNDING, OI_ROW, MARKET, LIQ_ROW, BOOK, RATIO, FEAR, RSI]) | python_values
)


@FUZZ
@given(python_values | st.lists(valid_or_hostile_records, max_size=4))
@example([{"symbol": "BTC", "stablecoin_margin_list": True}])
@example(
    [
        {"symbol": 10**5000, "current_price": 1},
        {"exchange": ["All"], "long_liquidation_usd": 1, "short_liquidation_usd": 1},
    ]
)
def test_market_data_raises_only_no_data_or_unknown_coin(data):
    market = MarketData(FixedRest(data))
    asks = ("require_coin", "coin_market", "liquidations", "orderbook", "funding", "open_interest", "sentiment", "rsi")
    for ask in asks:
        try:
            assert_finite(getattr(market, ask)("BTC"))
        except (NoData, UnknownCoin):
            pass
    assert_finite(market.whales())

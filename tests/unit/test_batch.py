"""The process_events batch codec: items written by the listener's serializer come back as the same typed events
(every float to the bit, so the same fingerprints), items of the shape before are still read, and anything else is
a PayloadError, never another exception."""

import json
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st
from kombu import serialization
from kombu.utils import json as kombu_json

from teleglas.defines import BATCH_SERIALIZER, SOURCE_BINANCE, SOURCE_COINGLASS
from teleglas.model.batch import encode, items, pack, plain, read_item, unpack
from teleglas.model.events import FuturesTrade, LiquidationOrder, PayloadError
from teleglas.ops import broker_transport
from tests.support import hostile

LIQ = LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738.0, 2, 1_250_000.0, 1725478245120)
TRADE = FuturesTrade("OKX", "ETHUSDT", "ETH", 2411.25, 1, 730_000.0, 1725478420010)
floats = st.floats(min_value=1e-12, max_value=1e15, exclude_max=True)


def through_the_broker(value):
    """As the worker gets it: the body JSON that kombu reads back."""
    return json.loads(encode(value))


@settings(max_examples=200, deadline=None, database=None)
@given(floats, floats, st.sampled_from([LiquidationOrder, FuturesTrade]), st.none() | st.integers(0, 2**53))
def test_events_come_back_the_same_to_the_last_bit(price, usd, cls, received_ms):
    event = cls("Bybit", "SOLUSDT", "SOL", price, 1, usd, 1725478245120)
    [item] = through_the_broker(items([event], received_ms, SOURCE_BINANCE))
    read, read_ms, source = read_item(item)
    assert (type(read), repr(read), read.fingerprint()) == (cls, repr(event), event.fingerprint())
    assert (read_ms, source) == (received_ms, SOURCE_BINANCE)


def test_the_serializer_writes_a_whole_message_body_as_plain_json():
    broker_transport.register()
    content_type, encoding, body = serialization.dumps(((items([LIQ, TRADE], 7, "okx"),), {}, {}), BATCH_SERIALIZER)
    assert (content_type, encoding) == ("application/json", "utf-8")
    [[batch], kwargs, _] = json.loads(body)
    assert batch[1] == ["trade", 7, "okx", "OKX", "ETHUSDT", "ETH", 2411.25, 1, 730000.0, 1725478420010]
    assert [read_item(item)[0] for item in batch] == [LIQ, TRADE] and kwargs == {}


def test_a_packed_batch_is_one_text_read_back_in_one_call_to_the_same_events():
    batch = items([LIQ, TRADE], 7, SOURCE_BINANCE) + items([LIQ], None, SOURCE_COINGLASS)
    packed = pack(batch)
    assert isinstance(packed, str) and json.loads(packed) == json.loads(encode(batch))
    read = unpack(json.loads(encode([packed]))[0])  # through the broker: a JSON string in the message body
    assert [read_item(item) for item in read] == [
        (LIQ, 7, SOURCE_BINANCE),
        (TRADE, 7, SOURCE_BINANCE),
        (LIQ, None, "coinglass"),
    ]
    assert [plain(item) for item in read] == json.loads(packed)  # a retry packs them again as they came


def test_a_hostile_item_in_a_packed_batch_is_refused_alone():
    good = items([LIQ, TRADE], 7, SOURCE_BINANCE)
    hostile = ["trade", "7", "okx", "OKX", "ETHUSDT", "ETH", 1.0, 1, 1.0, 1]
    read = unpack(pack([good[0], hostile, good[1]]))
    assert read_item(read[0])[0] == LIQ and read_item(read[2])[0] == TRADE
    with pytest.raises(PayloadError, match="batch item"):
        read_item(read[1])


@pytest.mark.parametrize(
    "argument, message",
    [('{"a": 1}', "packed batch is dict"), ("[1, 2", "packed batch"), ("", "packed batch"), (5, "batch is int")],
)
def test_a_batch_that_is_not_a_list_or_its_json_is_one_payload_error(argument, message):
    with pytest.raises(PayloadError, match=message):
        unpack(argument)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=40) | hostile.json_values(["kind", "exchange", "symbol", "side", "price"]).map(json.dumps))
def test_any_text_is_items_each_an_event_or_a_payload_error(text):
    try:
        read = unpack(text)
    except PayloadError:
        return
    for item in read:
        try:
            read_item(item)
        except PayloadError:
            pass


def test_items_of_the_shape_before_are_still_read():
    assert read_item([LIQ.to_payload(), 5]) == (LIQ, 5, SOURCE_COINGLASS)
    assert read_item([TRADE.to_payload(), None, SOURCE_BINANCE]) == (TRADE, None, SOURCE_BINANCE)


@pytest.mark.parametrize(
    "item, message",
    [
        (["liquidation", 1, "okx"], "batch item"),
        (["whale_position", 1, "okx", "OKX", "BTCUSDT", "BTC", 1.0, 1, 1.0, 1], "unknown event kind"),
        (["liquidation", 1, "okx", "OKX", "BTCUSDT", "BTC", 1.0, 3, 1.0, 1], "side 3"),
        (["trade", 1, "okx", "OKX", "BTCUSDT", "BTC", "1.0", 1, 1.0, 1], "batch item"),
        (["trade", True, "okx", "OKX", "BTCUSDT", "BTC", 1.0, 1, 1.0, 1], "batch item"),
        ([{"kind": "funding"}, 1], "unknown event kind"),
        ([{**LIQ.to_payload(), "side": []}, 1], "unhashable"),
        (5, "non-iterable"),
        ([], "not enough values"),
    ],
)
def test_anything_else_is_a_payload_error(item, message):
    with pytest.raises(PayloadError, match=message):
        read_item(item)


@settings(max_examples=300, deadline=None, database=None)
@given(hostile.json_values(["kind", "exchange", "symbol", "side", "price"]))
def test_any_json_value_is_an_event_or_a_payload_error(value):
    try:
        read_item(value)
    except PayloadError:
        pass


def test_every_message_body_reads_as_kombus_own_json_reader_reads_it():
    broker_transport.register()
    assert serialization.registry._decoders["application/json"] is broker_transport.read_json
    bodies = [
        serialization.dumps(((items([LIQ, TRADE], 7, "okx"),), {}, {"chain": None}), BATCH_SERIALIZER)[2],
        kombu_json.dumps({"id": uuid.UUID(int=7), "at": datetime(2026, 11, 28, 21, 0), "n": Decimal("1.5")}),
        b"[NaN, 1e400, -Infinity]",
        '{"text": "\\u00e9t\\u00e9 \\ud83d\\udd25", "n": 18446744073709551616}',
    ]
    for body in bodies:
        ours = serialization.loads(body, "application/json", "utf-8")
        theirs = kombu_json.loads(body)
        assert repr(ours) == repr(theirs)  # repr: NaN equals nothing, its text does
    with pytest.raises(serialization.DecodeError):
        serialization.loads(b'{"unterminated": ', "application/json", "utf-8")

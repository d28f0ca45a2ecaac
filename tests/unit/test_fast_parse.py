"""The CoinGlass frame parser's fast path (msgspec, the whole frame in one step) and its careful reference path
(item by item, teleglas.source.fields) give the same answer for any text: the same events, to the last bit of
every float, and the same refusals with the same reasons, so the listener's counters and log lines cannot tell
which path read a frame. Frames are built as text, so number tokens, spacing, duplicate keys and hostile values
reach both JSON readers exactly as they came."""

import json
import logging
import typing
from pathlib import Path

from hypothesis import example, given, settings, strategies as st

from teleglas.defines import LIQUIDATION_SIDES, TRADE_SIDES
from teleglas.source.coinglass import ws_protocol
from teleglas.source.coinglass.ws_protocol import parse_frame, parse_frame_careful, parse_frame_fast
from teleglas.source.fields import MAX_TEXT_FIELD, MAX_TIME_MS, MIN_TIME_MS
from teleglas.source.frames import ParsedFrame
from teleglas.source.listener.frame_router import FrameRouter
from tests.support import hostile

FUZZ = settings(max_examples=400, deadline=None, database=None)
LIQ_CHANNEL = "liquidationOrders"
TRADE_CHANNEL = "futures_trades@Binance_BTCUSDT@10000"
CAMEL = ("exName", "symbol", "baseAsset", "price", "side", "volUsd", "time")
SNAKE = ("exchange", "symbol", "base_asset", "price", "side", "volume_usd", "time")
DOC_ITEM = (  # as the docs print it, compact
    '{"baseAsset":"BTC","exName":"Binance","price":56738.00,"side":2,"symbol":"BTCUSDT","time":1725416318379,'
    '"volUsd":3858.18400}'
)
DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs" / "coinglass"

json_values = hostile.json_values([*CAMEL, *SNAKE, "channel", "data"])
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=MAX_TEXT_FIELD + 2)
names = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12),  # a plain name
    printable,  # padded, empty, too long, quotes and backslashes (escaped by json.dumps)
    hostile.texts,
    st.sampled_from(
        ["BTC\x7fUSDT", "é", "币安人生USDT", " BTC", "BTC ", "x" * MAX_TEXT_FIELD, "x" * (MAX_TEXT_FIELD + 1)]
    ),
).map(lambda name: json.dumps(name, ensure_ascii=False))
# Number tokens as a JSON writer may put them: shortest repr or not, exponents, ints, boundaries of the rules.
number_tokens = st.one_of(
    st.floats(min_value=1e-12, max_value=2e15).map(repr),
    st.from_regex(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["0", "-0", "-0.0", "0.0", "1e15", "999999999999999.9", "1e-400", "5e-324", "1e400", "1" * 400]),
)
times = st.one_of(
    st.integers(MIN_TIME_MS - 3, MAX_TIME_MS + 3).map(str),
    st.sampled_from([str(MIN_TIME_MS), str(MAX_TIME_MS), f"{MIN_TIME_MS}.0", "1725416318379.5", "1.725416318379e12"]),
    number_tokens,
)
sides = st.sampled_from(["1", "2", "0", "3", "-1", "1.0", "2e0", "true", "null", '"2"', '" 1"', '"²"'])
values = {
    "name": names,
    "price": number_tokens,
    "side": sides,
    "usd": number_tokens,
    "time": times,
}
FIELD_KIND = dict(zip(CAMEL, ("name", "name", "name", "price", "side", "usd", "time"))) | dict(
    zip(SNAKE, ("name", "name", "name", "price", "side", "usd", "time"))
)


def value_of(key: str) -> st.SearchStrategy[str]:
    return values[FIELD_KIND[key]] if key in FIELD_KIND else json_values.map(json.dumps)


@st.composite
def valid_item(draw, keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """The seven fields of one spelling, each with a value the rules accept (what the stream sends)."""
    name = st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'), min_size=1, max_size=10
    )
    return [
        (keys[0], json.dumps(draw(name))),
        (keys[1], json.dumps(draw(name))),
        (keys[2], json.dumps(draw(name))),
        (keys[3], repr(draw(st.floats(min_value=1e-9, max_value=9e14)))),
        (keys[4], draw(st.sampled_from(["1", "2"]))),
        (
            keys[5],
            draw(st.one_of(st.floats(min_value=1e-3, max_value=9e14).map(repr), st.integers(1, 10**12).map(str))),
        ),
        (keys[6], str(draw(st.integers(MIN_TIME_MS, MAX_TIME_MS)))),
    ]


@st.composite
def any_item(draw, keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """A valid item changed in a few ways: a field's value from anywhere, a field gone, a key spelled the other way
    or repeated, a key the docs do not print."""
    fields = draw(valid_item(keys))
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(fields) - 1))
        key = fields[index][0]
        change = draw(st.sampled_from(["value", "hostile", "drop", "rename", "repeat", "extra"]))
        if change == "value":
            fields[index] = (key, draw(value_of(key)))
        elif change == "hostile":
            fields[index] = (key, json.dumps(draw(json_values)))
        elif change == "drop" and len(fields) > 1:
            del fields[index]
        elif change == "rename":
            fields[index] = (draw(st.sampled_from([*CAMEL, *SNAKE])), fields[index][1])
        elif change == "repeat":
            fields.insert(draw(st.integers(0, len(fields))), (key, draw(value_of(key))))
        else:
            fields.append((draw(st.sampled_from(["user", "ts", "x"])), json.dumps(draw(json_values))))
    return fields


@st.composite
def frames(draw) -> str:
    """A frame as text: items valid or not, written compact, spaced or indented."""
    colon, comma = draw(st.sampled_from([(":", ","), (": ", ", "), (" : ", " , "), (":\n", ",\n"), ("\t:", "\r\n,")]))
    # Mostly valid items on a known channel, so that many frames reach the end of the fast path.
    keys = draw(st.sampled_from([CAMEL, SNAKE]))
    count = draw(st.integers(0, 6))
    items = [draw(any_item(keys) if draw(st.integers(0, 3)) == 0 else valid_item(keys)) for _ in range(count)]
    texts = ["{" + comma.join(f'"{key}"{colon}{value}' for key, value in item) + "}" for item in items]
    channel = draw(st.sampled_from([LIQ_CHANNEL, TRADE_CHANNEL, "futures_trades", "other"]))
    if draw(st.integers(0, 5)) == 0:
        channel = draw(hostile.texts)
    data = "[" + comma.join(texts) + "]"
    if draw(st.integers(0, 7)) == 0:  # one item as an object (the careful path takes it), or no list at all
        data = draw(st.sampled_from([texts[0] if texts else "{}", "null", '"x"', "[[]]"]))
    fields = [f'"channel"{colon}{json.dumps(channel, ensure_ascii=False)}', f'"data"{colon}{data}']
    if draw(st.integers(0, 5)) == 0:
        fields.insert(draw(st.integers(0, 2)), f'"{draw(st.sampled_from(["ts", "channel", "data"]))}"{colon}1')
    return draw(st.sampled_from(["", " ", "\n"])) + "{" + comma.join(fields) + "}"


def answer(parsed: ParsedFrame) -> tuple:
    """Everything a ParsedFrame says, floats by repr (0.0 and -0.0 are equal, but not the same fingerprint)."""
    events = [(type(e), repr(e)) for e in parsed.events]
    return parsed.kind, parsed.channel, parsed.reason, parsed.rejected, events


@FUZZ
@given(st.one_of(frames(), json_values.map(json.dumps), st.text(max_size=40)))
@example('{"channel":"liquidationOrders","data":[' + DOC_ITEM + "]}")
@example('{"channel":"liquidationOrders","data":[' + DOC_ITEM.replace('"side":2', '"side":2,"side":3') + "]}")
@example('{"channel":"liquidationOrders","data":[' + DOC_ITEM.replace('"side":2', '"side":3,"side":2') + "]}")
@example('{"channel":"liquidationOrders","data":[' + DOC_ITEM.replace('"BTC"', '" BTC"') + "]}")
@example('{"channel":"liquidationOrders","data":[' + DOC_ITEM.replace('"BTC"', '"\\u0042TC"') + "]}")
@example('{"channel":"liquidationOrders","data":[' + DOC_ITEM.replace("3858.18400", "-0.0") + "]}")
@example('{"channel":"liquidationOrders","data":[' + DOC_ITEM + '],"x":' + "1" * 5000 + "}")
@example('{"channel":"liquidationOrders","data":[' + DOC_ITEM + '],"x":' + "[" * 5000 + "]" * 5000 + "}")
@example('{"channel":"liquidationOrders","data":[' + "[" * 5000 + "]" * 5000 + "]}")
def test_the_fast_path_answers_as_the_careful_path_or_leaves_the_frame_to_it(text):
    careful = answer(parse_frame_careful(text))
    fast = parse_frame_fast(text)
    if fast is not None:
        assert answer(fast) == careful and fast.rejected == []
    assert answer(parse_frame(text)) == careful


class Collector:
    def __init__(self):
        self.items = []

    def submit(self, events, received_ms, source="coinglass"):
        self.items += [(type(e), repr(e), received_ms, source) for e in events]


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@FUZZ
@given(st.lists(st.one_of(frames(), json_values.map(json.dumps)), min_size=1, max_size=6))
def test_the_listener_counts_logs_and_publishes_the_same_whichever_path_reads(texts):
    """Counters, per-channel counts, published events and every log line, frame after frame."""
    runs = []
    for parse in (parse_frame, parse_frame_careful):
        collector, lines = Collector(), Lines()
        logger = logging.getLogger("teleglas.source.listener.frame_router")
        logger.addHandler(lines)
        try:
            router = FrameRouter(collector, 1_000_000, (LIQ_CHANNEL, TRADE_CHANNEL), parse)
            for index, text in enumerate(texts):
                router(text, 1_000 + index)
        finally:
            logger.removeHandler(lines)
        runs.append((router.counters, router.by_channel, collector.items, lines.lines))
    assert runs[0] == runs[1]


def test_the_documented_frames_and_the_benchmark_frames_take_the_fast_path():
    """Else the fast path would be correct and useless: the docs' examples, compact or as printed, in either
    spelling, and frames as the emulator sends them."""
    examples = [
        json.loads((DOCS / f"{name}.json").read_text())["data_frame_example"]
        for name in ("ws_liquidation_orders", "ws_futures_trades", "ws_futures_trades_zh")
    ]
    texts = [json.dumps(e, separators=(",", ":")) for e in examples] + [json.dumps(e, indent=4) for e in examples]
    items = [json.loads(DOC_ITEM) | {"time": 1725416318379 + n, "volUsd": 1000.0 + n} for n in range(50)]
    texts.append(json.dumps({"channel": LIQ_CHANNEL, "data": items}, ensure_ascii=False))
    for text in texts:
        fast = parse_frame_fast(text)
        assert fast is not None and answer(fast) == answer(parse_frame_careful(text)) and fast.events, text


def test_the_fast_path_knows_the_side_codes_of_both_channels():
    assert set(typing.get_args(ws_protocol.Side)) == set(LIQUIDATION_SIDES) == set(TRADE_SIDES)

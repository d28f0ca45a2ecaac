"""The CoinGlass WebSocket protocol: URL, subscribe/unsubscribe and heartbeat messages, frame parsing.

Pure functions, no I/O. Every frame from the socket is hostile until parsed here: a bad item is rejected
with a reason while the valid items of the same frame are kept. parse_frame never raises: whatever the text,
the answer is a ParsedFrame (a hostile value in an item is an ItemError, caught per item).

Two paths give the same answer. The fast one (parse_frame_fast) takes a frame of exactly the documented shape,
plain JSON with the seven fields of each item and nothing else, and decodes and checks it in one msgspec call, in
a sixth of the careful path's instructions (callgrind, 50-item frames). Any frame it refuses, one bad item is
enough, goes to the careful one (parse_frame_careful), which reads it item by item with the validators of
teleglas.source.fields and gives each refused item its reason. tests/unit/test_fast_parse.py holds the two to the
same events and refusals.
"""

from __future__ import annotations

import json
import operator
import re
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from teleglas.defines import (
    CHANNEL_FUTURES_TRADES,
    CHANNEL_LIQUIDATIONS,
    SOURCE_COINGLASS,
    WS_API_KEY_PARAM,
    WS_PING,
    WS_PONG,
)
from teleglas.model.events import FuturesTrade, LiquidationOrder
from teleglas.source.fields import (
    FieldError,
    Name,
    PositiveNumber,
    TimeMs,
    first as _first,
    number as _number,
    plain_json,
    text as _text,
    time_ms as _time_ms,
    unpadded,
)
from teleglas.source.frames import FrameKind, ParsedFrame
from teleglas.source.wire import Wire

PING_MESSAGE = WS_PING
_SIDE_DIGITS = re.compile(r"[0-9]{1,3}")  # ASCII only: the side codes are 1 and 2


def stream_url(base_url: str, api_key: str) -> str:
    """The stream URL with the key in the query string, as CoinGlass expects. The result is a secret."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}{WS_API_KEY_PARAM}={quote(api_key, safe='')}"


def subscribe_message(channels: list[str] | tuple[str, ...]) -> str:
    """`{"method": "subscribe", "channels": [...]}`: the documented keys (not `op`/`args`)."""
    return json.dumps({"method": "subscribe", "channels": list(channels)})


def unsubscribe_message(channels: list[str] | tuple[str, ...]) -> str:
    return json.dumps({"method": "unsubscribe", "channels": list(channels)})


def coinglass_wire(base_url: str, api_key: str, ping_interval_s: float = 20.0) -> Wire:
    """The key in the URL, `method`/`channels` subscriptions, the text ping answered by the text pong."""
    return Wire(
        source=SOURCE_COINGLASS,
        url=stream_url(base_url, api_key),
        subscribe=lambda channels: [subscribe_message(channels)],
        unsubscribe=lambda channels: [unsubscribe_message(channels)],
        ping=PING_MESSAGE,
        is_pong=lambda text: text == WS_PONG,
        ping_interval_s=ping_interval_s,
        auth_hint="check COINGLASS_API_KEY_WS and that the plan includes WebSocket (Standard or higher)",
    )


ItemError = FieldError  # one item of a data frame that cannot become an event
Side = Literal[1, 2]  # both channels' codes (LIQUIDATION_SIDES, TRADE_SIDES)


class _Item(msgspec.Struct, forbid_unknown_fields=True):
    """An item as the English docs print it: the fast path's only shape besides the Chinese docs' spelling."""

    exchange: Name = msgspec.field(name="exName")
    symbol: Name
    base_asset: Name = msgspec.field(name="baseAsset")
    price: PositiveNumber
    side: Side
    usd: PositiveNumber = msgspec.field(name="volUsd")
    time_ms: TimeMs = msgspec.field(name="time")


class _SnakeItem(msgspec.Struct, forbid_unknown_fields=True):
    """The same item as the Chinese docs spell it."""

    exchange: Name
    symbol: Name
    base_asset: Name
    price: PositiveNumber
    side: Side
    usd: PositiveNumber = msgspec.field(name="volume_usd")
    time_ms: TimeMs = msgspec.field(name="time")


class _Frame(msgspec.Struct, forbid_unknown_fields=True):
    channel: str
    data: list[_Item]


class _SnakeFrame(msgspec.Struct, forbid_unknown_fields=True):
    channel: str
    data: list[_SnakeItem]


# No unknown field anywhere: so nothing is skipped unread, which json.loads could refuse (an int of 5,000 digits,
# nesting deeper than the recursion limit) where msgspec would not.
_DECODERS = (msgspec.json.Decoder(_Frame), msgspec.json.Decoder(_SnakeFrame))
_EXCHANGE, _SYMBOL, _BASE_ASSET = (operator.attrgetter(name) for name in ("exchange", "symbol", "base_asset"))
_AS_EVENTS = {LiquidationOrder: list[LiquidationOrder], FuturesTrade: list[FuturesTrade]}  # msgspec.convert's targets


def parse_frame(text: str | bytes) -> ParsedFrame:
    return parse_frame_fast(text) or parse_frame_careful(text)


def parse_frame_fast(text: str | bytes) -> ParsedFrame | None:
    """The frame's events when it has the documented shape and every item passes; None sends it to the careful path."""
    if not isinstance(text, str) or not plain_json(text):
        return None
    for decoder in _DECODERS:
        try:
            frame = decoder.decode(text)
        except msgspec.DecodeError:
            continue
        cls = _event_class(frame.channel)
        if cls is None:
            return None
        items = frame.data
        if not unpadded({*map(_EXCHANGE, items), *map(_SYMBOL, items), *map(_BASE_ASSET, items)}):
            return None
        return ParsedFrame(
            FrameKind.DATA, channel=frame.channel, events=msgspec.convert(items, _AS_EVENTS[cls], from_attributes=True)
        )
    return None


def parse_frame_careful(text: str | bytes) -> ParsedFrame:
    """Any text at all: each item checked field by field, each refused one with its reason."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return ParsedFrame(FrameKind.MALFORMED, reason="binary frame is not UTF-8")
    if text.strip() == WS_PONG:
        return ParsedFrame(FrameKind.PONG)
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return ParsedFrame(FrameKind.MALFORMED, reason=f"not JSON ({type(exc).__name__})")
    if not isinstance(message, dict):
        return ParsedFrame(FrameKind.MALFORMED, reason=f"JSON {type(message).__name__}, not an object")
    channel = message.get("channel")
    data = message.get("data")
    if not isinstance(channel, str) or data is None:
        return ParsedFrame(FrameKind.UNKNOWN, reason="no channel/data (not a data frame)")
    parse_item = _item_parser(channel)
    if parse_item is None:
        return ParsedFrame(FrameKind.UNKNOWN, channel=channel, reason="unknown channel")
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        return ParsedFrame(FrameKind.MALFORMED, channel=channel, reason=f"data is {type(data).__name__}, not a list")
    frame = ParsedFrame(FrameKind.DATA, channel=channel)
    for index, item in enumerate(items):
        try:
            frame.events.append(parse_item(item))
        except ItemError as exc:
            frame.rejected.append(f"item {index}: {exc}")
    return frame


def _event_class(channel: str) -> type[LiquidationOrder] | type[FuturesTrade] | None:
    if channel == CHANNEL_LIQUIDATIONS:
        return LiquidationOrder
    if channel == CHANNEL_FUTURES_TRADES or channel.startswith(CHANNEL_FUTURES_TRADES + "@"):
        return FuturesTrade
    return None


def _item_parser(channel: str):
    cls = _event_class(channel)
    if cls is None:
        return None
    return parse_liquidation if cls is LiquidationOrder else parse_trade


def parse_liquidation(item: Any) -> LiquidationOrder:
    return LiquidationOrder(**_common_fields(item, LiquidationOrder.side_names))


def parse_trade(item: Any) -> FuturesTrade:
    return FuturesTrade(**_common_fields(item, FuturesTrade.side_names))


def _common_fields(item: Any, sides: dict[int, str]) -> dict[str, Any]:
    """The docs spell fields camelCase in English and snake_case in Chinese; accept both."""
    if not isinstance(item, dict):
        raise ItemError(f"item is {type(item).__name__}, not an object")
    base = _first(item, "baseAsset", "base_asset", required=False)
    return {
        "exchange": _text(_first(item, "exName", "exchange"), "exName"),
        "symbol": _text(_first(item, "symbol"), "symbol"),
        "base_asset": "" if base is None else _text(base, "baseAsset"),
        "price": _number(_first(item, "price"), "price", allow_zero=False),
        "side": _side(_first(item, "side"), sides),
        "usd": _number(_first(item, "volUsd", "volume_usd"), "volUsd", allow_zero=True),
        "time_ms": _time_ms(_first(item, "time")),
    }


def _side(value: Any, sides: dict[int, str]) -> int:
    """An int, or a string of ASCII digits ("2" in the Chinese docs). Not str.isdigit(), which takes '²' (int()
    then raises ValueError), nor str.isdecimal(), which takes '٢' and '２' (int() reads them as 2)."""
    if isinstance(value, str) and _SIDE_DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if type(value) is int and value in sides:
        return value
    raise ItemError(f"side {_shown(value)} is not one of {sorted(sides)}")


def _shown(value: Any) -> str:
    """A bad value for a rejection reason: short, escaped by repr, never str() of a huge int (a ValueError)."""
    if isinstance(value, str):
        return repr(value[:20])
    if type(value) is int and abs(value) < 10**20:
        return repr(value)
    return type(value).__name__

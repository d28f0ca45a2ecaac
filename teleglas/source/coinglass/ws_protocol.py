"""The CoinGlass WebSocket protocol: URL, subscribe/unsubscribe and heartbeat messages, frame parsing.

Pure functions, no I/O. Every frame from the socket is hostile until parsed here: a bad item is rejected
with a reason while the valid items of the same frame are kept. parse_frame never raises: whatever the text,
the answer is a ParsedFrame (a hostile value in an item is an ItemError, caught per item).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

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
    first as _first,
    number as _number,
    text as _text,
    time_ms as _time_ms,
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


def parse_frame(text: str | bytes) -> ParsedFrame:
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


def _item_parser(channel: str):
    if channel == CHANNEL_LIQUIDATIONS:
        return parse_liquidation
    if channel == CHANNEL_FUTURES_TRADES or channel.startswith(CHANNEL_FUTURES_TRADES + "@"):
        return parse_trade
    return None


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

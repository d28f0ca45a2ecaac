"""Bybit v5 public linear stream (docs/protocols.md, Exchanges): `allLiquidation.<symbol>` (every liquidation,
pushed every 500 ms; `S` is the liquidated position: Buy = a long) and `publicTrade.<symbol>` (`S` is the taker
side), subscribed with `{"op": "subscribe", "args": [...]}`; the client pings with `{"op": "ping"}` every 20 s and
the pong comes back as `"ret_msg": "pong"`. No key. parse_frame never raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from teleglas.defines import (
    BYBIT_LIQUIDATIONS_PREFIX,
    BYBIT_PING,
    BYBIT_PING_INTERVAL_S,
    BYBIT_TRADES_PREFIX,
    EXCHANGE_OF_SOURCE,
    SOURCE_BYBIT,
)
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent
from teleglas.source.exchanges.common import decode, label, shown, split_pair, usd
from teleglas.source.fields import FieldError, first, number, text, time_ms
from teleglas.source.frames import FrameKind, ParsedFrame
from teleglas.source.wire import Wire

EXCHANGE = EXCHANGE_OF_SOURCE[SOURCE_BYBIT]
_LIQUIDATED = {"Buy": 1, "Sell": 2}  # the position side: "a Buy update means a long position has been liquidated"
_TAKER = {"Sell": 1, "Buy": 2}


def channels(liquidation_symbols: tuple[str, ...], trade_symbols: tuple[str, ...]) -> tuple[str, ...]:
    return (
        *(f"{BYBIT_LIQUIDATIONS_PREFIX}{s}" for s in liquidation_symbols),
        *(f"{BYBIT_TRADES_PREFIX}{s}" for s in trade_symbols),
    )


def wire(url: str) -> Wire:
    return Wire(
        source=SOURCE_BYBIT,
        url=url,
        subscribe=lambda names: [json.dumps({"op": "subscribe", "args": list(names)})],
        unsubscribe=lambda names: [json.dumps({"op": "unsubscribe", "args": list(names)})],
        ping=BYBIT_PING,
        is_pong=is_pong,
        ping_interval_s=BYBIT_PING_INTERVAL_S,
    )


def is_pong(frame_text: str) -> bool:
    """Linear's pong keeps `"op": "ping"` and says `"ret_msg": "pong"`; other categories answer `"op": "pong"`."""
    if "pong" not in frame_text:
        return False
    message = decode(frame_text)
    return isinstance(message, dict) and (message.get("ret_msg") == "pong" or message.get("op") == "pong")


def parse_frame(frame_text: str | bytes) -> ParsedFrame:
    message = decode(frame_text)
    if isinstance(message, ParsedFrame):
        return message
    if not isinstance(message, dict):
        return ParsedFrame(FrameKind.MALFORMED, reason=f"JSON {type(message).__name__}, not an object")
    if "op" in message and "topic" not in message:
        if message.get("success") is False:
            reason = f"{shown(message.get('op'))} refused: {shown(message.get('ret_msg'))}"
            return ParsedFrame(FrameKind.UNKNOWN, reason=reason)
        return ParsedFrame(FrameKind.PONG if message.get("op") in ("ping", "pong") else FrameKind.ACK)
    topic = message.get("topic")
    if not isinstance(topic, str) or "data" not in message:
        return ParsedFrame(FrameKind.UNKNOWN, reason="no topic/data (not a data frame)")
    parse: Callable[[Any], MarketEvent]
    if topic.startswith(BYBIT_LIQUIDATIONS_PREFIX):
        parse = parse_liquidation
    elif topic.startswith(BYBIT_TRADES_PREFIX):
        parse = parse_trade
    else:
        return ParsedFrame(FrameKind.UNKNOWN, channel=label(topic, "other"), reason="unknown topic")
    items = message["data"]
    if not isinstance(items, list):
        return ParsedFrame(FrameKind.MALFORMED, channel=label(topic, "other"), reason="data is not a list")
    frame = ParsedFrame(FrameKind.DATA, channel=label(topic, "other"))
    for index, item in enumerate(items):
        try:
            frame.events.append(parse(item))
        except FieldError as exc:
            frame.rejected.append(f"item {index}: {exc}")
    return frame


def parse_liquidation(item: Any) -> LiquidationOrder:
    """USD = executed size × bankruptcy price (the only price the topic gives)."""
    return LiquidationOrder(**_common(item), side=_side(item, _LIQUIDATED))


def parse_trade(item: Any) -> FuturesTrade:
    return FuturesTrade(**_common(item), side=_side(item, _TAKER))


def _common(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise FieldError(f"item is {type(item).__name__}, not an object")
    symbol = text(first(item, "s"), "symbol").upper()
    price = number(first(item, "p"), "price", allow_zero=False)
    return {
        "exchange": EXCHANGE,
        "symbol": symbol,
        "base_asset": split_pair(symbol)[0],
        "price": price,
        "usd": usd(price, number(first(item, "v"), "size")),
        "time_ms": time_ms(first(item, "T"), "T"),
    }


def _side(item: dict[str, Any], sides: dict[str, int]) -> int:
    value = item.get("S")
    if isinstance(value, str) and value in sides:
        return sides[value]
    raise FieldError(f"side {shown(value)} is not one of {sorted(sides)}")

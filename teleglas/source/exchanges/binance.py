"""Binance USDⓈ-M Futures market streams (docs/protocols.md, Exchanges): `!forceOrder@arr` (every symbol's
liquidations, at most the latest one per symbol each second) and `<symbol>@aggTrade`, subscribed with JSON
SUBSCRIBE on a `/market/ws` connection. No key. The server pings (websocket-client answers) and cuts each
connection at 24 h; an unrouted URL acknowledges the subscription and then sends nothing, hence the data-silence
watchdog. parse_frame never raises: a bad item is rejected with a reason, the rest of the frame kept.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from teleglas.defines import (
    BINANCE_ALL_LIQUIDATIONS,
    BINANCE_MAX_CONNECTION_AGE_S,
    BINANCE_MAX_STREAMS,
    BINANCE_TRADES_SUFFIX,
    EXCHANGE_OF_SOURCE,
    SOURCE_BINANCE,
)
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent
from teleglas.source.exchanges.common import decode, label, positive_or, shown, split_pair, usd
from teleglas.source.fields import FieldError, first, number, text, time_ms
from teleglas.source.frames import FrameKind, ParsedFrame
from teleglas.source.wire import Wire

EXCHANGE = EXCHANGE_OF_SOURCE[SOURCE_BINANCE]
# The order that closes a position: SELL closes a long (the long was liquidated), BUY a short.
_LIQUIDATED = {"SELL": 1, "BUY": 2}


def channels(trade_symbols: tuple[str, ...]) -> tuple[str, ...]:
    """Stream names are lower case (the connect page)."""
    return (BINANCE_ALL_LIQUIDATIONS, *(f"{s.lower()}{BINANCE_TRADES_SUFFIX}" for s in trade_symbols))


def per_connection(names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """At most BINANCE_MAX_STREAMS streams on one connection."""
    return [names[i : i + BINANCE_MAX_STREAMS] for i in range(0, len(names), BINANCE_MAX_STREAMS)]


def wire(url: str, silence_timeout_s: float) -> Wire:
    ids = itertools.count(1)  # "an unsigned INT used as an identifier", one per request

    def request(method: str):
        return lambda names: [json.dumps({"method": method, "params": list(names), "id": next(ids)})]

    return Wire(
        source=SOURCE_BINANCE,
        url=url,
        subscribe=request("SUBSCRIBE"),
        unsubscribe=request("UNSUBSCRIBE"),
        ping=None,
        silence_timeout_s=silence_timeout_s,
        max_age_s=BINANCE_MAX_CONNECTION_AGE_S,
    )


def parse_frame(frame_text: str | bytes) -> ParsedFrame:
    message = decode(frame_text)
    if isinstance(message, ParsedFrame):
        return message
    if isinstance(message, dict) and "stream" in message and "data" in message:  # a /stream (combined) connection
        return _payloads(message["data"], label(message["stream"], "other"))
    if isinstance(message, dict) and "id" in message and "result" in message:
        return ParsedFrame(FrameKind.ACK)
    if isinstance(message, dict) and "code" in message and "msg" in message:
        return ParsedFrame(FrameKind.UNKNOWN, reason=f"error {shown(message['code'])}: {shown(message['msg'])}")
    return _payloads(message, "")


def _payloads(data: Any, stream: str) -> ParsedFrame:
    """One payload, or (to be safe: the all-market page's example is an object) an array of them."""
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(item, dict) for item in items):
        return ParsedFrame(FrameKind.MALFORMED, channel=stream, reason="payload is not an object")
    kind = items[0].get("e")
    parse: Callable[[dict[str, Any]], MarketEvent]
    if kind == "forceOrder":
        parse, channel = parse_liquidation, stream or BINANCE_ALL_LIQUIDATIONS
    elif kind == "aggTrade":
        symbol = items[0].get("s")
        channel = stream or (f"{symbol.lower()}{BINANCE_TRADES_SUFFIX}" if isinstance(symbol, str) else "aggTrade")
        parse = parse_trade
    else:
        return ParsedFrame(FrameKind.UNKNOWN, channel=stream, reason="unknown event type")
    frame = ParsedFrame(FrameKind.DATA, channel=label(channel, "other"))
    for index, item in enumerate(items):
        try:
            if item.get("e") != kind:
                raise FieldError("event type differs from the frame's first")
            frame.events.append(parse(item))
        except FieldError as exc:
            frame.rejected.append(f"item {index}: {exc}")
    return frame


def parse_liquidation(payload: dict[str, Any]) -> LiquidationOrder:
    """Average price × filled quantity (`ap` × `z`): what was actually closed; the order's `p` × `q` only when
    nothing is filled yet. Time: the order's trade time `T`, not the push time `E`."""
    order = payload.get("o")
    if not isinstance(order, dict):
        raise FieldError("o is not an object")
    price = positive_or(order, "ap", "p", "price")
    return LiquidationOrder(
        **_common(order, price, positive_or(order, "z", "q", "quantity")),
        side=_side(order.get("S"), _LIQUIDATED),
    )


def parse_trade(payload: dict[str, Any]) -> FuturesTrade:
    """`m` is "is the buyer the market maker?": true means the taker sold."""
    maker = payload.get("m")
    if not isinstance(maker, bool):
        raise FieldError("m is not true or false")
    price = number(first(payload, "p"), "price", allow_zero=False)
    return FuturesTrade(**_common(payload, price, number(first(payload, "q"), "quantity")), side=1 if maker else 2)


def _common(item: dict[str, Any], price: float, quantity: float) -> dict[str, Any]:
    symbol = text(first(item, "s"), "symbol").upper()
    return {
        "exchange": EXCHANGE,
        "symbol": symbol,
        "base_asset": split_pair(symbol)[0],
        "price": price,
        "usd": usd(price, quantity),
        "time_ms": time_ms(first(item, "T"), "T"),
    }


def _side(value: Any, sides: dict[str, int]) -> int:
    if isinstance(value, str) and value in sides:
        return sides[value]
    raise FieldError(f"side {shown(value)} is not one of {sorted(sides)}")

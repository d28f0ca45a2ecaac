"""What the venue parsers share: JSON decoding that never raises, pairs split into coins, USD sizes checked like
every other number. Every value goes through the CoinGlass validators (teleglas.source.fields), so an
exchange frame meets the same hostile-input rules as a CoinGlass one."""

from __future__ import annotations

import json
import math
from typing import Any

from teleglas.model.symbols import QUOTE_ASSETS
from teleglas.source.fields import MAX_ABS_NUMBER, FieldError, number
from teleglas.source.frames import FrameKind, ParsedFrame


def decode(text: str | bytes) -> Any | ParsedFrame:
    """The JSON value of a frame, or the ParsedFrame that says why there is none."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return ParsedFrame(FrameKind.MALFORMED, reason="binary frame is not UTF-8")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        return ParsedFrame(FrameKind.MALFORMED, reason=f"not JSON ({type(exc).__name__})")


def split_pair(symbol: str) -> tuple[str, str]:
    """`BTCUSDT` → (`BTC`, `USDT`); a pair without a known quote asset is its own base."""
    for quote in QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""


def usd(price: float, quantity: float, name: str = "size") -> float:
    value = price * quantity
    if not math.isfinite(value) or value >= MAX_ABS_NUMBER:
        raise FieldError(f"{name} out of range")
    return value


def positive_or(item: dict[str, Any], preferred: str, fallback: str, name: str) -> float:
    """`preferred` when it is a positive number, else `fallback` (Binance's average price and filled quantity
    are 0 before a fill; the order's own price and quantity then stand in)."""
    value = item.get(preferred)
    if value is not None and value != "":
        chosen = number(value, preferred)
        if chosen > 0:
            return chosen
    return number(item.get(fallback), name, allow_zero=False)


def label(value: Any, default: str) -> str:
    """A channel label built from frame content, for counters and log lines only: short, or the default."""
    return value[:64] if isinstance(value, str) and value.isascii() and value.isprintable() else default


def shown(value: Any) -> str:
    """A bad value for a reason: short, escaped by repr, never str() of a huge int (which raises ValueError)."""
    if isinstance(value, str):
        return repr(value[:40])
    if type(value) is int and abs(value) < 10**20:
        return repr(value)
    return type(value).__name__

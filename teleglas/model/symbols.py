"""Coins and pairs: CoinGlass names a coin `BTC` in aggregate endpoints and a pair `BTCUSDT` on exchanges
(docs/protocols.md). A chat subscribes to coins; events name pairs, sometimes without a base asset."""

from __future__ import annotations

import re

QUOTE_ASSETS = ("USDT", "USDC", "BUSD", "FDUSD", "USD")
_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}$")


def coin_of(symbol: str, base_asset: str = "") -> str:
    """The coin an event is about: its base asset when given, else the pair without its quote asset."""
    if base_asset:
        return base_asset.upper()
    upper = symbol.upper().replace("-", "").replace("_", "").replace("/", "")
    for quote in QUOTE_ASSETS:
        if upper.endswith(quote) and len(upper) > len(quote):
            return upper[: -len(quote)]
    return upper


def parse_coin(raw: str) -> str | None:
    """A user's symbol (`btc`, `BTCUSDT`, `BTC/USDT`) as a coin, or None when it cannot be one."""
    cleaned = raw.strip().upper().lstrip("$")
    coin = coin_of(cleaned)
    return coin if _SYMBOL.match(coin) else None


def usdt_pair(coin: str) -> str:
    return f"{coin}USDT"

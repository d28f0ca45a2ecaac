"""Alert texts in Telegram HTML, line for line as the product documents them. Every outside string is escaped."""
from __future__ import annotations

import html
import math
from datetime import datetime
from zoneinfo import ZoneInfo

from teleglas.coinglass.events import FuturesTrade, LiquidationOrder, MarketEvent

RISING = "📈"
FALLING = "📉"
_RISING_SIDES = {"LONG", "BUY"}
_TITLES = {
    LiquidationOrder: "🔥 LIQUIDATION ALERT",
    FuturesTrade: "🐋 WHALE TRADE ALERT",
}
_PRICE_SIGNIFICANT_DIGITS = 4


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def format_price(price: float) -> str:
    """`$56,738.00` from $1 up; below $1 keep four significant digits (`$0.1234`, `$0.00001234`)."""
    if price >= 1 or price <= 0:
        return f"${price:,.2f}"
    decimals = _PRICE_SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(price))
    text = f"{price:.{decimals}f}"
    if text == "1." + "0" * decimals:  # 0.99999 rounds up to a whole dollar
        return "$1.00"
    return f"${text}"


def format_usd(amount: float) -> str:
    return f"${amount:,.0f}"


def format_time(time_ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(time_ms / 1000, tz=zone).strftime("%H:%M:%S")


def format_event_alert(event: MarketEvent, zone: ZoneInfo) -> str:
    side = event.side_name
    arrow = RISING if side in _RISING_SIDES else FALLING
    return "\n".join(
        (
            _TITLES[type(event)],
            f"📍 Exchange: {escape(event.exchange)}",
            f"📊 Symbol: {escape(event.symbol)}",
            f"💰 Price: {format_price(event.price)}",
            f"{arrow} Side: {side}",
            f"💵 Size: {format_usd(event.usd)}",
            f"⏰ Time: {format_time(event.time_ms, zone)}",
        )
    )

"""Alert texts in Telegram HTML, line for line as the product documents them. Every outside string is escaped."""

from __future__ import annotations

import html
import math
from datetime import datetime
from zoneinfo import ZoneInfo

from teleglas.decide.aggregation import Summary
from teleglas.decide.scoring import WhaleScore
from teleglas.defines import KIND_LIQUIDATION, KIND_TRADE, KIND_WHALE_POSITION
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent, WhalePosition

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


def short_address(user: str) -> str:
    return user if len(user) <= 14 else f"{user[:6]}…{user[-4:]}"


def format_event_alert(event: MarketEvent, zone: ZoneInfo) -> str:
    side = event.side_name
    arrow = RISING if side in _RISING_SIDES else FALLING
    if isinstance(event, WhalePosition):
        return "\n".join(
            (
                "🐋 WHALE POSITION ALERT",
                f"📍 Exchange: {escape(event.exchange)}",
                f"📊 Symbol: {escape(event.symbol)}",
                f"💰 Entry: {format_price(event.price)}",
                f"{arrow} Side: {side} ({'opened' if event.action == 1 else 'closed'})",
                f"💵 Size: {format_usd(event.usd)}",
                f"👤 Trader: {escape(short_address(event.user))}",
                f"⏰ Time: {format_time(event.time_ms, zone)}",
            )
        )
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


_SIDE_LABELS = {"LONG": "Longs", "SHORT": "Shorts", "BUY": "Buys", "SELL": "Sells"}
_KIND_NOUNS = {
    KIND_LIQUIDATION: ("liquidation", "liquidations"),
    KIND_TRADE: ("whale trade", "whale trades"),
    KIND_WHALE_POSITION: ("whale position", "whale positions"),
}


def arrow_for(side: str) -> str:
    return RISING if side in _RISING_SIDES else FALLING


def _count(kind: str, n: int) -> str:
    singular, plural = _KIND_NOUNS[kind]
    return f"{n} {singular if n == 1 else plural}"


def _span(summary: Summary, zone: ZoneInfo) -> str:
    first, last = format_time(summary.first_ms, zone), format_time(summary.last_ms, zone)
    return f"⏰ Time: {first}" if first == last else f"⏰ Time: {first} – {last}"


def _largest(summary: Summary) -> str:
    entry = summary.largest
    return f"🏆 Largest: {format_usd(entry.usd)} {entry.side} on {escape(entry.exchange)} @ {format_price(entry.price)}"


def folded_line(summary: Summary) -> str:
    return f"➕ {summary.count} more since the last alert: {format_usd(summary.usd)}"


def score_line(score: WhaleScore) -> str:
    return (
        f"🎯 Confidence: {score.total}/100 (size {score.size:.0f} · flow {score.flow:.0f} · liquidations "
        f"{score.liquidations:.0f})"
    )


def format_lead_alert(event: MarketEvent, zone: ZoneInfo, folded: Summary | None, score: WhaleScore | None) -> str:
    """The single-event alert, with the whale score and what its cooldown folded since the last one."""
    lines = [format_event_alert(event, zone)]
    if score is not None:
        lines.append(score_line(score))
    if folded is not None:
        lines.append(folded_line(folded))
    return "\n".join(lines)


def format_folded_summary(kind: str, symbol: str, side: str, summary: Summary, zone: ZoneInfo) -> str:
    """Sent when a cooldown ends with events folded and no new alert took them along."""
    title = {KIND_LIQUIDATION: "🔁 LIQUIDATION SUMMARY", KIND_TRADE: "🔁 WHALE TRADE SUMMARY"}.get(
        kind, "🔁 WHALE POSITION SUMMARY"
    )
    return "\n".join(
        (
            title,
            f"📊 Symbol: {escape(symbol)}",
            f"{arrow_for(side)} Side: {side}",
            folded_line(summary),
            _largest(summary),
            _span(summary, zone),
        )
    )


def format_storm(kind: str, symbol: str, summary: Summary, zone: ZoneInfo) -> str:
    """A liquidation storm (all sides) or a whale cluster (one side) over its window."""
    if kind == KIND_LIQUIDATION:
        lines = [
            "⚡ LIQUIDATION STORM",
            f"📊 Symbol: {escape(symbol)}",
            f"💥 {_count(kind, summary.count)} · {format_usd(summary.usd)}",
        ]
        for side, (count, usd) in summary.by_side.items():
            lines.append(f"{arrow_for(side)} {_SIDE_LABELS.get(side, side)}: {count} · {format_usd(usd)}")
    else:
        (side,) = summary.by_side
        lines = [
            "🐋 WHALE CLUSTER",
            f"📊 Symbol: {escape(symbol)}",
            f"{arrow_for(side)} Side: {side}",
            f"💥 {_count(kind, summary.count)} · {format_usd(summary.usd)}",
        ]
    lines += [
        _largest(summary),
        f"📍 Exchanges: {', '.join(escape(name) for name in summary.exchanges)}",
        _span(summary, zone),
    ]
    return "\n".join(lines)


def lead_digest_line(event: MarketEvent, zone: ZoneInfo, folded: Summary | None) -> str:
    icon = "🔥" if event.kind == KIND_LIQUIDATION else "🐋"
    line = (
        f"{icon} {escape(event.symbol)} {event.side_name} {format_usd(event.usd)} · {escape(event.exchange)} · "
        f"{format_time(event.time_ms, zone)}"
    )
    return line + (f" (+{summary_count(folded)})" if folded is not None else "")


def summary_count(summary: Summary) -> str:
    return f"{summary.count} more: {format_usd(summary.usd)}"


def folded_digest_line(kind: str, symbol: str, side: str, summary: Summary) -> str:
    return f"🔁 {escape(symbol)} {side} {_KIND_NOUNS[kind][1]}: {summary_count(summary)}"


def storm_digest_line(kind: str, symbol: str, summary: Summary) -> str:
    if kind == KIND_LIQUIDATION:
        return f"⚡ {escape(symbol)} storm: {_count(kind, summary.count)} · {format_usd(summary.usd)}"
    (side,) = summary.by_side
    return f"🐋 {escape(symbol)} {side} cluster: {_count(kind, summary.count)} · {format_usd(summary.usd)}"


def format_digest(lines: list[str]) -> str:
    """Several alerts for one busy chat in one message; the sender splits it on line boundaries if long."""
    return "\n".join([f"🧾 DIGEST · {len(lines)} alerts", *lines])

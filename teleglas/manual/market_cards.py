"""Market-data answers in Telegram HTML: one card per command. Pure functions; every string from CoinGlass
is escaped, and a value CoinGlass did not give shows as “n/a” instead of a made-up zero."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from teleglas.decide.formatting import escape, format_price, short_address
from teleglas.manual.market_data import Sentiment
from teleglas.model.events import WhalePosition
from teleglas.source.coinglass.rest_records import (
    RSI_TIMEFRAMES,
    CoinMarket,
    CoinRsi,
    FundingRate,
    LiquidationTotals,
    OpenInterestRow,
    OrderbookDepth,
    aggregate_row,
)

NOT_AVAILABLE = "n/a"
TOP_EXCHANGES = 5


def compact_usd(amount: float | None) -> str:
    if amount is None:
        return NOT_AVAILABLE
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(amount) >= limit:
            return f"${amount / limit:,.2f}{suffix}"
    return f"${amount:,.0f}"


def percent(value: float | None, decimals: int = 2, signed: bool = True) -> str:
    if value is None:
        return NOT_AVAILABLE
    return f"{value:+.{decimals}f}%" if signed else f"{value:.{decimals}f}%"


def moment(time_ms: int, zone: ZoneInfo, now: float) -> str:
    """`14:05:09` for today, `Nov 25 14:05` for an older time."""
    at = datetime.fromtimestamp(time_ms / 1000, tz=zone)
    return at.strftime("%H:%M:%S" if at.date() == datetime.fromtimestamp(now, tz=zone).date() else "%b %d %H:%M")


def raw_card(m: CoinMarket) -> str:
    liquidations = None
    if m.long_liquidation_24h_usd is not None and m.short_liquidation_24h_usd is not None:
        liquidations = m.long_liquidation_24h_usd + m.short_liquidation_24h_usd
    return "\n".join(
        (
            f"📊 <b>{escape(m.symbol)}</b> market",
            f"💵 Price: {format_price(m.price)} ({percent(m.price_change_24h_pct)} 24h)",
            f"📦 Open interest: {compact_usd(m.open_interest_usd)} ({percent(m.open_interest_change_24h_pct)} 24h)",
            f"💸 Funding (OI-weighted): {percent(m.funding_rate_pct, 4)}",
            f"🔁 Volume 24h: ≈{compact_usd(m.volume_24h_usd)}",
            f"⚖️ Long/short 24h: {NOT_AVAILABLE if m.long_short_ratio_24h is None else f'{m.long_short_ratio_24h:.2f}'}",
            f"🔥 Liquidations 24h: {compact_usd(liquidations)} (longs {compact_usd(m.long_liquidation_24h_usd)}, "
            f"shorts {compact_usd(m.short_liquidation_24h_usd)})",
        )
    )


def orderbook_card(coin: str, venue: str, depth: OrderbookDepth, zone: ZoneInfo, now: float) -> str:
    leaning = "bids" if depth.imbalance > 0 else "asks" if depth.imbalance < 0 else "neither side"
    return "\n".join(
        (
            f"📚 <b>{escape(coin)}</b> order book, {escape(venue)}, ±1% of price",
            f"🟢 Bids: {compact_usd(depth.bids_usd)}",
            f"🔴 Asks: {compact_usd(depth.asks_usd)}",
            f"⚖️ Imbalance: {depth.imbalance * 100:+.1f}% (heavier on {leaning})",
            f"🕒 As of {moment(depth.time_ms, zone, now)}",
        )
    )


def liquidations_card(coin: str, totals: list[LiquidationTotals]) -> str:
    lines = [f"🔥 <b>{escape(coin)}</b> liquidations, all exchanges"]
    for t in totals:
        lines.append(
            f"{t.timeframe:>3}: {compact_usd(t.total_usd)} · longs {compact_usd(t.long_usd)} · "
            f"shorts {compact_usd(t.short_usd)}"
        )
    return "\n".join(lines)


def whales_card(positions: list[WhalePosition], zone: ZoneInfo, now: float) -> str:
    if not positions:
        return "🐋 No whale positions reported right now."
    lines = ["🐋 <b>Latest whale positions</b> (Hyperliquid)"]
    for p in positions:
        action = "opened" if p.action == 1 else "closed"
        lines.append(
            f"{moment(p.time_ms, zone, now)} {escape(p.symbol)} {p.side_name} {compact_usd(p.usd)} {action} "
            f"@ {format_price(p.price)} · {escape(short_address(p.user))}"
        )
    return "\n".join(lines)


def funding_card(coin: str, rates: list[FundingRate]) -> str:
    lines = [f"💸 <b>{escape(coin)}</b> funding rates"]
    for margin, title in (("stablecoin", "USDT/USD-margined"), ("token", "Coin-margined")):
        chosen = sorted((r for r in rates if r.margin == margin), key=lambda r: -abs(r.rate_pct))
        if not chosen:
            continue
        lines.append(f"<i>{title}</i>")
        for r in chosen:
            interval = f" / {r.interval_h:g}h" if r.interval_h else ""
            lines.append(f"{escape(r.exchange)}: {percent(r.rate_pct, 4)}{interval}")
    return "\n".join(lines)


def open_interest_card(coin: str, rows: list[OpenInterestRow]) -> str:
    total = aggregate_row(rows)
    exchanges = sorted((r for r in rows if r is not total), key=lambda r: -r.usd)[:TOP_EXCHANGES]
    lines = [f"📦 <b>{escape(coin)}</b> open interest"]
    if total is not None:
        lines.append(f"All exchanges: {compact_usd(total.usd)} · " + _changes(total))
    for r in exchanges:
        lines.append(f"{escape(r.exchange)}: {compact_usd(r.usd)} · " + _changes(r))
    return "\n".join(lines)


def _changes(row: OpenInterestRow) -> str:
    return " ".join(f"{frame} {percent(row.change_pct.get(frame), 1)}" for frame in ("1h", "4h", "24h"))


def rsi_card(r: CoinRsi) -> str:
    price = NOT_AVAILABLE if r.price is None else format_price(r.price)
    lines = [f"📈 <b>{escape(r.symbol)}</b> RSI · price {price}"]
    for frame in RSI_TIMEFRAMES:
        value = r.rsi[frame]
        reading = NOT_AVAILABLE if value is None else f"{value:.1f}{rsi_label(value)}"
        lines.append(f"{frame:>3}: {reading} · price {percent(r.price_change_pct[frame])}")
    return "\n".join(lines)


def rsi_label(value: float) -> str:
    """The usual reading of RSI: 70 and above overbought, 30 and below oversold."""
    return " overbought" if value >= 70 else " oversold" if value <= 30 else ""


def sentiment_card(s: Sentiment) -> str:
    ls = s.long_short
    lines = [
        "🧭 <b>Sentiment</b>",
        f"Accounts long/short ({escape(s.pair)}): {ls.long_pct:.1f}% / {ls.short_pct:.1f}% (ratio {ls.ratio:.2f})",
    ]
    if s.fear_greed is not None:
        lines.append(f"Fear &amp; Greed: {s.fear_greed.value:.0f} ({fear_greed_label(s.fear_greed.value)})")
    else:
        lines.append(f"Fear &amp; Greed: {NOT_AVAILABLE} ({escape(s.fear_greed_missing)})")
    return "\n".join(lines)


def fear_greed_label(value: float) -> str:
    for limit, label in ((25, "extreme fear"), (45, "fear"), (55, "neutral"), (75, "greed")):
        if value < limit:
            return label
    return "extreme greed"

"""Polled-market alerts: funding-rate extremes and open-interest swings. Pure decisions and texts; the
beat tasks fetch the data and keep the state.

Funding: an alert when |rate| reaches the threshold; again for the same symbol, exchange and margin only
after the cooldown, or at once when the sign flips (longs paying became shorts paying, or back).
Open interest: an alert when the aggregate OI moved by at least the threshold percentage against the oldest
sample inside the window; again only after the cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from teleglas.decide.formatting import FALLING, RISING, escape, format_time, format_usd
from teleglas.source.coinglass.rest_records import FundingRate


@dataclass(frozen=True, slots=True)
class FundingState:
    sign: int  # +1 longs pay, -1 shorts pay
    at: float
    by: str  # the task that decided, so its redelivery sends the same alert again


def funding_sign(rate_pct: float) -> int:
    return 1 if rate_pct > 0 else -1


def funding_should_alert(
    rate_pct: float, threshold_pct: float, previous: FundingState | None, now: float, cooldown_s: float
) -> bool:
    if abs(rate_pct) < threshold_pct or rate_pct == 0:
        return False
    if previous is None or previous.sign != funding_sign(rate_pct):
        return True
    return now - previous.at >= cooldown_s


def funding_subject(rate: FundingRate) -> str:
    return f"{rate.symbol}:{rate.exchange}:{rate.margin}"


def format_funding_alert(rate: FundingRate, zone: ZoneInfo) -> str:
    per = f" per {rate.interval_h:g} h" if rate.interval_h else ""
    margin = "USDT/USD-margined" if rate.margin == "stablecoin" else "coin-margined"
    payer = "longs pay shorts" if rate.rate_pct > 0 else "shorts pay longs"
    lines = [
        "💸 FUNDING RATE EXTREME",
        f"📊 Symbol: {escape(rate.symbol)}",
        f"📍 Exchange: {escape(rate.exchange)} ({margin})",
        f"{RISING if rate.rate_pct > 0 else FALLING} Rate: {rate.rate_pct:+.4f}%{per} ({payer})",
    ]
    if rate.next_funding_ms:
        lines.append(f"⏰ Next funding: {format_time(rate.next_funding_ms, zone)}")
    return "\n".join(lines)


def funding_digest_line(rate: FundingRate) -> str:
    return f"💸 {escape(rate.symbol)} funding {rate.rate_pct:+.4f}% · {escape(rate.exchange)}"


def open_interest_change(samples: list[tuple[float, float]], now: float, window_s: float) -> tuple[float, float] | None:
    """(change in percent, OI at the start) against the oldest sample inside the window; None without one."""
    inside = [(at, usd) for at, usd in samples if now - window_s <= at <= now]
    if len(inside) < 2:
        return None
    (_, first), (_, last) = inside[0], inside[-1]
    if first <= 0:
        return None
    return (last - first) / first * 100, first


def open_interest_should_alert(change_pct: float | None, threshold_pct: float) -> bool:
    return change_pct is not None and abs(change_pct) >= threshold_pct


def format_open_interest_alert(
    symbol: str, change_pct: float, before_usd: float, now_usd: float, window_s: float
) -> str:
    minutes = window_s / 60
    span = f"{minutes:g} min" if minutes < 120 else f"{minutes / 60:g} h"
    return "\n".join(
        (
            "📊 OPEN INTEREST SWING",
            f"📊 Symbol: {escape(symbol)}",
            f"{RISING if change_pct > 0 else FALLING} Change: {change_pct:+.2f}% in {span}",
            f"💵 Open interest: {format_usd(now_usd)} (was {format_usd(before_usd)})",
        )
    )


def open_interest_digest_line(symbol: str, change_pct: float, window_s: float) -> str:
    return f"📊 {escape(symbol)} open interest {change_pct:+.2f}% in {window_s / 60:g} min"

"""A command's arguments → typed values, or a short answer that tells the user what was expected.
Pure functions: every argument is hostile input (any length, any characters)."""

from __future__ import annotations

import re

from teleglas.decide.chat_rules import KIND_CHOICES, unknown_kinds
from teleglas.model.symbols import parse_coin

MAX_ARGUMENT_CHARS = 64  # what a reply may quote back of an argument
MAX_MUTE_S = 30 * 86_400
_DURATION = re.compile(r"^(\d{1,6})([smhd]?)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "": 60}  # a bare number is minutes
_AMOUNT = re.compile(r"^\$?(\d+(?:\.\d+)?)([km]?)$")
_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000}
_CANONICAL_KINDS = {
    "liq": "liquidation",
    "liquidations": "liquidation",
    "whales": "whale",
    "trades": "trade",
    "open_interest": "oi",
}
THRESHOLD_KINDS = {"liq": "liquidation_min_usd", "liquidation": "liquidation_min_usd", "whale": "whale_min_usd"}


class ArgumentError(ValueError):
    """The text is the reply: what was wrong and what to type instead."""


def quoted(raw: str) -> str:
    """An argument as a reply may show it: short; the caller escapes it for HTML."""
    return raw if len(raw) <= MAX_ARGUMENT_CHARS else raw[:MAX_ARGUMENT_CHARS] + "…"


def split_arguments(text: str) -> list[str]:
    """Words after the command (`/liq@Bot BTC 1h` → ["BTC", "1h"])."""
    return text.split()[1:]


def symbol_argument(args: list[str], usage: str) -> str:
    if not args:
        raise ArgumentError(f"Which coin? Usage: {usage}")
    coin = parse_coin(args[0])
    if coin is None:
        raise ArgumentError(f"“{quoted(args[0])}” is not a coin symbol. Usage: {usage}")
    return coin


def duration_argument(args: list[str], usage: str) -> int:
    """`30m`, `2h`, `1d`, `90s`; a bare number is minutes. At most 30 days."""
    if not args:
        raise ArgumentError(f"For how long? Usage: {usage}")
    match = _DURATION.match(args[0].strip().lower())
    if not match:
        raise ArgumentError(f"“{quoted(args[0])}” is not a duration like 30m, 2h or 1d. Usage: {usage}")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= MAX_MUTE_S:
        raise ArgumentError("A mute lasts from 1 second to 30 days.")
    return seconds


def amount_argument(raw: str, usage: str) -> float:
    """`250000`, `250k`, `1.5m`, `$2m`, with `_` or `,` as thousands separators."""
    match = _AMOUNT.match(raw.strip().lower().replace(",", "").replace("_", ""))
    if not match:
        raise ArgumentError(f"“{quoted(raw)}” is not an amount in USD like 250000, 250k or 1.5m. Usage: {usage}")
    value = float(match.group(1)) * _MULTIPLIERS[match.group(2)]
    if not 0 < value < 1e12:
        raise ArgumentError("The amount must be above 0 and below 1,000,000,000,000 USD.")
    return value


def kinds_argument(args: list[str]) -> list[str]:
    """Kinds after the symbol, comma- or space-separated; empty means every kind."""
    names = [n.strip().lower() for arg in args for n in arg.split(",") if n.strip()]
    unknown = unknown_kinds(names)
    if unknown:
        raise ArgumentError(f"Unknown alert kind “{quoted(unknown[0])}”. Choose from: {', '.join(KIND_CHOICES)}.")
    return list(dict.fromkeys(_CANONICAL_KINDS.get(n, n) for n in names))


def threshold_arguments(args: list[str], usage: str) -> tuple[str, str, float]:
    """`/threshold SYMBOL liq|whale USD` → (coin, settings field, USD)."""
    if len(args) < 3:
        raise ArgumentError(f"Usage: {usage}")
    coin = symbol_argument(args, usage)
    field = THRESHOLD_KINDS.get(args[1].lower())
    if field is None:
        raise ArgumentError(f"“{quoted(args[1])}” is neither liq nor whale. Usage: {usage}")
    return coin, field, amount_argument(args[2], usage)

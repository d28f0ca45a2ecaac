"""Reads alert messages back into what they report: (symbol, events, USD) per message, by the shapes
formatting.py documents. The cascade test, `make bench` and `make chaos` use it to show that every qualifying
event reached each chat exactly once: nothing lost, nothing twice."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

_USD = re.compile(r"\$([\d,]+)")
LATE_MARK = "⏳ "


def _amounts(text: str) -> list[int]:
    return [int(a.replace(",", "")) for a in _USD.findall(text)]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _must(pattern: str, text: str) -> re.Match[str]:
    """The match a message of a known shape must contain; a message without it is a bug in formatting."""
    found = re.search(pattern, text)
    if found is None:
        raise ValueError(f"no {pattern!r} in {text!r}")
    return found


def account(text: str) -> list[tuple[str, int, int]]:
    """(symbol, events, usd) for everything one liquidation message reports; [] for other messages. A first line
    saying the alert is delayed (teleglas.deliver.stages.late_line) is not part of what it reports."""
    lines = text.splitlines()
    if lines and lines[0].startswith(LATE_MARK):
        lines = lines[1:]
        text = "\n".join(lines)
    if lines[0].startswith("🧾 DIGEST"):
        found = []
        for line in lines[1:]:
            parts = line.split()
            symbol = parts[1]
            if line.startswith("🔥"):
                size = _amounts(line)[0]
                more = re.search(r"\(\+(\d+) more: \$([\d,]+)\)", line)
                found.append((symbol, 1 + (int(more[1]) if more else 0), size + (_number(more[2]) if more else 0)))
            elif line.startswith(("🔁", "⚡")):  # summary or storm: "N more: $X" / "N liquidations · $X"
                count = int(_must(r"(\d+) (?:more|liquidations?)", line)[1])
                found.append((symbol, count, _amounts(line)[-1]))
        return found
    symbol_line = re.search(r"📊 Symbol: (\S+)", text)
    if symbol_line is None:
        return []
    symbol = symbol_line[1]
    if lines[0] == "🔥 LIQUIDATION ALERT":
        folded = re.search(r"➕ (\d+) more since the last alert: \$([\d,]+)", text)
        extra = (int(folded[1]), _number(folded[2])) if folded else (0, 0)
        size = _amounts(_must(r"💵 Size: .*", text)[0])[0]
        return [(symbol, 1 + extra[0], size + extra[1])]
    if lines[0] == "⚡ LIQUIDATION STORM":
        storm = _must(r"💥 (\d+) liquidations? · \$([\d,]+)", text)
        return [(symbol, int(storm[1]), _number(storm[2]))]
    if lines[0] == "🔁 LIQUIDATION SUMMARY":
        folded = _must(r"➕ (\d+) more since the last alert: \$([\d,]+)", text)
        return [(symbol, int(folded[1]), _number(folded[2]))]
    return []


def totals(texts: Iterable[str]) -> tuple[Counter, dict[str, int]]:
    """Events and USD per symbol over many messages."""
    count: Counter = Counter()
    usd: dict[str, int] = defaultdict(int)
    for text in texts:
        for symbol, events, amount in account(text):
            count[symbol] += events
            usd[symbol] += amount
    return count, dict(usd)

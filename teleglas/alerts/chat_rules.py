"""A chat's own alert choices, kept in its Redis settings hash (the manual bot edits them) and applied at fan-out.

Fields, all optional (a chat with none gets every alert):
    kinds                    comma list of `liquidation`, `whale` (trades and positions), `trade`, `funding`, `oi`
    symbols                  comma list of subscribed symbols (BTCUSDT or the base asset BTC); empty = all
    liquidation_min_usd      the chat's own threshold for single liquidation alerts
    whale_min_usd            the same for whale trades
    liquidation_min_usd:SYM  per symbol, e.g. liquidation_min_usd:BTCUSDT
    whale_min_usd:SYM
    muted_until              Unix seconds; nothing is sent before then
A chat threshold can only raise the bar: the engine evaluates events against the rules file, so a chat value
below it has no effect. Storms, clusters and summaries are totals, so only kinds, symbols and mute apply.
Unreadable values are reported and ignored, so one bad field never silences a chat.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from teleglas.defines import KIND_FUNDING, KIND_LIQUIDATION, KIND_OPEN_INTEREST, KIND_SYSTEM, KIND_TRADE, WHALE_KINDS

_KIND_NAMES = {"liquidation": (KIND_LIQUIDATION,), "liquidations": (KIND_LIQUIDATION,), "liq": (KIND_LIQUIDATION,),
               "whale": WHALE_KINDS, "whales": WHALE_KINDS, "trade": (KIND_TRADE,), "trades": (KIND_TRADE,),
               "funding": (KIND_FUNDING,), "oi": (KIND_OPEN_INTEREST,), "open_interest": (KIND_OPEN_INTEREST,)}
_THRESHOLD_FIELDS = {"liquidation_min_usd": (KIND_LIQUIDATION,), "whale_min_usd": WHALE_KINDS}


@dataclass(frozen=True)
class ChatRules:
    kinds: frozenset[str] | None = None
    symbols: frozenset[str] | None = None
    min_usd: dict[str, float] = field(default_factory=dict)  # kind → USD
    symbol_min_usd: dict[tuple[str, str], float] = field(default_factory=dict)  # (SYMBOL, kind) → USD
    muted_until: float = 0.0
    problems: tuple[str, ...] = ()

    def accepts(self, kind: str, symbol: str, base_asset: str, usd: float | None, now: float) -> bool:
        """`usd` is the single event's size, or None for a summary, storm or cluster."""
        if now < self.muted_until:
            return False
        if kind == KIND_SYSTEM:
            return True  # "online" notices reach every chat that is not muted
        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.symbols is not None and symbol.upper() not in self.symbols and base_asset.upper() not in self.symbols:
            return False
        if usd is None:
            return True
        threshold = self.symbol_min_usd.get((symbol.upper(), kind), self.symbol_min_usd.get((base_asset.upper(), kind), self.min_usd.get(kind, 0.0)))
        return usd >= threshold


def parse_chat_rules(fields: dict[str, str]) -> ChatRules:
    kinds = symbols = None
    min_usd: dict[str, float] = {}
    symbol_min_usd: dict[tuple[str, str], float] = {}
    muted_until = 0.0
    problems: list[str] = []
    for name, raw in fields.items():
        value = raw.strip()
        base, _, symbol = name.partition(":")
        if name == "kinds":
            names = [k.strip().lower() for k in value.split(",") if k.strip()]
            unknown = [k for k in names if k not in _KIND_NAMES]
            if unknown:
                problems.append(f"kinds: unknown kind(s) {', '.join(unknown)}")
            kinds = frozenset(kind for k in names if k in _KIND_NAMES for kind in _KIND_NAMES[k])
        elif name == "symbols":
            chosen = frozenset(s.strip().upper() for s in value.split(",") if s.strip())
            symbols = chosen or None
        elif base in _THRESHOLD_FIELDS:
            amount = _amount(value)
            if amount is None:
                problems.append(f"{name}: {value!r} is not an amount in USD")
            else:
                for kind in _THRESHOLD_FIELDS[base]:
                    if symbol:
                        symbol_min_usd[(symbol.upper(), kind)] = amount
                    else:
                        min_usd[kind] = amount
        elif name == "muted_until":
            amount = _amount(value)
            if amount is None:
                problems.append(f"muted_until: {value!r} is not a Unix time")
            else:
                muted_until = amount
    return ChatRules(kinds, symbols, min_usd, symbol_min_usd, muted_until, tuple(problems))


def _amount(value: str) -> float | None:
    try:
        amount = float(value.replace("_", "").replace(",", ""))
    except ValueError:
        return None
    return amount if amount >= 0 and amount == amount and amount != float("inf") else None

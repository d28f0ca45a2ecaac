"""A chat's own alert choices, kept in its Redis settings hash (the manual bot edits them) and applied at fan-out.

Fields, all optional (a chat with none gets every alert):
    kinds                    comma list of `liquidation`, `whale` (trades and positions), `trade`, `funding`, `oi`
    kinds:SYM                the same for one subscribed coin, e.g. kinds:BTC = liquidation
    symbols                  comma list of subscribed coins (BTC; an event's pair BTCUSDT matches it); empty = all
    whale_alerts             `off` stops whale trades and positions in this chat (/alerts_off_w)
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
from teleglas.model.symbols import coin_of

_KIND_NAMES = {
    "liquidation": (KIND_LIQUIDATION,),
    "liquidations": (KIND_LIQUIDATION,),
    "liq": (KIND_LIQUIDATION,),
    "whale": WHALE_KINDS,
    "whales": WHALE_KINDS,
    "trade": (KIND_TRADE,),
    "trades": (KIND_TRADE,),
    "funding": (KIND_FUNDING,),
    "oi": (KIND_OPEN_INTEREST,),
    "open_interest": (KIND_OPEN_INTEREST,),
}
_THRESHOLD_FIELDS = {"liquidation_min_usd": (KIND_LIQUIDATION,), "whale_min_usd": WHALE_KINDS}
KIND_CHOICES = ("liquidation", "whale", "trade", "funding", "oi")  # what a user may name, in /subscribe


def unknown_kinds(names: list[str]) -> list[str]:
    """The names that are not kinds (empty when all are)."""
    return [n for n in names if n.lower() not in _KIND_NAMES]


@dataclass(frozen=True)
class ChatRules:
    kinds: frozenset[str] | None = None
    symbols: frozenset[str] | None = None
    symbol_kinds: dict[str, frozenset[str]] = field(default_factory=dict)  # COIN → kinds
    whales_off: bool = False
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
        if self.whales_off and kind in WHALE_KINDS:
            return False
        coin = coin_of(symbol, base_asset)
        kinds = self.symbol_kinds.get(coin, self.kinds)
        if kinds is not None and kind not in kinds:
            return False
        if self.symbols is not None and symbol.upper() not in self.symbols and coin not in self.symbols:
            return False
        if usd is None:
            return True
        threshold = self.symbol_min_usd.get(
            (symbol.upper(), kind), self.symbol_min_usd.get((coin, kind), self.min_usd.get(kind, 0.0))
        )
        return usd >= threshold


def parse_chat_rules(fields: dict[str, str]) -> ChatRules:
    kinds = symbols = None
    symbol_kinds: dict[str, frozenset[str]] = {}
    whales_off = False
    min_usd: dict[str, float] = {}
    symbol_min_usd: dict[tuple[str, str], float] = {}
    muted_until = 0.0
    problems: list[str] = []
    for name, raw in fields.items():
        value = raw.strip()
        base, _, symbol = name.partition(":")
        if base == "kinds":
            names = [k.strip().lower() for k in value.split(",") if k.strip()]
            unknown = unknown_kinds(names)
            if unknown:
                problems.append(f"{name}: unknown kind(s) {', '.join(unknown)}")
            chosen_kinds = frozenset(kind for k in names if k in _KIND_NAMES for kind in _KIND_NAMES[k])
            if symbol:
                symbol_kinds[symbol.upper()] = chosen_kinds
            else:
                kinds = chosen_kinds
        elif name == "whale_alerts":
            whales_off = value.lower() == "off"
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
    return ChatRules(kinds, symbols, symbol_kinds, whales_off, min_usd, symbol_min_usd, muted_until, tuple(problems))


def _amount(value: str) -> float | None:
    try:
        amount = float(value.replace("_", "").replace(",", ""))
    except ValueError:
        return None
    return amount if amount >= 0 and amount == amount and amount != float("inf") else None

"""Alert rules: thresholds and cooldowns per symbol group, overridable per exchange, per symbol and per
symbol on one exchange; storm and whale-cluster limits. Read once at start from a TOML file.

Most specific wins, field by field: default < group (by base asset or pair) < exchange < symbol <
"SYMBOL@Exchange". A rules file that cannot be used stops the process with the line it objects to: a
silently applied default would mean missed or spammed alerts.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from teleglas.defines import KIND_LIQUIDATION, RULES_RESOLVED_MAX, WHALE_KINDS
from teleglas.model.events import MarketEvent
from teleglas.settings import RuleSettings

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "default_rules.toml"

_RULE_FIELDS = ("liquidation_min_usd", "whale_min_usd", "cooldown_s")
_STORM_FIELDS = ("window_s", "min_count", "min_usd", "quiet_gaps")
_TOP_LEVEL = {"default", "groups", "exchanges", "symbols", "storm", "whale_cluster"}


class RulesError(ValueError):
    """A rules file TELEGLAS will not start with; the text names the file, line and problem."""


Overrides = dict[str, Any]  # a table of the rules file: Rule field -> value, checked by _rule_values


@dataclass(frozen=True, slots=True)
class Rule:
    liquidation_min_usd: float
    whale_min_usd: float
    cooldown_s: float
    group: str = "default"

    def admits(self, event: MarketEvent, whale_alerts_enabled: bool) -> bool:
        """Big enough to alert on. No I/O: the below-threshold fast path costs nothing."""
        if event.kind == KIND_LIQUIDATION:
            return event.usd >= self.liquidation_min_usd
        if event.kind in WHALE_KINDS:
            return whale_alerts_enabled and event.usd >= self.whale_min_usd
        return False


@dataclass(frozen=True, slots=True)
class StormRule:
    """A storm (or whale cluster) starts when qualifying events in `window_s` reach both limits. It ends with its
    window, or earlier once its symbol has been quiet for `quiet_gaps` of its average gap between events (at least
    STORM_QUIET_MIN_S): a cascade's last storm arrives seconds after it stops, not a window later, and a slow
    storm is not cut by its usual pauses. 0 keeps every storm open for its whole window."""

    window_s: float
    min_count: int
    min_usd: float
    quiet_gaps: float = 5.0


@dataclass(frozen=True)
class Rules:
    default: Rule
    groups: dict[str, tuple[frozenset[str], Overrides]] = field(default_factory=dict)
    exchanges: dict[str, Overrides] = field(default_factory=dict)
    symbols: dict[str, Overrides] = field(default_factory=dict)
    storm: StormRule = StormRule(60, 10, 5_000_000)
    whale_cluster: StormRule = StormRule(120, 5, 10_000_000)
    _resolved: dict[tuple[str, str, str], Rule] = field(default_factory=dict, init=False, repr=False, compare=False)

    def rule_for(self, symbol: str, base_asset: str, exchange: str) -> Rule:
        """Resolved once per (symbol, base asset, exchange), then one dict read per event; the names come from
        outside, so at most RULES_RESOLVED_MAX are kept."""
        at = (symbol, base_asset, exchange)
        rule = self._resolved.get(at)
        if rule is None:
            if len(self._resolved) >= RULES_RESOLVED_MAX:
                self._resolved.clear()
            rule = self._resolved[at] = self._resolve(symbol, base_asset, exchange)
        return rule

    def _resolve(self, symbol: str, base_asset: str, exchange: str) -> Rule:
        rule = self.default
        for name, (members, values) in self.groups.items():
            if symbol.upper() in members or base_asset.upper() in members:
                rule = replace(rule, group=name, **values)
                break
        overrides: tuple[Overrides | None, ...] = (
            self.exchanges.get(exchange.lower()),
            self.symbols.get(symbol.upper()),
            self.symbols.get(f"{symbol.upper()}@{exchange.lower()}"),
        )
        for override in overrides:
            if override:
                rule = replace(rule, **override)
        return rule

    def storm_rule(self, kind: str) -> StormRule:
        return self.storm if kind == KIND_LIQUIDATION else self.whale_cluster

    def with_default_thresholds(self, liquidation_min_usd: float | None, whale_min_usd: float | None) -> Rules:
        """LIQUIDATION_MIN_USD / WHALE_MIN_USD from Settings replace the default group's thresholds."""
        values: Overrides = {
            k: v
            for k, v in (("liquidation_min_usd", liquidation_min_usd), ("whale_min_usd", whale_min_usd))
            if v is not None
        }
        return replace(self, default=replace(self.default, **values)) if values else self


def rules_from_settings(settings: RuleSettings) -> Rules:
    """The rules file named by ALERT_RULES_FILE (or the bundled one), its default group's thresholds replaced by
    LIQUIDATION_MIN_USD / WHALE_MIN_USD when they are set."""
    return load_rules(settings.rules_file or DEFAULT_RULES_PATH).with_default_thresholds(
        settings.liquidation_min_usd, settings.whale_min_usd
    )


def load_rules(path: Path = DEFAULT_RULES_PATH) -> Rules:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc.strerror})") from None
    return parse_rules(text, str(path))


def parse_rules(text: str, source: str = "<rules>") -> Rules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: {exc}") from None
    where = _Locator(text, source)
    for key in data:
        if key not in _TOP_LEVEL:
            raise RulesError(
                where.at(key, None, f"unknown section [{key}] (expected one of {', '.join(sorted(_TOP_LEVEL))})")
            )
    default_values = _rule_values(data.get("default", {}), "default", where, required=True)
    default = Rule(**default_values)
    groups: dict[str, tuple[frozenset[str], Overrides]] = {}
    seen: dict[str, str] = {}
    for name, table in _tables(data, "groups", where).items():
        table = dict(table)
        members = table.pop("symbols", None)
        if not isinstance(members, list) or not members or not all(isinstance(m, str) and m.strip() for m in members):
            raise RulesError(
                where.at(f"groups.{name}", "symbols", "`symbols` must be a non-empty list of symbol names")
            )
        upper = frozenset(m.strip().upper() for m in members)
        for member in upper:
            if member in seen:
                raise RulesError(where.at(f"groups.{name}", "symbols", f"{member} is already in group {seen[member]}"))
            seen[member] = name
        groups[name] = (upper, _rule_values(table, f"groups.{name}", where))
    exchanges = {
        name.lower(): _rule_values(t, f"exchanges.{name}", where)
        for name, t in _tables(data, "exchanges", where).items()
    }
    symbols = {
        _symbol_key(name): _rule_values(t, f"symbols.{name}", where)
        for name, t in _tables(data, "symbols", where).items()
    }
    storm = _storm(data, "storm", where, Rules.storm)
    cluster = _storm(data, "whale_cluster", where, Rules.whale_cluster)
    return Rules(default, groups, exchanges, symbols, storm, cluster)


def _symbol_key(name: str) -> str:
    symbol, _, exchange = name.partition("@")
    return f"{symbol.upper()}@{exchange.lower()}" if exchange else symbol.upper()


def _tables(data: dict[str, Any], section: str, where: _Locator) -> dict[str, dict[str, Any]]:
    tables = data.get(section, {})
    if not isinstance(tables, dict):
        raise RulesError(where.at(section, None, f"[{section}] must hold tables such as [{section}.NAME]"))
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise RulesError(where.at(section, name, f"{section}.{name} must be a table ([{section}.{name}])"))
    return tables


def _number(value: Any, table: str, key: str, where: _Locator) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise RulesError(where.at(table, key, f"{key} must be a number, got {value!r}"))
    if value < 0:
        raise RulesError(where.at(table, key, f"{key} cannot be negative, got {value!r}"))
    return float(value)


def _rule_values(table: Any, name: str, where: _Locator, required: bool = False) -> Overrides:
    if not isinstance(table, dict):
        raise RulesError(where.at(name, None, f"[{name}] must be a table"))
    for key in table:
        if key not in _RULE_FIELDS:
            raise RulesError(where.at(name, key, f"unknown key {key!r} (expected {', '.join(_RULE_FIELDS)})"))
    if required:
        missing = [k for k in _RULE_FIELDS if k not in table]
        if missing:
            raise RulesError(where.at(name, None, f"[{name}] lacks {', '.join(missing)}"))
    return {key: _number(value, name, key, where) for key, value in table.items()}


def _storm(data: dict[str, Any], section: str, where: _Locator, fallback: StormRule) -> StormRule:
    table = data.get(section)
    if table is None:
        return fallback
    if not isinstance(table, dict):
        raise RulesError(where.at(section, None, f"[{section}] must be a table"))
    for key in table:
        if key not in _STORM_FIELDS:
            raise RulesError(where.at(section, key, f"unknown key {key!r} (expected {', '.join(_STORM_FIELDS)})"))
    values: dict[str, Any] = {key: _number(value, section, key, where) for key, value in table.items()}
    rule = replace(fallback, **values)
    if rule.window_s <= 0 or rule.min_count < 2:
        raise RulesError(where.at(section, None, f"[{section}] needs window_s > 0 and min_count >= 2"))
    return replace(rule, min_count=int(rule.min_count))


class _Locator:
    """Finds the line of a table or of a key inside it, so semantic errors name a line as syntax errors do."""

    def __init__(self, text: str, source: str):
        self._lines = text.splitlines()
        self._source = source

    def at(self, table: str, key: str | None, problem: str) -> str:
        return f"{self._source}: line {self._line(table, key)}: {problem}"

    def _line(self, table: str, key: str | None) -> int | str:
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(_quoted(part) for part in table.split(".", 1)) + r"\s*\]")
        start = next((i for i, line in enumerate(self._lines) if header.match(line)), None)
        if start is None:
            inline = re.compile(r"^\s*" + _quoted(table.split(".")[-1]) + r"\s*=")
            start = next((i for i, line in enumerate(self._lines) if inline.match(line)), None)
            return "?" if start is None else start + 1
        if key is None:
            return start + 1
        pattern = re.compile(r"^\s*" + _quoted(key) + r"\s*=")
        for i in range(start + 1, len(self._lines)):
            if self._lines[i].lstrip().startswith("["):
                break
            if pattern.match(self._lines[i]):
                return i + 1
        return start + 1


def _quoted(name: str) -> str:
    escaped = re.escape(name)
    return f"(?:{escaped}|\"{escaped}\"|'{escaped}')"

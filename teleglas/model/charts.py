"""What an alert's chart shows, as a small spec the alert carries to the render task: the market tape of some
symbols over a span of exchange time, with the span the alert itself covers marked. Plain shapes; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from teleglas.model.ids import content_id

MAX_SYMBOLS = 8  # a digest's chart names at most this many symbols


class ChartKind(StrEnum):
    STORM = "storm"  # a liquidation storm's window
    SUMMARY = "summary"  # what a liquidation cooldown folded
    DIGEST = "digest"  # a busy chat's digest of liquidations (a cascade)


class ChartSpecError(ValueError):
    """A task payload that is not a chart spec this version understands."""


@dataclass(frozen=True, slots=True)
class ChartSpec:
    kind: ChartKind
    symbols: tuple[str, ...]  # the first one's price is drawn; the bars add up all of them
    start_ms: int  # the chart's span, exchange time
    end_ms: int
    mark_start_ms: int  # the alert's own span within it
    mark_end_ms: int

    def chart_id(self) -> str:
        """Derived from content: a retried render or a second alert with the same picture share one PNG."""
        return content_id((self.kind, *self.symbols, self.start_ms, self.end_ms, self.mark_start_ms, self.mark_end_ms))

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "symbols": list(self.symbols),
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "mark_start_ms": self.mark_start_ms,
            "mark_end_ms": self.mark_end_ms,
        }

    @classmethod
    def from_payload(cls, payload: Any) -> ChartSpec:
        """Inverse of `to_payload`; anything else is a ChartSpecError (a payload is outside input)."""
        try:
            symbols = tuple(payload["symbols"])
            spans = [payload[name] for name in ("start_ms", "end_ms", "mark_start_ms", "mark_end_ms")]
            kind = ChartKind(payload["kind"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ChartSpecError(f"not a chart spec: {type(exc).__name__}") from None
        if not symbols or len(symbols) > MAX_SYMBOLS or not all(isinstance(s, str) and s for s in symbols):
            raise ChartSpecError("a chart spec names 1 to 8 symbols")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in spans):
            raise ChartSpecError("chart spec times must be whole milliseconds")
        start, end, mark_start, mark_end = spans
        if not start <= mark_start <= mark_end <= end:
            raise ChartSpecError("a chart spec's marked span must lie within its span")
        return cls(kind, symbols, start, end, mark_start, mark_end)


# An alert's chart shows its span with the market before it (twice the span, one to four minutes), on the tape's
# 10 s buckets.
MIN_LEAD_MS = 60_000
MAX_LEAD_MS = 4 * 60_000
TAIL_MS = 20_000
MAX_SPAN_MS = 2 * 3600_000  # the tape keeps two hours


def chart_for(kind: ChartKind, symbols: tuple[str, ...], first_ms: int, last_ms: int) -> ChartSpec:
    """The spec of an alert covering `first_ms`..`last_ms` of `symbols`: the market before its span (twice as long
    as the span, one to four minutes) and twenty seconds after, at most the two hours the tape keeps."""
    end = last_ms + TAIL_MS
    lead = min(max(2 * (last_ms - first_ms), MIN_LEAD_MS), MAX_LEAD_MS)
    start = max(first_ms - lead, end - MAX_SPAN_MS)
    return ChartSpec(kind, symbols[:MAX_SYMBOLS], start, end, max(first_ms, start), last_ms)


# -- what a chart is drawn from (read from the tape or CoinGlass, drawn by teleglas.charts) ---------------------


@dataclass(frozen=True, slots=True)
class LiquidationBars:
    """USD liquidated per bucket, longs and shorts apart, and the price over the same buckets (None where the
    bucket saw no event of the symbol, or no price is known)."""

    bucket_s: int
    starts_ms: tuple[int, ...]
    long_usd: tuple[float, ...]
    short_usd: tuple[float, ...]
    price: tuple[float | None, ...] = ()

    @property
    def total_usd(self) -> float:
        return sum(self.long_usd) + sum(self.short_usd)


@dataclass(frozen=True, slots=True)
class SymbolTotals:
    symbol: str
    long_usd: float
    short_usd: float


@dataclass(frozen=True, slots=True)
class LargeOrder:
    kind: str
    exchange: str
    symbol: str
    side: str
    usd: float
    price: float
    time_ms: int


@dataclass(frozen=True, slots=True)
class OpenInterestSeries:
    """Open interest in USD per exchange at each time (CoinGlass's exchange history chart)."""

    times_ms: tuple[int, ...]
    by_exchange: dict[str, tuple[float, ...]]

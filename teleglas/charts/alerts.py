"""An alert's chart: its spec (teleglas.model.charts) read from the market tape and drawn, with a title a
trader reads first: the symbol, what happened, the window."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from teleglas.charts.apart import Apart, here
from teleglas.charts.render import bucket_label, liquidations_png, usd_short, zone_label
from teleglas.model.charts import ChartKind, ChartSpec, LiquidationBars

_WHAT = {
    ChartKind.STORM: ("liquidation storm", "storm"),
    ChartKind.SUMMARY: ("liquidations folded by the cooldown", "folded"),
    ChartKind.DIGEST: ("liquidation cascade", "alerts"),
}


class Bars(Protocol):
    """teleglas.state.tape.TapeReader.liquidation_bars."""

    def __call__(
        self, symbols: tuple[str, ...], start_ms: int, end_ms: int, price_symbol: str | None = None
    ) -> LiquidationBars: ...


def title(spec: ChartSpec) -> str:
    what, _ = _WHAT[spec.kind]
    names = spec.symbols[0] if len(spec.symbols) == 1 else f"{spec.symbols[0]} +{len(spec.symbols) - 1}"
    return f"{names} {what}"


def subtitle(spec: ChartSpec, bars: LiquidationBars, zone: ZoneInfo) -> str:
    _, marked = _WHAT[spec.kind]
    start = datetime.fromtimestamp(spec.mark_start_ms / 1000, tz=zone).strftime("%H:%M:%S")
    end = datetime.fromtimestamp(spec.mark_end_ms / 1000, tz=zone).strftime("%H:%M:%S")
    span = start if start == end else f"{start}-{end}"
    symbols = "" if len(spec.symbols) == 1 else " (" + ", ".join(spec.symbols[:4]) + ")"
    return (
        f"{span} {zone_label(zone)} shaded: the {marked} · {usd_short(bars.total_usd)} liquidated in view{symbols}, "
        f"per {bucket_label(bars.bucket_s)}"
    )


def alert_chart_png(spec: ChartSpec, bars: Bars, zone: ZoneInfo, apart: Apart = here) -> bytes:
    """The bars are read here; only the drawing goes `apart`."""
    data = bars(spec.symbols, spec.start_ms, spec.end_ms, spec.symbols[0])
    return apart(
        partial(
            liquidations_png,
            title(spec),
            subtitle(spec, data, zone),
            data,
            zone,
            price_symbol=spec.symbols[0],
            mark=(spec.mark_start_ms, spec.mark_end_ms),
        )
    )

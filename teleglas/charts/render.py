"""Charts as PNG bytes, drawn headless with matplotlib's Agg canvas from plain series (teleglas.model.charts).

No pyplot: each picture is its own Figure on its own canvas, so threads (the manual bot answers on four) never
share a figure, and nothing is kept between two renders. Every string drawn is cleaned first: symbols and
exchanges come from outside, and neither mathtext nor a glyph the font lacks (emoji) may reach the picture.
"""

from __future__ import annotations

import io
import math
import unicodedata
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from teleglas.charts import style
from teleglas.model.charts import LargeOrder, LiquidationBars, OpenInterestSeries, SymbolTotals

# once, at import: renders on several threads read it, none changes it (cast: matplotlib types its keys as literals)
matplotlib.rcParams.update(cast(Any, style.RC))

_DRAWABLE_CATEGORIES = {"So", "Sk", "Cs", "Co", "Cn", "Cc", "Cf", "Zl", "Zp"}
_MAX_LABEL = 24


def label(text: str, limit: int = _MAX_LABEL) -> str:
    """Outside text made drawable: no emoji or symbols outside the font, no control or format characters."""
    kept = "".join(
        ch for ch in text if ord(ch) < 0x10000 and unicodedata.category(ch) not in _DRAWABLE_CATEGORIES
    ).strip()
    return kept if len(kept) <= limit else kept[: limit - 1] + "…"


def usd_short(amount: float) -> str:
    """$1.2B, $3.4M, $250k, $900: the axis and bar labels."""
    value = abs(amount)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            shown = value / size
            return f"${shown:.1f}{suffix}" if shown < 10 else f"${shown:.0f}{suffix}"
    return f"${value:.0f}"


def price_text(price: float) -> str:
    if price >= 1000:
        return f"${price:,.0f}"
    if price >= 1:
        return f"${price:,.2f}"
    if price <= 0:
        return "$0"
    decimals = 3 - math.floor(math.log10(price))
    return f"${price:.{decimals}f}"


def zone_label(zone: ZoneInfo) -> str:
    return zone.key if getattr(zone, "key", None) else "UTC"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=style.DPI, facecolor=style.BACKGROUND)
    return buffer.getvalue()


def _figure(height_in: float = style.HEIGHT_IN) -> Figure:
    return Figure(figsize=(style.WIDTH_IN, height_in), dpi=style.DPI)


def _times(starts_ms: tuple[int, ...] | list[int], zone: ZoneInfo) -> list[float]:
    return [mdates.date2num(datetime.fromtimestamp(ms / 1000, tz=zone)) for ms in starts_ms]


def _time_axis(ax, zone: ZoneInfo, span_s: float) -> None:
    fmt = "%H:%M:%S" if span_s <= 15 * 60 else "%H:%M"
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=zone, minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=zone))
    ax.set_xlabel(f"Time ({zone_label(zone)})")


def _liquidation_axes(ax, bars: LiquidationBars, zone: ZoneInfo, bucket_label: str) -> None:
    """Longs up, shorts down, from one zero line: the two sides stay apart and compare at a glance."""
    x = _times(bars.starts_ms, zone)
    width = bars.bucket_s / 86_400 * 0.9
    ax.bar(x, bars.long_usd, width=width, align="edge", color=style.LONG, label="Longs liquidated", zorder=2)
    ax.bar(x, [-v for v in bars.short_usd], width=width, align="edge", color=style.SHORT, label="Shorts liquidated")
    top = max([*bars.long_usd, *bars.short_usd, 1.0])
    ax.set_ylim(-top * 1.15, top * 1.15)
    ax.axhline(0, color=style.MUTED, linewidth=0.6)
    ax.yaxis.set_major_locator(MaxNLocator(5, symmetric=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: usd_short(v)))
    ax.set_ylabel(f"USD liquidated per {bucket_label}")
    ax.grid(axis="y", zorder=0)
    if x:
        ax.set_xlim(x[0], x[-1] + bars.bucket_s / 86_400)
    _time_axis(ax, zone, len(x) * bars.bucket_s)


def bucket_label(bucket_s: int) -> str:
    if bucket_s < 60:
        return f"{bucket_s} s"
    if bucket_s < 3600:
        return f"{bucket_s // 60} min"
    return f"{bucket_s // 3600} h"


def liquidations_png(
    title: str,
    subtitle: str,
    bars: LiquidationBars,
    zone: ZoneInfo,
    price_symbol: str = "",
    mark: tuple[int, int] | None = None,
    mark_label: str = "",
) -> bytes:
    """USD liquidated per bucket (longs up, shorts down) with the price over the same buckets on the right axis,
    and the alert's own span shaded."""
    figure = _figure()
    ax = figure.add_axes((0.13, 0.2, 0.72, 0.62))
    _liquidation_axes(ax, bars, zone, bucket_label(bars.bucket_s))
    handles, labels = ax.get_legend_handles_labels()
    if mark is not None:
        start, end = _times([mark[0], max(mark[1], mark[0] + bars.bucket_s * 1000)], zone)
        ax.axvspan(start, end, color=style.MARK, alpha=0.08, zorder=1, linewidth=0)
        if mark_label:
            ax.text(
                start,
                1.0,
                label(mark_label, 40),
                transform=ax.get_xaxis_transform(),
                va="bottom",
                ha="left",
                fontsize=7,
                color=style.MUTED,
            )
    points = [(t, p) for t, p in zip(_times(bars.starts_ms, zone), bars.price) if p is not None]
    if points:
        price_ax = ax.twinx()
        half = bars.bucket_s / 86_400 / 2
        line = price_ax.plot(
            [t + half for t, _ in points],
            [p for _, p in points],
            color=style.PRICE,
            linewidth=1.6,
            marker="o" if len(points) < 3 else None,
            markersize=3,
            label=f"{label(price_symbol)} price",
        )
        low, high = min(p for _, p in points), max(p for _, p in points)
        pad = (high - low) * 0.15 or high * 0.002 or 1.0
        price_ax.set_ylim(low - pad, high + pad)
        price_ax.yaxis.set_major_locator(MaxNLocator(5))
        price_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: price_text(v)))
        price_ax.set_ylabel("Price (USD)", color=style.PRICE)
        price_ax.tick_params(axis="y", colors=style.PRICE)
        for spine in price_ax.spines.values():
            spine.set_color(style.GRID)
        handles += line
        labels.append(line[0].get_label())
    figure.legend(handles, labels, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 0.0))
    figure.text(0.02, 0.955, label(title, 60), fontsize=12, fontweight="bold", va="top")
    figure.text(0.02, 0.885, label(subtitle, 90), fontsize=8, color=style.MUTED, va="top")
    return _png(figure)


def open_interest_png(title: str, subtitle: str, series: OpenInterestSeries, zone: ZoneInfo, top: int = 5) -> bytes:
    """Open interest stacked by exchange (the largest `top`, the rest as Others): the top edge is the total."""
    figure = _figure()
    ax = figure.add_axes((0.13, 0.2, 0.83, 0.62))
    x = _times(series.times_ms, zone)
    ranked = sorted(series.by_exchange.items(), key=lambda item: -(item[1][-1] if item[1] else 0.0))
    shown = ranked[:top]
    rest = [sum(values[i] for _, values in ranked[top:]) for i in range(len(x))]
    layers = [(label(name, 16), values) for name, values in shown] + ([("Others", tuple(rest))] if ranked[top:] else [])
    ax.stackplot(
        x,
        *[values for _, values in layers],
        labels=[name for name, _ in layers],
        colors=style.SERIES[: len(layers)],
        alpha=0.9,
        linewidth=0,
    )
    totals = [sum(values[i] for _, values in layers) for i in range(len(x))]
    if totals:
        ax.set_ylim(0, max(totals) * 1.08)
        ax.set_xlim(x[0], x[-1])
        ax.annotate(
            f"total {usd_short(totals[-1])}",
            (x[-1], totals[-1]),
            xytext=(-4, 6),
            textcoords="offset points",
            ha="right",
            fontsize=7.5,
            color=style.TEXT,
        )
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: usd_short(v)))
    ax.set_ylabel("Open interest (USD)")
    ax.grid(axis="y")
    _time_axis(ax, zone, (series.times_ms[-1] - series.times_ms[0]) / 1000 if len(x) > 1 else 3600)
    figure.legend(loc="lower center", ncol=min(len(layers), 6), frameon=False, bbox_to_anchor=(0.5, 0.0))
    figure.text(0.02, 0.955, label(title, 60), fontsize=12, fontweight="bold", va="top")
    figure.text(0.02, 0.885, label(subtitle, 90), fontsize=8, color=style.MUTED, va="top")
    return _png(figure)


def recap_png(
    title: str,
    subtitle: str,
    by_symbol: list[SymbolTotals],
    timeline: LiquidationBars,
    orders: list[LargeOrder],
    zone: ZoneInfo,
) -> bytes:
    """The day in one picture: liquidations by symbol and side, the cascade timeline, the largest orders."""
    figure = _figure(style.RECAP_HEIGHT_IN)
    figure.text(0.02, 0.985, label(title, 60), fontsize=12, fontweight="bold", va="top")
    figure.text(0.02, 0.958, label(subtitle, 90), fontsize=8, color=style.MUTED, va="top")

    symbols_ax = figure.add_axes((0.2, 0.66, 0.76, 0.25))
    rows = by_symbol[:8][::-1]
    names = [label(r.symbol, 14) for r in rows]
    positions = list(range(len(rows)))
    symbols_ax.barh(positions, [r.long_usd for r in rows], color=style.LONG, label="Longs liquidated", height=0.7)
    symbols_ax.barh(
        positions,
        [r.short_usd for r in rows],
        left=[r.long_usd for r in rows],
        color=style.SHORT,
        label="Shorts liquidated",
        height=0.7,
    )
    symbols_ax.set_yticks(positions, names)
    symbols_ax.xaxis.set_major_locator(MaxNLocator(5))
    symbols_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: usd_short(v)))
    symbols_ax.set_xlabel("USD liquidated, last 24 h")
    symbols_ax.set_title("Liquidations by symbol", loc="left", fontsize=9.5)
    symbols_ax.grid(axis="x")
    if not rows:
        symbols_ax.text(
            0.5, 0.5, "no liquidations recorded", transform=symbols_ax.transAxes, ha="center", color=style.MUTED
        )
    symbols_ax.legend(loc="lower right", frameon=False)

    timeline_ax = figure.add_axes((0.13, 0.35, 0.8, 0.22))
    _liquidation_axes(timeline_ax, timeline, zone, bucket_label(timeline.bucket_s))
    timeline_ax.set_title("Cascade timeline", loc="left", fontsize=9.5)

    orders_ax = figure.add_axes((0.02, 0.02, 0.96, 0.25))
    orders_ax.axis("off")
    orders_ax.set_title("Largest orders", loc="left", fontsize=9.5)
    lines = [
        f"{datetime.fromtimestamp(o.time_ms / 1000, tz=zone):%H:%M}  {label(o.symbol, 12):<12} "
        f"{('liq ' if o.kind == 'liquidation' else 'whale ') + o.side:<11} {usd_short(o.usd):>7}  "
        f"{label(o.exchange, 12):<12} @ {price_text(o.price)}"
        for o in orders[:8]
    ] or ["none recorded"]
    orders_ax.text(
        0.0,
        0.95,
        "\n".join(lines),
        family="DejaVu Sans Mono",
        fontsize=7.5,
        va="top",
        transform=orders_ax.transAxes,
        linespacing=1.5,
    )
    return _png(figure)

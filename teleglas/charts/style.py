"""One look for every picture TELEGLAS draws, shared with the dashboard (teleglas/dashboard/static/dashboard.css
uses the same colours): the dashboard's dark panels, and the Okabe-Ito colours, which stay apart for every
common kind of colour blindness (longs vermillion, shorts sky blue, the price yellow)."""

from __future__ import annotations

from typing import Any

BACKGROUND = "#0f1419"
PANEL = "#171e26"
GRID = "#26303b"
TEXT = "#d8dee6"
MUTED = "#7d8a98"
LONG = "#d55e00"
SHORT = "#56b4e9"
PRICE = "#f0e442"
MARK = "#ffffff"
# Series beyond long/short (exchanges of /oi): Okabe-Ito, in an order that keeps neighbours apart.
SERIES = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#7d8a98")

# Sized for a phone: 1200 px wide, so text drawn at these sizes stays readable shown at 600 px.
WIDTH_IN = 6.0
HEIGHT_IN = 4.0
RECAP_HEIGHT_IN = 8.0
DPI = 200

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",  # bundled with matplotlib; it has no emoji, so none is ever drawn
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "figure.facecolor": BACKGROUND,
    "axes.facecolor": PANEL,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "axes.titlecolor": TEXT,
    "text.color": TEXT,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "legend.facecolor": PANEL,
    "legend.edgecolor": GRID,
    "legend.labelcolor": TEXT,
    "text.parse_math": False,  # a symbol is outside text: "$" must never start mathtext
    "svg.fonttype": "none",
}

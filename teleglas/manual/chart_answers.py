"""The manual bot's pictures: /liq and /oi answer with a chart and their card as caption, /chart draws the
market tape of a pair, /recap sets a chat's daily recap. Rendering happens on the command's own thread; a
chart that cannot be drawn leaves the card as a text answer, never no answer."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from teleglas.charts import render
from teleglas.charts.recap import RECAP_AT, RECAP_TZ, RecapTime, parse_time, parse_zone, recap_task, recap_time
from teleglas.decide.formatting import escape, format_usd
from teleglas.defines import LOG_MANUAL
from teleglas.manual.command_args import ArgumentError, quoted
from teleglas.model.charts import LiquidationBars, OpenInterestSeries
from teleglas.model.chat import ChatId
from teleglas.source.coinglass.rest_records import LiquidationPoint, OpenInterestHistory
from teleglas.state.chats import ChatState
from teleglas.state.due import DueTask
from teleglas.state.tape import TapeReader

log = logging.getLogger(__name__)

MAX_CHART_WINDOW_S = 24 * 3600
DEFAULT_CHART_WINDOW_S = 3600
_WINDOW = re.compile(r"^(\d{1,4})(m|h)$")


@dataclass(frozen=True, slots=True)
class PhotoAnswer:
    """A picture and its caption (Telegram HTML); the bot sends the caption as text after the photo when it is
    longer than a caption may be."""

    png: bytes
    caption: str


def window_argument(args: list[str], usage: str) -> int:
    """`30m`, `4h`, `24h`: the window of /chart, from a minute to 24 h; none is an hour."""
    if not args:
        return DEFAULT_CHART_WINDOW_S
    match = _WINDOW.match(args[0].strip().lower())
    seconds = int(match[1]) * (60 if match[2] == "m" else 3600) if match else 0
    if not 60 <= seconds <= MAX_CHART_WINDOW_S:
        raise ArgumentError(f"“{quoted(args[0])}” is not a window from 1m to 24h (like 30m or 4h). Usage: {usage}")
    return seconds


def _window_text(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


class ChartAnswers:
    def __init__(
        self,
        tape: TapeReader,
        chats: ChatState,
        schedule: Callable[[DueTask, float], object],
        zone: ZoneInfo,
        clock: Callable[[], float],
    ):
        self.tape = tape
        self.chats = chats
        self.schedule = schedule  # due work in Redis (teleglas.state.due.DueWork.schedule)
        self.zone = zone
        self.clock = clock

    def liquidations(self, coin: str, points: list[LiquidationPoint], card: str) -> PhotoAnswer:
        bars = LiquidationBars(
            3600,
            tuple(p.time_ms for p in points),
            tuple(p.long_usd for p in points),
            tuple(p.short_usd for p in points),
        )
        png = render.liquidations_png(
            f"{coin} liquidations, last 24 h",
            f"per hour, all exchanges (CoinGlass) · longs {render.usd_short(sum(bars.long_usd))}, "
            f"shorts {render.usd_short(sum(bars.short_usd))}",
            bars,
            self.zone,
        )
        return PhotoAnswer(png, card)

    def open_interest(self, coin: str, history: OpenInterestHistory, card: str) -> PhotoAnswer:
        series = OpenInterestSeries(history.times_ms, history.by_exchange)
        totals = [sum(values[i] for values in history.by_exchange.values()) for i in range(len(history.times_ms))]
        change = (totals[-1] - totals[0]) / totals[0] * 100 if totals and totals[0] else 0.0
        png = render.open_interest_png(
            f"{coin} open interest, last 24 h",
            f"per exchange, stacked to the total (CoinGlass) · {render.usd_short(totals[-1])}, {change:+.1f} % in 24 h",
            series,
            self.zone,
        )
        return PhotoAnswer(png, card)

    def tape_chart(self, pair: str, window_s: int) -> PhotoAnswer:
        now_ms = int(self.clock() * 1000)
        bars = self.tape.liquidation_bars((pair,), now_ms - window_s * 1000, now_ms, pair)
        png = render.liquidations_png(
            f"{pair} liquidations and price, last {_window_text(window_s)}",
            f"the CoinGlass stream as TELEGLAS recorded it · per {render.bucket_label(bars.bucket_s)}",
            bars,
            self.zone,
            price_symbol=pair,
        )
        longs, shorts = sum(bars.long_usd), sum(bars.short_usd)
        prices = [p for p in bars.price if p is not None]
        lines = [f"📈 <b>{escape(pair)}</b> · last {_window_text(window_s)} on the stream"]
        if longs + shorts:
            lines.append(
                f"💥 Liquidated: {format_usd(longs + shorts)} · longs {format_usd(longs)} · shorts {format_usd(shorts)}"
            )
        else:
            lines.append("💥 No liquidations recorded in this window.")
        if len(prices) >= 2:
            lines.append(
                f"💰 Price: {render.price_text(prices[0])} → {render.price_text(prices[-1])} "
                f"({(prices[-1] - prices[0]) / prices[0] * 100:+.2f} %)"
            )
        return PhotoAnswer(png, "\n".join(lines))

    # -- the daily recap ---------------------------------------------------------------------------------

    def recap(self, chat_id: ChatId, args: list[str], usage: str) -> str:
        now = self.clock()
        if not args:
            current = recap_time(self.chats.chat_settings(chat_id), self.zone)
            if current is None:
                return f"No daily recap in this chat. {usage} turns one on (e.g. /recap 08:00)."
            return f"📅 Daily recap in this chat at {escape(current.describe())}. /recap off turns it off."
        if args[0].lower() == "off":
            self.chats.update_chat_settings(chat_id, {}, remove=(RECAP_AT, RECAP_TZ))
            return "Daily recap off in this chat."
        at = parse_time(args[0])
        if at is None:
            raise ArgumentError(f"“{quoted(args[0])}” is not a time of day like 08:00 or 21:30. Usage: {usage}")
        zone = self.zone
        if len(args) > 1:
            chosen = parse_zone(args[1])
            if chosen is None:
                raise ArgumentError(f"“{quoted(args[1])}” is not a time zone like UTC or Asia/Jakarta. Usage: {usage}")
            zone = chosen
        self.chats.update_chat_settings(chat_id, {RECAP_AT: f"{at[0]:02d}:{at[1]:02d}", RECAP_TZ: zone.key})
        when = RecapTime(at[0], at[1], zone)
        self.schedule(recap_task(chat_id), when.next(now).timestamp() - now)
        log.info("%s chat=%s daily recap at %s", LOG_MANUAL, chat_id, when.describe())
        return (
            f"📅 Daily recap in this chat at {escape(when.describe())}: one picture of the last 24 h (liquidations, "
            "the cascade timeline, the largest orders) with the day's alerts. It comes from the alert bot."
        )

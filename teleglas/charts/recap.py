"""The daily recap a chat opts into with the manual bot's /recap: at its time of day (in its time zone,
ALERT_TIMEZONE unless it chose one), one picture of the last 24 h (liquidations by symbol and side, the cascade
timeline, the largest orders) with a caption of the day's alerts and how the price moved after them.

The recap is due work in Redis under `recap:<chat>`: each run sends the day (once: its alert id names the chat
and the date) and schedules the next. A run that finds the recap turned off stops the chain; one that finds
the time changed reschedules itself.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from teleglas.charts.apart import Apart, here
from teleglas.charts.render import recap_png, usd_short
from teleglas.dashboard.analytics import move_summary
from teleglas.defines import KIND_SYSTEM, LOG_CHARTS, QUEUE_CHARTS, TASK_DAILY_RECAP
from teleglas.model.chat import ChatId
from teleglas.state.due import DueTask
from teleglas.state.history import AlertHistory, AlertRecord

log = logging.getLogger(__name__)

RECAP_AT = "recap_at"  # chat settings fields (the manual bot writes them)
RECAP_TZ = "recap_tz"
GRACE_S = 3600  # a run later than this after its time (workers were down) waits for the next day
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_KIND_NAMES = {"liquidation": "liquidation", "trade": "whale trade", "whale_position": "whale position"}


@dataclass(frozen=True, slots=True)
class RecapTime:
    hour: int
    minute: int
    zone: ZoneInfo

    def last(self, now: float) -> datetime:
        """The latest occurrence at or before `now`."""
        local = datetime.fromtimestamp(now, tz=self.zone)
        at = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        return at if at <= local else at - timedelta(days=1)

    def next(self, now: float) -> datetime:
        return self.last(now) + timedelta(days=1)

    def describe(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d} {self.zone.key}"


def parse_time(text: str) -> tuple[int, int] | None:
    match = _TIME.match(text.strip())
    return (int(match[1]), int(match[2])) if match else None


def parse_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name.strip()) if name.strip() else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def recap_time(fields: dict[str, str], default_zone: ZoneInfo) -> RecapTime | None:
    """A chat's recap setting; None when it has none (or one this version cannot read)."""
    at = parse_time(fields.get(RECAP_AT, ""))
    if at is None:
        return None
    zone = parse_zone(fields.get(RECAP_TZ, "")) or default_zone
    return RecapTime(at[0], at[1], zone)


def recap_task(chat_id: ChatId) -> DueTask:
    return DueTask(f"recap:{chat_id}", TASK_DAILY_RECAP, QUEUE_CHARTS, (chat_id,))


def caption(
    moment: datetime, records: list[AlertRecord], moves: dict, liquidated: tuple[float, float], zone: ZoneInfo
) -> str:
    """The day in a few lines of Telegram HTML (well within a caption's 1,024 characters)."""
    counts = Counter(_KIND_NAMES.get(r.kind, r.kind) for r in records if r.kind != KIND_SYSTEM)
    symbols = Counter(r.symbol for r in records if r.kind != KIND_SYSTEM)
    lines = [
        f"📅 <b>DAILY RECAP</b> · {moment:%Y-%m-%d %H:%M} ({zone.key})",
        f"🔔 Alerts, last 24 h: {sum(counts.values())}" + "".join(f" · {name} {n}" for name, n in counts.most_common()),
    ]
    if symbols:
        lines.append("📊 Busiest: " + ", ".join(f"{_escape(s)} {n}" for s, n in symbols.most_common(3)))
    longs, shorts = liquidated
    lines.append(
        f"💥 Liquidated on the stream: {usd_short(longs + shorts)} · longs {usd_short(longs)} · "
        f"shorts {usd_short(shorts)}"
    )
    measured = [(m, s) for m, s in move_summary(records, moves).items() if s["measured"]]
    if measured:
        parts = []
        for minutes, summary in measured:
            share = summary["with_pressure_share"]
            with_pressure = f", {share:.0%} with the orders" if share is not None else ""
            parts.append(f"{minutes} min ±{summary['mean_abs_pct']:.2f} %{with_pressure}")
        lines.append(f"📈 Price after the alerts ({measured[0][1]['measured']} measured): " + " · ".join(parts))
    else:
        lines.append("📈 Price after the alerts: none measured yet")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ChatSettings(Protocol):
    def chat_settings(self, chat_id: ChatId) -> dict[str, str]: ...


class Tape(Protocol):
    def day(self, end_ms: int, top: int = 10) -> tuple: ...


class Charts(Protocol):
    def put(self, chart_id: str, png: bytes) -> None: ...


class Recaps:
    def __init__(
        self,
        chats: ChatSettings,
        tape: Tape,
        history: AlertHistory,
        charts: Charts,
        later: Callable[[DueTask, float], None],
        send: Callable[[ChatId, str, str, int, str], None],
        default_zone: ZoneInfo,
        apart: Apart = here,
    ):
        self.chats = chats
        self.tape = tape
        self.history = history
        self.charts = charts
        self.later = later
        self.send = send  # (chat, caption, alert id, current ms, chart id): a send with the photo
        self.default_zone = default_zone
        self.apart = apart

    def run(self, chat_id: ChatId, now: float) -> None:
        setting = recap_time(self.chats.chat_settings(chat_id), self.default_zone)
        if setting is None:
            log.info("%s chat=%s recap is off", LOG_CHARTS, chat_id)
            return
        due = setting.last(now)
        if now - due.timestamp() <= GRACE_S:
            self.send_day(chat_id, due, setting.zone, now)
        self.later(recap_task(chat_id), setting.next(now).timestamp() - now)

    def send_day(self, chat_id: ChatId, moment: datetime, zone: ZoneInfo, now: float) -> None:
        """The 24 h up to `now` (a run a little after its time misses nothing); `moment` names the day."""
        end_ms = int(now * 1000)
        by_symbol, timeline, orders = self.tape.day(end_ms)
        records = self.history.alerts_since(now - 86_400)
        moves = self.history.price_moves([r.alert_id for r in records])
        liquidated = (sum(r.long_usd for r in by_symbol), sum(r.short_usd for r in by_symbol))
        png = self.apart(
            partial(
                recap_png,
                f"TELEGLAS daily recap · {moment:%Y-%m-%d}",
                f"24 h to {datetime.fromtimestamp(now, tz=zone):%H:%M} {zone.key} · every liquidation and large "
                "trade the stream showed",
                by_symbol,
                timeline,
                orders,
                zone,
            )
        )
        alert_id = f"recap-{chat_id}-{moment:%Y%m%d}"
        self.charts.put(alert_id, png)
        self.send(chat_id, caption(moment, records, moves, liquidated, zone), alert_id, end_ms, alert_id)
        log.info(
            "%s chat=%s recap of %s sent to delivery (%d bytes)", LOG_CHARTS, chat_id, f"{moment:%Y-%m-%d}", len(png)
        )

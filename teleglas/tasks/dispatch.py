"""What the engine decided, turned into work: alerts to their chats (a send now, or a place in a digest whose
flush is due later) and the flushes of cooldowns and storms. Plain code over two ports, so the Celery tasks
and the engine's test harness run the same dispatch:

    send(send, origin_ms)                   a `send_message` task now
    later(task, delay_s, keep_earlier)      delayed work in Redis (teleglas.state.due)
    render(chart, sends, origin_ms)         sends with a chart: rendered first, off the text path (optional)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from teleglas.decide.fanout import FanOut
from teleglas.defines import (
    LOG_ENGINE,
    QUEUE_EVENTS,
    QUEUE_TELEGRAM,
    TASK_FLUSH_AGGREGATE,
    TASK_FLUSH_DIGEST,
    TASK_RECHECK_CHAT,
    TASK_SEND_MESSAGE,
)
from teleglas.model.alerts import Alert, Flush, Send
from teleglas.model.charts import ChartSpec
from teleglas.model.chat import ChatId
from teleglas.state.due import DueTask
from teleglas.state.history import AlertHistory

log = logging.getLogger(__name__)

SendPort = Callable[[Send, "int | None"], None]
LaterPort = Callable[[DueTask, float, bool], None]
RenderPort = Callable[[ChartSpec, list[Send], "int | None"], None]


def send_task_args(send: Send, origin_ms: int | None) -> tuple:
    """The positional arguments of `send_message` for one Send."""
    return (send.chat_id, send.text, send.alert_id, origin_ms, send.current_ms)


def flush_task(flush: Flush) -> DueTask:
    """One flush per cooldown or storm window: asked twice, it runs once, at the earlier time."""
    return DueTask(
        f"flush:{flush.source}:{flush.kind}:{flush.symbol}:{flush.scope}",
        TASK_FLUSH_AGGREGATE,
        QUEUE_EVENTS,
        (flush.to_payload(),),
    )


def digest_task(chat_id: ChatId) -> DueTask:
    return DueTask(f"digest:{chat_id}", TASK_FLUSH_DIGEST, QUEUE_EVENTS, (chat_id,))


def send_retry_task(args: tuple, kwargs: dict) -> DueTask:
    """A send that comes back later (its rate-limit slot, a 429, a backoff): one per (alert, chat), the newest
    state winning."""
    chat_id, _text, alert_id = args[:3]
    return DueTask(f"send:{alert_id}:{chat_id}", TASK_SEND_MESSAGE, QUEUE_TELEGRAM, tuple(args), dict(kwargs))


def recheck_task(chat_id: ChatId) -> DueTask:
    return DueTask(f"recheck:{chat_id}", TASK_RECHECK_CHAT, QUEUE_TELEGRAM, (chat_id,))


@dataclass
class Dispatcher:
    fanout: FanOut
    history: AlertHistory | None
    send: SendPort
    later: LaterPort
    render: RenderPort | None = None  # None: charts off, every send is text

    def alerts(self, alerts: list[Alert], now: float, origin_ms: int | None) -> None:
        """Each alert to its chats: at once, or into a digest whose flush this schedules; then the dashboard's
        record of the alerts, after the sends are on their way (a retry after a failed record sends nothing twice:
        every send has its delivery record)."""
        for alert in alerts:
            if alert.current_ms is None:  # news since it reached TELEGLAS: the listener's frame, or now
                alert = replace(alert, current_ms=origin_ms or int(now * 1000))
            sends, digest_flushes = self.fanout.route(alert, now)
            log.info(
                "%s %s %s alert %s %s: %d direct, %d to digests",
                LOG_ENGINE,
                alert.kind,
                alert.form,
                alert.alert_id,
                alert.symbol,
                len(sends),
                len(digest_flushes),
            )
            self._deliver(sends, origin_ms)
            for flush in digest_flushes:
                self.later(digest_task(flush.chat_id), flush.due_s, True)
        if self.history is not None:
            self.history.record_alerts(alerts, now)

    def flushes(self, flushes: list[Flush]) -> None:
        for flush in flushes:
            self.later(flush_task(flush), flush.due_s, True)

    def digest(self, chat_id: ChatId, claimer: str, now: float) -> None:
        """A chat's waiting alerts as one message (or the one alert, alone); as a cascade ends, once its storms
        have been taken (bounded: teleglas.state.engine._DIGEST_WAIT)."""
        wait_s = self.fanout.digest_wait(chat_id, claimer, now)
        if wait_s > 0:
            self.later(digest_task(chat_id), wait_s, True)
            return
        sends = self.fanout.flush_digest(chat_id, claimer=claimer, now=now)
        for send in sends:
            if self.history is not None and len(send.covers) > 1:
                self.history.record_digest(send.alert_id, send.chat_id, send.covers, now)
        self._deliver(sends, None)

    def _deliver(self, sends: list[Send], origin_ms: int | None) -> None:
        """Text sends at once; sends with a chart to one render each (the same picture for every chat)."""
        render, charted = self.render, dict[ChartSpec, list[Send]]()
        for send in sends:
            if send.chart is not None and render is not None:
                charted.setdefault(send.chart, []).append(send)
            else:
                self.send(send, origin_ms)
        for chart, group in charted.items():
            assert render is not None
            render(chart, group, origin_ms)

"""Charts off the text path, on their own queue ("charts"): render_chart draws an alert's chart and hands its
sends the photo; daily_recap draws a chat's day. Both store the PNG in Redis (CHART_TTL) and publish sends as
due work, so the sender's stages (rate limit, dedupe, retries, dead letters) treat a photo like any message.

The text of a charted alert is already scheduled, CHART_RENDER_TIMEOUT after the alert (teleglas.tasks.wiring
.render_chart): a render in time replaces it with the photo send under the same key; a render that failed sends
the text at once; one too late does nothing, the text went or is going.
"""

from __future__ import annotations

import logging
import time

import redis
from celery import shared_task
from celery.signals import worker_init

from teleglas.charts.apart import RenderTimedOut
from teleglas.defines import LOG_CHARTS, QUEUE_CHARTS, TASK_DAILY_RECAP, TASK_RENDER_CHART
from teleglas.model.charts import ChartSpec, ChartSpecError
from teleglas.ops.metrics import CHART_RENDER_SECONDS, CHARTS, recorder
from teleglas.tasks import wiring
from teleglas.tasks.dispatch import send_retry_task
from teleglas.tasks.durable import durable

log = logging.getLogger(__name__)


@worker_init.connect
def _load_charts(sender=None, **_kwargs) -> None:
    """A worker that renders imports matplotlib once, before its pool forks: every pool process starts at the
    size it keeps (each picture is drawn in a child of one, teleglas.charts.apart), none grows tens of MB at its
    first chart, and the pages are shared. A worker of other queues (`-Q events`) never pays for it."""
    consumed = sender.app.amqp.queues.consume_from if sender is not None else {}
    if wiring.settings().charts.enabled and QUEUE_CHARTS in consumed:
        wiring.load_charts()


@shared_task(name=TASK_RENDER_CHART, queue=QUEUE_CHARTS, bind=True)
@durable
def render_chart(self, spec_payload: dict, sends: list, requested_at: float) -> None:
    """`sends` are send_message argument lists, one per chat; `requested_at` is when the alert was dispatched."""
    timeout_s = wiring.settings().charts.render_timeout_s
    try:
        spec = ChartSpec.from_payload(spec_payload)
    except ChartSpecError as exc:
        log.error("%s chart refused: %s; sending the text", LOG_CHARTS, exc)
        chart_id = None
    else:
        chart_id = render(spec, requested_at, timeout_s)
    if chart_id is None and time.time() - requested_at > timeout_s:
        return  # the text went (or is going) on its own
    for args in sends:
        wiring.later(send_retry_task(tuple(args), {"photo": chart_id} if chart_id else {}), 0.0)


def render(spec: ChartSpec, requested_at: float, timeout_s: float) -> str | None:
    """The chart id of the stored PNG, or None when the render failed or came too late (counted)."""
    metrics, store, chart_id = recorder(), wiring.chart_store(), spec.chart_id()
    if store.has(chart_id):  # a retried task, or the same picture for another alert
        return chart_id
    if time.time() - requested_at > timeout_s:
        log.warning(
            "%s %s chart of %s not started within %.0f s: sent as text",
            LOG_CHARTS,
            spec.kind,
            spec.symbols[0],
            timeout_s,
        )
        metrics.inc(CHARTS, "timeout")
        return None
    started = time.perf_counter()
    try:
        png = wiring.alert_chart_png(spec, timeout_s - (time.time() - requested_at))
    except (redis.RedisError, OSError):
        raise  # infrastructure: the task is retried (durable), the text goes at its time meanwhile
    except RenderTimedOut:
        log.warning(
            "%s %s chart of %s stopped at CHART_RENDER_TIMEOUT: sent as text", LOG_CHARTS, spec.kind, spec.symbols[0]
        )
        metrics.inc(CHARTS, "timeout")
        return None
    except Exception as exc:  # a chart that cannot be drawn never costs the alert: it goes as text
        log.exception(
            "%s %s chart of %s failed (%s): sending the text",
            LOG_CHARTS,
            spec.kind,
            spec.symbols[0],
            type(exc).__name__,
        )
        metrics.inc(CHARTS, "failed")
        return None
    took_s = time.perf_counter() - started
    metrics.observe(CHART_RENDER_SECONDS, took_s, spec.kind)
    if time.time() - requested_at > timeout_s:
        log.warning(
            "%s %s chart of %s took %.1f s, past CHART_RENDER_TIMEOUT: sent as text",
            LOG_CHARTS,
            spec.kind,
            spec.symbols[0],
            took_s,
        )
        metrics.inc(CHARTS, "timeout")
        return None
    store.put(chart_id, png)
    metrics.inc(CHARTS, "rendered")
    log.info(
        "%s %s chart of %s rendered in %.0f ms (%d bytes)",
        LOG_CHARTS,
        spec.kind,
        spec.symbols[0],
        took_s * 1000,
        len(png),
    )
    return chart_id


@shared_task(name=TASK_DAILY_RECAP, queue=QUEUE_CHARTS, bind=True)
@durable
def daily_recap(self, chat_id: int | str) -> None:
    """A chat's recap of the day at its chosen time; then the next day's is scheduled (teleglas.charts.recap)."""
    wiring.recaps().run(chat_id, time.time())

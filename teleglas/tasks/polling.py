"""Thin Celery tasks that beat drives: whale fallback poll, funding check, open-interest check, price moves;
and the start-up notice the listener and beat ask for."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import shared_task

from teleglas.decide.formatting import escape
from teleglas.decide.polled import startup_alert
from teleglas.defines import (
    LOG_RUNNER,
    MODE_WEBSOCKET,
    QUEUE_EVENTS,
    SOURCE_COINGLASS,
    SOURCE_NAMES,
    TASK_ANNOUNCE_START,
    TASK_CHECK_FUNDING,
    TASK_CHECK_OPEN_INTEREST,
    TASK_MEASURE_PRICE_MOVES,
    TASK_POLL_WHALES,
)
from teleglas.model.alerts import Alert
from teleglas.source.coinglass.rest import CoinGlassError
from teleglas.source.fields import FieldError
from teleglas.state.liveness import streaming_sources
from teleglas.tasks import wiring
from teleglas.tasks.durable import durable

log = logging.getLogger(__name__)
_said_without_key: set[str] = set()


def _rest_ready(check: str) -> bool:
    """Without a REST key (the exchange streams need none) a CoinGlass check says once that it cannot run."""
    if wiring.settings().coinglass.api_key:
        return True
    if check not in _said_without_key:
        _said_without_key.add(check)
        log.info("%s %s needs a CoinGlass API key (COINGLASS_API_KEY): not run", LOG_RUNNER, check)
    return False


@shared_task(name=TASK_POLL_WHALES, queue=QUEUE_EVENTS, bind=True)
@durable
def poll_whales(self) -> None:
    poller, now = wiring.poller(), time.time()
    reason = poller.whale_fallback_reason(now)
    if reason is None:
        log.debug("%s whale fallback idle: a listener is streaming", LOG_RUNNER)
        return
    if not _rest_ready("whale fallback poll"):
        return
    try:
        alerts, flushes = poller.poll_whales(self.request.id or "local", now)
    except CoinGlassError as exc:
        log.warning("%s whale fallback poll failed: %s", LOG_RUNNER, exc)
        return
    log.info("%s whale fallback poll (%s): %d alert(s)", LOG_RUNNER, reason, len(alerts))
    dispatcher = wiring.dispatcher()
    dispatcher.flushes(flushes)
    dispatcher.alerts(alerts, now, None)


@shared_task(name=TASK_CHECK_FUNDING, queue=QUEUE_EVENTS, bind=True)
@durable
def check_funding(self) -> None:
    _run_check("funding check", lambda now: wiring.poller().check_funding(self.request.id or "local", now))


@shared_task(name=TASK_CHECK_OPEN_INTEREST, queue=QUEUE_EVENTS, bind=True)
@durable
def check_open_interest(self) -> None:
    _run_check("open-interest check", lambda now: wiring.poller().check_open_interest(self.request.id or "local", now))


def _run_check(label: str, check: Callable[[float], list[Alert]]) -> None:
    """A check CoinGlass refused (down, plan, budget) or answered with nothing usable logs one line and waits
    for the next round."""
    if not _rest_ready(label):
        return
    now = time.time()
    try:
        alerts = check(now)
    except (CoinGlassError, FieldError) as exc:
        log.warning("%s %s failed: %s", LOG_RUNNER, label, exc)
        return
    log.info("%s %s: %d alert(s)", LOG_RUNNER, label, len(alerts))
    wiring.dispatcher().alerts(alerts, now, None)


@shared_task(name=TASK_MEASURE_PRICE_MOVES, queue=QUEUE_EVENTS, bind=True)
@durable
def measure_price_moves(self) -> None:
    """The price after each liquidation and whale alert, for the dashboard's analytics."""
    if not _rest_ready("price moves"):
        return
    updated = wiring.price_moves().run(time.time())
    if updated:
        log.info("%s price moves measured for %d alert(s)", LOG_RUNNER, updated)


@shared_task(name=TASK_ANNOUNCE_START, queue=QUEUE_EVENTS, bind=True)
@durable
def announce_start(self, mode: str, start_id: str) -> None:
    settings = wiring.settings()
    if not wiring.startup_claims().claim_startup(mode, settings.beat.startup_quiet_s, start_id):
        log.info(
            "%s start-up notice (%s) skipped: one was sent less than %d s ago",
            LOG_RUNNER,
            mode,
            settings.beat.startup_quiet_s,
        )
        return
    if mode == MODE_WEBSOCKET:
        sources = streaming_sources(settings)
        detail = (
            "Channels: " + ", ".join(escape(c) for c in settings.ws.channels) if SOURCE_COINGLASS in sources else ""
        )
        if sources != (SOURCE_COINGLASS,):
            names = ", ".join(SOURCE_NAMES[source] for source in sources)
            detail = "\n".join(line for line in (f"Sources: {names}", detail) if line)
    else:
        detail = (
            "No COINGLASS_API_KEY_WS: whale alerts come from the REST API every "
            f"{settings.beat.whale_poll_interval_s:g} s"
        )
    wiring.dispatcher().alerts([startup_alert(mode, detail, start_id)], time.time(), None)

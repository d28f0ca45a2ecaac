"""Thin Celery tasks of the alert engine: evaluate an event, flush a cooldown or storm, flush a chat's digest.
Each calls plain functions (teleglas.alerts) and enqueues what they decided."""
from __future__ import annotations

import functools
import logging
import time

from celery import shared_task
from celery.signals import worker_init

from teleglas.alert_history import AlertHistory, history_from_settings
from teleglas.alerts.engine import Alert, Engine, Flush
from teleglas.alerts.fanout import FanOut, Send
from teleglas.alerts.rules import RulesError, rules_from_settings
from teleglas.coinglass.events import PayloadError, event_from_payload
from teleglas.defines import LOG_ENGINE, QUEUE_EVENTS, QUEUE_TELEGRAM, TASK_FLUSH_AGGREGATE, TASK_FLUSH_DIGEST, TASK_PROCESS_EVENTS
from teleglas.engine_store import EngineStore
from teleglas.market_tape import MarketTape
from teleglas.metrics import EVENT_LATENCY, EVENTS_EVALUATED, recorder
from teleglas.redis_buffer import shared_buffer
from teleglas.settings import get_settings
from teleglas.store import Store, redis_client
from teleglas.tasks.send import send_message

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def engine_and_fanout() -> tuple[Engine, FanOut]:
    settings = get_settings()
    client = redis_client(settings.redis_url)
    store, state = Store(client), EngineStore(client)
    return Engine(rules_from_settings(settings), store, state, settings, recorder()), FanOut(store, state, settings, recorder())


@functools.lru_cache(maxsize=1)
def history() -> AlertHistory:
    settings = get_settings()
    return history_from_settings(redis_client(settings.redis_url), settings)


@functools.lru_cache(maxsize=1)
def market_tape() -> MarketTape:
    return MarketTape(shared_buffer())


@worker_init.connect
def _load_rules(**_kwargs) -> None:
    """A rules file that cannot be used stops the worker at start, with the line it objects to."""
    try:
        engine_and_fanout()
    except RulesError as exc:
        log.critical("%s %s", LOG_ENGINE, exc)
        raise SystemExit(2) from None


@shared_task(name=TASK_PROCESS_EVENTS, queue=QUEUE_EVENTS, bind=True)
def process_events(self, items: list) -> None:
    """`items` are [payload, received_ms] pairs. One task carries many events to divide Celery's per-message
    cost; each event keeps its own fingerprint claim (by this task's id), so a redelivered batch re-runs only
    as the same claimer and a replayed event from elsewhere is still a duplicate."""
    engine, _ = engine_and_fanout()
    metrics, tape = recorder(), market_tape()
    claimer = self.request.id or "local"
    for item in items:
        try:
            payload, received_ms = item
            event = event_from_payload(payload)
        except (PayloadError, TypeError, ValueError) as exc:
            log.error("%s rejected task payload: %s", LOG_ENGINE, str(exc)[:200])
            continue
        tape.record(event)
        now = time.time()
        alerts, flushes = engine.evaluate(event, claimer=claimer, now=now)
        schedule_flushes(flushes)
        dispatch(alerts, now, received_ms)
        metrics.inc(EVENTS_EVALUATED, event.kind)
        metrics.observe(EVENT_LATENCY, time.time() - event.time_ms / 1000, event.kind)


@shared_task(name=TASK_FLUSH_AGGREGATE, queue=QUEUE_EVENTS, bind=True)
def flush_aggregate(self, payload: dict) -> None:
    engine, _ = engine_and_fanout()
    now = time.time()
    dispatch(engine.flush(Flush.from_payload(payload), claimer=self.request.id or "local", now=now), now, None)


@shared_task(name=TASK_FLUSH_DIGEST, queue=QUEUE_EVENTS, bind=True)
def flush_digest(self, chat_id: int | str) -> None:
    _, fanout = engine_and_fanout()
    now = time.time()
    sends = fanout.flush_digest(chat_id, claimer=self.request.id or "local", now=now)
    for send in sends:
        if len(send.covers) > 1:
            history().record_digest(send.alert_id, send.chat_id, send.covers, now)
    _enqueue(sends, None)


def schedule_flushes(flushes: list[Flush]) -> None:
    for flush in flushes:
        _later(flush_aggregate, (flush.to_payload(),), flush.due_s)


def _later(task, args: tuple, due_s: float) -> None:
    """Capped like every countdown (see celeryconfig's visibility timeout); an early flush just sends
    sooner what it finds."""
    task.apply_async(args=args, countdown=min(due_s, get_settings().telegram_max_countdown_s), queue=QUEUE_EVENTS)


def dispatch(alerts: list[Alert], now: float, origin_ms: int | None) -> None:
    """Each alert to its chats: at once, or into a digest whose flush this schedules."""
    _, fanout = engine_and_fanout()
    history().record_alerts(alerts, now)
    for alert in alerts:
        sends, digest_flushes = fanout.route(alert, now)
        log.info("%s %s %s alert %s %s: %d direct, %d to digests", LOG_ENGINE, alert.kind, alert.form, alert.alert_id, alert.symbol, len(sends), len(digest_flushes))
        _enqueue(sends, origin_ms)
        for flush in digest_flushes:
            _later(flush_digest, (flush.chat_id,), flush.due_s)


def _enqueue(sends: list[Send], origin_ms: int | None) -> None:
    for send in sends:
        send_message.apply_async(args=(send.chat_id, send.text, send.alert_id, origin_ms), queue=QUEUE_TELEGRAM)

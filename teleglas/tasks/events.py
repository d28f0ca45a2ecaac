"""Thin Celery tasks of the alert engine: evaluate events, flush a cooldown or storm, flush a chat's digest.
Each calls plain functions (teleglas.decide, teleglas.tasks.dispatch); delays are due work in Redis."""

from __future__ import annotations

import logging
import time

import redis
from celery import shared_task
from celery.signals import worker_init
from kombu.exceptions import OperationalError

from teleglas.decide.rules import RulesError
from teleglas.defines import (
    LOG_ENGINE,
    QUEUE_EVENTS,
    TASK_FLUSH_AGGREGATE,
    TASK_FLUSH_DIGEST,
    TASK_PROCESS_EVENTS,
)
from teleglas.model.alerts import Flush
from teleglas.model.batch import read_item
from teleglas.model.events import MarketEvent, PayloadError
from teleglas.ops.metrics import (
    EVENT_LATENCY,
    EVENTS_DUPLICATE,
    EVENTS_EVALUATED,
    EVENTS_MERGED,
    SUPPRESSED,
    SUPPRESSED_DUPLICATE,
    recorder,
)
from teleglas.state.crossmatch import DUPLICATE, MERGED, PASSED
from teleglas.tasks import wiring
from teleglas.tasks.durable import RetryPart, durable

log = logging.getLogger(__name__)

# Failures that end the whole batch at once (the next event would meet the same Redis or broker); any other
# exception is one event's own, and the rest of the batch goes on without it.
_INFRASTRUCTURE_ERRORS = (redis.RedisError, OSError, OperationalError)


@worker_init.connect
def _load_rules(**_kwargs) -> None:
    """A rules file that cannot be used stops the worker at start, with the line it objects to."""
    try:
        wiring.engine()
    except RulesError as exc:
        log.critical("%s %s", LOG_ENGINE, exc)
        raise SystemExit(2) from None


@shared_task(name=TASK_PROCESS_EVENTS, queue=QUEUE_EVENTS, bind=True)
@durable
def process_events(self, items: list) -> None:
    """`items` are [kind, event, received_ms, source] (teleglas.model.batch, which also reads the older shapes).
    One task carries many events to divide Celery's per-message cost. First the whole batch passes the
    cross-source match in one Redis call, so the tape, the engine and everything after them see each event once
    whichever sources (or listeners) brought it; then each kept event keeps its own fingerprint claim (by this
    task's id, which a retry keeps), so a redelivered or retried batch re-runs only as the same claimer. A failed
    event is retried without the ones that went through."""
    claimer = self.request.id or "local"
    batch = [read for read in map(_read, items) if read is not None]
    try:
        statuses = wiring.cross_match().admit([(event, source) for _, event, _, source in batch], claimer)
    except _INFRASTRUCTURE_ERRORS as exc:
        raise RetryPart(([read[0] for read in batch],), exc) from None
    failed: list = []
    for index, ((item, event, received_ms, source), status) in enumerate(zip(batch, statuses)):
        if status not in PASSED:
            _dropped(event, source, status)
            continue
        try:
            evaluate(event, received_ms, claimer)
        except _INFRASTRUCTURE_ERRORS as exc:
            raise RetryPart((failed + [read[0] for read in batch[index:]],), exc) from None
        except Exception as exc:
            log.error(
                "%s event %d of the batch failed (%s: %s); retried on its own",
                LOG_ENGINE,
                index,
                type(exc).__name__,
                str(exc)[:200],
            )
            failed.append(item)
            cause = exc
    if failed:
        raise RetryPart((failed,), cause)


def _read(item: list) -> tuple[list, MarketEvent, int | None, str] | None:
    """A payload this version cannot read is refused with a log line; it would fail the same way on every retry."""
    try:
        event, received_ms, source = read_item(item)
    except PayloadError as exc:
        log.error("%s rejected task payload: %s", LOG_ENGINE, str(exc)[:200])
        return None
    return item, event, received_ms, source


def _dropped(event: MarketEvent, source: str, status: int) -> None:
    """Counts a copy the match dropped (merged from another source, or a duplicate of its own source's), and a
    qualifying one also as a suppressed duplicate; a retried batch's drops were counted the first time."""
    metrics = recorder()
    if status == MERGED:
        metrics.inc(EVENTS_MERGED, source)
    elif status == DUPLICATE:
        metrics.inc(EVENTS_DUPLICATE, source)
    if status in (DUPLICATE, MERGED) and wiring.engine().qualifies(event):
        metrics.inc(SUPPRESSED, SUPPRESSED_DUPLICATE)
        log.info(
            "%s duplicate %s %s %s dropped (%s)",
            LOG_ENGINE,
            event.kind,
            event.exchange,
            event.symbol,
            f"{source}'s copy of an event another source brought first" if status == MERGED else "seen before",
        )


def evaluate(event: MarketEvent, received_ms: int | None, claimer: str) -> None:
    """One kept event: the market tape, rules, state, alerts to their chats."""
    metrics = recorder()
    wiring.market_tape().record(event)
    now = time.time()
    alerts, flushes = wiring.engine().evaluate(event, claimer=claimer, now=now)
    dispatcher = wiring.dispatcher()
    dispatcher.flushes(flushes)
    dispatcher.alerts(alerts, now, received_ms)
    metrics.inc(EVENTS_EVALUATED, event.kind)
    metrics.observe(EVENT_LATENCY, time.time() - event.time_ms / 1000, event.kind)


@shared_task(name=TASK_FLUSH_AGGREGATE, queue=QUEUE_EVENTS, bind=True)
@durable
def flush_aggregate(self, payload: dict) -> None:
    now = time.time()
    alerts = wiring.engine().flush(Flush.from_payload(payload), claimer=self.request.id or "local", now=now)
    wiring.dispatcher().alerts(alerts, now, None)


@shared_task(name=TASK_FLUSH_DIGEST, queue=QUEUE_EVENTS, bind=True)
@durable
def flush_digest(self, chat_id: int | str) -> None:
    """The taken digest is named by this task's id, so a retry sends the same digest again (once per chat)."""
    wiring.dispatcher().digest(chat_id, claimer=self.request.id or "local", now=time.time())

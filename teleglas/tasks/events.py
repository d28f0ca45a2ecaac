"""Thin Celery tasks of the alert engine: evaluate events, flush a cooldown or storm, flush a chat's digest.
Each calls plain functions (teleglas.decide, teleglas.tasks.dispatch); delays are due work in Redis."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

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
from teleglas.model import batch as batches
from teleglas.model.alerts import Flush
from teleglas.model.events import MarketEvent, PayloadError
from teleglas.ops.metrics import (
    EVENT_LATENCY,
    EVENTS_DUPLICATE,
    EVENTS_EVALUATED,
    EVENTS_MERGED,
    SUPPRESSED,
    SUPPRESSED_DUPLICATE,
    Metric,
    recorder,
)
from teleglas.state.crossmatch import DUPLICATE, MERGED, PASSED
from teleglas.state.engine import Candidate
from teleglas.tasks import wiring
from teleglas.tasks.durable import RetryPart, durable

log = logging.getLogger(__name__)

# Failures that end the whole batch at once (the next event would meet the same Redis or broker); any other
# exception is one event's own, and the rest of the batch goes on without it.
_INFRASTRUCTURE_ERRORS = (redis.RedisError, OSError, OperationalError)

Read = tuple[Any, MarketEvent, int | None, str]  # what _read makes of an item: item, event, received_ms, source


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
def process_events(self, items: str | list) -> None:
    """`items` are [kind, event, received_ms, source] packed as one JSON text (teleglas.model.batch, which also reads
    a list of them and the older shapes).
    One task carries many events to divide Celery's per-message cost. First the whole batch passes the
    cross-source match in one Redis call, so the tape, the engine and everything after them see each event once
    whichever sources (or listeners) brought it; then the kept events are evaluated together (evaluate), each
    qualifying one under its own fingerprint claim (by this task's id, which a retry keeps), so a redelivered or
    retried batch re-runs only as the same claimer. A failed event is retried without the ones that went through."""
    claimer = self.request.id or "local"
    try:
        unpacked = batches.unpack(items)
    except PayloadError as exc:
        _rejected(exc)
        return
    batch = [read for read in map(_read, unpacked) if read is not None]
    try:
        statuses = wiring.cross_match().admit([(event, source) for _, event, _, source in batch], claimer)
    except _INFRASTRUCTURE_ERRORS as exc:
        raise _retry([read[0] for read in batch], exc) from None
    kept: list[Read] = []
    dropped: list[tuple[MarketEvent, str, int]] = []
    for read, status in zip(batch, statuses):
        if status in PASSED:
            kept.append(read)
        else:
            dropped.append((read[1], read[3], status))
    if dropped:
        _dropped(dropped)
    evaluate(kept, claimer)


def _retry(items: list[Any], exc: BaseException) -> RetryPart:
    """The part of a batch to retry, packed again."""
    return RetryPart((batches.pack([batches.plain(item) for item in items]),), exc)


def _read(item: Any) -> Read | None:
    """A payload this version cannot read is refused with a log line; it would fail the same way on every retry."""
    try:
        event, received_ms, source = batches.read_item(item)
    except PayloadError as exc:
        _rejected(exc)
        return None
    return item, event, received_ms, source


def _rejected(exc: PayloadError) -> None:
    """A batch or an item this version cannot read: it would fail the same way on every retry."""
    log.error("%s rejected task payload: %s", LOG_ENGINE, str(exc)[:200])


def _dropped(dropped: list[tuple[MarketEvent, str, int]]) -> None:
    """Counts the copies the match dropped (merged from another source, or a duplicate of its own source's), and
    the qualifying ones also as suppressed duplicates, one count per label for the batch; a retried batch's drops
    were counted the first time."""
    engine = wiring.engine()
    counts: Counter[tuple[Metric, str]] = Counter()
    for event, source, status in dropped:
        if status == MERGED:
            counts[(EVENTS_MERGED, source)] += 1
        elif status == DUPLICATE:
            counts[(EVENTS_DUPLICATE, source)] += 1
        if status in (DUPLICATE, MERGED) and engine.qualifies(event):
            counts[(SUPPRESSED, SUPPRESSED_DUPLICATE)] += 1
            log.info(
                "%s duplicate %s %s %s dropped (%s)",
                LOG_ENGINE,
                event.kind,
                event.exchange,
                event.symbol,
                f"{source}'s copy of an event another source brought first" if status == MERGED else "seen before",
            )
    metrics = recorder()
    for (metric, label), count in counts.items():
        metrics.inc(metric, label, amount=count)


def evaluate(batch: list[Read], claimer: str) -> None:
    """The kept events of a batch. An event under every threshold is done at once (no Redis); the qualifying ones
    share one round trip (their claims and admissions) and then become alerts and flushes one by one, so
    a failure of one event's own is retried alone. Each event is counted (the tape, the figures) once done, in one
    go for the batch; what is not done is retried."""
    engine = wiring.engine()
    done: list[MarketEvent] = []
    qualifying: list[Read] = []
    for read in batch:
        if engine.qualifies(read[1]):
            qualifying.append(read)
        else:
            done.append(read[1])
    failed: list[tuple[Any, Exception]] = []
    try:
        if qualifying:
            _decide(qualifying, claimer, done, failed)
    finally:
        _account(done)
    if failed:
        raise _retry([item for item, _ in failed], failed[-1][1])


def _decide(qualifying: list[Read], claimer: str, done: list[MarketEvent], failed: list[tuple[Any, Exception]]) -> None:
    """Qualifying events to alerts and flushes: appends each event to `done` or, with its own failure, its item to
    `failed`; a Redis or broker failure retries every event not yet done."""
    engine = wiring.engine()
    candidates: list[tuple[Read, Candidate]] = []
    for read in qualifying:
        try:
            candidates.append((read, engine.candidate(read[1])))
        except Exception as exc:
            failed.append(_failed(read, exc))
    now = time.time()
    try:
        admissions = engine.admit([candidate for _, candidate in candidates], claimer, now)
    except _INFRASTRUCTURE_ERRORS as exc:
        raise _retry([item for item, _ in failed] + [read[0] for read, _ in candidates], exc) from None
    dispatcher = wiring.dispatcher()
    for index, admission in enumerate(admissions):
        read = candidates[index][0]
        _, event, received_ms, _ = read
        try:
            alerts, flushes = engine.decide(event, admission, now)
            dispatcher.flushes(flushes)
            dispatcher.alerts(alerts, now, received_ms)
        except _INFRASTRUCTURE_ERRORS as exc:
            rest = [later[0] for later, _ in candidates[index:]]
            raise _retry([item for item, _ in failed] + rest, exc) from None
        except Exception as exc:
            failed.append(_failed(read, exc))
            continue
        done.append(event)


def _failed(read: Read, exc: Exception) -> tuple[Any, Exception]:
    """An event's own failure (not Redis's or the broker's): logged; the rest of the batch goes on without it."""
    log.error(
        "%s %s %s %s event failed (%s: %s); retried on its own",
        LOG_ENGINE,
        read[1].kind,
        read[1].exchange,
        read[1].symbol,
        type(exc).__name__,
        str(exc)[:200],
    )
    return read[0], exc


def _account(events: list[MarketEvent]) -> None:
    """Evaluated events on the market tape and in the figures (evaluated, exchange time → decision), per batch."""
    if not events:
        return
    wiring.market_tape().record(events)
    now_ms = time.time() * 1000
    latencies: dict[str, list[float]] = {}
    for event in events:
        seconds = latencies.get(event.kind)
        if seconds is None:
            seconds = latencies[event.kind] = []
        seconds.append((now_ms - event.time_ms) / 1000)
    metrics = recorder()
    for kind, seconds in latencies.items():
        metrics.inc(EVENTS_EVALUATED, kind, amount=len(seconds))
        metrics.observe_many(EVENT_LATENCY, seconds, kind)


@shared_task(name=TASK_FLUSH_AGGREGATE, queue=QUEUE_EVENTS, bind=True)
@durable
def flush_aggregate(self, payload: dict) -> None:
    now = time.time()
    alerts, again = wiring.engine().flush(Flush.from_payload(payload), claimer=self.request.id or "local", now=now)
    dispatcher = wiring.dispatcher()
    dispatcher.flushes(again)
    dispatcher.alerts(alerts, now, None)


@shared_task(name=TASK_FLUSH_DIGEST, queue=QUEUE_EVENTS, bind=True)
@durable
def flush_digest(self, chat_id: int | str) -> None:
    """The taken digest is named by this task's id, so a retry sends the same digest again (once per chat)."""
    wiring.dispatcher().digest(chat_id, claimer=self.request.id or "local", now=time.time())

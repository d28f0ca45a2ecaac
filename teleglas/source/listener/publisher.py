"""Hands parsed events to the broker from its own thread, so the socket reader never waits on Redis.

A buffer bounded by count and by (estimated) bytes sits between the two: if the broker is away the reader
keeps going, the oldest events beyond either bound are dropped (and counted), and the rest are published
in order once Redis is back. The events being handed to the broker at a given moment are outside the
buffer and never dropped.

Each task carries every event buffered when the publisher thread comes round, up to `max_batch`: a quiet
stream publishes one event a task as soon as it arrives, a cascade fills tasks and divides Celery's cost of
about 0.7 ms a message (celery-redis-notes.md) over many events.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

from celery import Celery

from teleglas.defines import LOG_RUNNER, QUEUE_EVENTS, SOURCE_COINGLASS, TASK_PROCESS_EVENTS

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 1.0
BUSY_S = 0.001  # a publish this recent means events pour in (faster than a 1,000 a second)
LINGER_S = 0.002


class EventPublisher:
    def __init__(self, app: Celery, max_events: int = 100_000, max_bytes: int = 64 * 1024 * 1024, max_batch: int = 500):
        self._app = app
        self._max_batch = max(1, max_batch)
        self._max_events = max_events
        self._max_bytes = max_bytes
        # (payload, received_ms, source, estimated bytes)
        self._buffer: collections.deque[tuple[dict[str, Any], int, str, int]] = collections.deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self._closing = False
        self.published = 0
        self.dropped = 0
        self.published_by: collections.Counter[str] = collections.Counter()  # per source, for its status
        self.dropped_by: collections.Counter[str] = collections.Counter()
        self.publish_failures = 0
        self._last_publish = 0.0
        self._thread = threading.Thread(target=self._run, name="event-publisher", daemon=True)
        self._thread.start()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def submit(self, payload: dict[str, Any], received_ms: int, source: str = SOURCE_COINGLASS) -> None:
        """`source` travels with the event: the workers' cross-source match needs to know who brought it."""
        size = _estimated_size(payload)
        with self._cond:
            self._buffer.append((payload, received_ms, source, size))
            self._bytes += size
            self._trim()
            self._cond.notify()

    def close(self, timeout_s: float) -> bool:
        """Publishes what is buffered, then stops; False if the buffer could not be emptied in time."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout_s)
        return not self._thread.is_alive() and not self._buffer

    def _trim(self) -> None:
        """Drops the oldest events beyond either bound. Called with the lock held."""
        dropped_before = self.dropped
        while len(self._buffer) > 1 and (len(self._buffer) > self._max_events or self._bytes > self._max_bytes):
            _, _, source, size = self._buffer.popleft()
            self._bytes -= size
            self.dropped += 1
            self.dropped_by[source] += 1
        if self.dropped != dropped_before and (dropped_before == 0 or self.dropped // 1000 != dropped_before // 1000):
            log.warning(
                "%s publish buffer full (%d events, %d bytes): dropping the oldest, %d dropped so far",
                LOG_RUNNER,
                len(self._buffer),
                self._bytes,
                self.dropped,
            )

    def _warm_up(self) -> None:
        """Opens the pooled broker connection now, so the first event does not pay for it."""
        try:
            with self._app.producer_pool.acquire(block=True, timeout=5) as producer:
                producer.connection.ensure_connection(max_retries=1)
        except Exception as exc:
            log.warning(
                "%s broker not reachable yet (%s); events will be buffered until it is", LOG_RUNNER, type(exc).__name__
            )

    def _run(self) -> None:
        self._warm_up()
        while True:
            with self._cond:
                while not self._buffer and not self._closing:
                    self._cond.wait()
                if not self._buffer:
                    return
                if time.monotonic() - self._last_publish < BUSY_S:
                    # Busy, and frames of one event each (Binance pushes one liquidation a message): a moment's
                    # wait fills the task instead of paying Celery's cost per event. A quiet stream never waits.
                    until = time.monotonic() + LINGER_S
                    while len(self._buffer) < self._max_batch and not self._closing and time.monotonic() < until:
                        self._cond.wait(until - time.monotonic())
                batch = [self._buffer.popleft() for _ in range(min(self._max_batch, len(self._buffer)))]
                self._bytes -= sum(item[3] for item in batch)
            try:
                self._app.send_task(
                    TASK_PROCESS_EVENTS,
                    args=([[payload, received_ms, source] for payload, received_ms, source, _ in batch],),
                    queue=QUEUE_EVENTS,
                )
            except Exception as exc:  # broker down: put the events back in front, pause, try again in order
                with self._cond:
                    self._buffer.extendleft(reversed(batch))
                    self._bytes += sum(item[3] for item in batch)
                    self._trim()
                    self.publish_failures += 1
                    log.error(
                        "%s cannot publish to the broker (%s); %d event(s) buffered",
                        LOG_RUNNER,
                        type(exc).__name__,
                        len(self._buffer),
                    )
                    self._cond.wait(RETRY_PAUSE_S)
                continue
            self.published += len(batch)
            self._last_publish = time.monotonic()
            self.published_by.update(item[2] for item in batch)


def _estimated_size(payload: dict[str, Any]) -> int:
    """Close to the JSON size of a flat event payload, at a fraction of the cost of serialising it."""
    return 64 + sum(len(key) + len(str(value)) + 6 for key, value in payload.items())

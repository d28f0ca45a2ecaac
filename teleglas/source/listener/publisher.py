"""Hands parsed events to the broker from its own thread, so the socket reader never waits on Redis.

A buffer bounded by count and by (estimated) bytes sits between the two: if the broker is away the reader
keeps going, the oldest events beyond either bound are dropped (and counted), and the rest are published
in order once Redis is back. The events being handed to the broker at a given moment are outside the
buffer and never dropped.

Each task carries every event buffered when the publisher thread comes round, up to `max_batch`: a quiet
stream publishes one event a task as soon as it arrives, a cascade fills tasks and divides Celery's cost of
about 0.7 ms a message (celery-redis-notes.md) over many events. The buffer holds a frame's events as one entry
(one lock taken a frame, not an event) and msgspec writes the task's packed batch from the typed events
(teleglas.model.batch): per event there is only a size estimate from its names and one tuple.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass

from celery import Celery

from teleglas.defines import BATCH_SERIALIZER, LOG_RUNNER, QUEUE_EVENTS, SOURCE_COINGLASS, TASK_PROCESS_EVENTS
from teleglas.model import batch
from teleglas.model.events import MarketEvent

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 1.0
BUSY_S = 0.001  # a publish this recent means events pour in (faster than a 1,000 a second)
LINGER_S = 0.002
EVENT_BYTES = 200  # an event's JSON besides its names: keys, numbers, punctuation


@dataclass(slots=True)
class _FrameEvents:
    """One submitted frame's events (what is left of them after drops and partial batches)."""

    events: list[MarketEvent]
    received_ms: int
    source: str
    event_bytes: int  # the estimated size of each


class EventPublisher:
    def __init__(self, app: Celery, max_events: int = 100_000, max_bytes: int = 64 * 1024 * 1024, max_batch: int = 500):
        self._app = app
        self._max_batch = max(1, max_batch)
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._buffer: collections.deque[_FrameEvents] = collections.deque()
        self._events = 0
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
        return self._events

    def submit(self, events: list[MarketEvent], received_ms: int, source: str = SOURCE_COINGLASS) -> None:
        """One frame's events, in order. `source` travels with each: the workers' cross-source match needs to know
        who brought it. At least one event."""
        frame = _FrameEvents(events, received_ms, source, _estimated_size(events))
        with self._cond:
            self._buffer.append(frame)
            self._events += len(events)
            self._bytes += frame.event_bytes * len(events)
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
        """Drops the oldest events beyond either bound (never the newest). Called with the lock held."""
        dropped_before = self.dropped
        while self._events > 1 and (self._events > self._max_events or self._bytes > self._max_bytes):
            oldest = self._buffer[0]
            over_bytes = -(-(self._bytes - self._max_bytes) // oldest.event_bytes)
            count = min(len(oldest.events), self._events - 1, max(1, self._events - self._max_events, over_bytes))
            oldest.events = oldest.events[count:]
            if not oldest.events:
                self._buffer.popleft()
            self._events -= count
            self._bytes -= count * oldest.event_bytes
            self.dropped += count
            self.dropped_by[oldest.source] += count
        if self.dropped != dropped_before and (dropped_before == 0 or self.dropped // 1000 != dropped_before // 1000):
            log.warning(
                "%s publish buffer full (%d events, %d bytes): dropping the oldest, %d dropped so far",
                LOG_RUNNER,
                self._events,
                self._bytes,
                self.dropped,
            )

    def _take(self) -> list[_FrameEvents]:
        """The oldest events, up to a batch, out of the buffer (a frame that does not fit is split). Lock held."""
        taken: list[_FrameEvents] = []
        room = self._max_batch
        while self._buffer and room:
            oldest = self._buffer[0]
            if len(oldest.events) <= room:
                taken.append(self._buffer.popleft())
            else:
                taken.append(_FrameEvents(oldest.events[:room], oldest.received_ms, oldest.source, oldest.event_bytes))
                oldest.events = oldest.events[room:]
            room -= len(taken[-1].events)
        self._events -= self._max_batch - room
        self._bytes -= sum(frame.event_bytes * len(frame.events) for frame in taken)
        return taken

    def _put_back(self, taken: list[_FrameEvents]) -> None:
        """A batch the broker did not take goes back in front, in order, and the bounds apply again. Lock held."""
        self._buffer.extendleft(reversed(taken))
        self._events += sum(len(frame.events) for frame in taken)
        self._bytes += sum(frame.event_bytes * len(frame.events) for frame in taken)
        self._trim()

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
                    while self._events < self._max_batch and not self._closing and time.monotonic() < until:
                        self._cond.wait(until - time.monotonic())
                taken = self._take()
            items: list[batch.Item] = []
            for frame in taken:
                items += batch.items(frame.events, frame.received_ms, frame.source)
            try:
                self._app.send_task(
                    TASK_PROCESS_EVENTS,
                    args=(batch.pack(items),),
                    queue=QUEUE_EVENTS,
                    serializer=BATCH_SERIALIZER,
                    argsrepr=f"({len(items)} events)",  # for Flower; Celery's repr of 500 events cost a tenth
                )
            except Exception as exc:  # broker down: put the events back in front, pause, try again in order
                with self._cond:
                    self._put_back(taken)
                    self.publish_failures += 1
                    log.error(
                        "%s cannot publish to the broker (%s); %d event(s) buffered",
                        LOG_RUNNER,
                        type(exc).__name__,
                        self._events,
                    )
                    self._cond.wait(RETRY_PAUSE_S)
                continue
            self.published += len(items)
            self._last_publish = time.monotonic()
            for frame in taken:
                self.published_by[frame.source] += len(frame.events)


def _estimated_size(events: list[MarketEvent]) -> int:
    """Each event's share of the JSON size of the frame's events, at a fraction of the cost of serialising them."""
    return EVENT_BYTES + sum([len(e.exchange) + len(e.symbol) + len(e.base_asset) for e in events]) // len(events)

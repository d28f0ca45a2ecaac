"""Hands parsed events to the broker from its own thread, so the socket reader never waits on Redis.

A bounded buffer sits between the two: if the broker is away the reader keeps going, the oldest events
beyond the bound are dropped (and counted), and the rest are published in order once Redis is back.
"""
from __future__ import annotations

import collections
import logging
import threading
from typing import Any

from celery import Celery

from teleglas.defines import LOG_RUNNER, QUEUE_EVENTS, TASK_PROCESS_EVENT

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 1.0


class EventPublisher:
    def __init__(self, app: Celery, max_buffered: int = 100_000):
        self._app = app
        self._max = max_buffered
        self._buffer: collections.deque[tuple[dict[str, Any], int]] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self.published = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="event-publisher", daemon=True)
        self._thread.start()

    def submit(self, payload: dict[str, Any], received_ms: int) -> None:
        with self._cond:
            if len(self._buffer) >= self._max:
                self._buffer.popleft()
                self.dropped += 1
                log.warning("%s publish buffer full (%d): dropped the oldest event, %d dropped so far", LOG_RUNNER, self._max, self.dropped)
            self._buffer.append((payload, received_ms))
            self._cond.notify()

    def close(self, timeout_s: float) -> bool:
        """Publishes what is buffered, then stops; False if the buffer could not be emptied in time."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout_s)
        return not self._thread.is_alive() and not self._buffer

    def _warm_up(self) -> None:
        """Opens the pooled broker connection now, so the first event does not pay for it."""
        try:
            with self._app.producer_pool.acquire(block=True, timeout=5) as producer:
                producer.connection.ensure_connection(max_retries=1)
        except Exception as exc:
            log.warning("%s broker not reachable yet (%s); events will be buffered until it is", LOG_RUNNER, type(exc).__name__)

    def _run(self) -> None:
        self._warm_up()
        while True:
            with self._cond:
                while not self._buffer and not self._closing:
                    self._cond.wait()
                if not self._buffer:
                    return
                payload, received_ms = self._buffer[0]
            try:
                self._app.send_task(TASK_PROCESS_EVENT, args=(payload, received_ms), queue=QUEUE_EVENTS)
            except Exception as exc:  # broker down: keep the event, pause, try again in order
                log.error("%s cannot publish to the broker (%s); %d event(s) buffered", LOG_RUNNER, type(exc).__name__, len(self._buffer))
                with self._cond:
                    self._cond.wait(RETRY_PAUSE_S)
                continue
            with self._cond:
                if self._buffer and self._buffer[0][0] is payload:
                    self._buffer.popleft()
                self.published += 1

"""The listener's status in Redis, written every second with a TTL, so a dead listener shows as stale. The
health endpoint, the polling fallback and the dashboard read it from there."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict

from teleglas.defines import LOG_RUNNER
from teleglas.source.coinglass.ws_connection import StreamConnection
from teleglas.source.listener.frame_router import FrameRouter
from teleglas.source.listener.publisher import EventPublisher
from teleglas.state.liveness import Liveness

log = logging.getLogger(__name__)
STATUS_INTERVAL_S = 1.0


class StatusReporter:
    """Writes the listener's status to Redis every second, with a TTL, so a dead listener shows as stale.
    The health endpoint and the polling fallback read it from there."""

    def __init__(
        self,
        liveness: Liveness,
        listener_id: str,
        ttl_s: int,
        connection: StreamConnection,
        router: FrameRouter,
        publisher: EventPublisher,
    ):
        self.liveness, self.listener_id, self.ttl_s = liveness, listener_id, ttl_s
        self.connection, self.router, self.publisher = connection, router, publisher
        self._stop = threading.Event()
        self._redis_ok = True
        self._thread = threading.Thread(target=self._run, name="listener-status", daemon=True)

    def snapshot(self) -> dict[str, str | int | float]:
        c = self.connection
        return {
            **asdict(self.router.counters),
            "is_connected": int(c.connected),
            "reconnect_attempts": c.backoff.attempt,
            "reconnects": c.reconnects,
            "reconnect_successes": max(0, c.connects - 1),
            "connected_since": c.connected_since,
            "auth_failures": c.auth_failures,
            "last_pong_time": c.last_pong_time,
            "channels": ",".join(c.channels),
            "channel_events": json.dumps({channel: counts[1] for channel, counts in self.router.by_channel.items()}),
            "published": self.publisher.published,
            "dropped_events": self.publisher.dropped,
            "buffered_events": self.publisher.buffered,
            "updated_at": time.time(),
        }

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.write()

    def write(self) -> None:
        try:
            self.liveness.write_listener_status(self.listener_id, self.snapshot(), self.ttl_s)
        except Exception as exc:  # Redis away: the listener keeps streaming; say it once per outage
            if self._redis_ok:
                log.warning("%s cannot write listener status to Redis (%s)", LOG_RUNNER, type(exc).__name__)
            self._redis_ok = False
            return
        if not self._redis_ok:
            log.info("%s listener status written to Redis again", LOG_RUNNER)
        self._redis_ok = True

    def _run(self) -> None:
        while not self._stop.wait(STATUS_INTERVAL_S):
            self.write()

"""The listener's status in Redis, one hash per source it streams, written every second with a TTL, so a dead
listener (or a source it no longer runs) shows as stale. The health endpoint, the polling fallback and the
dashboard read them from there."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from teleglas.defines import LOG_RUNNER
from teleglas.source.connection import StreamConnection
from teleglas.source.listener.frame_router import FrameRouter
from teleglas.source.listener.publisher import EventPublisher
from teleglas.state.liveness import Liveness

log = logging.getLogger(__name__)
STATUS_INTERVAL_S = 1.0


@dataclass
class SourceRun:
    """One source in the listener: its connections (more than one where the venue caps streams per connection),
    its router, and any upkeep to run beside them (OKX's contract sizes)."""

    source: str
    channels: tuple[str, ...]
    router: FrameRouter
    connections: list[StreamConnection]
    whale_stream: bool  # it carries trades: whale_source counts it as a stream
    upkeep: list = field(default_factory=list)  # callables taking the listener's stop Event

    def snapshot(self, publisher: EventPublisher) -> dict[str, Any]:
        c = self.connections
        connected = all(conn.connected for conn in c)
        return {
            **asdict(self.router.counters),
            "source": self.source,
            "whale_stream": int(self.whale_stream),
            "is_connected": int(connected),
            "reconnect_attempts": max(conn.backoff.attempt for conn in c),
            "reconnects": sum(conn.reconnects for conn in c),
            "reconnect_successes": sum(max(0, conn.connects - 1) for conn in c),
            "connected_since": max(conn.connected_since for conn in c) if connected else 0.0,
            "auth_failures": sum(conn.auth_failures for conn in c),
            "last_pong_time": min(conn.last_pong_time for conn in c),
            "channels": ",".join(self.channels),
            "channel_events": json.dumps({channel: n[1] for channel, n in self.router.by_channel.items()}),
            "published": publisher.published_by[self.source],
            "dropped_events": publisher.dropped_by[self.source],
            "buffered_events": publisher.buffered,  # one buffer for every source
            "updated_at": time.time(),
        }


class StatusReporter:
    """Writes each source's status to Redis every second as `<listener_id>-<source>`, with a TTL."""

    def __init__(
        self, liveness: Liveness, listener_id: str, ttl_s: int, sources: list[SourceRun], publisher: EventPublisher
    ):
        self.liveness, self.listener_id, self.ttl_s = liveness, listener_id, ttl_s
        self.sources, self.publisher = sources, publisher
        self._stop = threading.Event()
        self._redis_ok = True
        self._thread = threading.Thread(target=self._run, name="listener-status", daemon=True)

    def snapshots(self) -> dict[str, dict[str, Any]]:
        return {run.source: run.snapshot(self.publisher) for run in self.sources}

    def snapshot(self) -> dict[str, Any]:
        """The whole listener for its health report: connected when every source is, its oldest pong, its
        newest event, and each source apart under `sources`."""
        each = self.snapshots()
        values = list(each.values())
        return {
            "is_connected": int(all(v["is_connected"] for v in values)),
            "reconnect_attempts": max(v["reconnect_attempts"] for v in values),
            "last_pong_time": min(v["last_pong_time"] for v in values),
            "last_event_time": max(v["last_event_time"] for v in values),
            "sources": each,
        }

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.write()

    def write(self) -> None:
        try:
            for source, fields in self.snapshots().items():
                self.liveness.write_listener_status(f"{self.listener_id}-{source}", fields, self.ttl_s)
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

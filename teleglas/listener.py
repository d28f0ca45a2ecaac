"""The listener process: CoinGlass frames in, `process_events` tasks out: each carries the events buffered at
that moment, up to LISTENER_BATCH_MAX_EVENTS, so a quiet stream sends one event a task and a cascade divides
Celery's per-message cost over many.

Reading, parsing and counting happen on the read thread; publishing happens on EventPublisher's thread.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import asdict, dataclass

from prometheus_client import CollectorRegistry, generate_latest

from teleglas.celery import announce_start, app
from teleglas.coinglass.ws_connection import StreamConfig, StreamConnection
from teleglas.coinglass.ws_protocol import FrameKind, parse_frame
from teleglas.defines import LOG_RUNNER, LOG_WS, MODE_POLLING, MODE_WEBSOCKET, OTHER_CHANNEL
from teleglas.event_publisher import EventPublisher
from teleglas.health import HealthServer, HealthThresholds, alert_system_report
from teleglas.logging_setup import setup_logging
from teleglas.metrics import ListenerCollector, RedisMetricsCollector
from teleglas.settings import Settings, SettingsError, get_settings
from teleglas.store import Store, redis_client

log = logging.getLogger(__name__)
SHUTDOWN_FLUSH_S = 4.0
STOP_DRAIN_S = 1.0  # after unsubscribing at shutdown: long enough for frames already on their way
STATUS_INTERVAL_S = 1.0
_SNIPPET = 80


@dataclass
class ListenerCounters:
    frames: int = 0
    events: int = 0
    bad_frames: int = 0
    unknown_frames: int = 0
    rejected_items: int = 0
    oversized_frames: int = 0
    last_event_time: float = 0.0


class FrameRouter:
    """Turns one text frame into events for the publisher, with a log line and a counter for each bad part."""

    def __init__(self, publisher: EventPublisher, max_message_bytes: int, channels: tuple[str, ...] = ()):
        self.publisher = publisher
        self.max_message_bytes = max_message_bytes
        self.counters = ListenerCounters()
        # Per channel, only for the channels we subscribed to: a frame naming anything else (hostile input)
        # counts as "other" and cannot grow the metric's label set.
        self.by_channel: dict[str, list[int]] = {channel: [0, 0] for channel in (*channels, OTHER_CHANNEL)}

    def __call__(self, text: str, received_ms: int) -> None:
        """Never raises: the read loop calls this for every frame, and one hostile frame must not end it."""
        self.counters.frames += 1
        try:
            self._route(text, received_ms)
        except Exception as exc:  # last resort: a bug in parsing or handling costs this one frame, counted as malformed
            self.counters.bad_frames += 1
            log.warning("%s frame not handled (%s); frame=%r; %d bad so far",
                        LOG_WS, type(exc).__name__, text[:_SNIPPET], self.counters.bad_frames)

    def _route(self, text: str, received_ms: int) -> None:
        # A character is 1-4 UTF-8 bytes: encode only the frames whose length leaves the answer open.
        if len(text) > self.max_message_bytes or (len(text) * 4 > self.max_message_bytes and len(text.encode("utf-8", errors="replace")) > self.max_message_bytes):
            self.counters.oversized_frames += 1
            log.warning("%s oversized frame dropped (%d chars > %d bytes), %d so far", LOG_WS, len(text), self.max_message_bytes, self.counters.oversized_frames)
            return
        frame = parse_frame(text)
        if frame.kind is FrameKind.MALFORMED:
            self.counters.bad_frames += 1
            log.warning("%s malformed frame: %s; frame=%r; %d bad so far", LOG_WS, frame.reason, text[:_SNIPPET], self.counters.bad_frames)
            return
        if frame.kind is FrameKind.UNKNOWN:
            self.counters.unknown_frames += 1
            log.warning("%s unknown frame (%s): %r", LOG_WS, frame.reason, text[:_SNIPPET])
            return
        for reason in frame.rejected:  # the channel is from the frame: %r, so CR or ANSI escapes cannot forge log lines
            self.counters.rejected_items += 1
            log.warning("%s %r item rejected: %s; %d rejected so far",
                        LOG_WS, frame.channel[:_SNIPPET], reason, self.counters.rejected_items)
        counts = self.by_channel.get(frame.channel, self.by_channel[OTHER_CHANNEL])
        counts[0] += 1
        counts[1] += len(frame.events)
        for event in frame.events:
            self.publisher.submit(event.to_payload(), received_ms)
        if frame.events:
            self.counters.events += len(frame.events)
            self.counters.last_event_time = received_ms / 1000


def stream_config(settings: Settings) -> StreamConfig:
    return StreamConfig(
        base_url=settings.coinglass_ws_url,
        api_key=settings.coinglass_api_key_ws,
        channels=settings.ws_channels,
        ping_interval_s=settings.ws_ping_interval_s,
        pong_timeout_s=settings.ws_pong_timeout_s,
        connect_timeout_s=settings.ws_connect_timeout_s,
        reconnect_delay_s=settings.ws_reconnect_delay_s,
        max_reconnect_delay_s=settings.ws_reconnect_max_delay_s,
        healthy_reset_s=settings.ws_healthy_reset_s,
        close_timeout_s=settings.ws_close_timeout_s,
    )


class StatusReporter:
    """Writes the listener's status to Redis every second, with a TTL, so a dead listener shows as stale.
    The health endpoint and the polling fallback read it from there."""

    def __init__(self, store: Store, listener_id: str, ttl_s: int, connection: StreamConnection, router: FrameRouter, publisher: EventPublisher):
        self.store, self.listener_id, self.ttl_s = store, listener_id, ttl_s
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
            self.store.write_listener_status(self.listener_id, self.snapshot(), self.ttl_s)
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


def start_health(settings: Settings, report, collectors=()) -> HealthServer | None:
    """`GET /health` and `GET /metrics` on HEALTH_PORT (0: none). A port already taken is logged, not fatal."""
    if not settings.health_port:
        return None
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    try:
        health = HealthServer(settings.health_port, report, metrics=lambda: generate_latest(registry))
    except OSError as exc:
        log.warning("%s health endpoint not started on :%d: %s", LOG_RUNNER, settings.health_port, exc.strerror)
        return None
    health.start()
    return health


def health_thresholds(settings: Settings) -> HealthThresholds:
    return HealthThresholds(settings.worker_heartbeat_stale_s, whale_poll_stale_s=3 * settings.whale_poll_interval_s + 30,
                            alert_chats=settings.telegram_alert_chat_ids)


def serve_polling_mode(settings: Settings) -> int:
    """Without a WebSocket key there is no stream: whales come from celery beat's REST fallback. The listener
    stays up for its health and metrics, so a compose or systemd health check means the same in both modes."""
    log.info("%s COINGLASS_API_KEY_WS is empty: no stream; whale alerts come from celery beat's REST polling fallback. "
             "Serving health and metrics only", LOG_RUNNER)
    store = Store(redis_client(settings.redis_url))
    health = start_health(settings, alert_system_report(dict, store, health_thresholds(settings), MODE_POLLING), [RedisMetricsCollector(store, settings.telegram_alert_chat_ids)])
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()
    if health is not None:
        health.stop()
    log.info("%s listener stopped (polling mode)", LOG_RUNNER)
    return 0


def main() -> int:
    try:
        settings = get_settings()
    except SettingsError as exc:
        logging.basicConfig(level="INFO")
        log.error("%s configuration error: %s", LOG_RUNNER, exc)
        return 2
    setup_logging(settings)
    if not settings.coinglass_api_key_ws:
        return serve_polling_mode(settings)
    if not settings.ws_channels:
        log.error("%s WS_CHANNELS is empty: nothing to subscribe to", LOG_RUNNER)
        return 2

    publisher = EventPublisher(app, settings.listener_buffer_max_events, settings.listener_buffer_max_bytes, settings.listener_batch_max_events)
    router = FrameRouter(publisher, settings.ws_max_message_bytes, settings.ws_channels)
    connection = StreamConnection(stream_config(settings), router)
    listener_id = f"{socket.gethostname()}-{os.getpid()}"
    status = StatusReporter(Store(redis_client(settings.redis_url)), listener_id, settings.listener_status_ttl_s, connection, router, publisher)
    stopping = threading.Event()

    def on_signal(signum, _frame):
        if stopping.is_set():
            log.warning("%s second signal: exiting now", LOG_RUNNER)
            raise SystemExit(1)
        stopping.set()
        log.info("%s %s received: closing the stream", LOG_RUNNER, signal.Signals(signum).name)
        connection.stop(drain_s=STOP_DRAIN_S)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info("%s listener %s starting: %d channel(s)", LOG_RUNNER, listener_id, len(settings.ws_channels))
    threading.Thread(target=announce_start, args=(MODE_WEBSOCKET,), name="start-notice", daemon=True).start()
    status.start()
    report = alert_system_report(status.snapshot, status.store, health_thresholds(settings))
    health = start_health(settings, report, [ListenerCollector(status.snapshot, lambda: {c: tuple(v) for c, v in router.by_channel.items()}),
                                             RedisMetricsCollector(status.store, settings.telegram_alert_chat_ids)])
    connection.run()
    flushed = publisher.close(SHUTDOWN_FLUSH_S)
    status.stop()
    if health is not None:
        health.stop()
    c = router.counters
    log.info(
        "%s listener stopped: frames=%d events=%d published=%d bad_frames=%d unknown_frames=%d rejected_items=%d oversized=%d dropped=%d%s",
        LOG_RUNNER, c.frames, c.events, publisher.published, c.bad_frames, c.unknown_frames, c.rejected_items, c.oversized_frames, publisher.dropped,
        "" if flushed else f" ({publisher.buffered} buffered event(s) NOT published: broker unreachable)",
    )
    return 0

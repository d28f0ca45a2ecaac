"""The listener process: CoinGlass frames in, `process_events` tasks out: each carries the events buffered at
that moment, up to LISTENER_BATCH_MAX_EVENTS, so a quiet stream sends one event a task and a cascade divides
Celery's per-message cost over many. This module wires the process (the composition root of the listener):
reading and parsing happen on the read thread (frame_router), publishing on EventPublisher's thread
(publisher), the status on its own (status).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from prometheus_client import CollectorRegistry, generate_latest

from teleglas.celery import announce_start, app
from teleglas.defines import LOG_RUNNER, MODE_POLLING, MODE_WEBSOCKET
from teleglas.ops.health import HealthServer, HealthThresholds, alert_system_report
from teleglas.ops.logging_setup import setup_logging
from teleglas.ops.metrics import ListenerCollector, RedisMetricsCollector
from teleglas.settings import Settings, SettingsError, get_settings
from teleglas.source.coinglass.ws_connection import StreamConfig, StreamConnection
from teleglas.source.listener.frame_router import FrameRouter
from teleglas.source.listener.publisher import EventPublisher
from teleglas.source.listener.status import StatusReporter
from teleglas.state.client import redis_client
from teleglas.state.liveness import Liveness
from teleglas.state.system import SystemState

log = logging.getLogger(__name__)
SHUTDOWN_FLUSH_S = 4.0
STOP_DRAIN_S = 1.0  # after unsubscribing at shutdown: long enough for frames already on their way


def stream_config(settings: Settings) -> StreamConfig:
    return StreamConfig(
        base_url=settings.coinglass.ws_url,
        api_key=settings.coinglass.api_key_ws,
        channels=settings.ws.channels,
        ping_interval_s=settings.ws.ping_interval_s,
        pong_timeout_s=settings.ws.pong_timeout_s,
        connect_timeout_s=settings.ws.connect_timeout_s,
        reconnect_delay_s=settings.ws.reconnect_delay_s,
        max_reconnect_delay_s=settings.ws.reconnect_max_delay_s,
        healthy_reset_s=settings.ws.healthy_reset_s,
        close_timeout_s=settings.ws.close_timeout_s,
    )


def start_health(settings: Settings, report, collectors=()) -> HealthServer | None:
    """`GET /health` and `GET /metrics` on HEALTH_PORT (0: none). A port already taken is logged, not fatal."""
    if not settings.ops.health_port:
        return None
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    try:
        health = HealthServer(
            settings.ops.health_port, report, settings.ops.health_host, metrics=lambda: generate_latest(registry)
        )
    except OSError as exc:
        log.warning("%s health endpoint not started on :%d: %s", LOG_RUNNER, settings.ops.health_port, exc.strerror)
        return None
    health.start()
    return health


def health_thresholds(settings: Settings) -> HealthThresholds:
    return HealthThresholds(
        settings.ops.worker_heartbeat_stale_s,
        whale_poll_stale_s=3 * settings.beat.whale_poll_interval_s + 30,
        alert_chats=settings.telegram.alert_chat_ids,
    )


def serve_polling_mode(settings: Settings) -> int:
    """Without a WebSocket key there is no stream: whales come from celery beat's REST fallback. The listener
    stays up for its health and metrics, so a compose or systemd health check means the same in both modes."""
    log.info(
        "%s COINGLASS_API_KEY_WS is empty: no stream; whale alerts come from celery beat's REST polling fallback. "
        "Serving health and metrics only",
        LOG_RUNNER,
    )
    state = SystemState.of(redis_client(settings.redis.url))
    health = start_health(
        settings,
        alert_system_report(dict, state, health_thresholds(settings), MODE_POLLING),
        [RedisMetricsCollector(state, settings.telegram.alert_chat_ids, settings.ops.metrics_chat_labels)],
    )
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
    if not settings.coinglass.api_key_ws:
        return serve_polling_mode(settings)
    if not settings.ws.channels:
        log.error("%s WS_CHANNELS is empty: nothing to subscribe to", LOG_RUNNER)
        return 2

    publisher = EventPublisher(
        app, settings.ws.buffer_max_events, settings.ws.buffer_max_bytes, settings.ws.batch_max_events
    )
    router = FrameRouter(publisher, settings.ws.max_message_bytes, settings.ws.channels)
    connection = StreamConnection(stream_config(settings), router)
    listener_id = f"{socket.gethostname()}-{os.getpid()}"
    status = StatusReporter(
        Liveness(redis_client(settings.redis.url)),
        listener_id,
        settings.ws.status_ttl_s,
        connection,
        router,
        publisher,
    )
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
    log.info("%s listener %s starting: %d channel(s)", LOG_RUNNER, listener_id, len(settings.ws.channels))
    threading.Thread(target=announce_start, args=(MODE_WEBSOCKET,), name="start-notice", daemon=True).start()
    status.start()
    state = SystemState.of(redis_client(settings.redis.url))
    report = alert_system_report(status.snapshot, state, health_thresholds(settings))
    health = start_health(
        settings,
        report,
        [
            ListenerCollector(status.snapshot, lambda: {c: tuple(v) for c, v in router.by_channel.items()}),
            RedisMetricsCollector(state, settings.telegram.alert_chat_ids, settings.ops.metrics_chat_labels),
        ],
    )
    connection.run()
    flushed = publisher.close(SHUTDOWN_FLUSH_S)
    status.stop()
    if health is not None:
        health.stop()
    c = router.counters
    log.info(
        "%s listener stopped: frames=%d events=%d published=%d bad_frames=%d unknown_frames=%d rejected_items=%d "
        "oversized=%d dropped=%d%s",
        LOG_RUNNER,
        c.frames,
        c.events,
        publisher.published,
        c.bad_frames,
        c.unknown_frames,
        c.rejected_items,
        c.oversized_frames,
        publisher.dropped,
        "" if flushed else f" ({publisher.buffered} buffered event(s) NOT published: broker unreachable)",
    )
    return 0

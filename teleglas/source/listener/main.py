"""The listener process: the frames of every source in SOURCES in (CoinGlass, exchanges), `process_events`
tasks out: each carries the events buffered at that moment, up to LISTENER_BATCH_MAX_EVENTS, so a quiet stream
sends one event a task and a cascade divides Celery's per-message cost over many. This module wires the process
(the composition root of the listener): each connection reads and parses on its own thread (sources,
frame_router), publishing happens on EventPublisher's thread (publisher), the status on its own (status).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from prometheus_client import CollectorRegistry, generate_latest

from teleglas.celery import announce_start, app
from teleglas.defines import LOG_RUNNER, MODE_POLLING, MODE_WEBSOCKET, SOURCE_COINGLASS
from teleglas.ops.health import HealthServer, HealthThresholds, alert_system_report
from teleglas.ops.logging_setup import process_settings
from teleglas.ops.metrics import ListenerCollector, RedisMetricsCollector
from teleglas.settings import Settings
from teleglas.source.listener.publisher import EventPublisher
from teleglas.source.listener.sources import build_sources
from teleglas.source.listener.status import StatusReporter
from teleglas.state.client import redis_client
from teleglas.state.liveness import Liveness, streaming_sources
from teleglas.state.system import SystemState

log = logging.getLogger(__name__)
SHUTDOWN_FLUSH_S = 4.0
STOP_DRAIN_S = 1.0  # after unsubscribing at shutdown: long enough for frames already on their way


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
    """Without a stream to read (SOURCES only coinglass, and no WebSocket key) whales come from celery beat's
    REST fallback. The listener stays up for its health and metrics, so a compose or systemd health check means
    the same in both modes."""
    log.info(
        "%s COINGLASS_API_KEY_WS is empty and SOURCES names no exchange: no stream; whale alerts come from celery "
        "beat's REST polling fallback. Serving health and metrics only",
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
    settings = process_settings(LOG_RUNNER)
    if settings is None:
        return 2
    sources = streaming_sources(settings)
    if not sources:
        return serve_polling_mode(settings)
    if set(settings.sources.sources) - set(sources):
        log.warning(
            "%s COINGLASS_API_KEY_WS is empty: coinglass left out, streaming %s", LOG_RUNNER, ", ".join(sources)
        )
    if sources == (SOURCE_COINGLASS,) and not settings.ws.channels:
        log.error("%s WS_CHANNELS is empty: nothing to subscribe to", LOG_RUNNER)
        return 2

    publisher = EventPublisher(
        app, settings.ws.buffer_max_events, settings.ws.buffer_max_bytes, settings.ws.batch_max_events
    )
    runs = build_sources(settings, sources, publisher)
    connections = [connection for run in runs for connection in run.connections]
    listener_id = f"{socket.gethostname()}-{os.getpid()}"
    status = StatusReporter(
        Liveness(redis_client(settings.redis.url)), listener_id, settings.ws.status_ttl_s, runs, publisher
    )
    stopping = threading.Event()

    def on_signal(signum, _frame):
        if stopping.is_set():
            log.warning("%s second signal: exiting now", LOG_RUNNER)
            raise SystemExit(1)
        stopping.set()
        log.info("%s %s received: closing the streams", LOG_RUNNER, signal.Signals(signum).name)
        for connection in connections:
            connection.stop(drain_s=STOP_DRAIN_S)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info(
        "%s listener %s starting: %s",
        LOG_RUNNER,
        listener_id,
        "; ".join(f"{run.source} ({len(run.channels)} channel(s))" for run in runs),
    )
    threading.Thread(target=announce_start, args=(MODE_WEBSOCKET,), name="start-notice", daemon=True).start()
    status.start()
    state = SystemState.of(redis_client(settings.redis.url))
    report = alert_system_report(status.snapshot, state, health_thresholds(settings))
    health = start_health(
        settings,
        report,
        [
            ListenerCollector(
                lambda: [
                    (source, snapshot, {c: tuple(v) for c, v in run.router.by_channel.items()})
                    for run, (source, snapshot) in zip(runs, status.snapshots().items())
                ]
            ),
            RedisMetricsCollector(state, settings.telegram.alert_chat_ids, settings.ops.metrics_chat_labels),
        ],
    )
    for run in runs:
        for keep in run.upkeep:
            threading.Thread(target=keep, args=(stopping,), name=f"{run.source}-upkeep", daemon=True).start()
    readers = [
        threading.Thread(target=connection.run, name=f"{run.source}-stream", daemon=True)
        for run in runs
        for connection in run.connections
    ]
    for reader in readers:
        reader.start()
    while any(reader.is_alive() for reader in readers):  # the main thread stays free for the signal handler
        for reader in readers:
            reader.join(0.2)
    flushed = publisher.close(SHUTDOWN_FLUSH_S)
    status.stop()
    if health is not None:
        health.stop()
    unpublished = "" if flushed else f" ({publisher.buffered} buffered event(s) NOT published: broker unreachable)"
    for run in runs:
        c = run.router.counters
        log.info(
            "%s listener stopped: frames=%d events=%d published=%d bad_frames=%d unknown_frames=%d rejected_items=%d "
            "oversized=%d dropped=%d (source %s, filtered_trades=%d)%s",
            LOG_RUNNER,
            c.frames,
            c.events,
            publisher.published_by[run.source],
            c.bad_frames,
            c.unknown_frames,
            c.rejected_items,
            c.oversized_frames,
            publisher.dropped_by[run.source],
            run.source,
            c.filtered_trades,
            unpublished,
        )
    return 0

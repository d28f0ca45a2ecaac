"""Prometheus metrics for the whole alert system, exported by one process (the listener's `GET /metrics`).

Workers are many processes, often on several hosts (prometheus-client's multiprocess mode needs one shared
directory), so each process buffers its counts in memory and a daemon thread adds them to Redis hashes every
`FLUSH_INTERVAL_S` (one pipeline); the exporter reads the hashes at scrape time. A SIGKILLed process loses at
most one interval of counts, never an alert. Gauges (queue depth, dead letters, workers) are read live.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from teleglas.defines import LOG_RUNNER, QUEUE_EVENTS, QUEUE_TELEGRAM
from teleglas.settings import get_settings
from teleglas.store import PREFIX, Store, redis_client

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0
KEEP_S = 30 * 86_400  # counters live as long as the system runs; a key untouched for a month expires
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class Metric:
    name: str  # without the _total / _seconds suffix Prometheus adds for the type
    help: str
    labels: tuple[str, ...]
    histogram: bool = False


ALERTS = Metric("teleglas_alerts", "Alerts routed to a chat (at once or into its digest), by kind and chat", ("kind", "chat"))
MESSAGES_SENT = Metric("teleglas_messages_sent", "Messages Telegram accepted, by chat", ("chat",))
TELEGRAM_ERRORS = Metric("teleglas_telegram_errors", "Failed sendMessage calls, by TELEGLAS reason and HTTP code", ("reason", "code"))
RATE_LIMIT_WAITS = Metric("teleglas_ratelimit_waits", "Sends that waited for their rate-limit slot (in the worker or as a countdown)", ())
RATE_LIMIT_WAIT_SECONDS = Metric("teleglas_ratelimit_wait_seconds", "Seconds sends waited for their rate-limit slot", ())
DEAD_LETTERS = Metric("teleglas_dead_letters_added", "Sends moved to the dead letters", ("reason",))
EVENTS_EVALUATED = Metric("teleglas_events_evaluated", "Events the workers evaluated, by kind", ("kind",))
EVENT_LATENCY = Metric("teleglas_event_to_decision_seconds", "From the event's exchange time to the worker's decision", ("kind",), True)
FRAME_TO_SEND = Metric("teleglas_frame_to_send_seconds", "From the frame reaching the listener to Telegram accepting the alert", (), True)
REDIS_METRICS = (ALERTS, MESSAGES_SENT, TELEGRAM_ERRORS, RATE_LIMIT_WAITS, RATE_LIMIT_WAIT_SECONDS, DEAD_LETTERS, EVENTS_EVALUATED,
                 EVENT_LATENCY, FRAME_TO_SEND)


def metric_key(metric: Metric) -> str:
    return f"{PREFIX}:metrics:{metric.name}"


def _field(values: tuple[str, ...], part: str = "") -> str:
    return json.dumps([*values, part]) if part else json.dumps(list(values))


class Recorder:
    """Buffers counts in this process; safe to use from any thread, and after a fork (prefork workers)."""

    def __init__(self, client_factory, interval_s: float = FLUSH_INTERVAL_S):
        self._client_factory = client_factory
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], float] = defaultdict(float)
        self._pid = 0
        self._failing = False

    def inc(self, metric: Metric, *labels: object, amount: float = 1.0) -> None:
        self._add(metric, _field(tuple(str(v) for v in labels)), amount)

    def observe(self, metric: Metric, seconds: float, *labels: object) -> None:
        values = tuple(str(v) for v in labels)
        seconds = max(0.0, seconds)
        bucket = next((b for b in LATENCY_BUCKETS if seconds <= b), math.inf)
        self._add(metric, _field(values, f"le={bucket}"), 1.0)
        self._add(metric, _field(values, "sum"), seconds)
        self._add(metric, _field(values, "count"), 1.0)

    def _add(self, metric: Metric, field: str, amount: float) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use in this process (or in a forked child): own thread
                self._pid = os.getpid()
                self._pending.clear()
                threading.Thread(target=self._run, name="metrics-flush", daemon=True).start()
            self._pending[(metric_key(metric), field)] += amount

    def _run(self) -> None:
        client = self._client_factory()
        while True:
            time.sleep(self._interval_s)
            self.flush(client)

    def flush(self, client: redis.Redis) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(float)
        if not pending:
            return
        try:
            with client.pipeline(transaction=False) as pipe:
                for (key, field), amount in pending.items():
                    pipe.hincrbyfloat(key, field, amount)
                for key in {key for key, _ in pending}:
                    pipe.expire(key, KEEP_S)
                pipe.execute()
            self._failing = False
        except (redis.RedisError, OSError) as exc:  # put them back: counts wait for Redis, they are not lost
            if not self._failing:
                log.warning("%s metrics not written to Redis: %s (kept in memory until it answers)", LOG_RUNNER, type(exc).__name__)
            self._failing = True
            with self._lock:
                for item, amount in pending.items():
                    self._pending[item] += amount


class NoMetrics:
    """For code run outside the processes that report (tests that build a Sender or FanOut directly)."""

    def inc(self, metric: Metric, *labels: object, amount: float = 1.0) -> None:
        pass

    def observe(self, metric: Metric, seconds: float, *labels: object) -> None:
        pass


class RedisMetricsCollector:
    """What every process recorded, plus live gauges from Redis, for prometheus-client's registry."""

    def __init__(self, store: Store):
        self.store = store

    def collect(self):
        try:
            with self.store.redis.pipeline(transaction=False) as pipe:
                for metric in REDIS_METRICS:
                    pipe.hgetall(metric_key(metric))
                stored = pipe.execute()
            depths = self.store.queue_depths((QUEUE_EVENTS, QUEUE_TELEGRAM))
            beats = self.store.worker_heartbeats()
            dead = self.store.dead_letter_count()
        except (redis.RedisError, OSError):
            yield GaugeMetricFamily("teleglas_redis_up", "1 when the exporter could read Redis", value=0)
            return
        yield GaugeMetricFamily("teleglas_redis_up", "1 when the exporter could read Redis", value=1)
        for metric, fields in zip(REDIS_METRICS, stored):
            values = {tuple(json.loads(k)): float(v) for k, v in fields.items()}
            yield (_histogram if metric.histogram else _counter)(metric, values)
        queue = GaugeMetricFamily("teleglas_queue_depth", "Tasks waiting in a Celery queue", labels=["queue"])
        for name, depth in depths.items():
            queue.add_metric([name], depth)
        yield queue
        yield GaugeMetricFamily("teleglas_dead_letters", "Sends waiting in the dead-letter list", value=dead)
        yield GaugeMetricFamily("teleglas_workers", "Worker processes with a heartbeat in Redis", value=len(beats))
        if beats:
            yield GaugeMetricFamily("teleglas_worker_heartbeat_age_seconds", "Age of the newest worker heartbeat", value=time.time() - max(beats.values()))


class ListenerCollector:
    """The listener's own figures, read live from its objects at scrape time (no Redis needed)."""

    def __init__(self, snapshot, by_channel):
        self._snapshot = snapshot  # StatusReporter.snapshot
        self._by_channel = by_channel  # () -> {channel: (frames, events)}

    def collect(self):
        s = self._snapshot()
        connected = int(s["is_connected"])
        yield GaugeMetricFamily("teleglas_ws_connected", "1 while the CoinGlass WebSocket is connected", value=connected)
        yield GaugeMetricFamily("teleglas_ws_connection_uptime_seconds", "Seconds since the current connection opened (0 when down)",
                                value=max(0.0, time.time() - s["connected_since"]) if connected else 0.0)
        frames = CounterMetricFamily("teleglas_ws_frames", "Text frames received, by subscribed channel", labels=["channel"])
        events = CounterMetricFamily("teleglas_ws_events", "Events parsed from frames, by subscribed channel", labels=["channel"])
        for channel, (frame_count, event_count) in sorted(self._by_channel().items()):
            frames.add_metric([channel], frame_count)
            events.add_metric([channel], event_count)
        yield frames
        yield events
        bad = CounterMetricFamily("teleglas_ws_bad_frames", "Frames dropped, by reason", labels=["reason"])
        for reason, field in (("malformed", "bad_frames"), ("unknown", "unknown_frames"), ("oversized", "oversized_frames")):
            bad.add_metric([reason], s[field])
        yield bad
        yield CounterMetricFamily("teleglas_ws_rejected_items", "Items of data frames rejected by the parser", value=s["rejected_items"])
        yield CounterMetricFamily("teleglas_ws_reconnects", "Connections lost (each followed by a reconnect attempt)", value=s["reconnects"])
        yield CounterMetricFamily("teleglas_ws_reconnect_successes", "Connections opened again after one was lost", value=s["reconnect_successes"])
        yield CounterMetricFamily("teleglas_ws_auth_failures", "Connections refused for the API key", value=s["auth_failures"])
        yield CounterMetricFamily("teleglas_listener_published_events", "Events handed to Celery", value=s["published"])
        yield CounterMetricFamily("teleglas_listener_dropped_events", "Events dropped because the buffer was full", value=s["dropped_events"])
        yield GaugeMetricFamily("teleglas_listener_buffered_events", "Events waiting for Redis in the listener", value=s["buffered_events"])


def _counter(metric: Metric, values: dict[tuple, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    for labels, value in sorted(values.items()):
        family.add_metric(list(labels), value)
    return family


def _histogram(metric: Metric, values: dict[tuple, float]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    series: dict[tuple, dict[str, float]] = defaultdict(dict)
    for key, value in values.items():
        *labels, part = key
        series[tuple(labels)][part] = value
    for labels, parts in sorted(series.items()):
        running, buckets = 0.0, []
        for bound in (*LATENCY_BUCKETS, math.inf):
            running += parts.get(f"le={bound}", 0.0)
            buckets.append(("+Inf" if bound == math.inf else repr(bound), running))
        family.add_metric(list(labels), buckets, parts.get("sum", 0.0))
    return family


_recorder: Recorder | None = None
_recorder_lock = threading.Lock()


def recorder() -> Recorder:
    """The process-wide Recorder, writing to the Redis of Settings."""
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            _recorder = Recorder(lambda: redis_client(get_settings().redis_url))
        return _recorder

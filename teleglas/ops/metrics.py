"""Prometheus metrics for the whole alert system, exported by one process (the listener's `GET /metrics`).

Workers are many processes, often on several hosts (prometheus-client's multiprocess mode needs one shared
directory), so each process buffers its counts (teleglas.state.buffer) and adds them to Redis hashes every
second; the exporter reads the hashes at scrape time. Gauges (queue depth, dead letters, workers) are read
live. A metric marked `hourly` also keeps one hash per hour for the dashboard's analytics.
"""

from __future__ import annotations

import bisect
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from teleglas.defines import QUEUE_EVENTS, QUEUE_TELEGRAM
from teleglas.model.chat import ChatId
from teleglas.settings import get_settings
from teleglas.state.buffer import RedisBuffer, shared_buffer
from teleglas.state.keys import hourly_metric_key, metric_key
from teleglas.state.system import SystemState

KEEP_S = 30 * 86_400  # counters live as long as the system runs; a key untouched for a month expires
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class Metric:
    name: str  # without the _total / _seconds suffix Prometheus adds for the type
    help: str
    labels: tuple[str, ...]
    histogram: bool = False
    hourly: bool = False  # also counted per hour (kept ALERT_HISTORY_TTL) for the dashboard


CHAT = "chat"  # a label exported only when METRICS_CHAT_LABELS is on: a private chat's id is its user's id
ALERTS = Metric(
    "teleglas_alerts", "Alerts routed to a chat (at once or into its digest), by kind (and chat)", ("kind", CHAT)
)
MESSAGES_SENT = Metric("teleglas_messages_sent", "Messages Telegram accepted (by chat)", (CHAT,))
TELEGRAM_ERRORS = Metric(
    "teleglas_telegram_errors", "Failed sendMessage calls, by TELEGLAS reason and HTTP code", ("reason", "code")
)
RATE_LIMIT_WAITS = Metric(
    "teleglas_ratelimit_waits", "Sends that waited for their rate-limit slot (in the worker or as a countdown)", ()
)
RATE_LIMIT_WAIT_SECONDS = Metric(
    "teleglas_ratelimit_wait_seconds", "Seconds sends waited for their rate-limit slot", ()
)
DEAD_LETTERS = Metric(
    "teleglas_dead_letters_added", "Sends and tasks moved to the dead letters, by reason", ("reason",)
)
TASK_RETRIES = Metric(
    "teleglas_task_retries", "Tasks that failed and were scheduled again (due work in Redis), by task", ("task",)
)
DISABLED_CHAT_ALERTS = Metric(
    "teleglas_disabled_chat_alerts", "Alerts a disabled chat missed (dead-lettered for a configured chat)", ()
)
EVENTS_EVALUATED = Metric("teleglas_events_evaluated", "Events the workers evaluated, by kind", ("kind",))
SUPPRESSED = Metric(
    "teleglas_suppressed",
    "Qualifying events without a message of their own: duplicate, cooldown (folded into a later "
    "lead or summary), storm (one message per window); digest counts alerts per chat sent inside a digest",
    ("reason",),
    hourly=True,
)
SUPPRESSED_DUPLICATE, SUPPRESSED_COOLDOWN, SUPPRESSED_STORM, SUPPRESSED_DIGEST = (
    "duplicate",
    "cooldown",
    "storm",
    "digest",
)
EVENTS_MERGED = Metric(
    "teleglas_events_merged",
    "Events dropped as the same event another source brought first (CoinGlass and an exchange's own stream), "
    "by the source of the dropped copy",
    ("source",),
)
EVENTS_DUPLICATE = Metric(
    "teleglas_events_duplicate",
    "Events dropped as a copy of one the same source brought before (two listeners side by side, a replay)",
    ("source",),
)
EVENT_LATENCY = Metric(
    "teleglas_event_to_decision_seconds", "From the event's exchange time to the worker's decision", ("kind",), True
)
FRAME_TO_SEND = Metric(
    "teleglas_frame_to_send_seconds", "From the frame reaching the listener to Telegram accepting the alert", (), True
)
CHARTS = Metric(
    "teleglas_charts",
    "Alert charts by outcome: rendered; failed or timeout (the alert went as text); refused by Telegram, or expired "
    "before its send (sent as text)",
    ("outcome",),
)
CHART_RENDER_SECONDS = Metric("teleglas_chart_render_seconds", "Time to render one chart, by kind", ("kind",), True)
REDIS_METRICS = (
    ALERTS,
    MESSAGES_SENT,
    TELEGRAM_ERRORS,
    RATE_LIMIT_WAITS,
    RATE_LIMIT_WAIT_SECONDS,
    DEAD_LETTERS,
    TASK_RETRIES,
    DISABLED_CHAT_ALERTS,
    EVENTS_EVALUATED,
    SUPPRESSED,
    EVENTS_MERGED,
    EVENTS_DUPLICATE,
    EVENT_LATENCY,
    FRAME_TO_SEND,
    CHARTS,
    CHART_RENDER_SECONDS,
)


def _field(values: tuple[str, ...], part: str = "") -> str:
    return json.dumps([*values, part]) if part else json.dumps(list(values))


def parse_fields(fields: dict[bytes, bytes]) -> dict[tuple[str, ...], float]:
    """A metric hash read back: label values → number."""
    return {tuple(json.loads(k)): float(v) for k, v in fields.items()}


class Recorder:
    """Metric updates of this process, through the shared RedisBuffer; safe from any thread and after a fork."""

    def __init__(self, buffer: RedisBuffer, hourly_ttl_s: int):
        self._buffer = buffer
        self._hourly_ttl_s = hourly_ttl_s

    def inc(self, metric: Metric, *labels: object, amount: float = 1.0) -> None:
        field = _field(tuple(str(v) for v in labels))
        self._buffer.add(metric_key(metric.name), field, amount, KEEP_S)
        if metric.hourly:
            self._buffer.add(
                hourly_metric_key(metric.name, int(time.time() // 3600)), field, amount, self._hourly_ttl_s
            )

    def observe(self, metric: Metric, seconds: float, *labels: object) -> None:
        self.observe_many(metric, (seconds,), *labels)

    def observe_many(self, metric: Metric, observations: Iterable[float], *labels: object) -> None:
        """Many observations of one series (a batch of events): counted per bucket here, then one buffer call."""
        counts: dict[float, float] = defaultdict(float)
        total = number = 0.0
        for seconds in observations:
            seconds = max(0.0, seconds)
            at = bisect.bisect_left(LATENCY_BUCKETS, seconds)
            counts[LATENCY_BUCKETS[at] if at < len(LATENCY_BUCKETS) else math.inf] += 1.0
            total += seconds
            number += 1.0
        if not number:
            return
        values = tuple(str(v) for v in labels)
        key = metric_key(metric.name)
        sums = {(key, _field(values, f"le={bucket}")): count for bucket, count in counts.items()}
        sums[(key, _field(values, "sum"))] = total
        sums[(key, _field(values, "count"))] = number
        self._buffer.add_many(sums, {key: KEEP_S})


class NoMetrics:
    """For code run outside the processes that report (tests that build a Sender or FanOut directly)."""

    def inc(self, metric: Metric, *labels: object, amount: float = 1.0) -> None:
        pass

    def observe(self, metric: Metric, seconds: float, *labels: object) -> None:
        pass


class RedisMetricsCollector:
    """What every process recorded, plus live gauges from Redis, for prometheus-client's registry. Counts are kept
    per chat in Redis (the dashboard reads them there); /metrics, unauthenticated, sums the chats away unless
    `chat_labels` (METRICS_CHAT_LABELS) says otherwise."""

    def __init__(self, state: SystemState, alert_chats: tuple[ChatId, ...] = (), chat_labels: bool = False):
        self.state = state
        self.alert_chats = alert_chats
        self.chat_labels = chat_labels

    def collect(self):
        try:
            with self.state.redis.pipeline(transaction=False) as pipe:
                for metric in REDIS_METRICS:
                    pipe.hgetall(metric_key(metric.name))
                stored = pipe.execute()
            depths = self.state.liveness.queue_depths((QUEUE_EVENTS, QUEUE_TELEGRAM))
            beats = self.state.liveness.worker_heartbeats()
            dead = self.state.dead_letters.dead_letter_count()
            due = self.state.due.pending()
            disabled = list(self.state.chats.disabled_chats())
        except (redis.RedisError, OSError):
            yield GaugeMetricFamily("teleglas_redis_up", "1 when the exporter could read Redis", value=0)
            return
        yield GaugeMetricFamily("teleglas_redis_up", "1 when the exporter could read Redis", value=1)
        for metric, fields in zip(REDIS_METRICS, stored):
            values = parse_fields(fields)
            if CHAT in metric.labels and not self.chat_labels:
                metric, values = _without_chat(metric, values)
            yield (_histogram if metric.histogram else _counter)(metric, values)
        queue = GaugeMetricFamily("teleglas_queue_depth", "Tasks waiting in a Celery queue", labels=["queue"])
        for name, depth in depths.items():
            queue.add_metric([name], depth)
        yield queue
        yield GaugeMetricFamily("teleglas_dead_letters", "Sends and tasks waiting in the dead-letter list", value=dead)
        yield GaugeMetricFamily(
            "teleglas_due_tasks",
            "Delayed work waiting in Redis for its time (flushes, rate-limit slots, retries)",
            value=due,
        )
        chats = GaugeMetricFamily(
            "teleglas_disabled_chats",
            "Chats that refused the bot (403, chat not found), configured alert chats apart",
            labels=["configured"],
        )
        configured = sum(1 for chat in disabled if chat in self.alert_chats)
        chats.add_metric(["true"], configured)
        chats.add_metric(["false"], len(disabled) - configured)
        yield chats
        yield GaugeMetricFamily("teleglas_workers", "Worker processes with a heartbeat in Redis", value=len(beats))
        if beats:
            yield GaugeMetricFamily(
                "teleglas_worker_heartbeat_age_seconds",
                "Age of the newest worker heartbeat",
                value=time.time() - max(beats.values()),
            )


class ListenerCollector:
    """The listener's own figures per source, read live from its objects at scrape time (no Redis needed)."""

    def __init__(self, sources):
        self._sources = sources  # () -> [(source, StatusReporter snapshot of it, {channel: (frames, events)})]

    def collect(self):
        now = time.time()
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "connected": GaugeMetricFamily(
                "teleglas_ws_connected", "1 while the source's WebSocket is connected", labels=["source"]
            ),
            "uptime": GaugeMetricFamily(
                "teleglas_ws_connection_uptime_seconds",
                "Seconds since the current connection opened (0 when down)",
                labels=["source"],
            ),
            "frames": CounterMetricFamily(
                "teleglas_ws_frames",
                "Text frames received, by source and subscribed channel",
                labels=["source", "channel"],
            ),
            "events": CounterMetricFamily(
                "teleglas_ws_events",
                "Events parsed from frames, by source and subscribed channel",
                labels=["source", "channel"],
            ),
            "bad": CounterMetricFamily(
                "teleglas_ws_bad_frames", "Frames dropped, by reason", labels=["source", "reason"]
            ),
        }
        counters = {
            "rejected_items": ("teleglas_ws_rejected_items", "Items of data frames rejected by the parser"),
            "filtered_trades": (
                "teleglas_ws_filtered_trades",
                "Exchange trades under EXCHANGE_TRADE_MIN_USD, kept out of the broker",
            ),
            "reconnects": ("teleglas_ws_reconnects", "Connections lost (each followed by a reconnect attempt)"),
            "reconnect_successes": ("teleglas_ws_reconnect_successes", "Connections opened again after one was lost"),
            "auth_failures": ("teleglas_ws_auth_failures", "Connections refused for the API key"),
            "published": ("teleglas_listener_published_events", "Events handed to Celery"),
            "dropped_events": ("teleglas_listener_dropped_events", "Events dropped because the buffer was full"),
        }
        for field, (name, text) in counters.items():
            families[field] = CounterMetricFamily(name, text, labels=["source"])
        buffered = 0
        for source, s, by_channel in self._sources():
            connected = int(s["is_connected"])
            families["connected"].add_metric([source], connected)
            families["uptime"].add_metric([source], max(0.0, now - s["connected_since"]) if connected else 0.0)
            for channel, (frame_count, event_count) in sorted(by_channel.items()):
                families["frames"].add_metric([source, channel], frame_count)
                families["events"].add_metric([source, channel], event_count)
            for reason, field in (
                ("malformed", "bad_frames"),
                ("unknown", "unknown_frames"),
                ("oversized", "oversized_frames"),
            ):
                families["bad"].add_metric([source, reason], s[field])
            for field in counters:
                families[field].add_metric([source], s[field])
            buffered = s["buffered_events"]
        yield from families.values()
        yield GaugeMetricFamily(
            "teleglas_listener_buffered_events", "Events waiting for Redis in the listener", value=buffered
        )


def _without_chat(metric: Metric, values: dict[tuple, float]) -> tuple[Metric, dict[tuple, float]]:
    """A counter's series summed over their chats."""
    at = metric.labels.index(CHAT)
    summed: dict[tuple, float] = defaultdict(float)
    for labels, value in values.items():
        summed[labels[:at] + labels[at + 1 :]] += value
    return replace(metric, labels=metric.labels[:at] + metric.labels[at + 1 :]), summed


def _counter(metric: Metric, values: dict[tuple, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    for labels, value in sorted(values.items()):
        family.add_metric(list(labels), value)
    return family


def _histogram(metric: Metric, values: dict[tuple, float]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    series: dict[tuple, dict[str, float]] = defaultdict(dict)
    for key, value in values.items():
        series[key[:-1]][key[-1]] = value
    for labels, parts in sorted(series.items()):
        running, buckets = 0.0, []
        for bound in (*LATENCY_BUCKETS, math.inf):
            running += parts.get(f"le={bound}", 0.0)
            buckets.append(("+Inf" if bound == math.inf else repr(bound), running))
        family.add_metric(list(labels), buckets, parts.get("sum", 0.0))
    return family


_recorder: Recorder | None = None


def recorder() -> Recorder:
    """The process-wide Recorder, writing to the Redis of Settings."""
    global _recorder
    if _recorder is None:
        _recorder = Recorder(shared_buffer(), get_settings().ops.alert_history_ttl_s)
    return _recorder

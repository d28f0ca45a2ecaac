"""The dashboard's live figures: one thread reads Redis every half second (listener statuses, queues, worker
heartbeats, the metric hashes the workers flush each second) and turns counters into rates over the last few
seconds. Half a second here plus the workers' one-second flush plus the page's half-second poll keep a count
on the page within 2 s of the event.
Every browser reads the same snapshot, so ten open pages cost Redis what one does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis

from teleglas.defines import LOG_RUNNER, OTHER_CHANNEL, QUEUE_EVENTS, QUEUE_TELEGRAM
from teleglas.ops.health import disabled_chat_list
from teleglas.ops.metrics import EVENTS_EVALUATED, MESSAGES_SENT, TELEGRAM_ERRORS, parse_fields
from teleglas.settings import Settings
from teleglas.state.keys import metric_key
from teleglas.state.liveness import listener_connected, source_from_statuses
from teleglas.state.system import SystemState

log = logging.getLogger(__name__)

RATE_WINDOW_S = 5.0


def _number(fields: dict[str, str], name: str, cast=float, default=0):
    try:
        return cast(float(fields.get(name, default)))
    except (TypeError, ValueError):
        return default


def listener_view(listener_id: str, fields: dict[str, str], now: float, stale_after_s: float) -> dict[str, Any]:
    """One listener's status hash, as the page shows it; every value is parsed, none passed through."""
    try:
        channel_events = {str(k): int(v) for k, v in json.loads(fields.get("channel_events") or "{}").items()}
    except (TypeError, ValueError, AttributeError):
        channel_events = {}
    updated = _number(fields, "updated_at")
    connected = listener_connected(fields, now, stale_after_s)
    pong = _number(fields, "last_pong_time")
    since = _number(fields, "connected_since")
    return {
        "id": listener_id,
        "connected": connected,
        "stale": now - updated > stale_after_s,
        "last_pong_age_s": round(now - pong, 1) if pong else None,
        "uptime_s": round(now - since, 1) if connected and since else None,
        "reconnects": _number(fields, "reconnects", int),
        "frames": _number(fields, "frames", int),
        "events": _number(fields, "events", int),
        "bad_frames": _number(fields, "bad_frames", int)
        + _number(fields, "unknown_frames", int)
        + _number(fields, "oversized_frames", int),
        "dropped_events": _number(fields, "dropped_events", int),
        "channel_events": channel_events,
    }


class RateWindow:
    """Counters seen at several moments → per-second rates over the last RATE_WINDOW_S."""

    def __init__(self, window_s: float = RATE_WINDOW_S):
        self.window_s = window_s
        self._samples: deque[tuple[float, dict[str, float]]] = deque()

    def add(self, at: float, counters: dict[str, float]) -> dict[str, float]:
        self._samples.append((at, counters))
        while len(self._samples) > 2 and at - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        first_at, first = self._samples[0]
        span = at - first_at
        if span <= 0:
            return dict.fromkeys(counters, 0.0)
        rates = {}
        for name, value in counters.items():
            delta = value - first.get(name, 0.0)
            rates[name] = round((delta if delta >= 0 else value) / span, 3)  # went down: a listener restarted from zero
        return rates


class LiveStatus:
    def __init__(
        self,
        state: SystemState,
        settings: Settings,
        interval_s: float = 0.5,
        clock: Callable[[], float] = time.time,
    ):
        self.state = state
        self.settings = settings
        self.interval_s = interval_s
        self.clock = clock  # rates are counts over this clock's seconds
        self._rates = RateWindow()
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] = {"redis_reachable": None, "at": 0}
        self._redis_ok = True

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._snapshot

    def refresh(self) -> dict[str, Any]:
        now = self.clock()
        try:
            snapshot = self._read(now)
            if not self._redis_ok:
                log.info("%s dashboard reads Redis again", LOG_RUNNER)
            self._redis_ok = True
        except (redis.RedisError, OSError) as exc:
            if self._redis_ok:
                log.warning("%s dashboard cannot read Redis: %s", LOG_RUNNER, type(exc).__name__)
            self._redis_ok = False
            snapshot = {**self.snapshot(), "redis_reachable": False, "at": now}
        with self._lock:
            self._snapshot = snapshot
        return snapshot

    def _read(self, now: float) -> dict[str, Any]:
        state = self.state
        with state.redis.pipeline(transaction=False) as pipe:
            for metric in (EVENTS_EVALUATED, MESSAGES_SENT, TELEGRAM_ERRORS):
                pipe.hgetall(metric_key(metric.name))
            evaluated, sent, errors = (parse_fields(f) for f in pipe.execute())
        statuses = state.liveness.listener_statuses()
        listeners = [
            listener_view(lid, fields, now, self.settings.ws.stale_after_s) for lid, fields in sorted(statuses.items())
        ]
        beats = state.liveness.worker_heartbeats()
        source = source_from_statuses(statuses, self.settings, now)
        counters: dict[str, float] = {
            "evaluated": sum(evaluated.values()),
            "sent": sum(sent.values()),
            "errors": sum(errors.values()),
        }
        for listener in listeners:  # rates per listener, summed per channel: a listener going away is no negative burst
            if not listener["stale"]:
                for channel, count in listener["channel_events"].items():
                    if (
                        count or channel != OTHER_CHANNEL
                    ):  # "other" (frames naming a channel we never asked for) only once seen
                        counters[f"channel\x00{listener['id']}\x00{channel}"] = float(count)
        rates = self._rates.add(now, counters)
        events_per_s: dict[str, float] = {}
        for name, rate in rates.items():
            if name.startswith("channel\x00"):
                channel = name.split("\x00", 2)[2]
                events_per_s[channel] = round(events_per_s.get(channel, 0.0) + rate, 3)
        return {
            "at": now,
            "redis_reachable": True,
            "mode": source.mode,
            "mode_reason": source.reason,
            "websocket": {
                "connected": any(view["connected"] for view in listeners),
                "listeners": listeners,
            },
            "events_per_s": dict(sorted(events_per_s.items())),
            "evaluated_per_s": rates["evaluated"],
            "events_evaluated": int(counters["evaluated"]),
            "queues": state.liveness.queue_depths((QUEUE_EVENTS, QUEUE_TELEGRAM)),
            "workers": [{"name": name, "heartbeat_age_s": round(now - at, 1)} for name, at in sorted(beats.items())],
            "messages_sent": int(counters["sent"]),
            "messages_per_s": rates["sent"],
            "telegram_errors": int(counters["errors"]),
            "telegram_errors_by_reason": [
                {"reason": reason, "code": code, "count": int(n)}
                for (reason, code), n in sorted(errors.items(), key=lambda item: -item[1])
            ],
            "dead_letters": state.dead_letters.dead_letter_count(),
            "due_tasks": state.due.pending(),
            "disabled_chats": disabled_chat_list(state.chats, self.settings.telegram.alert_chat_ids),
        }

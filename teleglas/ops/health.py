"""`GET /health`: the alert system's report (served by the listener: can alerts flow right now, and if not,
why) and the small HTTP server that serves it (and `/metrics`), or the manual bot's own report.

200 when Redis answers, a worker beat its heart recently and whales arrive: in WebSocket mode the stream is
connected, in polling mode (no WebSocket key) celery beat polled the REST fallback lately; 503 with the
reasons otherwise. Every field is a count, a time or a mode: nothing secret can appear in it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import redis
from prometheus_client import CONTENT_TYPE_LATEST as METRICS_CONTENT_TYPE

from teleglas.defines import LOG_RUNNER, MODE_POLLING, MODE_WEBSOCKET, QUEUE_EVENTS, QUEUE_TELEGRAM
from teleglas.model.chat import ChatId
from teleglas.ops.http import BoundedHTTPServer
from teleglas.state.chats import ChatState
from teleglas.state.system import SystemState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    worker_heartbeat_stale_s: float
    whale_poll_stale_s: float = 120.0
    alert_chats: tuple[ChatId, ...] = ()  # the configured alert chats: one that refuses the bot is a reason


def disabled_chat_list(chats: ChatState, configured: tuple[ChatId, ...]) -> list[dict[str, Any]]:
    """The chats Telegram refused the bot in (403, chat not found), configured alert chats first."""
    disabled = [
        {
            "chat_id": chat,
            "configured": chat in configured,
            "reason": fields.get("reason", ""),
            "since": _float(fields.get("since")),
        }
        for chat, fields in chats.disabled_chats().items()
    ]
    return sorted(disabled, key=lambda c: (not c["configured"], str(c["chat_id"])))


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def assess(report: dict[str, Any], thresholds: HealthThresholds) -> list[str]:
    """The reasons alerts cannot flow; empty when all is well."""
    reasons = []
    if not report.get("redis_reachable"):
        return ["redis unreachable"]
    if report.get("mode") == MODE_WEBSOCKET and not report.get("is_connected"):
        sources = report.get("sources") or {}
        down = [name for name, source in sources.items() if not source["is_connected"]]
        if len(sources) > 1 and down:
            reasons += [f"{name} stream disconnected" for name in down]
        else:
            reasons.append("websocket disconnected")
    if report.get("mode") == MODE_POLLING:
        poll_age = report.get("last_whale_poll_age_s")
        if poll_age is None or poll_age > thresholds.whale_poll_stale_s:
            reasons.append(
                "no whale poll yet (is celery beat running?)"
                if poll_age is None
                else f"last whale poll {poll_age:.0f} s ago"
            )
    age = report.get("worker_heartbeat_age_s")
    if age is None or age > thresholds.worker_heartbeat_stale_s:
        reasons.append("no worker heartbeat" if age is None else f"worker heartbeat {age:.0f} s old")
    for chat in report.get("disabled_chats") or ():
        if chat["configured"]:
            reasons.append(
                f"alert chat {chat['chat_id']} refuses the bot ({chat['reason'][:80]}): "
                "its alerts go to the dead letters"
            )
    return reasons


def gather(
    listener: dict[str, Any],
    state: SystemState,
    now: float,
    mode: str = MODE_WEBSOCKET,
    alert_chats: tuple[ChatId, ...] = (),
) -> dict[str, Any]:
    """The listener's own figures plus what Redis knows: queue depths, delayed work, worker heartbeats, dead
    letters, disabled chats, and in polling mode the age of beat's last successful whale poll."""
    last_event = float(listener.get("last_event_time") or 0)
    report: dict[str, Any] = {
        "mode": mode,
        "is_connected": bool(int(listener.get("is_connected") or 0)),  # "0" when read back from Redis
        "reconnect_attempts": int(listener.get("reconnect_attempts", 0)),
        "last_pong_time": float(listener.get("last_pong_time") or 0),
        "last_event_age_s": round(now - last_event, 3) if last_event else None,
    }
    if listener.get("sources"):  # a listener of several sources: each one's connection apart
        report["sources"] = {
            name: {
                "is_connected": bool(int(source.get("is_connected") or 0)),
                "reconnect_attempts": int(source.get("reconnect_attempts", 0)),
                "last_pong_time": float(source.get("last_pong_time") or 0),
                "last_event_age_s": round(now - float(source["last_event_time"]), 3)
                if source.get("last_event_time")
                else None,
            }
            for name, source in listener["sources"].items()
        }
    try:
        beats = state.liveness.worker_heartbeats()
        depths = state.liveness.queue_depths((QUEUE_EVENTS, QUEUE_TELEGRAM))
        report.update(
            redis_reachable=True,
            queues=depths,
            worker_heartbeat_age_s=round(now - max(beats.values()), 3) if beats else None,
            workers=len(beats),
            dead_letters=state.dead_letters.dead_letter_count(),
            due_tasks=state.due.pending(),
            disabled_chats=disabled_chat_list(state.chats, alert_chats),
        )
        if mode == MODE_POLLING:
            polled = state.checks.last_whale_poll()
            report["last_whale_poll_age_s"] = round(now - polled, 3) if polled else None
    except (redis.RedisError, OSError):
        report.update(
            redis_reachable=False,
            queues=None,
            worker_heartbeat_age_s=None,
            workers=None,
            dead_letters=None,
            due_tasks=None,
            disabled_chats=None,
        )
    return report


def verdict(report: dict[str, Any], reasons: list[str]) -> tuple[int, dict[str, Any]]:
    report.update(status="ok" if not reasons else "unhealthy", reasons=reasons)
    return (200 if not reasons else 503), report


def alert_system_report(
    listener_snapshot: Callable[[], dict[str, Any]],
    state: SystemState,
    thresholds: HealthThresholds,
    mode: str = MODE_WEBSOCKET,
) -> Callable[[], tuple[int, dict[str, Any]]]:
    def report() -> tuple[int, dict[str, Any]]:
        gathered = gather(listener_snapshot(), state, time.time(), mode, thresholds.alert_chats)
        return verdict(gathered, assess(gathered, thresholds))

    return report


class HealthServer:
    """Serves `report()` → (HTTP status, JSON body) on GET /health, and `metrics()` → Prometheus text on
    GET /metrics when given, from a daemon thread, on `host` (HEALTH_HOST: this machine unless told otherwise;
    neither path asks for credentials). Idle or slow clients cannot exhaust it (teleglas.ops.http)."""

    def __init__(
        self,
        port: int,
        report: Callable[[], tuple[int, dict[str, Any]]],
        host: str = "127.0.0.1",
        log_prefix: str = LOG_RUNNER,
        metrics: Callable[[], bytes] | None = None,
    ):
        self.report = report
        self.metrics = metrics
        self._prefix = log_prefix
        self._server = BoundedHTTPServer((host, port), self._handler(), log_prefix=log_prefix)
        self.host = host
        self.port = self._server.server_address[1]

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, name="health", daemon=True).start()
        log.info("%s health on %s:%d/health", self._prefix, self.host, self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        health = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s health %s", health._prefix, fmt % args)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics" and health.metrics is not None:
                    return self._send(200, health.metrics(), METRICS_CONTENT_TYPE)
                if path != "/health":
                    return self._reply(404, {"status": "not found"})
                status, report = health.report()
                self._reply(status, report)

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                write_response(self, status, body, content_type)

        return Handler


def write_response(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> None:
    """One complete answer from a BaseHTTPRequestHandler (the health endpoints and the dashboard)."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)

"""The dashboard's HTTP side: one read-only page (static files shipped in the package) and its JSON API, behind
the same basic auth as Flower. Refresher threads read Redis; every request is served from their latest
results, so a page polling twice a second costs Redis nothing per browser.

    GET /                 the page            GET /api/status     live: stream, queues, workers, sends
    GET /api/alerts       last 50 sent        GET /api/market     liquidations, timeline, largest orders
    GET /api/analytics    alert analytics     GET /healthz        200 while serving (no auth, no data)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any

import redis

from teleglas.dashboard.analytics_view import FEED_SIZE, AlertAnalytics, alert_feed
from teleglas.dashboard.history_mirror import HistoryMirror
from teleglas.dashboard.live import LiveStatus
from teleglas.dashboard.market_view import MarketView
from teleglas.defines import LOG_RUNNER
from teleglas.ops.health import write_response
from teleglas.ops.http import BoundedHTTPServer

log = logging.getLogger(__name__)

STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
# Nothing but our own files may run or load: an alert text or symbol that slipped through as markup still
# could not execute.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MARKET_EVERY_S = 2.0
ANALYTICS_EVERY_S = 5.0


class Refresher:
    """Reads Redis on two threads: live status, new history entries and the alert feed every half second and the
    market every 2 s on one; the analytics (heavier: a day of history) every 5 s on the other, so they never hold
    the live figures back. A failed read keeps the last good figures and says so once."""

    def __init__(self, live: LiveStatus, mirror: HistoryMirror, market: MarketView, analytics: AlertAnalytics):
        self.live, self.mirror, self.market, self.analytics = live, mirror, market, analytics
        self.results: dict[str, Any] = {"alerts": {"alerts": []}, "market": {}, "analytics": {}}
        self._market_due = 0.0
        self._failing: set[str] = set()
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(
            target=self._every, args=(self.live.interval_s, self.tick), name="dashboard-live", daemon=True
        ).start()
        threading.Thread(
            target=self._every, args=(ANALYTICS_EVERY_S, self.tick_analytics), name="dashboard-analytics", daemon=True
        ).start()

    def stop(self) -> None:
        self._stop.set()

    def _every(self, interval_s: float, work) -> None:
        last_bug = ""
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                work(time.time())
            except Exception as exc:  # a bug must not freeze the page: log it (once while it repeats), keep going
                if repr(exc) != last_bug:
                    log.exception(
                        "%s dashboard %s failed; the last figures stay on the page", LOG_RUNNER, work.__name__
                    )
                last_bug = repr(exc)
            self._stop.wait(max(0.05, interval_s - (time.monotonic() - started)))

    def tick(self, now: float) -> None:
        self.live.refresh()
        with self._reading("history and market"):
            self.mirror.refresh(now)
            alerts, digests, _ = self.mirror.view(sent=False)
            self.results["alerts"] = {
                "at": now,
                "alerts": alert_feed(alerts, digests, self.analytics.history.newest_sent(FEED_SIZE)),
            }
            if now >= self._market_due:
                self.results["market"] = {"at": now, **self.market.read(now)}
                self._market_due = now + MARKET_EVERY_S

    def tick_analytics(self, now: float) -> None:
        with self._reading("analytics"):
            self.results["analytics"] = {"at": now, **self.analytics.report(*self.mirror.view(), now)}

    @contextlib.contextmanager
    def _reading(self, what: str):
        try:
            yield
            self._failing.discard(what)
        except (redis.RedisError, OSError) as exc:
            if what not in self._failing:
                log.warning(
                    "%s dashboard %s not read: %s (showing the last figures)", LOG_RUNNER, what, type(exc).__name__
                )
            self._failing.add(what)


def credentials_match(header: str | None, user: str, password: str) -> bool:
    """A Basic `Authorization` header against the configured pair, in constant time."""
    if not header or not header.startswith("Basic "):
        return False
    try:
        given = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    given_user, sep, given_password = given.partition(":")
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return bool(sep) and user_ok and password_ok


def _static(name: str) -> bytes:
    return resources.files("teleglas.dashboard").joinpath("static", name).read_bytes()


class DashboardServer:
    def __init__(self, port: int, user: str, password: str, refresher: Refresher, host: str = "127.0.0.1"):
        self.refresher = refresher
        self._user, self._password = user, password
        self._files = {path: (_static(name), kind) for path, (name, kind) in STATIC_FILES.items()}
        self._server = BoundedHTTPServer((host, port), self._handler(), log_prefix=LOG_RUNNER, max_active=16)
        self.port = self._server.server_address[1]

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="dashboard-http", daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def api(self, path: str) -> dict[str, Any] | None:
        results = self.refresher.results
        if path == "/api/status":
            return self.refresher.live.snapshot()
        if path == "/api/alerts":
            return results["alerts"]
        if path == "/api/market":
            return results["market"]
        if path == "/api/analytics":
            return results["analytics"]
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "teleglas-dashboard"
            sys_version = ""

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s dashboard %s", LOG_RUNNER, fmt % args)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    return self._send(200, b'{"status": "ok"}', "application/json")
                if path == "/favicon.ico":
                    return self._send(204, b"", "image/x-icon")
                if not credentials_match(self.headers.get("Authorization"), dashboard._user, dashboard._password):
                    return self._send(
                        401,
                        b'{"error": "authentication required"}',
                        "application/json",
                        {"WWW-Authenticate": 'Basic realm="TELEGLAS dashboard", charset="UTF-8"'},
                    )
                if path in dashboard._files:
                    body, kind = dashboard._files[path]
                    return self._send(200, body, kind)
                payload = dashboard.api(path)
                if payload is None:
                    return self._send(404, b'{"error": "not found"}', "application/json")
                try:
                    body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
                except ValueError:  # a NaN would break the page's JSON.parse: say so instead
                    log.error("%s dashboard %s has a value JSON cannot carry", LOG_RUNNER, path)
                    return self._send(500, b'{"error": "internal"}', "application/json")
                self._send(200, body, "application/json; charset=utf-8")

            def _send(self, status: int, body: bytes, kind: str, extra: dict[str, str] | None = None) -> None:
                write_response(self, status, body, kind, {**SECURITY_HEADERS, **(extra or {})})

        return Handler

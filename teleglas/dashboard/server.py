"""The dashboard's HTTP side: one read-only page (static files shipped in the package) and its JSON API, behind
the same basic auth as Flower. One refresher thread reads Redis; every request is served from its latest
results, so the page polling each second costs nothing per browser.

    GET /                 the page            GET /api/status     live: stream, queues, workers, sends
    GET /api/alerts       last 50 sent        GET /api/market     liquidations, timeline, largest orders
    GET /api/analytics    alert analytics     GET /healthz        200 while serving (no auth, no data)
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import redis

from teleglas.alert_history import AlertHistory
from teleglas.dashboard.analytics_view import alert_feed, analytics_report
from teleglas.dashboard.history_mirror import HistoryMirror
from teleglas.dashboard.live import LiveStatus
from teleglas.dashboard.market_view import MarketView
from teleglas.defines import LOG_RUNNER

log = logging.getLogger(__name__)

STATIC_FILES = {"/": ("index.html", "text/html; charset=utf-8"), "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
                "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8")}
# Nothing but our own files may run or load: an alert text or symbol that slipped through as markup still
# could not execute.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MARKET_EVERY_S = 2.0
ANALYTICS_EVERY_S = 5.0


class Refresher:
    """Reads Redis on one thread: live status and the history every second, the market every 2 s, the
    analytics every 5 s. A failed read keeps the last good figures and says so once."""

    def __init__(self, live: LiveStatus, mirror: HistoryMirror, market: MarketView, history: AlertHistory):
        self.live, self.mirror, self.market, self.history = live, mirror, market, history
        self.results: dict[str, Any] = {"alerts": {"alerts": []}, "market": {}, "analytics": {}}
        self._due = {"market": 0.0, "analytics": 0.0}
        self._failing = False
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="dashboard-refresh", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.tick(time.time())
            self._stop.wait(max(0.05, self.live.interval_s - (time.monotonic() - started)))

    def tick(self, now: float) -> None:
        self.live.refresh()
        try:
            self.mirror.refresh(now)
            alerts, digests, sent = self.mirror.view()
            self.results["alerts"] = {"at": now, "alerts": alert_feed(alerts, digests, sent)}
            if now >= self._due["market"]:
                self.results["market"] = {"at": now, **self.market.read(now)}
                self._due["market"] = now + MARKET_EVERY_S
            if now >= self._due["analytics"]:
                self.results["analytics"] = {"at": now, **analytics_report(self.history, alerts, digests, sent, now)}
                self._due["analytics"] = now + ANALYTICS_EVERY_S
            self._failing = False
        except (redis.RedisError, OSError) as exc:
            if not self._failing:
                log.warning("%s dashboard history/market not read: %s (showing the last figures)", LOG_RUNNER, type(exc).__name__)
            self._failing = True


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
    def __init__(self, port: int, user: str, password: str, refresher: Refresher, host: str = "0.0.0.0"):
        self.refresher = refresher
        self._user, self._password = user, password
        self._files = {path: (_static(name), kind) for path, (name, kind) in STATIC_FILES.items()}
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
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
                    return self._send(401, b'{"error": "authentication required"}', "application/json",
                                      {"WWW-Authenticate": 'Basic realm="TELEGLAS dashboard", charset="UTF-8"'})
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
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler

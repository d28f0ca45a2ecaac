"""The one owner of a stream socket: connect, subscribe, heartbeat, read, reconnect. CoinGlass's by default;
an exchange's when the config carries that venue's Wire (teleglas.source.wire).

It hands every received text frame to a callback and knows nothing of events or Celery. The read thread
blocks in recv(); a heartbeat thread sends the venue's ping and, when no pong comes back in time (or, for a
venue whose server pings, when nothing at all arrived for its silence timeout), shuts the socket down so the
read thread falls out and the loop reconnects.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import websocket

from teleglas.defines import LOG_WS
from teleglas.ops.redaction import redact, register_secrets
from teleglas.source.backoff import Backoff
from teleglas.source.coinglass.ws_protocol import coinglass_wire
from teleglas.source.wire import Wire

log = logging.getLogger(__name__)

# The docs say nothing of how a missing or wrong key is refused (docs/protocols.md: ASSUMED); a handshake refused
# with 401 or 403 is taken for it.
AUTH_REFUSED = {401, 403}


@dataclass(frozen=True)
class StreamConfig:
    base_url: str
    api_key: str
    channels: tuple[str, ...]
    ping_interval_s: float = 20.0
    pong_timeout_s: float = 10.0
    connect_timeout_s: float = 30.0
    reconnect_delay_s: float = 2.0
    max_reconnect_delay_s: float = 60.0
    healthy_reset_s: float = 60.0
    close_timeout_s: float = 10.0
    wire: Wire | None = None  # None: CoinGlass at base_url with api_key


FrameHandler = Callable[[str, int], None]  # (text, received_ms)


def _text_of(opcode: int, data: bytes | str) -> str:
    """A text frame must be UTF-8 (checked here, in C: websocket-client's own check is pure Python and cost the
    listener more than parsing); a binary frame is read as text with its bad bytes replaced."""
    if isinstance(data, str):
        return data
    return data.decode("utf-8") if opcode == websocket.ABNF.OPCODE_TEXT else data.decode("utf-8", errors="replace")


class StreamConnection:
    def __init__(self, config: StreamConfig, on_frame: FrameHandler, on_pong: Callable[[float], None] | None = None):
        register_secrets(config.api_key)
        self.config = config
        self.wire = config.wire or coinglass_wire(config.base_url, config.api_key, config.ping_interval_s)
        self.channels = tuple(config.channels)
        self.backoff = Backoff(
            config.reconnect_delay_s, config.max_reconnect_delay_s, healthy_reset_s=config.healthy_reset_s
        )
        self._on_frame = on_frame
        self._on_pong = on_pong
        self._stop = threading.Event()
        self._ws: websocket.WebSocket | None = None
        self._ws_lock = threading.Lock()
        self.connected = False
        self.connected_since = 0.0
        self.reconnects = 0
        self.connects = 0
        self._stopping = False
        self.auth_failures = 0
        self.last_pong_time = 0.0  # the last sign of life the venue's heartbeat gives: a pong, or a server ping
        self._last_ping_time = 0.0
        self._last_frame_time = 0.0  # the last text frame: what the silence watchdog watches
        self._reconnect_now = False  # a planned reconnect (age limit, closing notice): no backoff wait

    def stop(self, drain_s: float = 0.0) -> None:
        """Ends run(): callable from a signal handler or another thread. With `drain_s`, unsubscribes first and
        keeps reading that long, so the frames CoinGlass sent before it saw the unsubscribe are still handled:
        a restart loses nothing that reached the socket."""
        with self._ws_lock:
            ws = self._ws if self.connected and not self._stopping else None
        self._stopping = True
        if drain_s > 0 and ws is not None:
            try:
                for message in self.wire.unsubscribe(self.channels):
                    ws.send(message)
                timer = threading.Timer(drain_s, self._finish_stop)
                timer.daemon = True
                timer.start()
                log.info("%s unsubscribed; reading what is in flight for %.1f s before closing", LOG_WS, drain_s)
                return
            except (OSError, websocket.WebSocketException):
                pass
        self._finish_stop()

    def _finish_stop(self) -> None:
        self._stop.set()
        self._shutdown_socket()

    def change_channels(self, channels: tuple[str, ...]) -> None:
        """Unsubscribes what is no longer wanted and subscribes what is new, on the live connection; the
        full set is what every reconnect subscribes to."""
        removed = [c for c in self.channels if c not in channels]
        added = [c for c in channels if c not in self.channels]
        self.channels = tuple(channels)
        with self._ws_lock:
            ws = self._ws if self.connected else None
        if ws is None:
            return
        for message in (self.wire.unsubscribe(tuple(removed)) if removed else []) + (
            self.wire.subscribe(tuple(added)) if added else []
        ):
            ws.send(message)
        log.info("%s channels now %s", LOG_WS, ", ".join(self.channels))

    def run(self) -> None:
        while not self._stop.is_set():
            ws = self._connect()
            if ws is None:
                self._wait_before_retry()
                continue
            try:
                self._serve(ws)
            finally:
                self.connected = False
                self._close(ws)
            if self._stopping:
                self._stop.wait()
            if not self._stop.is_set():
                self.reconnects += 1
                self.backoff.connection_ended(time.time() - self.connected_since)
                if self._reconnect_now:
                    self._reconnect_now = False
                    continue
                self._wait_before_retry()

    def _connect(self) -> websocket.WebSocket | None:
        url = self.wire.url
        try:
            ws = websocket.create_connection(
                url, timeout=self.config.connect_timeout_s, enable_multithread=True, skip_utf8_validation=True
            )
        except websocket.WebSocketBadStatusException as exc:
            if exc.status_code in AUTH_REFUSED:
                self.auth_failures += 1
                self.backoff.jump_to_cap()
                log.error(
                    "%s %s refused the API key (HTTP %s): %s",
                    LOG_WS,
                    "CoinGlass" if self.wire.source == "coinglass" else self.wire.source,
                    exc.status_code,
                    self.wire.auth_hint or "this stream needs no key: check its URL",
                )
            else:
                log.error("%s %s handshake refused with HTTP %s", LOG_WS, self.wire.source, exc.status_code)
            return None
        except (OSError, websocket.WebSocketException) as exc:
            log.warning("%s connect to %s failed: %s", LOG_WS, redact(url), redact(f"{type(exc).__name__}: {exc}"))
            return None
        ws.settimeout(None)  # reads block; the heartbeat thread decides when the connection is dead
        with self._ws_lock:
            self._ws = ws
        if self._stop.is_set():  # stop() arrived while connecting
            return ws
        for message in self.wire.subscribe(self.channels):
            ws.send(message)
        self.connected = True
        self.connected_since = time.time()
        self.connects += 1
        log.info(
            "%s %s connected to %s, subscribed to %s", LOG_WS, self.wire.source, redact(url), ", ".join(self.channels)
        )
        return ws

    def _serve(self, ws: websocket.WebSocket) -> None:
        self._last_ping_time = 0.0
        self.last_pong_time = self._last_frame_time = time.time()
        heartbeat = threading.Thread(target=self._heartbeat, args=(ws,), name="ws-heartbeat", daemon=True)
        heartbeat.start()
        try:
            while not self._stop.is_set():
                try:
                    opcode, data = ws.recv_data(control_frame=True)  # server pings are answered, and a sign of life
                except websocket.WebSocketConnectionClosedException:
                    if not self._stop.is_set():
                        log.warning("%s connection closed by server", LOG_WS)
                    return
                except (OSError, websocket.WebSocketException) as exc:
                    if not self._stop.is_set():
                        log.warning("%s connection lost: %s", LOG_WS, redact(f"{type(exc).__name__}: {exc}"))
                    return
                received = time.time()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    log.warning("%s server closed the connection", LOG_WS)
                    return
                if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
                    if self.wire.ping is None:
                        self._heard(received)
                    continue
                self._last_frame_time = received
                try:
                    text = _text_of(opcode, data)
                except UnicodeDecodeError:  # RFC 6455: a text frame that is not UTF-8 fails the connection
                    if not self._stop.is_set():
                        log.warning("%s connection lost: a text frame that is not UTF-8", LOG_WS)
                    return
                if self.wire.is_pong(text):
                    self._heard(received)
                    continue
                if self.wire.closing_notice(text):
                    log.warning("%s %s will close this connection soon: reconnecting now", LOG_WS, self.wire.source)
                    self._reconnect_now = True
                    return
                self._on_frame(text, int(received * 1000))
        finally:
            heartbeat.join(timeout=1)

    def _heard(self, at: float) -> None:
        self.last_pong_time = at
        if self._on_pong:
            self._on_pong(at)

    def _heartbeat(self, ws: websocket.WebSocket) -> None:
        wire = self.wire
        interval = wire.ping_interval_s if wire.ping is not None else min(wire.silence_timeout_s or 1.0, 1.0)
        while not self._stop.wait(min(interval, 1.0) if interval > 1.0 else interval):
            if not ws.connected:
                return
            now = time.time()
            if wire.max_age_s is not None and now - self.connected_since >= wire.max_age_s:
                log.info("%s %s connection %.0f s old: planned reconnect", LOG_WS, wire.source, wire.max_age_s)
                self._reconnect_now = True
                self._shutdown_socket()
                return
            if wire.ping is None:
                if wire.silence_timeout_s is not None and now - self._last_frame_time > wire.silence_timeout_s:
                    log.warning(
                        "%s %s sent no data for %.0f s: connection declared dead (a subscription on the wrong URL "
                        "route is acknowledged and then silent: if this repeats, check the URL)",
                        LOG_WS,
                        wire.source,
                        wire.silence_timeout_s,
                    )
                    self._shutdown_socket()
                    return
                continue
            if (
                self._last_ping_time
                and self.last_pong_time < self._last_ping_time
                and now - self._last_ping_time > self.config.pong_timeout_s
            ):
                log.warning(
                    "%s %s: no pong within %.1f s: connection declared dead",
                    LOG_WS,
                    wire.source,
                    self.config.pong_timeout_s,
                )
                self._shutdown_socket()
                return
            if now - self._last_ping_time >= interval and (
                not self._last_ping_time or self.last_pong_time >= self._last_ping_time
            ):
                try:
                    ws.send(wire.ping)
                except (OSError, websocket.WebSocketException):
                    return
                self._last_ping_time = now

    def _wait_before_retry(self) -> None:
        delay = self.backoff.next_delay()
        log.info("%s reconnecting in %.1f s (attempt %d)", LOG_WS, delay, self.backoff.attempt)
        self._stop.wait(delay)

    def _shutdown_socket(self) -> None:
        with self._ws_lock:
            ws = self._ws
        if ws is not None and ws.sock is not None:
            try:
                ws.sock.shutdown(2)
            except OSError:
                pass

    def _close(self, ws: websocket.WebSocket) -> None:
        with self._ws_lock:
            self._ws = None
        try:
            ws.close(timeout=self.config.close_timeout_s)
        except (OSError, websocket.WebSocketException):
            ws.shutdown()

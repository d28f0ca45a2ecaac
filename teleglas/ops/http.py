"""The one HTTP server of every TELEGLAS endpoint (the listener's /health and /metrics, the manual bot's /health,
the dashboard): a ThreadingHTTPServer that a client cannot exhaust by opening sockets and sending nothing.

The listener's endpoint lives in the process that feeds every alert, so nothing a client does may grow it
without bound, or keep /health from answering:
- a connection costs a thread only once it has sent something; until then it waits in the accept loop's
  selector (one file descriptor), at most `max_waiting` of them (the oldest is closed for a newcomer), none
  longer than `timeout_s`;
- at most `max_active` requests are handled at once; connections that spoke while all are busy wait their turn
  (at most `max_waiting` of them too);
- a request gets `timeout_s` in all, every read and write included: one that trickles or stalls is cut off and
  frees its thread.
One request per connection (HTTP/1.0, the handlers' default): no idle keep-alive holds a thread either.
"""

from __future__ import annotations

import logging
import math
import selectors
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import ThreadingMixIn
from typing import Any

log = logging.getLogger(__name__)

WARN_EVERY_S = 60.0


class BoundedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stopping never waits for a client
    request_queue_size = 128  # the kernel's accept backlog: a burst of connections is taken, not refused

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        log_prefix: str,
        max_active: int = 8,
        max_waiting: int = 128,
        timeout_s: float = 10.0,
    ):
        super().__init__(address, handler)
        self.log_prefix = log_prefix
        self.max_active = max_active
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self.evicted = 0  # connections closed unanswered because too many were waiting
        self._waiting: dict[socket.socket, tuple[Any, float]] = {}  # silent so far, oldest first (accept thread)
        self._ready: deque[tuple[socket.socket, Any]] = deque()  # spoke while every handler was busy
        self._handling: dict[socket.socket, float] = {}  # being handled, since when (inf: already cut off)
        self._lock = threading.Lock()  # _ready and _handling, shared by the accept thread and the handlers
        self._selector: selectors.BaseSelector | None = None
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._warned_at = 0.0

    # -- the accept loop (one thread) -----------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accepts connections and watches the silent ones in one selector until shutdown()."""
        self._stopped.clear()
        self.socket.setblocking(False)  # accept until the backlog is empty, never wait in accept()
        try:
            with selectors.DefaultSelector() as selector:
                self._selector = selector
                selector.register(self.socket, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    for key, _ in selector.select(min(poll_interval, self.timeout_s)):
                        if key.fileobj is self.socket:
                            self._accept()
                        else:
                            self._spoke(key.fileobj)
                    self._expire(time.monotonic())
                for request in list(self._waiting):
                    self._close_waiting(request)
        finally:
            self._selector = None
            self._stopped.set()

    def shutdown(self) -> None:
        self._stopping.set()
        self._stopped.wait()

    def _accept(self) -> None:
        """Every connection the kernel holds: a burst is taken at once, so a newcomer never waits behind it."""
        while True:
            try:
                request, client_address = self.get_request()
            except OSError:  # BlockingIOError: none left
                return
            self.process_request(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:  # a TCP server's request: a socket
        """A new connection waits, without a thread, until it sends something."""
        while len(self._waiting) >= self.max_waiting:
            self._close_waiting(next(iter(self._waiting)))
            self._evicted()
        self._waiting[request] = (client_address, time.monotonic())
        self._watching().register(request, selectors.EVENT_READ)

    def _watching(self) -> selectors.BaseSelector:
        if self._selector is None:
            raise RuntimeError("the HTTP server is not serving")
        return self._selector

    def _spoke(self, request: Any) -> None:  # the socket the selector reported
        client_address, _ = self._waiting.pop(request)
        self._watching().unregister(request)
        request.settimeout(self.timeout_s)
        with self._lock:
            if len(self._handling) < self.max_active:
                self._handling[request] = time.monotonic()
            else:
                if len(self._ready) >= self.max_waiting:
                    self.shutdown_request(self._ready.popleft()[0])
                    self._evicted()
                self._ready.append((request, client_address))
                return
        ThreadingMixIn.process_request(self, request, client_address)

    def _expire(self, now: float) -> None:
        """Closes connections silent for `timeout_s`; cuts off requests handled for longer than that."""
        silent = []
        for request, (_, accepted_at) in self._waiting.items():
            if now - accepted_at < self.timeout_s:
                break  # oldest first: the rest are younger
            silent.append(request)
        for request in silent:
            self._close_waiting(request)
        with self._lock:
            overdue = [r for r, since in self._handling.items() if now - since >= self.timeout_s]
            for request in overdue:
                self._handling[request] = math.inf
        for request in overdue:  # its handler's next read or write fails, and its thread goes on
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _close_waiting(self, request: socket.socket) -> None:
        del self._waiting[request]
        self._watching().unregister(request)
        self.shutdown_request(request)

    def _evicted(self) -> None:
        self.evicted += 1
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "%s HTTP :%d: more than %d connections waiting: closing the oldest (%d so far)",
                self.log_prefix,
                self.server_address[1],
                self.max_waiting,
                self.evicted,
            )

    # -- the handler threads ----------------------------------------------------------------------------

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Handles one request, then the next connection that spoke while every handler was busy, if any."""
        while True:
            super().process_request_thread(request, client_address)
            with self._lock:
                del self._handling[request]
                if not self._ready:
                    return
                request, client_address = self._ready.popleft()
                self._handling[request] = time.monotonic()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away or was cut off: one debug line, not socketserver's traceback on stderr."""
        log.debug("%s HTTP request from %s ended early", self.log_prefix, client_address, exc_info=True)

    def server_close(self) -> None:
        with self._lock:
            ready, self._ready = list(self._ready), deque()
        for request, _ in ready:
            self.shutdown_request(request)
        super().server_close()

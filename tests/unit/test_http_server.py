"""teleglas.ops.http: clients that connect and say nothing, or stall half-way, cannot exhaust the server or keep
it from answering; real sockets on loopback."""

import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from teleglas.ops.health import HealthServer
from teleglas.ops.http import BoundedHTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(**limits) -> BoundedHTTPServer:
        server = BoundedHTTPServer(("127.0.0.1", 0), Hello, log_prefix="[TEST]", **limits)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def get(server, timeout_s=1.0) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/", timeout=timeout_s) as response:
        return response.read()


def silent(server, count: int) -> list[socket.socket]:
    return [socket.create_connection(server.server_address, timeout=5) for _ in range(count)]


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_silent_connections_cost_no_thread_and_a_request_is_still_answered_at_once(serve):
    server = serve(max_waiting=128)
    threads_before = threading.active_count()
    idle = silent(server, 300)
    try:
        started = time.monotonic()
        assert get(server) == b"hello"
        assert time.monotonic() - started < 1.0
        assert threading.active_count() - threads_before <= 1  # the idle ones hold no thread
        assert server.evicted >= 300 - 128  # beyond max_waiting the oldest were closed
        assert closed_by_server(idle[0]) and len(server._waiting) <= 128
    finally:
        for sock in idle:
            sock.close()


def test_a_connection_silent_for_the_timeout_is_closed(serve):
    server = serve(timeout_s=0.3)
    (sock,) = silent(server, 1)
    with sock:
        sock.settimeout(3)
        started = time.monotonic()
        assert closed_by_server(sock)
        assert 0.2 < time.monotonic() - started < 2.0
    assert server._waiting == {}


def test_a_stalled_request_frees_its_handler_after_the_timeout_and_the_next_waits_its_turn(serve):
    server = serve(max_active=1, timeout_s=0.5)
    stalled = socket.create_connection(server.server_address, timeout=5)
    stalled.sendall(b"GET / HTTP/1.0\r\n")  # and never the blank line that ends the headers
    time.sleep(0.1)
    started = time.monotonic()
    assert get(server, timeout_s=5) == b"hello"  # answered once the stalled one timed out
    assert 0.3 < time.monotonic() - started < 2.0
    assert closed_by_server(stalled)
    stalled.close()


def test_a_request_that_trickles_is_cut_off_after_the_timeout_in_all(serve):
    """A byte every 0.2 s keeps every read inside its timeout: the request's own deadline still ends it."""
    server = serve(max_active=1, timeout_s=0.6)
    trickler = socket.create_connection(server.server_address, timeout=5)
    started = time.monotonic()
    try:
        for byte in b"GET /" + b"x" * 50:
            trickler.sendall(bytes([byte]))
            time.sleep(0.2)
    except OSError:
        pass  # cut off: the server shut the connection down
    assert time.monotonic() - started < 3.0
    assert closed_by_server(trickler)
    trickler.close()
    assert get(server, timeout_s=2) == b"hello"  # its thread is free again


def test_handler_threads_never_exceed_max_active(serve):
    server = serve(max_active=2, timeout_s=0.5)
    threads_before = threading.active_count()
    slow = [socket.create_connection(server.server_address, timeout=5) for _ in range(10)]
    for sock in slow:
        sock.sendall(b"GET / HTTP/1.0\r\n")
    time.sleep(0.3)
    assert threading.active_count() - threads_before <= 2
    for sock in slow:
        sock.close()
    assert get(server, timeout_s=10) == b"hello"


def test_health_server_listens_on_this_machine_by_default():
    health = HealthServer(0, lambda: (200, {"status": "ok"}))
    health.start()
    try:
        assert health._server.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{health.port}/health", timeout=2) as response:
            assert response.status == 200
    finally:
        health.stop()

"""A TCP proxy in front of a real redis-server that drops the connection when it sees a chosen command, as a
network blip, a Redis restart or a failover would: the client gets a ConnectionError for exactly that call.

Rules match a command by name and a piece of it: a Lua script by a piece of the first key it names (scripts
name many keys), any other command by a piece of any argument; each rule fires `times` times. redis-py retries a
failed call three times on its own, so a rule that must reach the caller fires four times or more.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass


@dataclass
class Rule:
    command: bytes  # upper case, e.g. b"EVALSHA", b"SET"
    part: bytes  # in a Lua script's first key, or in any argument of another command
    times: int
    hits: int = 0


def _read_command(buffer: bytearray) -> tuple[list[bytes], int] | None:
    """One RESP array of bulk strings from the start of `buffer`: (arguments, bytes used), or None if incomplete."""
    if not buffer.startswith(b"*"):
        end = buffer.find(b"\r\n")  # an inline command (redis-cli style): one line
        return (bytes(buffer[:end]).split(), end + 2) if end >= 0 else None
    end = buffer.find(b"\r\n")
    if end < 0:
        return None
    count, position, args = int(buffer[1:end]), end + 2, []
    for _ in range(count):
        end = buffer.find(b"\r\n", position)
        if end < 0:
            return None
        length = int(buffer[position + 1 : end])
        start = end + 2
        if len(buffer) < start + length + 2:
            return None
        args.append(bytes(buffer[start : start + length]))
        position = start + length + 2
    return args, position


def _script_key(args: list[bytes]) -> bytes:
    """EVAL(SHA) script numkeys key…: the first key, or nothing for a script without keys."""
    return args[3] if len(args) > 3 and args[2] != b"0" else b""


class RedisFaultProxy:
    def __init__(self, redis_port: int):
        self.redis_port = redis_port
        self.rules: list[Rule] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name="redis-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def fail(self, command: bytes, part: bytes, times: int = 5) -> Rule:
        rule = Rule(command.upper(), part, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def close(self) -> None:
        self._closed = True
        self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.redis_port))
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._replies, args=(upstream, client), daemon=True).start()

    def _matches(self, args: list[bytes]) -> bool:
        name = args[0].upper() if args else b""
        searched = [_script_key(args)] if name in (b"EVAL", b"EVALSHA") else args[1:]
        with self._lock:
            for rule in self.rules:
                if rule.hits < rule.times and name == rule.command and any(rule.part in arg for arg in searched):
                    rule.hits += 1
                    return True
        return False

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        buffer = bytearray()
        try:
            while data := client.recv(65536):
                buffer += data
                while (found := _read_command(buffer)) is not None:
                    args, used = found
                    if self._matches(args):
                        raise ConnectionAbortedError("dropped by rule")
                    upstream.sendall(bytes(buffer[:used]))
                    del buffer[:used]
        except OSError:
            pass
        finally:
            _close(client, upstream)

    @staticmethod
    def _replies(upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

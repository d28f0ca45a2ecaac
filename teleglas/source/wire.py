"""What one venue's WebSocket protocol asks of the connection (teleglas.source.connection): where to
connect, how to subscribe and unsubscribe, how to keep the line alive and how to tell it died. Each venue
module builds one; the connection owns the socket and stays the same for all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Messages = Callable[[tuple[str, ...]], list[str]]  # channels → the text frames to send


def _never(_text: str) -> bool:
    return False


@dataclass(frozen=True)
class Wire:
    source: str  # a SOURCES name, for log lines
    url: str  # may hold a secret (CoinGlass's key): log it through redact()
    subscribe: Messages
    unsubscribe: Messages
    # A text heartbeat sent every ping_interval_s and answered by a frame is_pong recognises; None when the server
    # pings (protocol ping frames, which websocket-client answers itself).
    ping: str | None
    is_pong: Callable[[str], bool] = _never
    ping_interval_s: float = 20.0
    # Without a pong to wait for, a connection that received no frame at all (data or ping) this long is dead.
    silence_timeout_s: float | None = None
    # A server that cuts connections at a fixed age: reconnect on our terms a little before.
    max_age_s: float | None = None
    # A frame announcing that the server will close this connection soon: reconnect now.
    closing_notice: Callable[[str], bool] = _never
    auth_hint: str = ""  # what to check when the handshake is refused with 401/403

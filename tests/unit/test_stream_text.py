"""The connection reads text frames as UTF-8 itself (websocket-client's check is skipped: it is pure Python): a text
frame that is not UTF-8 still fails the connection, as RFC 6455 asks and as websocket-client did, and a binary
frame is still read with its bad bytes replaced."""

import logging

import websocket

from teleglas.source.connection import StreamConfig, StreamConnection

TEXT, BINARY = websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY


class FakeSocket:
    """Hands out the given (opcode, bytes) frames, then reports the connection closed."""

    def __init__(self, frames):
        self.frames = list(frames)
        self.connected = True

    def recv_data(self, control_frame=False):
        if not self.frames:
            raise websocket.WebSocketConnectionClosedException("closed")
        return self.frames.pop(0)

    def send(self, _text):
        pass


def test_a_text_frame_that_is_not_utf8_fails_the_connection_and_nothing_after_it_is_read(caplog):
    received = []
    config = StreamConfig("ws://127.0.0.1:1", "key", ("liquidationOrders",))
    connection = StreamConnection(config, lambda text, _received_ms: received.append(text))
    socket = FakeSocket([(TEXT, "é".encode()), (BINARY, b"\xffa"), (TEXT, b"\xff\xfe"), (TEXT, b"never read")])
    caplog.set_level(logging.WARNING)
    connection._serve(socket)
    assert received == ["é", "\ufffda"] and socket.frames == [(TEXT, b"never read")]
    assert "[WS_CLIENT] connection lost: a text frame that is not UTF-8" in caplog.messages

"""The listener's socket handling against the CoinGlass emulator over real WebSockets."""

import json
import logging
import re
import threading
import time
from pathlib import Path

import pytest

from teleglas.devstack.emulators.coinglass import CoinGlassEmulator
from teleglas.devstack.emulators.scenario import Step, steps_from_frames
from teleglas.devstack.local_stack import wait_until
from teleglas.source.coinglass.ws_protocol import parse_frame
from teleglas.source.connection import StreamConfig, StreamConnection
from tests.support.messages import LIQ_ITEM

KEY = "ws-test-key-0123456789abcdef"
CHANNELS = ("liquidationOrders", "futures_trades@Binance_BTCUSDT@10000")
LIQ = LIQ_ITEM


def liquidations(n, start=0):
    return [
        {"channel": "liquidationOrders", "data": [{**LIQ, "time": LIQ["time"] + i}]} for i in range(start, start + n)
    ]


class Run:
    """A StreamConnection on its own thread, collecting the frames it hands over."""

    def __init__(self, emulator, key=KEY, **config):
        self.frames: list[str] = []
        settings = dict(
            ping_interval_s=20.0,
            pong_timeout_s=10.0,
            reconnect_delay_s=0.1,
            max_reconnect_delay_s=0.5,
            connect_timeout_s=5,
        )
        settings.update(config)
        self.connection = StreamConnection(
            StreamConfig(emulator.url, key, CHANNELS, **settings), lambda text, ms: self.frames.append(text)
        )
        self.thread = threading.Thread(target=self.connection.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        started = time.monotonic()
        self.connection.stop()
        self.thread.join(15)
        assert not self.thread.is_alive() and time.monotonic() - started < 15


@pytest.fixture
def emulator_for():
    started = []

    def factory(steps, **kwargs):
        emu = CoinGlassEmulator(steps, {KEY}, **kwargs).start()
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()


def test_subscribes_with_the_documented_message_and_receives_only_its_channels(emulator_for):
    steps = steps_from_frames(
        liquidations(3) + [{"channel": "futures_trades@OKX_ETHUSDT@1", "data": [LIQ]}] + liquidations(1, start=3)
    )
    emulator = emulator_for(steps)
    with Run(emulator) as run:
        wait_until(lambda: emulator.replay_done.is_set() and len(run.frames) == 4, 10, what="4 frames")
    assert (
        emulator.client_messages[0]
        == '{"method": "subscribe", "channels": ["liquidationOrders", "futures_trades@Binance_BTCUSDT@10000"]}'
    )
    assert [parse_frame(f).events[0].time_ms for f in run.frames] == [LIQ["time"] + i for i in range(4)]


DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs" / "coinglass"


def test_the_doc_pages_example_frames_come_through_as_their_events(emulator_for):
    """The emulator replays each WebSocket page's own example frame (English and Chinese field names)."""
    pages = ("ws_liquidation_orders.json", "ws_futures_trades.json", "ws_futures_trades_zh.json")
    examples = [json.loads((DOCS / name).read_text(encoding="utf-8"))["data_frame_example"] for name in pages]
    emulator = emulator_for(steps_from_frames(examples))
    with Run(emulator) as run:
        wait_until(lambda: emulator.replay_done.is_set() and len(run.frames) == 3, 10, what="the 3 example frames")
    events = [parse_frame(f).events for f in run.frames]
    assert [(e.kind, e.exchange, e.symbol, e.side_name, e.usd, e.time_ms) for (e,) in events] == [
        ("liquidation", "Binance", "BTCUSDT", "SHORT", 3858.184, 1725416318379),
        ("trade", "Binance", "BTCUSDT", "BUY", 3858.184, 1725416318379),
        ("trade", "Binance", "BTCUSDT", "BUY", 3858.184, 1725416318379),
    ]


def test_text_heartbeat_gets_pong_and_is_not_a_frame(emulator_for):
    emulator = emulator_for(steps_from_frames(liquidations(1)))
    with Run(emulator, ping_interval_s=0.2) as run:
        wait_until(lambda: emulator.client_messages.count("ping") >= 3, 10, what="3 pings")
        assert run.connection.last_pong_time > 0 and run.connection.connected
    assert "pong" not in run.frames


def test_wrong_key_is_a_clear_error_without_the_key(emulator_for, caplog):
    emulator = emulator_for([])
    wrong = "wrong-key-abcdef0123456789"
    with caplog.at_level(logging.INFO), Run(emulator, key=wrong):
        wait_until(lambda: emulator.handshakes_refused >= 2, 10, what="two refused handshakes")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("CoinGlass refused the API key (HTTP 401)" in m and "COINGLASS_API_KEY_WS" in m for m in errors)
    assert all(wrong not in r.getMessage() for r in caplog.records)
    # Refused keys wait at the cap (0.5 s here, jittered down by at most 25 %), not at the 0.1 s base.
    waits = [
        float(m.group(1)) for r in caplog.records if (m := re.search(r"reconnecting in ([\d.]+) s", r.getMessage()))
    ]
    assert waits and all(0.3 <= w <= 0.5 for w in waits), waits


def test_dropped_connection_reconnects_and_resubscribes(emulator_for):
    steps = (
        steps_from_frames(liquidations(2), pause_s=0.05)
        + [Step("drop"), Step("pause", seconds=1.5)]
        + steps_from_frames(liquidations(2, start=2))
    )
    emulator = emulator_for(steps)
    with Run(emulator) as run:
        wait_until(lambda: emulator.replay_done.is_set(), 15, what="the replay")
        wait_until(lambda: len(run.frames) == 4, 5, what="frames after the reconnect")
        assert run.connection.reconnects == 1
    subscribes = [
        m for m in emulator.client_messages if json.loads(m if m != "ping" else "{}").get("method") == "subscribe"
    ]
    assert len(subscribes) == 2


def test_silent_server_is_declared_dead_and_replaced(emulator_for, caplog):
    emulator = emulator_for(steps_from_frames(liquidations(1)))
    emulator.answer_pings = False
    with caplog.at_level(logging.INFO), Run(emulator, ping_interval_s=0.2, pong_timeout_s=0.5) as run:
        wait_until(lambda: run.connection.reconnects >= 1, 10, what="a reconnect after missing pongs")
    assert any("no pong within 0.5 s: connection declared dead" in r.getMessage() for r in caplog.records)

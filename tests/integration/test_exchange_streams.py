"""Each exchange's stream over real WebSockets against its emulator: the documented subscribe message, the venue's
heartbeat, events through the venue's parser, and a dropped connection opened again and subscribed again."""

import dataclasses
import json
import threading
from pathlib import Path

import pytest

from teleglas.devstack.emulators.binance import BinanceEmulator
from teleglas.devstack.emulators.bybit import BybitEmulator
from teleglas.devstack.emulators.okx import OkxEmulator
from teleglas.devstack.emulators.scenario import Step, steps_from_frames
from teleglas.devstack.local_stack import wait_until
from teleglas.source.connection import StreamConfig, StreamConnection
from teleglas.source.exchanges import binance, bybit, okx
from teleglas.source.listener.frame_router import FrameRouter

T = 1725478245120
DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs"


class Collector:
    def __init__(self):
        self.payloads = []

    def submit(self, events, received_ms, source):
        self.payloads += [event.to_payload() for event in events]


class Run:
    """One venue's StreamConnection on its own thread, its events collected through the venue's parser."""

    def __init__(self, wire, channels, parse, source):
        self.collector = Collector()
        self.router = FrameRouter(self.collector, 1 << 20, channels, parse, source)
        config = StreamConfig(wire.url, "", channels, reconnect_delay_s=0.1, max_reconnect_delay_s=0.5, wire=wire)
        self.connection = StreamConnection(config, self.router)
        self.thread = threading.Thread(target=self.connection.run, daemon=True)

    def times(self):
        return [p["time_ms"] - T for p in self.collector.payloads]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.connection.stop()
        self.thread.join(15)
        assert not self.thread.is_alive()


@pytest.fixture
def started():
    emulators = []

    def start(emulator):
        emulators.append(emulator.start())
        return emulator

    yield start
    for emulator in emulators:
        emulator.stop()


def dropped_between(first, second):
    """Frames, the server dropping every connection, then more frames once the client is back."""
    return steps_from_frames(first, 0.05) + [Step("drop"), Step("pause", seconds=1.5)] + steps_from_frames(second, 0.05)


# -- Binance -----------------------------------------------------------------------------------------------


def force_order(i, symbol="BTCUSDT"):
    order = {"s": symbol, "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "1", "p": "56000", "ap": "56000"}
    return {"e": "forceOrder", "E": T + i, "o": {**order, "X": "FILLED", "l": "1", "z": "1", "T": T + i}}


def test_binance_subscribes_answers_server_pings_and_resubscribes_after_a_drop(started):
    emulator = started(
        BinanceEmulator(
            dropped_between([force_order(0), force_order(1)], [force_order(2)]), start_delay_s=0, ping_interval_s=0.2
        )
    )
    channels = binance.channels(("BTCUSDT",))
    wire = binance.wire(emulator.url("/market/ws"), silence_timeout_s=30)
    with Run(wire, channels, binance.parse_frame, "binance") as run:
        wait_until(lambda: run.times() == [0, 1, 2], 15, what="3 liquidations across the drop")
        wait_until(lambda: run.connection.last_pong_time > run.connection.connected_since, 5, what="a server ping")
    subscribes = [json.loads(m) for m in emulator.client_messages if "SUBSCRIBE" in m]
    assert [s["params"] for s in subscribes] == [["!forceOrder@arr", "btcusdt@aggTrade"]] * 2  # again after the drop
    assert subscribes[1]["id"] > subscribes[0]["id"] and emulator.connections == 2
    assert emulator.pings_sent >= 1 and run.connection.reconnects == 1


def test_binance_unrouted_url_is_silent_and_the_watchdog_reconnects(started):
    """Since 2026-04-23 `/ws` acknowledges forceOrder and aggTrade and then sends nothing: only the data-silence
    watchdog notices."""
    emulator = started(BinanceEmulator([Step("pause", seconds=0.1)] + steps_from_frames([force_order(0)])))
    wire = binance.wire(emulator.url("/ws"), silence_timeout_s=1.0)
    with Run(wire, binance.channels(()), binance.parse_frame, "binance") as run:
        wait_until(
            lambda: emulator.connections >= 2 and run.router.counters.frames >= 2,
            10,
            what="a reconnect after a second of silence, and its acknowledgement read",
        )
        assert run.collector.payloads == []  # the acks came, nothing else


def test_binance_combined_stream_and_the_planned_reconnect(started):
    emulator = started(BinanceEmulator(steps_from_frames([force_order(0)]), start_delay_s=0))
    wire = dataclasses.replace(
        binance.wire(emulator.url("/market/stream"), silence_timeout_s=30), max_age_s=1.0
    )  # the 24 h cut, shortened
    with Run(wire, binance.channels(()), binance.parse_frame, "binance") as run:
        wait_until(lambda: run.times() == [0], 10, what="the wrapped liquidation")
        wait_until(lambda: emulator.connections >= 2, 10, what="the planned reconnect")
        assert run.connection.backoff.attempt == 0  # no backoff wait: it was our decision


# -- Bybit -------------------------------------------------------------------------------------------------


def bybit_liquidation(i):
    item = {"T": T + i, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "56000"}
    return {"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": T + i, "data": [item]}


def test_bybit_subscribes_pings_and_resubscribes_after_a_drop(started):
    emulator = started(
        BybitEmulator(dropped_between([bybit_liquidation(0)], [bybit_liquidation(1), bybit_liquidation(2)]))
    )
    wire = dataclasses.replace(bybit.wire(emulator.url()), ping_interval_s=0.2)
    with Run(wire, bybit.channels(("BTCUSDT",), ()), bybit.parse_frame, "bybit") as run:
        wait_until(lambda: run.times() == [0, 1, 2], 15, what="3 liquidations across the drop")
        wait_until(lambda: emulator.pings_answered >= 3, 10, what="3 pongs")
        assert run.connection.last_pong_time > 0 and run.router.counters.unknown_frames == 0  # pongs are no frames
    subscribes = [json.loads(m) for m in emulator.client_messages if "subscribe" in m]
    assert subscribes == [{"op": "subscribe", "args": ["allLiquidation.BTCUSDT"]}] * 2
    assert emulator.connections == 2


def test_bybit_without_pongs_the_connection_is_declared_dead(started):
    emulator = started(BybitEmulator([Step("pause", seconds=0.1)]))
    emulator.pings_answered = 0

    async def no_pong(client, text):
        if '"ping"' not in text:
            await BybitEmulator.on_message(emulator, client, text)

    emulator.on_message = no_pong  # a half-dead server: subscriptions answered, pings not
    wire = dataclasses.replace(bybit.wire(emulator.url()), ping_interval_s=0.2)
    run = Run(wire, bybit.channels(("BTCUSDT",), ()), bybit.parse_frame, "bybit")
    run.connection.config = dataclasses.replace(run.connection.config, pong_timeout_s=0.5)
    with run:
        wait_until(lambda: emulator.connections >= 2, 10, what="a reconnect after the missing pong")


# -- OKX ---------------------------------------------------------------------------------------------------


def okx_liquidation(i):
    detail = {
        "bkLoss": "0",
        "bkPx": "56000",
        "ccy": "",
        "posSide": "long",
        "side": "sell",
        "sz": "100",
        "ts": str(T + i),
    }
    data = [{"details": [detail], "instFamily": "BTC-USDT", "instId": "BTC-USDT-SWAP", "instType": "SWAP"}]
    return {"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": data}


def okx_run(emulator, **wire_changes):
    contracts = okx.Contracts(lambda: okx.fetch_instruments(f"http://127.0.0.1:{emulator.port}"), 3600, 60)
    assert contracts.load() and contracts.get("BTC-USDT-SWAP") is not None  # the emulator's REST, over real HTTP
    wire = dataclasses.replace(okx.wire(emulator.url()), **wire_changes)
    return Run(wire, okx.channels(("BTCUSDT",)), okx.OkxParser(contracts), "okx")


def test_okx_subscribes_pings_converts_contracts_and_resubscribes_after_a_drop(started):
    emulator = started(OkxEmulator(dropped_between([okx_liquidation(0)], [okx_liquidation(1)])))
    with okx_run(emulator, ping_interval_s=0.2) as run:
        wait_until(lambda: run.times() == [0, 1], 15, what="2 liquidations across the drop")
        wait_until(lambda: emulator.client_messages.count("ping") >= 3, 10, what="3 pings")
    assert run.collector.payloads[0]["usd"] == 100 * 0.01 * 56000  # 100 contracts of 0.01 BTC
    subscribes = [json.loads(m) for m in emulator.client_messages if m.startswith("{")]
    args = [{"channel": "liquidation-orders", "instType": "SWAP"}, {"channel": "trades", "instId": "BTC-USDT-SWAP"}]
    assert subscribes == [{"op": "subscribe", "args": args}] * 2 and emulator.connections == 2
    assert emulator.rest_requests == ["/api/v5/public/instruments"]


def test_okx_upgrade_notice_reconnects_at_once(started):
    notice = json.dumps(json.loads((DOCS / "okx" / "events.json").read_text())["notice_service_upgrade"])
    emulator = started(
        OkxEmulator(steps_from_frames([okx_liquidation(0), notice], 0.05) + [Step("pause", seconds=1.0)])
    )
    with okx_run(emulator) as run:
        wait_until(lambda: emulator.connections >= 2, 10, what="the reconnect the notice asks for")
        assert run.times() == [0] and run.router.counters.unknown_frames == 0 and run.connection.backoff.attempt == 0

"""Hostile and oversized frames over a real WebSocket: each counted, none crashing, no valid event lost."""

import json
import random
import threading

from teleglas.devstack.emulators.coinglass import CoinGlassEmulator
from teleglas.devstack.emulators.scenario import Step, steps_from_frames
from teleglas.devstack.local_stack import wait_until
from teleglas.source.connection import StreamConfig, StreamConnection
from teleglas.source.listener.frame_router import FrameRouter
from tests.support.messages import LIQ_ITEM

KEY = "fault-test-key-0123456789abcdef"
LIQ = LIQ_ITEM


class Collector:
    """Stands where EventPublisher stands; these tests are about the socket and the parser, not the broker."""

    def __init__(self):
        self.payloads = []

    def submit(self, events, received_ms, source="coinglass"):
        self.payloads += [event.to_payload() for event in events]


def valid(i):
    return {"channel": "liquidationOrders", "data": [{**LIQ, "time": LIQ["time"] + i}]}


def hostile(rng: random.Random) -> str:
    """One frame that must add exactly one to bad_frames, unknown_frames or rejected_items."""
    nested = {"x": {"y": [1, {"z": None}]}}
    bad_text = [None, True, [], nested, 10**400, "", "x" * 1000, "a\nb"]
    bad_number = [None, True, [], nested, 10**400, -1, "NaN", "Infinity", "1e999", "not a number"]
    kind = rng.randrange(9)
    if kind == 0:
        return "".join(rng.choice('{}[]",:abc\\ \x00é') for _ in range(rng.randrange(1, 60)))
    if kind == 1:
        return json.dumps(rng.choice([[1, 2], 3.5, "text", None, True]))
    if kind == 2:
        return json.dumps(
            rng.choice(
                [
                    {"channel": "liquidationOrders"},
                    {"data": [LIQ]},
                    {"channel": 5, "data": []},
                    {"event": "error", "msg": "bad"},
                ]
            )
        )
    if kind == 3:
        return json.dumps({"channel": "liquidationOrders", "data": rng.choice([5, "str", True])})
    if kind == 4:
        return "[" * 50_000 + "]" * 50_000
    if kind == 5:
        return json.dumps({"channel": "spot_trades@Binance_BTCUSDT@1", "data": [LIQ]})
    item = dict(LIQ)
    field = rng.choice(["exName", "symbol", "price", "side", "time", "volUsd"])
    if kind == 6:
        del item[field]
    else:
        item[field] = rng.choice(bad_text if field in ("exName", "symbol") else bad_number)
    return json.dumps({"channel": "liquidationOrders", "data": [item]})


def run_stream(steps, max_message_bytes=10 * 1024 * 1024):
    emulator = CoinGlassEmulator(steps, {KEY}).start()
    collector = Collector()
    router = FrameRouter(collector, max_message_bytes)
    connection = StreamConnection(
        StreamConfig(emulator.url, KEY, ("liquidationOrders",), reconnect_delay_s=0.1, max_reconnect_delay_s=0.5),
        router,
    )
    thread = threading.Thread(target=connection.run, daemon=True)
    thread.start()
    try:
        wait_until(emulator.replay_done.is_set, 180, what="the replay")
        yield_count = sum(1 for s in steps if s.action in ("frame", "raw"))
        wait_until(lambda: router.counters.frames == yield_count, 30, what="every frame at the router")
    finally:
        connection.stop()
        thread.join(15)
        emulator.stop()
    return router, collector, connection


def test_a_thousand_hostile_frames_are_each_counted_and_valid_events_all_arrive():
    rng = random.Random(20261126)
    items = []
    for i in range(1000):
        items.append(hostile(rng))
        if i % 10 == 0:
            items.append(valid(i))
    router, collector, connection = run_stream(steps_from_frames(items))
    c = router.counters
    assert c.bad_frames + c.unknown_frames + c.rejected_items == 1000, c
    assert min(c.bad_frames, c.unknown_frames, c.rejected_items) > 50
    assert [p["time_ms"] for p in collector.payloads] == [LIQ["time"] + i for i in range(0, 1000, 10)]
    assert connection.reconnects == 0


def test_oversized_frame_is_dropped_and_counted_and_the_stream_goes_on():
    big = json.dumps({"channel": "liquidationOrders", "data": [LIQ] * 20_000})  # about 2.7 MB
    steps = steps_from_frames([valid(1)]) + [Step("raw", big)] + steps_from_frames([valid(2)])
    router, collector, connection = run_stream(steps, max_message_bytes=1_000_000)
    assert router.counters.oversized_frames == 1
    assert [p["time_ms"] for p in collector.payloads] == [LIQ["time"] + 1, LIQ["time"] + 2]
    assert connection.reconnects == 0


def test_odd_digit_sides_and_spoofed_names_cost_neither_the_connection_nor_a_valid_event():
    """A side "²" once raised a ValueError out of the read loop and ended the listener. Each hostile frame below
    is counted once, each valid item beside a hostile one still arrives, and it all happens on one connection."""
    trade_channel = "futures_trades@Binance_BTCUSDT@10000"
    texts, expected, counts = [], set(), {"bad": 0, "unknown": 0, "rejected": 0}

    def data_frame(channel, n_valid, **patch):
        """n_valid valid items around one hostile one (patched), as ASCII JSON: a lone surrogate stays escaped."""
        first = LIQ["time"] + len(texts) * 10
        items = [{**LIQ, "time": first + k} for k in range(n_valid)]
        expected.update(item["time"] for item in items)
        items.insert(n_valid // 2, {**LIQ, "time": first + 9, **patch})
        texts.append(json.dumps({"channel": channel, "data": items}))
        counts["rejected"] += 1

    for side in ["²", "¹", "①", "٣", "٢", "２", "1" * 5000]:
        for channel in ("liquidationOrders", trade_channel):
            data_frame(channel, 2, side=side)
            data_frame(channel, 0, side=side)
    for patch in (
        {"symbol": "BTC\u202eTDSU"},
        {"exName": "Bin\u200bance"},
        {"symbol": "\ud800"},
        {"price": "５６７３８"},
        {"volUsd": "1_000"},
    ):
        data_frame("liquidationOrders", 1, **patch)
    data_frame("futures_trades@\r\x1b[2J[WS_CLIENT] forged", 1, side=9)
    for text in (
        "[" * 100_000 + "]" * 100_000,
        '{"channel": "liquidationOrders", "data": ' + "[" * 5000,
        "not json \x1b[31m",
    ):
        texts.append(text)
        counts["bad"] += 1
    texts.append(json.dumps({"channel": "spot_trades@Binance_BTCUSDT@1", "data": [LIQ]}))
    counts["unknown"] += 1

    router, collector, connection = run_stream([Step("raw", text) for text in texts])
    c = router.counters
    assert (connection.connects, connection.reconnects) == (1, 0)
    assert sorted(p["time_ms"] for p in collector.payloads) == sorted(expected)
    assert (c.frames, c.bad_frames, c.unknown_frames) == (len(texts), counts["bad"], counts["unknown"])
    assert c.rejected_items == counts["rejected"]

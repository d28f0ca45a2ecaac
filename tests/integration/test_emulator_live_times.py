"""The CoinGlass emulator as `make demo-dashboard` runs it: events happen when sent, and the scenario repeats."""

import json
import time

import websocket

from teleglas.devstack.local_stack import DEMO_WS_KEY
from tests.support.messages import write_scenario

OLD_MS = 1725478245120  # 2024-09-04


def test_replays_repeat_with_each_event_at_its_send_time(make_stack, tmp_path):
    frame = {
        "channel": "liquidationOrders",
        "data": [
            {
                "baseAsset": "BTC",
                "exName": "Binance",
                "price": 56738.0,
                "side": 2,
                "symbol": "BTCUSDT",
                "time": OLD_MS,
                "volUsd": 1_250_000,
            }
        ],
    }
    scenario = write_scenario(tmp_path / "one.jsonl", [{"frame": frame}, {"frame": frame}])  # the second is a duplicate
    stack = make_stack(scenario=scenario)
    stack.start_coinglass_emulator(live_times=True, repeat_every_s=0.5)
    socket = websocket.create_connection(f"{stack.coinglass_url}?cg-api-key={DEMO_WS_KEY}", timeout=10)
    try:
        socket.send(json.dumps({"method": "subscribe", "channels": ["liquidationOrders"]}))
        started_ms = time.time() * 1000
        times = []
        while len(times) < 4:
            message = socket.recv()
            if message != "pong":
                times.append(json.loads(message)["data"][0]["time"])
    finally:
        socket.close()
    assert times[0] == times[1] and times[2] == times[3]  # a duplicate within a replay stays one
    assert times[2] - times[0] >= 500  # the next replay's events happen later
    assert all(started_ms - 1_000 <= t <= time.time() * 1000 for t in times)  # now, not in 2024

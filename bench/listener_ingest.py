"""Listener ingest rate: CoinGlass emulator frames at full speed → events parsed and enqueued per second.

    .venv/bin/python bench/listener_ingest.py [--frames 500] [--per-frame 100]

One listener process (`python workers/ws_listener.py`), a real redis-server, no worker: the figure is the
time from the first event in the `events` queue to the last, over the events enqueued.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from teleglas.local_stack import LocalStack, wait_until

LIQ = {"baseAsset": "BTC", "exName": "Binance", "price": 56738.0, "side": 2, "symbol": "BTCUSDT", "time": 1725478245120, "volUsd": 1_000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--per-frame", type=int, default=100)
    args = parser.parse_args()
    total = args.frames * args.per_frame
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "flood.jsonl"
        with scenario.open("w") as fh:
            for f in range(args.frames):
                data = [{**LIQ, "time": LIQ["time"] + f * args.per_frame + i} for i in range(args.per_frame)]
                fh.write(json.dumps({"frame": {"channel": "liquidationOrders", "data": data}}) + "\n")
        with LocalStack(Path(tmp) / "stack", scenario=str(scenario)) as stack:
            stack.start_redis()
            stack.start_coinglass_emulator()
            stack.start_listener()
            redis = stack.redis()
            wait_until(lambda: redis.llen("events") > 0, 60, 0.001, what="the first event")
            first = time.perf_counter()
            wait_until(lambda: redis.llen("events") >= total, 600, 0.01, what="every event")
            elapsed = time.perf_counter() - first
    print(f"listener ingest: {total} events in {elapsed:.2f} s = {total / elapsed:,.0f} events/s (one task per event)")


if __name__ == "__main__":
    main()

"""Worker evaluation rate: a pre-filled `events` queue drained by one `celery -A teleglas worker -c 2`.

    .venv/bin/python bench/worker_eval.py [--events 20000]

Two streams: every event below its threshold (the fast path: no Redis command besides Celery's own), and a
mixed one where 5 % qualify (cooldowns, storms and digests in play; one alert chat, Telegram emulator without
flood limits so delivery never holds the queue). The figure is events / (time from the worker being ready to
the `events` queue being empty; storm and cooldown flushes scheduled for later are not waited for).
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from teleglas.coinglass.events import LiquidationOrder
from teleglas.defines import QUEUE_EVENTS
from teleglas.local_stack import LocalStack, wait_until

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT", "PEPEUSDT")


def stream(count: int, qualifying_share: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    events = []
    for n in range(count):
        symbol = rng.choice(SYMBOLS)
        usd = rng.randint(600_000, 3_000_000) if rng.random() < qualifying_share else rng.randint(1_000, 90_000)
        events.append(LiquidationOrder("Binance", symbol, symbol.removesuffix("USDT"), 100.0, rng.choice((1, 2)), float(usd), 1_725_478_245_000 + n).to_payload())
    return events


def drain_rate(workdir: Path, events: list[dict]) -> float:
    with LocalStack(workdir, chat_ids=("42",)) as stack:
        stack.start_redis()
        stack.start_telegram_emulator(flood_limits=False)
        stack.enqueue_events(events)
        stack.start_worker(concurrency=2)
        started = time.monotonic()
        client = stack.redis()
        wait_until(lambda: client.llen(QUEUE_EVENTS) == 0, 600, 0.05, what="the events queue to drain")
        return len(events) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        below = drain_rate(Path(tmp) / "below", stream(args.events, 0.0, 1))
        mixed = drain_rate(Path(tmp) / "mixed", stream(args.events, 0.05, 2))
    print(f"worker evaluation, {args.events} events, celery -c 2:")
    print(f"  all below threshold : {below:8,.0f} events/s")
    print(f"  mixed (5 % qualify) : {mixed:8,.0f} events/s")


if __name__ == "__main__":
    main()

"""`make demo`: the whole pipeline offline. Redis, both emulators, a Celery worker and the listener start on
free local ports; the bundled scenario is replayed; the alerts Telegram received are printed; all stops.

    python -m teleglas.demo [--scenario demo.jsonl] [--keep-logs]
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from teleglas.defines import LOG_RUNNER
from teleglas.local_stack import LocalStack

_DELIVERED = re.compile(r"\[SENDER\] delivered alert=\S+ chat=(\S+) message_id=(\d+) frame_to_send_ms=([\d.]+)")
DEMO_CHANNELS = ("liquidationOrders", "futures_trades@Binance_BTCUSDT@10000", "futures_trades@Binance_ETHUSDT@10000")


def say(text: str) -> None:
    print(f"{LOG_RUNNER} {text}", flush=True)


def delivery_latencies(worker_log: str) -> dict[tuple[str, int], float]:
    """(chat, message_id) → milliseconds from the listener receiving the frame to Telegram accepting the message."""
    return {(chat, int(mid)): float(ms) for chat, mid, ms in _DELIVERED.findall(worker_log)}


def run(scenario: str, workdir: Path) -> int:
    stack = LocalStack(workdir, scenario=scenario, channels=DEMO_CHANNELS)
    started = time.monotonic()
    with stack:
        say(f"starting redis-server :{stack.redis_port}, Telegram emulator :{stack.telegram_port}, CoinGlass emulator :{stack.coinglass_port}")
        stack.start_redis()
        stack.start_telegram_emulator()
        stack.start_coinglass_emulator()
        say("starting `celery -A teleglas worker` and `python workers/ws_listener.py`")
        worker = stack.start_worker()
        stack.start_listener()
        say(f"replaying scenario {scenario}")
        stack.wait_for_replay()
        messages = stack.wait_for_idle()
        latencies = delivery_latencies(worker.log_text())
    say(f"everything stopped after {time.monotonic() - started:.1f} s")
    print(f"\n=== Telegram received {len(messages)} message(s) ===\n")
    for message in messages:
        latency = latencies.get((str(message["chat_id"]), message["message_id"]))
        shown = f"{latency:.1f} ms" if latency is not None else "n/a"
        print(f"--- chat {message['chat_id']} · message_id {message['message_id']} · frame→Telegram {shown}")
        print(message["text"])
        print()
    return 0 if messages else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="demo.jsonl")
    parser.add_argument("--keep-logs", action="store_true", help="keep the process logs and print where")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="teleglas-demo-"))
    try:
        return run(args.scenario, workdir)
    finally:
        if args.keep_logs:
            say(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

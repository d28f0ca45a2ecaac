"""`make demo`: the whole pipeline offline. Redis, both emulators, a Celery worker and the listener start on
free local ports; the bundled scenario is replayed; the alerts Telegram received are printed; all stops.

    python -m teleglas.devstack.demo [--scenario demo.jsonl] [--keep-logs]
    python -m teleglas.devstack.demo --dashboard [--port 8082] [--for SECONDS]
    python -m teleglas.devstack.demo --exchanges

With --exchanges there is no CoinGlass at all (no key, no emulator): SOURCES=binance,bybit,okx against the three
exchange emulators and their bundled scenarios (binance.jsonl, bybit.jsonl, okx.jsonl).

With --dashboard the scenario's events happen now (the emulator's live times) and the scenario plays again every
REPEAT_EVERY_S, so cooldowns, summaries and the cascade timeline have something to show; celery beat runs too
(price moves after each alert), and everything stays up with the dashboard on http://127.0.0.1:PORT/ (user `demo`,
password `demo-dashboard`) until Ctrl-C or --for seconds.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from teleglas.defines import LOG_RUNNER, SOURCE_BINANCE, SOURCE_BYBIT, SOURCE_OKX
from teleglas.devstack.local_stack import LocalStack

DEMO_DASHBOARD = {"DASHBOARD_USER": "demo", "DASHBOARD_PASSWORD": "demo-dashboard"}
REPEAT_EVERY_S = 240.0

_DELIVERED = re.compile(r"\[SENDER\] delivered alert=\S+ chat=(\S+) message_id=(\d+) frame_to_send_ms=([\d.]+)")
DEMO_CHANNELS = ("liquidationOrders", "futures_trades@Binance_BTCUSDT@10000", "futures_trades@Binance_ETHUSDT@10000")
EXCHANGES = (SOURCE_BINANCE, SOURCE_BYBIT, SOURCE_OKX)
EXCHANGES_ONLY = {"SOURCES": ",".join(EXCHANGES), "COINGLASS_API_KEY_WS": "", "COINGLASS_API_KEY": ""}


def say(text: str) -> None:
    print(f"{LOG_RUNNER} {text}", flush=True)


def delivery_latencies(worker_log: str) -> dict[tuple[str, int], float]:
    """(chat, message_id) → milliseconds from the listener receiving the frame to Telegram accepting the message."""
    return {(chat, int(mid)): float(ms) for chat, mid, ms in _DELIVERED.findall(worker_log)}


def run(scenario: str, workdir: Path) -> int:
    stack = LocalStack(workdir, scenario=scenario, channels=DEMO_CHANNELS)
    started = time.monotonic()
    with stack:
        say(
            f"starting redis-server :{stack.redis_port}, Telegram emulator :{stack.telegram_port}, "
            f"CoinGlass emulator :{stack.coinglass_port}"
        )
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
    return show(messages, latencies, stack.photos_dir)


def run_exchanges(workdir: Path) -> int:
    """No CoinGlass key, no CoinGlass: the three exchanges' own streams, each from its emulator."""
    stack = LocalStack(workdir, settings_env=dict(EXCHANGES_ONLY))
    started = time.monotonic()
    with stack:
        ports = ", ".join(f"{name} :{port}" for name, port in stack.exchange_ports.items())
        say(f"starting redis-server :{stack.redis_port}, Telegram emulator :{stack.telegram_port}, emulators {ports}")
        stack.start_redis()
        stack.start_telegram_emulator()
        for exchange in EXCHANGES:
            stack.start_exchange_emulator(exchange)
        say("starting `celery -A teleglas worker` and `python workers/ws_listener.py` with SOURCES=binance,bybit,okx")
        worker = stack.start_worker()
        stack.start_listener()
        stack.wait_for_replay(coinglass=False, exchanges=EXCHANGES)
        messages = stack.wait_for_idle()
        latencies = delivery_latencies(worker.log_text())
    say(f"everything stopped after {time.monotonic() - started:.1f} s")
    return show(messages, latencies, stack.photos_dir)


def show(messages: list[dict], latencies: dict[tuple[str, int], float], photos_dir: Path) -> int:
    print(f"\n=== Telegram received {len(messages)} message(s) ===\n")
    for message in messages:
        latency = latencies.get((str(message["chat_id"]), message["message_id"]))
        shown = f"{latency:.1f} ms" if latency is not None else "n/a"
        print(f"--- chat {message['chat_id']} · message_id {message['message_id']} · frame→Telegram {shown}")
        if message.get("method") == "sendPhoto":  # a chart: its caption follows
            photo = message["photo"]
            saved = photos_dir / f"{message['chat_id']}-{message['message_id']}.png"
            print(
                f"[photo {photo['width']}×{photo['height']} PNG, {photo['bytes'] // 1024} KB: {saved} "
                "(--keep-logs keeps it)]"
            )
        print(message["text"])
        print()
    return 0 if messages else 1


def run_with_dashboard(scenario: str, workdir: Path, port: int, for_s: float | None) -> int:
    stack = LocalStack(workdir, scenario=scenario, channels=DEMO_CHANNELS, settings_env=dict(DEMO_DASHBOARD))
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with stack:
        stack.start_redis()
        stack.start_telegram_emulator()
        stack.start_coinglass_emulator(live_times=True, repeat_every_s=REPEAT_EVERY_S)
        stack.start_worker()
        stack.start_beat()
        stack.start_dashboard(port)
        say(
            f"dashboard on http://127.0.0.1:{port}/ (user {DEMO_DASHBOARD['DASHBOARD_USER']}, "
            f"password {DEMO_DASHBOARD['DASHBOARD_PASSWORD']})"
        )
        stack.start_listener()
        stack.wait_for_replay()
        say(
            f"scenario replayed; it plays again every {REPEAT_EVERY_S:.0f} s. Price moves appear 5, 15 and 60 min "
            "after each alert. Ctrl-C stops everything"
        )
        stopping.wait(for_s)
    say("everything stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="demo.jsonl")
    parser.add_argument("--keep-logs", action="store_true", help="keep the process logs and print where")
    parser.add_argument("--dashboard", action="store_true", help="keep running with the live dashboard")
    parser.add_argument(
        "--exchanges", action="store_true", help="no CoinGlass key: the Binance, Bybit and OKX streams (emulated)"
    )
    parser.add_argument("--port", type=int, default=8082, help="the dashboard's port (with --dashboard)")
    parser.add_argument(
        "--for", dest="for_s", type=float, default=None, help="stop after this many seconds (with --dashboard)"
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="teleglas-demo-"))
    try:
        if args.dashboard:
            return run_with_dashboard(args.scenario, workdir, args.port, args.for_s)
        if args.exchanges:
            return run_exchanges(workdir)
        return run(args.scenario, workdir)
    finally:
        if args.keep_logs:
            say(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

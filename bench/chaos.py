"""`make chaos`: the cascade under faults, through the product's own processes (the listener, two `celery -A
teleglas worker -c 2`, Redis with compose's persistence), one table: scenario, events in, qualifying,
delivered, lost, duplicates.

Events in are the events of every frame the emulator delivered to the listener's socket (a frame sent while
no listener is connected went nowhere and is not counted). Lost and duplicates are counted per chat against
the qualifying events (the worst of the three chats is the row).

    .venv/bin/python -m bench.chaos [--quick] [--only NAME]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import cascade
from bench.run import table

# Fast recovery for the runs: a SIGKILLed worker's unacknowledged tasks come back after the visibility
# timeout (Settings requires it to exceed TELEGRAM_MAX_COUNTDOWN + TELEGRAM_TIMEOUT).
CHAOS_ENV = {"CELERY_VISIBILITY_TIMEOUT": "25", "TELEGRAM_MAX_COUNTDOWN": "15", "TELEGRAM_TIMEOUT": "5", "WS_RECONNECT_DELAY": "0.5"}
QUICK_ENV = {**CHAOS_ENV, "CELERY_VISIBILITY_TIMEOUT": "10", "TELEGRAM_MAX_COUNTDOWN": "5", "TELEGRAM_TIMEOUT": "3"}


def _later(seconds: float, action) -> None:
    threading.Timer(seconds, action).start()


def kill_workers(stack, at: tuple[float, float]) -> None:
    def kill(name: str) -> None:
        stack.processes[name].kill()  # the main process and its pool, as the OOM killer or kill -9 would
        stack.start_worker(name, concurrency=2)
    _later(at[0], lambda: kill("worker-a"))
    _later(at[1], lambda: kill("worker-b"))


def restart_redis(stack, at: float) -> None:
    def restart() -> None:
        stack.processes["redis"].stop()  # SIGTERM: Redis writes its append-only file and exits
        time.sleep(2.0)
        stack.start_redis(appendonly=True, fsync="everysec")
    _later(at, restart)


def restart_listener(stack, at: float) -> None:
    def restart() -> None:
        stack.processes["listener"].stop()  # SIGTERM: unsubscribe, read what is in flight, flush, exit
        stack.start_listener()
    _later(at, restart)


def telegram_storm(stack, at: float, **fault) -> None:
    _later(at, lambda: stack.add_telegram_fault(**fault, for_s=10))


def scenarios(seconds: float) -> dict[str, dict]:
    third = seconds / 3
    return {
        "worker SIGKILL x2": {"during": lambda s: kill_workers(s, (third, 2 * third))},
        "Redis restart": {"during": lambda s: restart_redis(s, third)},
        "10 WebSocket drops": {"drops": 10},
        "429 storm (10 s)": {"during": lambda s: telegram_storm(s, third, status=429, description="Too Many Requests: retry after 1", retry_after=1)},
        "5xx storm (10 s)": {"during": lambda s: telegram_storm(s, third, status=502, description="Bad Gateway")},
        "listener SIGTERM + restart": {"during": lambda s: restart_listener(s, third)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small cascade, to check that the harness works")
    parser.add_argument("--only", action="append", help="run only scenarios whose name starts with this (repeatable)")
    args = parser.parse_args()
    count, seconds = (1_200, 4.0) if args.quick else (12_000, 20.0)
    rows = [("scenario", "events in", "qualifying", "delivered", "lost", "duplicates", "messages", "HTTP 429", "seconds")]
    failed = False
    with tempfile.TemporaryDirectory(prefix="teleglas-chaos-") as tmp:
        for number, (name, spec) in enumerate(scenarios(seconds).items()):
            if args.only and not any(name.startswith(prefix) for prefix in args.only):
                continue
            started = time.monotonic()
            result = cascade.run(Path(tmp) / f"s{number}", count, seconds, extra_env=QUICK_ENV if args.quick else CHAOS_ENV, during=spec.get("during"),
                                 drops=spec.get("drops", 0), quick_rules=args.quick)
            failed |= result["lost"] > 0 or result["duplicates"] > 0 or result["delivered"] != result["qualifying"]
            rows.append((name, f"{result['events_in']:,}", f"{result['qualifying']:,}", f"{result['delivered']:,}", str(result["lost"]),
                         str(result["duplicates"]), str(result["messages"]), str(result["http_429"]), f"{time.monotonic() - started:.0f}"))
            print(f"[chaos] {name}: lost {result['lost']}, duplicates {result['duplicates']}", file=sys.stderr, flush=True)
    print(f"TELEGLAS chaos runs, {time.strftime('%Y-%m-%d')}: a cascade of {count:,} events in {seconds:.0f} s over 20 pairs to 3 chats")
    print(table(rows))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

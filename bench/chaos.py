"""`make chaos`: the cascade under faults, through the product's own processes (the listener, two `celery -A
teleglas worker -c 2`, Redis with compose's persistence), with the default settings, one table: scenario,
events in, qualifying, delivered, lost, duplicates, and the time from the fault to the last alert.

Events in are the events of every frame the emulator delivered to the listener's socket (a frame sent while
no listener is connected went nowhere and is not counted). Lost and duplicates are counted per chat against
the qualifying events (the worst of the three chats is the row).

The bound: a fault may delay alerts by at most the visibility timeout and a few seconds. A run without a
fault gives the cascade's own tail (its last cooldown summary comes after the last event by design); a fault
row is within the bound when its last alert comes no later than (the rest of the cascade after the fault)
+ that tail + CELERY_VISIBILITY_TIMEOUT + BOUND_SLACK_S.

    .venv/bin/python -m bench.chaos [--quick] [--only NAME]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import cascade
from bench.run import table
from teleglas.settings import load_settings

BOUND_SLACK_S = 10.0
REDIS_DOWN_S = 3.0
REDIS_FREEZE_S = 7.0
STORM_S = 10.0


def _later(seconds: float, action) -> None:
    threading.Timer(seconds, action).start()


def kill_workers(stack, faults: list, at: tuple[float, float]) -> None:
    def kill(name: str) -> None:
        faults.append(time.time())
        stack.processes[name].kill()  # the main process and its pool, as the OOM killer or kill -9 would
        stack.start_worker(name, concurrency=2)

    _later(at[0], lambda: kill("worker-a"))
    _later(at[1], lambda: kill("worker-b"))


def kill_redis(stack, faults: list, at: float) -> None:
    def kill() -> None:
        faults.append(time.time())
        stack.processes["redis"].kill()  # kill -9: no chance to write anything more
        time.sleep(REDIS_DOWN_S)
        stack.start_redis(appendonly=True, fsync="always")  # the append-only file brings the state back

    _later(at, kill)


def freeze_redis(stack, faults: list, at: float) -> None:
    def freeze() -> None:
        faults.append(time.time())
        pid = stack.processes["redis"].process.pid
        os.kill(pid, signal.SIGSTOP)  # Redis stops answering (a stall, a paused VM) but keeps its sockets
        time.sleep(REDIS_FREEZE_S)
        os.kill(pid, signal.SIGCONT)

    _later(at, freeze)


def restart_listener(stack, faults: list, at: float) -> None:
    def restart() -> None:
        faults.append(time.time())
        stack.processes["listener"].stop()  # SIGTERM: unsubscribe, read what is in flight, flush, exit
        stack.start_listener()

    _later(at, restart)


def telegram_storm(stack, faults: list, at: float, **fault) -> None:
    def storm() -> None:
        faults.append(time.time())
        stack.add_telegram_fault(**fault, for_s=STORM_S)

    _later(at, storm)


def scenarios(seconds: float) -> dict[str, dict]:
    third = seconds / 3
    return {
        "no fault (the tail)": {},
        "worker SIGKILL x2": {"during": lambda s, f: kill_workers(s, f, (third, 2 * third))},
        "Redis kill -9 + restart": {"during": lambda s, f: kill_redis(s, f, third)},
        f"Redis freeze {REDIS_FREEZE_S:.0f} s": {"during": lambda s, f: freeze_redis(s, f, third)},
        f"429 storm ({STORM_S:.0f} s)": {
            "during": lambda s, f: telegram_storm(
                s, f, third, status=429, description="Too Many Requests: retry after 1", retry_after=1
            )
        },
        f"5xx storm ({STORM_S:.0f} s)": {
            "during": lambda s, f: telegram_storm(s, f, third, status=502, description="Bad Gateway")
        },
        "10 WebSocket drops": {"drops": 10},
        "listener SIGTERM + restart": {"during": lambda s, f: restart_listener(s, f, third)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small cascade, to check that the harness works")
    parser.add_argument("--only", action="append", help="run only scenarios whose name starts with this (repeatable)")
    args = parser.parse_args()
    count, seconds = (1_200, 4.0) if args.quick else (12_000, 20.0)
    visibility_s = load_settings(
        {}, env_file=Path(os.devnull)
    ).redis.visibility_timeout_s  # the default, as users run it
    rows = [
        (
            "scenario",
            "events in",
            "qualifying",
            "delivered",
            "lost",
            "duplicates",
            "messages",
            "HTTP 429",
            "fault → last alert",
            "bound",
            "met",
        )
    ]
    failed = False
    tail_s: float | None = None
    with tempfile.TemporaryDirectory(prefix="teleglas-chaos-") as tmp:
        for number, (name, spec) in enumerate(scenarios(seconds).items()):
            if args.only and number and not any(name.startswith(prefix) for prefix in args.only):
                continue
            result = cascade.run(
                Path(tmp) / f"s{number}",
                count,
                seconds,
                during=spec.get("during"),
                drops=spec.get("drops", 0),
                quick_rules=args.quick,
            )
            exact = result["lost"] == 0 and result["duplicates"] == 0 and result["delivered"] == result["qualifying"]
            if result["fault_at"] is None:
                tail_s = result["last_message_at"] - result["last_event_at"]
                recovery, bound, ok = "-", f"tail {tail_s:.1f} s", exact
            else:
                took = result["last_message_at"] - result["fault_at"]
                limit = (
                    max(0.0, result["last_event_at"] - result["fault_at"])
                    + (tail_s or 0.0)
                    + visibility_s
                    + BOUND_SLACK_S
                )
                recovery, bound, ok = f"{took:.1f} s", f"{limit:.1f} s", exact and took <= limit
            failed |= not ok
            rows.append(
                (
                    name,
                    f"{result['events_in']:,}",
                    f"{result['qualifying']:,}",
                    f"{result['delivered']:,}",
                    str(result["lost"]),
                    str(result["duplicates"]),
                    str(result["messages"]),
                    str(result["http_429"]),
                    recovery,
                    bound,
                    "yes" if ok else "NO",
                )
            )
            print(
                f"[chaos] {name}: lost {result['lost']}, duplicates {result['duplicates']}, fault → last alert "
                f"{recovery}",
                file=sys.stderr,
                flush=True,
            )
    print(
        f"TELEGLAS chaos runs, {time.strftime('%Y-%m-%d')}, default settings (visibility timeout {visibility_s} s): "
        f"a cascade of {count:,} events "
        f"in {seconds:.0f} s over 20 pairs to 3 chats"
    )
    print(table(rows))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

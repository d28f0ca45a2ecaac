"""Memory under steady load: the listener against the CoinGlass emulator and one `celery -A teleglas worker -c 2`
at 5,000 events/s (frames of 50 every 10 ms, 1 % qualifying, 20 pairs) for 10 minutes, every setting at its
default (the bundled rules, one group chat with Telegram's real flood limits, charts on).

The resident set size of the listener, and of the worker as its main process plus its prefork pool summed (each
process's figure is in the JSON), is sampled every tenth of the run. By the first sample (1 minute of 10) each
process has loaded what it keeps (a worker that renders imports matplotlib before its pool forks); a process
still growing after it leaks, so a row passes when the last sample is within GROWTH_LIMIT of the first. The
samples between show whether a growth is a step or a slope.

The emulator replays a scenario of SCENARIO_S seconds again and again with live times (teleglas.devstack
.emulators.scenario.live_frame), so every replay's events are new events to the cross-source match and the
engine, and the file stays small.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.workload import liquidation_stream, write_scenario
from teleglas.defines import QUEUE_EVENTS
from teleglas.devstack.local_stack import LocalStack, ManagedProcess, wait_until

RATE_EV_S = 5_000
PER_FRAME = 50
FRAME_INTERVAL_S = PER_FRAME / RATE_EV_S
QUALIFYING_SHARE = 0.01
SCENARIO_S = 10.0
SAMPLES = 10  # one every tenth of the run: the first (1 minute of 10) and the last are the row, all are in the JSON
GROWTH_LIMIT = 0.10
WORKER_CONCURRENCY = 2


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_processes(pid: int) -> list[int]:
    """`pid` and its children (a Celery worker's main process and its prefork pool), as they are now."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def sample(proc: ManagedProcess) -> dict[str, float]:
    """RSS in MB of the process and each of its children, by pid. Not their children: a pool process forks one
    to draw each chart (teleglas.charts.apart), which lives for that picture, shares its parent's pages and gives
    everything back when it exits; counting it would measure whether a render was in flight at the sample."""
    assert proc.process is not None, f"{proc.name} was started"
    return {str(pid): rss_mb(pid) for pid in worker_processes(proc.process.pid)}


def run(workdir: Path, seconds: float) -> dict:
    events = liquidation_stream(round(SCENARIO_S * RATE_EV_S), QUALIFYING_SHARE, seed=14)
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "steady.jsonl"
    write_scenario(scenario, events, PER_FRAME, pause_s=FRAME_INTERVAL_S)
    with LocalStack(workdir / "stack", scenario=str(scenario)) as stack:
        stack.start_redis()
        stack.start_telegram_emulator()
        stack.start_coinglass_emulator(live_times=True, repeat_every_s=FRAME_INTERVAL_S)
        worker = stack.start_worker(concurrency=WORKER_CONCURRENCY)
        listener = stack.start_listener()
        wait_until(lambda: stack.coinglass_status()["frames_sent"] > 0, 60, 0.01, what="the first frame")
        started, frames_at_start = time.monotonic(), stack.coinglass_status()["frames_sent"]
        samples = []
        for number in range(1, SAMPLES + 1):
            time.sleep(max(0.0, started + seconds * number / SAMPLES - time.monotonic()))
            samples.append({"listener": sample(listener), "worker": sample(worker)})
        frames = stack.coinglass_status()["frames_sent"] - frames_at_start
        elapsed = time.monotonic() - started
        queued = stack.redis().llen(QUEUE_EVENTS)
    figures: dict = {
        "seconds": seconds,
        "early_s": seconds / SAMPLES,
        "rate_ev_s": frames * PER_FRAME / elapsed,
        "queued_tasks": queued,
    }
    for name in ("listener", "worker"):
        series = [sum(at[name].values()) for at in samples]
        figures[name] = {
            "early_mb": series[0],
            "end_mb": series[-1],
            "series_mb": series,
            "processes": [at[name] for at in samples],
        }
    return figures

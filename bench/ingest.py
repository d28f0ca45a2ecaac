"""Listener ingest: CoinGlass emulator frames at full speed → events parsed and enqueued per second, one
`python workers/ws_listener.py`, no worker. Floor: the same payloads LPUSHed with plain redis-py pipelining."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.workload import liquidation_stream, write_scenario
from teleglas.defines import QUEUE_EVENTS
from teleglas.devstack.local_stack import LocalStack, wait_until
from teleglas.model.events import LiquidationOrder


def listener_rate(
    workdir: Path, events: list[LiquidationOrder], per_frame: int, batch: int, settle_s: float = 2.0
) -> float:
    scenario = workdir / "flood.jsonl"
    workdir.mkdir(parents=True, exist_ok=True)
    write_scenario(scenario, events, per_frame)
    with LocalStack(workdir / "stack", scenario=str(scenario)) as stack:
        stack.start_redis()
        stack.start_coinglass_emulator()
        stack.start_listener(extra_env={"LISTENER_BATCH_MAX_EVENTS": str(batch)})
        client = stack.redis()
        wait_until(lambda: client.llen(QUEUE_EVENTS) > 0, 60, 0.0005, what="the first task")
        first = time.perf_counter()
        last_change, last_length = first, client.llen(QUEUE_EVENTS)
        while time.perf_counter() - last_change < settle_s:  # done when the queue stopped growing that long
            length = client.llen(QUEUE_EVENTS)
            if length != last_length:
                last_change, last_length = time.perf_counter(), length
            time.sleep(0.001)
        enqueued = len(stack.queued_events())
        if enqueued != len(events):
            raise RuntimeError(f"listener enqueued {enqueued} of {len(events)} events")
        return enqueued / (last_change - first)


def floor_rate(workdir: Path, events: list[LiquidationOrder], pipeline: int = 500) -> float:
    payloads = [json.dumps(e.to_payload()) for e in events]
    with LocalStack(workdir / "floor") as stack:
        stack.start_redis()
        client = stack.redis()
        started = time.perf_counter()
        with client.pipeline(transaction=False) as pipe:
            for start in range(0, len(payloads), pipeline):
                pipe.lpush("floor", *payloads[start : start + pipeline])
                pipe.execute()
        return len(payloads) / (time.perf_counter() - started)


def run(workdir: Path, count: int, per_frame: int = 50, settle_s: float = 2.0) -> dict[str, float]:
    events = liquidation_stream(count, 0.0, seed=11)
    return {
        "batched": listener_rate(workdir / "batched", events, per_frame, batch=500, settle_s=settle_s),
        "per_event": listener_rate(
            workdir / "per-event", events[: max(per_frame, count // 3)], per_frame, batch=1, settle_s=settle_s
        ),
        "floor": floor_rate(workdir, events),
    }

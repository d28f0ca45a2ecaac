"""Worker evaluation: a pre-filled `events` queue of mixed events (95 % below threshold) drained by one
`celery -A teleglas worker -c 2`, in events/s; and the same with none qualifying (the below-threshold path
alone). Floor: as many no-op tasks (process_events of nothing) drained by the same worker. The alert chat's
Telegram emulator has no flood limits, so delivery never holds the queue; flushes scheduled for later are not
waited for."""

from __future__ import annotations

from pathlib import Path

from bench.workload import QueueFiller, liquidation_stream, wait_drained
from teleglas.defines import SOURCE_COINGLASS
from teleglas.devstack.local_stack import LocalStack
from teleglas.model.batch import items as batch_items, pack


def drain_rate(workdir: Path, batches: list[list], events: int) -> float:
    with LocalStack(workdir, chat_ids=("42",)) as stack:
        stack.start_redis()
        stack.start_telegram_emulator(flood_limits=False)
        QueueFiller(stack).fill([pack(batch) for batch in batches])  # as the listener publishes them
        stack.start_worker(concurrency=2)
        return events / wait_drained(stack.redis(), len(batches), timeout_s=900)


def run(workdir: Path, count: int, batch: int = 100, per_event_count: int | None = None) -> dict[str, float]:
    # Items as the listener sends them.
    events = batch_items(liquidation_stream(count, 0.05, seed=12), None, SOURCE_COINGLASS)
    quiet = batch_items(liquidation_stream(count, 0.0, seed=12), None, SOURCE_COINGLASS)
    per_event = events[: per_event_count or count]
    return {
        "batched": drain_rate(
            workdir / "batched", [events[i : i + batch] for i in range(0, len(events), batch)], len(events)
        ),
        "none_qualifying": drain_rate(
            workdir / "none-qualifying", [quiet[i : i + batch] for i in range(0, len(quiet), batch)], len(quiet)
        ),
        "per_event": drain_rate(workdir / "per-event", [[item] for item in per_event], len(per_event)),
        "floor": drain_rate(workdir / "floor", [[] for _ in range(count)], count),
    }

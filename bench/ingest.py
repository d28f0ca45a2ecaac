"""Listener ingest: CoinGlass emulator frames at full speed → events parsed and enqueued per second, one
`python workers/ws_listener.py`, no worker. Two floors, each in one process: parse and push (json.loads of the
same frames, no checks, and a pipelined LPUSH of the events in batches of the listener's size: the least any
listener does, and the batched row's target), and raw push (the same LPUSHes alone).
The three-source row splits the same events over CoinGlass, Binance and Bybit emulators streaming at once to one
listener (SOURCES=coinglass,binance,bybit), each in its venue's frame shape: CoinGlass 50 a frame, Binance one
liquidation a frame (its all-market stream pushes one payload a message), Bybit up to 50 of one pair a frame
(one push per pair every 500 ms)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.workload import PAIRS, liquidation_frame, liquidation_stream, write_scenario
from teleglas.defines import QUEUE_EVENTS
from teleglas.devstack.local_stack import LocalStack
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
        return _enqueue_rate(stack, len(events), settle_s)


def three_sources_rate(workdir: Path, events: list[LiquidationOrder], per_frame: int, settle_s: float = 2.0) -> float:
    workdir.mkdir(parents=True, exist_ok=True)
    third = len(events) // 3
    coinglass, binance, bybit = events[:third], events[third : 2 * third], events[2 * third :]
    write_scenario(workdir / "coinglass.jsonl", coinglass, per_frame)
    _write_frames(workdir / "binance.jsonl", [_force_order(e) for e in binance])
    _write_frames(workdir / "bybit.jsonl", _bybit_frames(bybit, per_frame))
    sources = {
        "SOURCES": "coinglass,binance,bybit",
        "EXCHANGE_LIQUIDATION_SYMBOLS": ",".join(PAIRS),
        "EXCHANGE_TRADE_SYMBOLS": "BTCUSDT",
    }
    with LocalStack(workdir / "stack", scenario=str(workdir / "coinglass.jsonl"), settings_env=sources) as stack:
        stack.start_redis()
        stack.start_coinglass_emulator()
        stack.start_binance_emulator(str(workdir / "binance.jsonl"))
        stack.start_bybit_emulator(str(workdir / "bybit.jsonl"))
        stack.start_listener()
        return _enqueue_rate(stack, len(events), settle_s)


def _force_order(event: LiquidationOrder) -> dict:
    """Binance's payload of a liquidation: the closing order (SELL closes a long), its average price and fill."""
    quantity = f"{event.usd / event.price:.8g}"
    order = {"s": event.symbol, "S": "SELL" if event.side == 1 else "BUY", "o": "LIMIT", "f": "IOC", "q": quantity}
    filled = {"p": str(event.price), "ap": str(event.price), "X": "FILLED", "l": quantity, "z": quantity}
    return {"e": "forceOrder", "E": event.time_ms, "o": {**order, **filled, "T": event.time_ms}}


def _bybit_frames(events: list[LiquidationOrder], per_frame: int) -> list[dict]:
    """Bybit pushes one pair's liquidations a message, every 500 ms: in a cascade, up to `per_frame` of a pair."""
    by_pair: dict[str, list[LiquidationOrder]] = {}
    for event in events:
        by_pair.setdefault(event.symbol, []).append(event)
    chunks = [pair[i : i + per_frame] for pair in by_pair.values() for i in range(0, len(pair), per_frame)]
    return [
        {
            "topic": f"allLiquidation.{chunk[0].symbol}",
            "type": "snapshot",
            "ts": chunk[-1].time_ms,
            "data": [
                {
                    "T": e.time_ms,
                    "s": e.symbol,
                    "S": "Buy" if e.side == 1 else "Sell",  # the liquidated position
                    "v": f"{e.usd / e.price:.8g}",
                    "p": str(e.price),
                }
                for e in chunk
            ],
        }
        for chunk in sorted(chunks, key=lambda c: c[0].time_ms)
    ]


def _write_frames(path: Path, frames: list[dict]) -> None:
    path.write_text("".join(json.dumps({"frame": frame}) + "\n" for frame in frames), encoding="utf-8")


def _enqueue_rate(stack: LocalStack, expected: int, settle_s: float) -> float:
    """Events enqueued per second, from the last look that found no process_events task yet to the moment the
    queue stopped growing for `settle_s` (the listener's start-up notice, queued before it streams, does not start
    the clock). Starting at that look, not at the one that found the first task, keeps the span above zero when a
    small workload is queued all at once between two looks (the rate is then a lower bound)."""
    client = stack.redis()
    first = time.perf_counter()
    deadline = first + 60
    while True:
        looked = time.perf_counter()
        if any(b'"teleglas.process_events"' in raw for raw in client.lrange(QUEUE_EVENTS, 0, -1)):
            break
        if looked > deadline:
            raise TimeoutError("no process_events task within 60 s")
        first = looked
        time.sleep(0.0005)
    last_change, last_length = time.perf_counter(), client.llen(QUEUE_EVENTS)
    while time.perf_counter() - last_change < settle_s:  # done when the queue stopped growing that long
        length = client.llen(QUEUE_EVENTS)
        if length != last_length:
            last_change, last_length = time.perf_counter(), length
        time.sleep(0.001)
    enqueued = len(stack.queued_events())
    if enqueued != expected:
        raise RuntimeError(f"listener enqueued {enqueued} of {expected} events")
    return enqueued / (last_change - first)


def floor_rate(workdir: Path, events: list[LiquidationOrder], per_frame: int, batch: int, parse: bool) -> float:
    """Events a second through pipelined LPUSHes of `batch` pre-encoded payloads each; with `parse`, each batch's
    frames (as the emulator sends them) json.loads-ed first."""
    payloads = [json.dumps(e.to_payload()) for e in events]
    frames = [
        json.dumps(liquidation_frame(events[i : i + per_frame]), ensure_ascii=False)
        for i in range(0, len(events), per_frame)
    ]
    with LocalStack(workdir / ("parse-floor" if parse else "floor")) as stack:
        stack.start_redis()
        client = stack.redis()
        started = time.perf_counter()
        with client.pipeline(transaction=False) as pipe:
            for start in range(0, len(payloads), batch):
                if parse:
                    for text in frames[start // per_frame : (start + batch) // per_frame]:
                        json.loads(text)
                pipe.lpush("floor", *payloads[start : start + batch])
                pipe.execute()
        return len(payloads) / (time.perf_counter() - started)


def run(workdir: Path, count: int, per_frame: int = 50, batch: int = 500, settle_s: float = 2.0) -> dict[str, float]:
    events = liquidation_stream(count, 0.0, seed=11)
    return {
        "batched": listener_rate(workdir / "batched", events, per_frame, batch, settle_s=settle_s),
        "per_event": listener_rate(
            workdir / "per-event", events[: max(per_frame, count // 3)], per_frame, batch=1, settle_s=settle_s
        ),
        "three_sources": three_sources_rate(workdir / "three-sources", events, per_frame, settle_s=settle_s),
        "parse_floor": floor_rate(workdir, events, per_frame, batch, parse=True),
        "floor": floor_rate(workdir, events, per_frame, batch, parse=False),
    }

"""Charts: render time per chart kind (p50/p95, the data read from Redis included where the product reads it; the
worker's pictures, alerts and the recap, drawn in a forked child as the worker draws them, teleglas.charts.apart;
the manual bot's in its own thread) and the memory of a `celery -A teleglas worker -c 2` with charts on, before
and after its pool rendered.

The tape holds an hour of 10 s buckets and a day of 5-minute buckets for 20 symbols, as a busy stream leaves
it; the alert charts read their span from it, the recap its whole day."""

from __future__ import annotations

import random
import time
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.memory import rss_mb, worker_processes
from bench.workload import PAIRS, percentile
from teleglas.charts import render
from teleglas.charts.alerts import alert_chart_png
from teleglas.charts.apart import render_apart
from teleglas.defines import QUEUE_CHARTS, TASK_RENDER_CHART
from teleglas.devstack.local_stack import LocalStack, wait_until
from teleglas.model.charts import ChartKind, LiquidationBars, OpenInterestSeries, chart_for
from teleglas.state.keys import (
    chart_key,
    tape_day_liquidations_key,
    tape_day_prices_key,
    tape_liquidations_key,
    tape_prices_key,
)
from teleglas.state.tape import BUCKET_S, DAY_BUCKET_S, TapeReader, liquidation_field

ZONE = ZoneInfo("UTC")


def fill_tape(client, now: float) -> None:
    rng = random.Random(11)
    with client.pipeline(transaction=False) as pipe:
        for bucket_s, span_s, liquidations_key, prices_key in (
            (BUCKET_S, 3600, tape_liquidations_key, tape_prices_key),
            (DAY_BUCKET_S, 86_400, tape_day_liquidations_key, tape_day_prices_key),
        ):
            newest = int(now) // bucket_s * bucket_s
            for bucket in range(newest - span_s, newest + 1, bucket_s):
                cells = {}
                for symbol, price in PAIRS.items():
                    for side in ("LONG", "SHORT"):
                        cells[liquidation_field(symbol, side)] = rng.uniform(1e3, 5e5)
                    cells[f"{symbol}|pv"] = price * 1e6 * rng.uniform(0.99, 1.01)
                    cells[f"{symbol}|v"] = 1e6
                pipe.hset(liquidations_key(bucket), mapping={k: v for k, v in cells.items() if "|" in k[:6]})
                pipe.hset(prices_key(bucket), mapping={k: v for k, v in cells.items() if k.endswith(("|pv", "|v"))})
        pipe.execute()


def timed(draw, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        draw()
        times.append(time.perf_counter() - started)
    return times


def render_times(client, count: int) -> dict[str, dict[str, float]]:
    now = time.time()
    now_ms = int(now * 1000)
    reader = TapeReader(client)
    storm = chart_for(ChartKind.STORM, ("BTCUSDT",), now_ms - 60_000, now_ms - 5_000)
    summary = chart_for(ChartKind.SUMMARY, ("ETHUSDT",), now_ms - 300_000, now_ms - 10_000)
    digest = chart_for(ChartKind.DIGEST, ("BTCUSDT", "ETHUSDT", "SOLUSDT"), now_ms - 120_000, now_ms)
    hours = tuple(now_ms - h * 3600_000 for h in range(24, 0, -1))
    liq = LiquidationBars(
        3600, hours, tuple(float(h) * 1e5 for h in range(24)), tuple(float(h) * 7e4 for h in range(24))
    )
    oi = OpenInterestSeries(hours, {f"EX{i}": tuple(1e9 * (i + 1) + h * 1e6 for h in range(24)) for i in range(8)})
    apart = partial(render_apart, timeout_s=60.0)  # the time is the figure; the timeout only ends a hang
    kinds = {
        "storm": lambda: alert_chart_png(storm, reader.liquidation_bars, ZONE, apart),
        "summary": lambda: alert_chart_png(summary, reader.liquidation_bars, ZONE, apart),
        "digest": lambda: alert_chart_png(digest, reader.liquidation_bars, ZONE, apart),
        "/liq": lambda: render.liquidations_png("BTC liquidations, last 24 h", "per hour", liq, ZONE),
        "/oi": lambda: render.open_interest_png("BTC open interest, last 24 h", "per exchange", oi, ZONE),
        "/chart 24h": lambda: render.liquidations_png(
            "BTCUSDT, last 24 h",
            "tape",
            reader.liquidation_bars(("BTCUSDT",), now_ms - 86_400_000, now_ms),
            ZONE,
            price_symbol="BTCUSDT",
        ),
        "recap": lambda: apart(partial(render.recap_png, "recap", "24 h", *reader.day(now_ms), ZONE)),
    }
    figures = {}
    for name, draw in kinds.items():
        draw()  # warm: fonts and caches are loaded once per process
        times = timed(draw, count)
        figures[name] = {"p50_ms": percentile(times, 0.5) * 1000, "p95_ms": percentile(times, 0.95) * 1000}
    return figures


def worker_memory(stack: LocalStack, renders: int) -> dict[str, float]:
    """RSS of the worker and its pool before any chart and after `renders` render_chart tasks."""
    worker = stack.start_worker(concurrency=2)
    time.sleep(2.0)
    pids = worker_processes(worker.process.pid)
    before = {pid: rss_mb(pid) for pid in pids}
    now_ms = int(time.time() * 1000)
    client = stack.redis()
    specs = [
        chart_for(ChartKind.STORM, ("BTCUSDT",), now_ms - 60_000 - n * 1000, now_ms - n * 1000) for n in range(renders)
    ]
    for spec in specs:
        stack.celery_app().send_task(TASK_RENDER_CHART, args=(spec.to_payload(), [], time.time()), queue=QUEUE_CHARTS)
    wait_until(lambda: all(client.exists(chart_key(s.chart_id())) for s in specs), 120, 0.2, what="the renders")
    after = {pid: rss_mb(pid) for pid in pids}
    pool = [pid for pid in pids if pid != worker.process.pid]
    return {
        "idle_mb": sum(before.values()),
        "rendered_mb": sum(after.values()),
        "pool_growth_mb": max(after[p] - before[p] for p in pool) if pool else 0.0,
        "renders": renders,
    }


def run(workdir: Path, count: int) -> dict:
    with LocalStack(workdir) as stack:
        stack.start_redis()
        client = stack.redis()
        fill_tape(client, time.time())
        figures = {"render": render_times(client, count)}
        figures["memory"] = worker_memory(stack, max(3, count // 3))
        figures["count"] = count
        return figures


if __name__ == "__main__":
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), 5), indent=1))

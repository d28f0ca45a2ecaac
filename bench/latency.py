"""End-to-end latency: a frame leaving the CoinGlass emulator → sendMessage arriving at the Telegram emulator,
at a steady 2,000 events/s (frames of 20 events every 10 ms) with 1 % qualifying, through the listener and one
`celery -A teleglas worker -c 2`.

This measures the pipeline, not Telegram's limits: the alert chat gets 20 alerts a second, which Telegram would
answer with digests, so the bench sets the chat spacing to 1 ms (TELEGRAM_CHAT_INTERVAL) with an emulator
without flood limits, and a rules file without cooldown folding or storms, so every qualifying event is an
alert of its own. Floor: a two-hop no-op Celery chain (bench/floor_app.py), the two hops of the pipeline
(process_events, then send_message) with nothing in them, at one chain per frame: the task rate the pipeline
sees. The load grows in events per frame rather than frames per second, so the floor stays a floor (its worker
keeps up) and the ratio shows what the events themselves cost."""

from __future__ import annotations

import re
import time
from pathlib import Path

from bench import floor_app
from bench.workload import PAIRS, T0_MS, delivered_frames, percentile, write_scenario
from teleglas.devstack.local_stack import LocalStack, wait_until
from teleglas.model.events import LiquidationOrder

RULES = """
[default]
liquidation_min_usd = 1_000_000
whale_min_usd = 1_000_000
cooldown_s = 0.001

[storm]
window_s = 1
min_count = 1_000_000
min_usd = 1_000_000_000_000
"""
_SIZE = re.compile(r"💵 Size: \$([\d,]+)")
RATE_EV_S = 2_000
FRAME_INTERVAL_S = 0.01
PER_FRAME = round(RATE_EV_S * FRAME_INTERVAL_S)
QUALIFYING_EVERY = 100  # 1 % of the events qualify
FLOOR_MAX_S = 10.0  # the floor settles within seconds; its worker runs alone


def stream(count: int, every: int) -> list[LiquidationOrder]:
    """Every `every`-th event qualifies, with a size of its own (1,000,000 + its number) to find it again."""
    symbols = list(PAIRS)
    events = []
    for n in range(count):
        usd = 1_000_000 + n if n % every == every - 1 else 1_000 + n % 50_000
        symbol = symbols[n % len(symbols)]
        events.append(
            LiquidationOrder(
                "Binance", symbol, symbol.removesuffix("USDT"), PAIRS[symbol], 1 + n % 2, float(usd), T0_MS + n
            )
        )
    return events


def pipeline_latencies(workdir: Path, seconds: float) -> tuple[list[float], float]:
    """Each alert's frame → Telegram latency, and the event rate the emulator achieved (its pauses run long)."""
    events = stream(int(seconds * RATE_EV_S), QUALIFYING_EVERY)
    workdir.mkdir(parents=True, exist_ok=True)
    scenario, rules = workdir / "steady.jsonl", workdir / "rules.toml"
    frame_steps = write_scenario(scenario, events, PER_FRAME, pause_s=FRAME_INTERVAL_S)
    rules.write_text(RULES)
    env = {
        "ALERT_RULES_FILE": str(rules),
        "TELEGRAM_CHAT_INTERVAL": "0.001",
        "TELEGRAM_RATE_MARGIN": "0",
        "STARTUP_QUIET": "1",
    }
    with LocalStack(workdir / "stack", chat_ids=("42",), scenario=str(scenario), settings_env=env) as stack:
        stack.start_redis()
        stack.start_telegram_emulator(flood_limits=False)
        stack.start_coinglass_emulator()
        stack.start_worker(concurrency=2)
        stack.start_listener()
        stack.wait_for_replay(timeout_s=seconds * 3 + 60)
        messages = stack.wait_for_idle(settle_s=1.0)
        _, sent_at = delivered_frames(stack, frame_steps)
    latencies = []
    for message in messages:
        size = _SIZE.search(message["text"])
        if size is None:
            continue  # the start-up notice
        number = int(size[1].replace(",", "")) - 1_000_000
        latencies.append(message["received_at"] - sent_at[number // PER_FRAME])
    sent = sorted(sent_at.values())
    rate = (len(sent) - 1) * PER_FRAME / (sent[-1] - sent[0]) if len(sent) > 1 else float("nan")
    return latencies, rate


def floor_latencies(workdir: Path, seconds: float, rate: float) -> list[float]:
    with LocalStack(workdir / "floor") as stack:
        stack.start_redis()
        worker = stack.start_command(
            "floor-worker",
            [
                "-m",
                "celery",
                "-A",
                "bench.floor_app",
                "worker",
                "-Q",
                floor_app.QUEUE,
                "-c",
                "2",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "WARNING",
                "--hostname",
                "floor@%h",
            ],
        )
        client = stack.redis()
        floor_app.app.conf.broker_url = stack.redis_url
        floor_app.hop1.delay(time.time())  # the worker is ready when the first chain comes back
        wait_until(lambda: client.llen(floor_app.RESULTS) > 0 or not worker.running, 60, 0.05, what="the floor worker")
        client.delete(floor_app.RESULTS)
        count = int(seconds * rate)
        started = time.perf_counter()
        with floor_app.app.producer_or_acquire() as producer:
            for n in range(count):
                while time.perf_counter() < started + n / rate:
                    time.sleep(0.0005)
                floor_app.hop1.apply_async((time.time(),), producer=producer)
        wait_until(lambda: client.llen(floor_app.RESULTS) >= count, 120, 0.05, what="every floor chain")
        return [float(v) for v in client.lrange(floor_app.RESULTS, 0, -1)]


def run(workdir: Path, seconds: float) -> dict[str, float]:
    pipeline, rate = pipeline_latencies(workdir / "pipeline", seconds)
    floor = floor_latencies(workdir, min(seconds, FLOOR_MAX_S), 1 / FRAME_INTERVAL_S)
    figures = {"alerts": len(pipeline), "rate_ev_s": rate}
    for name, values in (("", pipeline), ("floor_", floor)):
        for label, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
            figures[f"{name}{label}_ms"] = percentile(values, share) * 1000
    return figures

"""Shared by the benchmarks and the chaos runs: event streams, scenario files, a fast way to pre-fill a
queue, the alert accounting per chat, and percentiles."""

from __future__ import annotations

import base64
import copy
import json
import random
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import redis

from teleglas.decide.rules import Rules
from teleglas.defines import CHANNEL_LIQUIDATIONS, QUEUE_EVENTS
from teleglas.devstack.local_stack import LocalStack
from teleglas.devstack.readback import totals
from teleglas.model.events import LiquidationOrder

T0_MS = 1_764_000_000_000
# Twenty liquid pairs, with a plausible price each (the price does not change any decision).
PAIRS = {
    "BTCUSDT": 60_000.0,
    "ETHUSDT": 2_400.0,
    "SOLUSDT": 140.0,
    "DOGEUSDT": 0.12,
    "XRPUSDT": 0.5,
    "BNBUSDT": 580.0,
    "ADAUSDT": 0.35,
    "AVAXUSDT": 25.0,
    "DOTUSDT": 4.2,
    "LINKUSDT": 11.0,
    "LTCUSDT": 70.0,
    "TRXUSDT": 0.16,
    "MATICUSDT": 0.4,
    "ATOMUSDT": 5.1,
    "NEARUSDT": 4.4,
    "APTUSDT": 6.5,
    "ARBUSDT": 0.55,
    "OPUSDT": 1.5,
    "SUIUSDT": 1.1,
    "PEPEUSDT": 0.0000085,
}


def ws_item(event: LiquidationOrder) -> dict:
    """An event as CoinGlass puts it in a `liquidationOrders` frame."""
    return {
        "baseAsset": event.base_asset,
        "exName": event.exchange,
        "price": event.price,
        "side": event.side,
        "symbol": event.symbol,
        "time": event.time_ms,
        "volUsd": event.usd,
    }


def liquidation_frame(events: list[LiquidationOrder]) -> dict:
    """A `liquidationOrders` frame carrying `events`, as the emulator sends it (json.dumps, ensure_ascii=False)."""
    return {"channel": CHANNEL_LIQUIDATIONS, "data": [ws_item(e) for e in events]}


def liquidation_stream(
    count: int, qualifying_share: float, seed: int, pairs: int = 20, large_share: float = 0.0
) -> list[LiquidationOrder]:
    """`qualifying_share` of the events are 600k-3M USD (above every default threshold), `large_share` more
    are 100k-400k (above the default one only), the rest 1k-90k (below every threshold)."""
    rng = random.Random(seed)
    symbols = list(PAIRS)[:pairs]
    events = []
    for n in range(count):
        symbol = rng.choice(symbols)
        draw = rng.random()
        if draw < qualifying_share:
            usd = rng.randint(600_000, 3_000_000)
        elif draw < qualifying_share + large_share:
            usd = rng.randint(100_000, 400_000)
        else:
            usd = rng.randint(1_000, 90_000)
        events.append(
            LiquidationOrder(
                rng.choice(("Binance", "OKX", "Bybit")),
                symbol,
                symbol.removesuffix("USDT"),
                PAIRS[symbol],
                rng.choice((1, 2)),
                float(usd),
                T0_MS + n,
            )
        )
    return events


def write_scenario(
    path: Path,
    events: list[LiquidationOrder],
    per_frame: int,
    pause_s: float = 0.0,
    faults: dict[int, dict] | None = None,
) -> list[int]:
    """One frame per `per_frame` events, `pause_s` apart; `faults` puts extra steps (e.g. {"drop": true})
    before the given frame numbers. Returns the scenario step index of each frame, in order."""
    frame_steps = []
    step = 0
    with path.open("w", encoding="utf-8") as fh:
        for number, start in enumerate(range(0, len(events), per_frame)):
            if faults and number in faults:
                fh.write(json.dumps(faults[number]) + "\n")
                step += 1
            fh.write(json.dumps({"frame": liquidation_frame(events[start : start + per_frame])}) + "\n")
            frame_steps.append(step)
            step += 1
            if pause_s:
                fh.write(json.dumps({"pause": pause_s}) + "\n")
                step += 1
    return frame_steps


def delivered_frames(stack: LocalStack, frame_steps: list[int]) -> tuple[set[int], dict[int, float]]:
    """The frame numbers the emulator delivered to a client, and when each went out."""
    with urllib.request.urlopen(
        f"http://127.0.0.1:{stack.coinglass_port}/_emulator/status?log=1", timeout=30
    ) as response:
        sent = {index: at for at, index in json.load(response)["sent_log"]}
    frames = {number for number, step in enumerate(frame_steps) if step in sent}
    return frames, {number: sent[frame_steps[number]] for number in frames}


class QueueFiller:
    """Pre-fills the `events` queue with process_events tasks at Redis speed: one real message is published
    through Celery as a template, then copies with fresh ids and bodies are LPUSHed in pipelines (sending
    50,000 tasks through `send_task` alone would take longer than draining them)."""

    def __init__(self, stack: LocalStack):
        self.client = stack.redis()
        stack.celery_app().send_task("teleglas.process_events", args=([],), queue=QUEUE_EVENTS)
        self.template = json.loads(self.client.rpop(QUEUE_EVENTS))

    def message(self, items: str | list) -> bytes:
        message = copy.deepcopy(self.template)
        task_id = str(uuid.uuid4())
        message["headers"]["id"] = message["headers"]["root_id"] = task_id
        message["properties"]["correlation_id"] = task_id
        message["properties"]["delivery_tag"] = str(uuid.uuid4())
        body = [[items], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
        message["body"] = base64.b64encode(json.dumps(body).encode()).decode()
        return json.dumps(message).encode()

    def fill(self, batches: list) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for n, items in enumerate(batches):
                pipe.lpush(QUEUE_EVENTS, self.message(items))
                if n % 1000 == 999:
                    pipe.execute()
            pipe.execute()


def evaluating(client: redis.Redis) -> int:
    """process_events tasks taken but not yet acknowledged (kombu's `unacked` hash also holds the flushes a
    cooldown scheduled minutes ahead, which are not part of evaluating the queue)."""
    return sum(1 for raw in client.hvals("unacked") if b'"teleglas.process_events"' in raw)


def wait_drained(client: redis.Redis, total_tasks: int, timeout_s: float) -> float:
    """Seconds from the first task leaving the queue to the last process_events task being acknowledged."""
    deadline = time.monotonic() + timeout_s
    while client.llen(QUEUE_EVENTS) >= total_tasks:
        if time.monotonic() > deadline:
            raise TimeoutError("the worker never took a task")
        time.sleep(0.002)
    started = time.monotonic()
    while client.llen(QUEUE_EVENTS) or evaluating(client):
        if time.monotonic() > deadline:
            raise TimeoutError("the queue did not drain")
        time.sleep(0.005)
    return time.monotonic() - started


@dataclass(frozen=True)
class Accounting:
    events_in: int
    qualifying: int  # per chat
    delivered: int  # per chat, summed over chats and divided back (the worst chat is what counts)
    lost: int
    duplicates: int


def account_chats(events: list[LiquidationOrder], rules: Rules, messages: list[dict], chats: list) -> Accounting:
    """Every qualifying event must be reported exactly once in every chat: the worst chat is the row."""
    expected = Counter(e.symbol for e in events if rules.rule_for(e.symbol, e.base_asset, e.exchange).admits(e, True))
    qualifying = sum(expected.values())
    lost = duplicates = 0
    delivered = qualifying
    for chat in chats:
        got, _ = totals(m["text"] for m in messages if m["chat_id"] == chat)
        chat_lost = sum(max(0, expected[s] - got.get(s, 0)) for s in expected)
        chat_dup = sum(max(0, got.get(s, 0) - expected[s]) for s in set(got) | set(expected))
        lost, duplicates = max(lost, chat_lost), max(duplicates, chat_dup)
        delivered = min(delivered, sum(min(got.get(s, 0), expected[s]) for s in expected))
    return Accounting(len(events), qualifying, delivered, lost, duplicates)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]

"""The market tape and the metrics take a batch of events at once (summed in the process first, one lock per
batch): what reaches Redis must be what the events mean one by one."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from teleglas.defines import KIND_LIQUIDATION
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent
from teleglas.ops.metrics import EVENT_LATENCY, Recorder
from teleglas.state.buffer import RedisBuffer
from teleglas.state.keys import (
    tape_day_largest_key,
    tape_day_liquidations_key,
    tape_day_prices_key,
    tape_largest_key,
    tape_liquidations_key,
    tape_prices_key,
)
from teleglas.state.tape import BUCKET_S, DAY_BUCKET_S, MarketTape, order_member
from tests.support.fakes import FakeFigureRedis

T0_MS = 1_764_000_000_000  # an hour starts here


def stream(count: int, seed: int) -> list[MarketEvent]:
    """Liquidations and trades over 20 minutes across an hour's end (many 10 s buckets, several 5 min buckets,
    minutes and two hours), on a few symbols, some without a price; every size distinct, so the largest orders are
    one set whatever the order."""
    rng = random.Random(seed)
    sizes = rng.sample(range(1_000, 10_000_000), count)
    events: list[MarketEvent] = []
    for usd in sizes:
        kind = rng.choice((LiquidationOrder, LiquidationOrder, FuturesTrade))
        symbol = rng.choice(("BTCUSDT", "ETHUSDT", "PEPEUSDT"))
        price = rng.choice((0.0, 60_000.0, 2_400.5))
        time_ms = T0_MS - 600_000 + rng.randrange(1_200_000)
        events.append(kind("Binance", symbol, symbol[:-4], price, rng.choice((1, 2)), float(usd), time_ms))
    return events


def written(record) -> FakeFigureRedis:
    redis = FakeFigureRedis()
    buffer = RedisBuffer(lambda: redis)
    record(buffer)
    buffer.flush(redis)
    return redis


def tape_of(events: list[MarketEvent]) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """What the tape means, event by event: USD and count per liquidation bucket, symbol and side, price x USD and
    USD per price bucket and symbol (10 s and 5 min buckets), the ten largest orders of each minute and hour."""
    hashes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    orders: dict[str, list[MarketEvent]] = defaultdict(list)
    for event in events:
        seconds = event.time_ms // 1000
        for bucket_s, liquidations_key, prices_key in (
            (BUCKET_S, tape_liquidations_key, tape_prices_key),
            (DAY_BUCKET_S, tape_day_liquidations_key, tape_day_prices_key),
        ):
            bucket = seconds // bucket_s * bucket_s
            if event.kind == KIND_LIQUIDATION:
                hashes[liquidations_key(bucket)][f"{event.side_name}|{event.symbol}"] += event.usd
                hashes[liquidations_key(bucket)][f"{event.side_name}|{event.symbol}|n"] += 1
            if event.price > 0:
                hashes[prices_key(bucket)][f"{event.symbol}|pv"] += event.price * event.usd
                hashes[prices_key(bucket)][f"{event.symbol}|v"] += event.usd
        orders[tape_largest_key(seconds // 60)].append(event)
        orders[tape_day_largest_key(seconds // 3600)].append(event)
    zsets = {
        key: {order_member(e): e.usd for e in sorted(candidates, key=lambda e: -e.usd)[:10]}
        for key, candidates in orders.items()
    }
    return hashes, zsets


@pytest.mark.parametrize("batch", [1, 7, 100, 400])
def test_a_batch_on_the_tape_writes_what_its_events_mean_one_by_one(batch):
    events = stream(400, seed=batch)

    def in_batches(buffer: RedisBuffer) -> None:
        for start in range(0, len(events), batch):
            MarketTape(buffer).record(events[start : start + batch])

    hashes, zsets = tape_of(events)
    got = written(in_batches)
    assert got.hashes.keys() == hashes.keys()
    for key, fields in hashes.items():
        assert got.hashes[key] == pytest.approx(fields), key
    assert got.zsets == zsets  # each minute's and each hour's ten largest orders
    assert len(zsets) == 20 + 2 and all(len(zsets[key]) == 10 for key in zsets if ":day:" in key)
    assert {got.ttls[key] for key in got.hashes} == {2 * 3600, 26 * 3600}


def test_many_observations_at_once_count_as_each_alone():
    seconds = [0.0, 0.004, 0.005, 0.0051, 0.3, 7.0, 299.0, 300.0, 301.0, 5_000.0, -1.0]

    def one_at_a_time(buffer: RedisBuffer) -> None:
        for s in seconds:
            Recorder(buffer, 3600).observe(EVENT_LATENCY, s, "liquidation")

    def at_once(buffer: RedisBuffer) -> None:
        Recorder(buffer, 3600).observe_many(EVENT_LATENCY, seconds, "liquidation")
        Recorder(buffer, 3600).observe_many(EVENT_LATENCY, [], "liquidation")  # nothing observed, nothing written

    expected, got = written(one_at_a_time), written(at_once)
    assert got.hashes.keys() == expected.hashes.keys()
    for key, fields in expected.hashes.items():
        assert got.hashes[key] == pytest.approx(fields)
    assert got.ttls == expected.ttls

"""What the workers write for the dashboard, against a real Redis: the market tape through the process buffer,
the capped history streams, and the dashboard's mirror of them."""

from __future__ import annotations

import json
import time

from teleglas.dashboard.history_mirror import HistoryMirror
from teleglas.dashboard.market_view import MarketView
from teleglas.model.alerts import Alert
from teleglas.model.events import FuturesTrade, LiquidationOrder
from teleglas.state.buffer import RedisBuffer
from teleglas.state.history import AlertHistory, AlertRecord, SentRecord
from teleglas.state.keys import history_alerts_key, history_sent_key, tape_largest_key, tape_liquidations_key
from teleglas.state.tape import BUCKET_S, MarketTape, parse_liquidation_bucket

HOSTILE = "<b>X</b>|USDT"


def alert(alert_id: str, symbol: str = "BTCUSDT") -> Alert:
    return Alert(
        alert_id,
        "liquidation",
        "single",
        symbol,
        "BTC",
        1e6,
        "<b>text</b>",
        "line",
        (alert_id,),
        side="LONG",
        exchange="Binance",
        price=50_000.0,
        event_ms=int(time.time() * 1000),
    )


def test_market_tape_adds_buckets_and_keeps_the_largest_orders(state):
    buffer = RedisBuffer(lambda: state.redis)
    tape = MarketTape(buffer)
    now_ms = int(time.time() * 1000)
    now_ms -= now_ms % 60_000  # the start of a minute, so every event below falls in one minute and one bucket
    tape.record(
        LiquidationOrder("Binance", HOSTILE, "X", 1.0, 1 + i % 2, 1_000.0 * (i + 1), now_ms + i) for i in range(20)
    )
    tape.record(
        [
            *(
                LiquidationOrder("Binance", HOSTILE, "X", 1.0, 1 + i % 2, 1_000.0 * (i + 1), now_ms + i)
                for i in range(20, 25)
            ),
            FuturesTrade("Binance", "BTCUSDT", "BTC", 50_000.0, 2, 9e6, now_ms + 30),
        ]
    )
    buffer.flush(state.redis)
    assert (buffer._ttls, buffer._top_sizes) == (
        {},
        {},
    )  # nothing kept per key: a key per bucket must not pile up in a long-lived worker

    cells = {
        (c.symbol, c.side): c
        for c in parse_liquidation_bucket(
            state.redis.hgetall(tape_liquidations_key(now_ms // 1000 // BUCKET_S * BUCKET_S))
        )
    }
    longs, shorts = range(1, 26, 2), range(2, 26, 2)
    assert cells[(HOSTILE, "LONG")].usd == sum(1_000.0 * i for i in longs) and cells[(HOSTILE, "LONG")].count == len(
        longs
    )
    assert cells[(HOSTILE, "SHORT")].usd == sum(1_000.0 * i for i in shorts)
    assert set(cells) == {(HOSTILE, "LONG"), (HOSTILE, "SHORT")}  # the trade is not a liquidation
    top = state.redis.zrevrange(tape_largest_key(now_ms // 60_000), 0, -1, withscores=True)
    assert [score for _, score in top] == [9e6] + [1_000.0 * i for i in range(25, 16, -1)]
    assert json.loads(top[0][0])["kind"] == "trade"
    assert 0 < state.redis.ttl(tape_largest_key(now_ms // 60_000)) <= 2 * 3600

    # A second flush adds to what is there; the top set still keeps ten.
    tape.record([LiquidationOrder("OKX", "ETHUSDT", "ETH", 3_000.0, 1, 8e6, now_ms + 40)])
    buffer.flush(state.redis)
    assert state.redis.zcard(tape_largest_key(now_ms // 60_000)) == 10
    view = MarketView(state.redis).read(now_ms / 1000 + 5)
    assert [r["symbol"] for r in view["liquidations_5m"]] == ["ETHUSDT", HOSTILE]
    assert [o["usd"] for o in view["largest_orders_1h"]][:2] == [9e6, 8e6]


def test_buffer_keeps_figures_while_redis_refuses_them(state):
    buffer = RedisBuffer(lambda: state.redis)
    buffer.add("teleglas:test:sum", "f", 2.0, 60)

    class Refusing:
        def pipeline(self, **_kwargs):
            raise ConnectionError("redis away")

    buffer.keep_top("teleglas:test:top", 7.0, lambda: "seven", 2, 60)
    buffer.flush(Refusing())  # the figures go back into the buffer
    buffer.add("teleglas:test:sum", "f", 3.0, 60)
    buffer.keep_top("teleglas:test:top", 9.0, lambda: "nine", 2, 60)
    buffer.keep_top("teleglas:test:top", 1.0, lambda: "one", 2, 60)
    buffer.flush(state.redis)
    assert float(state.redis.hget("teleglas:test:sum", "f")) == 5.0
    assert state.redis.zrevrange("teleglas:test:top", 0, -1) == [b"nine", b"seven"]
    assert 0 < state.redis.ttl("teleglas:test:sum") <= 60 and 0 < state.redis.ttl("teleglas:test:top") <= 60


def test_history_streams_are_capped_expire_and_read_back_first_per_id(state):
    history = AlertHistory(state.redis, ttl_s=3600, max_entries=100)
    now = time.time()
    history.record_alerts([alert("a1"), alert("a2", HOSTILE)], now)
    history.record_alerts([alert("a1")], now + 1)  # a redelivered task writes it again
    assert [r.alert_id for r in history.alerts_since(now - 60)] == ["a1", "a2"]
    assert history.alerts_since(now - 60)[1].symbol == HOSTILE
    for i in range(1_000):
        history.record_sent(f"s{i}", -100, (i,), "x" * 5_000, now)
    assert 100 <= state.redis.xlen(history_sent_key()) < 300  # trimmed in whole stream nodes (approximate)
    newest = state.redis.xrevrange(history_sent_key(), count=1)[0][1]
    assert json.loads(newest[b"d"])["alert_id"] == "s999" and len(json.loads(newest[b"d"])["text"]) == 1_000
    assert 0 < state.redis.ttl(history_sent_key()) <= 3600 and 0 < state.redis.ttl(history_alerts_key()) <= 3600


def test_mirror_reads_only_what_is_new_survives_bad_entries_and_a_flush(state):
    history = AlertHistory(state.redis, ttl_s=3600, max_entries=10_000)
    mirror = HistoryMirror(history)
    now = time.time()
    history.record_alerts([alert("a1")], now)
    history.record_sent("a1", -100, (1,), "text", now)
    state.redis.xadd(history_sent_key(), {"d": "{not json"})
    mirror.refresh(now)
    alerts, _, sent = mirror.view()
    assert list(alerts) == ["a1"] and [s.alert_id for s in sent] == ["a1"] and mirror.unreadable == 1

    history.record_sent("a1", 42, (2,), "text", now + 1)
    mirror.refresh(now + 1)
    _, _, sent = mirror.view()
    assert [(s.alert_id, s.chat_id) for s in sent] == [("a1", -100), ("a1", 42)]  # nothing read twice
    assert mirror.unreadable == 1

    state.redis.flushdb()  # the history is gone (expired, or an operator flushed Redis)
    mirror.refresh(now + 2)
    assert mirror.view() == ({}, {}, [])
    history.record_sent("a9", -100, (9,), "text", now + 3)
    mirror.refresh(now + 3)
    assert [s.alert_id for s in mirror.view()[2]] == ["a9"]


def test_mirror_drops_what_is_older_than_the_history_keeps(state):
    history = AlertHistory(state.redis, ttl_s=60, max_entries=10_000)
    mirror = HistoryMirror(history)
    now = time.time()
    history.record_alerts([alert("old")], now)
    history.record_sent("old", -100, (1,), "text", now)
    mirror.refresh(now)
    assert isinstance(mirror.view()[0]["old"], AlertRecord) and isinstance(mirror.view()[2][0], SentRecord)
    mirror.refresh(now + 120)
    assert mirror.view() == ({}, {}, [])


def test_mirror_holds_no_more_than_the_streams_keep(state):
    history = AlertHistory(state.redis, ttl_s=3600, max_entries=50)
    mirror = HistoryMirror(history)
    now = time.time()
    for i in range(0, 300, 30):  # refreshed as the entries arrive, so the mirror sees them all
        history.record_alerts([alert(f"a{j}") for j in range(i, i + 30)], now)
        for j in range(i, i + 30):
            history.record_sent(f"a{j}", -100, (j,), "text", now)
        mirror.refresh(now)
    alerts, _, sent = mirror.view()
    assert list(alerts) == [f"a{j}" for j in range(250, 300)]
    assert [s.alert_id for s in sent] == [f"a{j}" for j in range(250, 300)]

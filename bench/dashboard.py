"""The dashboard with a full history: ALERT_HISTORY_MAX alerts and as many sent messages in the streams, an hour
of market tape for 50 symbols, then the refresher's work: the first read (the whole history into memory), a
live tick (status, new history entries, feed, market) and an analytics run, and the mirror's memory. Target:
a live tick inside its half-second interval, so the page stays within 2 s of Redis."""

from __future__ import annotations

import random
import statistics
import time
import tracemalloc
from pathlib import Path

from teleglas.dashboard.analytics_view import AlertAnalytics
from teleglas.dashboard.history_mirror import HistoryMirror
from teleglas.dashboard.live import LiveStatus
from teleglas.dashboard.market_view import MarketView
from teleglas.dashboard.server import Refresher
from teleglas.devstack.local_stack import LocalStack
from teleglas.model.alerts import Alert
from teleglas.settings import load_settings
from teleglas.state.history import AlertHistory
from teleglas.state.keys import tape_liquidations_key
from teleglas.state.system import SystemState
from teleglas.state.tape import BUCKET_S, liquidation_field

SYMBOLS = [f"COIN{i}USDT" for i in range(50)]
KINDS = ("liquidation", "trade")


def fill(history: AlertHistory, client, entries: int, now: float) -> None:
    rng = random.Random(7)
    batch = 1_000
    for start in range(0, entries, batch):
        at = now - 20 * 3600 * (1 - start / entries)  # spread over the last 20 hours
        alerts = [
            Alert(
                f"a{i}",
                KINDS[i % 2],
                "single",
                rng.choice(SYMBOLS),
                "",
                rng.uniform(5e5, 5e6),
                "t",
                "l",
                (f"a{i}",),
                side=rng.choice(("LONG", "SHORT")),
                exchange="Binance",
                price=rng.uniform(1, 1e5),
                event_ms=int(at * 1000),
            )
            for i in range(start, start + batch)
        ]
        history.record_alerts(alerts, at)
        for alert in alerts:  # one sent entry per alert, as the senders write them
            history.record_sent(
                alert.alert_id,
                -1001000000001,
                (1,),
                "🔥 LIQUIDATION ALERT\n📊 Symbol: " + alert.symbol + "\n" + "x" * 200,
                at + 0.2,
            )
    newest = int(now) // BUCKET_S * BUCKET_S
    with client.pipeline(transaction=False) as pipe:
        for bucket in range(newest - 3600, newest + 1, BUCKET_S):
            pipe.hset(
                tape_liquidations_key(bucket),
                mapping={
                    liquidation_field(s, side): rng.uniform(1e3, 1e6) for s in SYMBOLS for side in ("LONG", "SHORT")
                },
            )
        pipe.execute()


def run(workdir: Path, entries: int, ticks: int = 10) -> dict[str, float]:
    with LocalStack(workdir) as stack:
        stack.start_redis()
        client = stack.redis()
        settings = load_settings({"REDIS_URL": stack.redis_url}, env_file=None)
        history = AlertHistory(client, settings.ops.alert_history_ttl_s, max(entries, settings.ops.alert_history_max))
        fill(history, client, entries, time.time())
        refresher = Refresher(
            LiveStatus(SystemState.of(client), settings),
            HistoryMirror(history),
            MarketView(client),
            AlertAnalytics(history),
        )
        catch_up, started = [], time.perf_counter()
        while len(refresher.mirror.alerts) < entries or len(refresher.mirror.sent) < entries:
            tick_started = time.perf_counter()
            refresher.tick(time.time())
            catch_up.append(time.perf_counter() - tick_started)
        loaded_s = time.perf_counter() - started
        live, analytics = [], []
        for _ in range(ticks):
            refresher._market_due = 0.0  # every tick reads the market too, as every second one does
            tick_started = time.perf_counter()
            refresher.tick(time.time())
            live.append(time.perf_counter() - tick_started)
            tick_started = time.perf_counter()
            refresher.tick_analytics(time.time())
            analytics.append(time.perf_counter() - tick_started)
        tracemalloc.start()
        mirror = HistoryMirror(history)
        while len(mirror.alerts) < entries or len(mirror.sent) < entries:
            mirror.refresh(time.time())
        memory_mb = tracemalloc.get_traced_memory()[0] / 1e6
        tracemalloc.stop()
        return {
            "entries": entries,
            "load_s": loaded_s,
            "load_ticks": len(catch_up),
            "load_tick_max_ms": max(catch_up) * 1000,
            "live_tick_ms": statistics.median(live) * 1000,
            "live_tick_max_ms": max(live) * 1000,
            "analytics_ms": statistics.median(analytics) * 1000,
            "analytics_first_ms": analytics[0] * 1000,
            "memory_mb": memory_mb,
        }

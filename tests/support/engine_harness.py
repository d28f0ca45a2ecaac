"""Drives the alert engine, fan-out and the real dispatch as the Celery tasks do, without Celery, on a
simulated clock: events and the delayed work they schedule (flushes, digests: keyed as in Redis's due set)
run in time order against a real redis-server, and every message that would be sent is collected with the
events it accounts for."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from teleglas.decide.engine import Engine
from teleglas.decide.fanout import FanOut
from teleglas.decide.rules import Rules, parse_rules
from teleglas.defines import TASK_FLUSH_AGGREGATE, TASK_FLUSH_DIGEST
from teleglas.deliver.ratelimit import RateLimits
from teleglas.model.alerts import Flush, Send
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent
from teleglas.settings import Settings
from teleglas.state.due import DueTask
from teleglas.state.engine import EngineStore
from teleglas.tasks.dispatch import Dispatcher
from tests.support.state import State

# The rules the engine tests share: BTC as a major (higher thresholds, shorter cooldown), short storm windows.
RULES = parse_rules("""
[default]
liquidation_min_usd = 100_000
whale_min_usd = 200_000
cooldown_s = 60

[groups.majors]
symbols = ["BTC"]
liquidation_min_usd = 500_000
whale_min_usd = 1_000_000
cooldown_s = 30

[storm]
window_s = 20
min_count = 5
min_usd = 4_000_000

[whale_cluster]
window_s = 30
min_count = 3
min_usd = 5_000_000
""")
T0 = 1_725_478_245.0


def liq(usd, side=2, symbol="BTCUSDT", exchange="Binance", t=0.0, price=56_738.0):
    return LiquidationOrder(
        exchange, symbol, symbol.removesuffix("USDT"), price, side, float(usd), int((T0 + t) * 1000)
    )


def trade(usd, side=2, symbol="BTCUSDT", exchange="Binance", t=0.0):
    return FuturesTrade(exchange, symbol, symbol.removesuffix("USDT"), 56_750.0, side, float(usd), int((T0 + t) * 1000))


@dataclass
class Harness:
    rules: Rules
    state: State
    settings: Settings
    sent: list[Send] = field(default_factory=list)
    events_of_alert: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _queue: list = field(default_factory=list)
    _due: dict[str, tuple[float, DueTask]] = field(default_factory=dict)
    _order: itertools.count = field(default_factory=itertools.count)
    _now: float = 0.0

    def __post_init__(self) -> None:
        engine_state = EngineStore(self.state.redis)
        self.engine = Engine(self.rules, engine_state, self.settings)
        spacing = RateLimits.from_settings(self.settings).spacing
        self.fanout = FanOut(self.state.chats, self.state.dead_letters, engine_state, self.settings, spacing)
        self.dispatcher = Dispatcher(
            self.fanout, None, send=lambda send, _origin: self.sent.append(send), later=self._later
        )

    def event(self, at: float, event: MarketEvent, claimer: str | None = None) -> None:
        heapq.heappush(self._queue, (at, next(self._order), "event", (event, claimer)))

    def run(self, until: float | None = None) -> None:
        """Runs everything due up to `until` (everything, when None), in time order."""
        while self._queue and (until is None or self._queue[0][0] <= until):
            at, _, what, payload = heapq.heappop(self._queue)
            self._now = at
            if what == "event":
                event, claimer = payload
                alerts, flushes = self.engine.evaluate(event, claimer or f"task-{next(self._order)}", at)
                self.dispatcher.flushes(flushes)
                self._record(alerts)
                self.dispatcher.alerts(alerts, at, None)
            elif self._due.get(payload, (None,))[0] == at:
                _, task = self._due.pop(payload)
                self._run_due(task, at)

    def _run_due(self, task: DueTask, at: float) -> None:
        claimer = f"due-{next(self._order)}"
        if task.task == TASK_FLUSH_AGGREGATE:
            alerts, again = self.engine.flush(Flush.from_payload(task.args[0]), claimer, at)
            self.dispatcher.flushes(again)
            self._record(alerts)
            self.dispatcher.alerts(alerts, at, None)
        elif task.task == TASK_FLUSH_DIGEST:
            self.dispatcher.digest(task.args[0], claimer, at)
        else:
            raise AssertionError(f"unexpected delayed task {task.task}")

    def _later(self, task: DueTask, delay_s: float, keep_earlier: bool) -> None:
        """The due set's rules: one entry per key; asked again, it keeps the earlier time when told to."""
        at = self._now + max(delay_s, 0.0)
        current = self._due.get(task.key)
        if keep_earlier and current is not None and current[0] <= at:
            at = current[0]
        self._due[task.key] = (at, task)
        heapq.heappush(self._queue, (at, next(self._order), "due", task.key))

    def _record(self, alerts) -> None:
        for alert in alerts:
            self.events_of_alert[alert.alert_id] = alert.event_ids

    def events_in(self, send: Send) -> list[str]:
        return [event_id for alert_id in send.covers for event_id in self.events_of_alert[alert_id]]

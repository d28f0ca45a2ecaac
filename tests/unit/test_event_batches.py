"""A process_events batch, against in-memory fakes behind the wiring: below-threshold events are done without
touching the engine's state; the qualifying ones share one call for their claims and admissions; an event's own
failure is retried alone, a Redis or broker failure retries every event not yet done, and each event reaches the
tape and the figures once, when it is done."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
import redis
from kombu.exceptions import OperationalError

from teleglas.decide.engine import Engine
from teleglas.defines import KIND_LIQUIDATION
from teleglas.model.alerts import Alert, Flush
from teleglas.model.batch import plain, unpack
from teleglas.model.events import MarketEvent
from teleglas.ops.metrics import (
    EVENT_LATENCY,
    EVENTS_DUPLICATE,
    EVENTS_EVALUATED,
    EVENTS_MERGED,
    SUPPRESSED,
    SUPPRESSED_COOLDOWN,
    SUPPRESSED_DUPLICATE,
    Metric,
)
from teleglas.state.crossmatch import DUPLICATE, KEPT, KEPT_AGAIN, MERGED
from teleglas.state.engine import Outcome
from teleglas.tasks import events as tasks, wiring
from teleglas.tasks.durable import RetryPart
from tests.support.engine_harness import RULES, liq
from tests.support.fakes import FakeEngineState
from tests.support.settings import make_settings


@dataclass
class CountingState(FakeEngineState):
    calls: list[int] = field(default_factory=list)  # candidates per call
    fail: BaseException | None = None

    def admit(self, candidates, **kwargs):
        self.calls.append(len(candidates))
        if self.fail is not None:
            raise self.fail
        return super().admit(candidates, **kwargs)


@dataclass
class Dispatched:
    alerts: list[tuple[Alert, int | None]] = field(default_factory=list)
    flushes: list[Flush] = field(default_factory=list)
    fail_on_call: int | None = None  # the alerts call (counted from 1) that raises as a broker would
    calls: int = 0

    def alerts_(self, alerts: list[Alert], now: float, origin_ms: int | None) -> None:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise OperationalError("broker away")
        self.alerts += [(alert, origin_ms) for alert in alerts]


@dataclass
class Tape:
    recorded: list[list[MarketEvent]] = field(default_factory=list)

    def record(self, events) -> None:
        self.recorded.append(list(events))


@dataclass
class Metrics:
    counts: Counter = field(default_factory=Counter)
    calls: list[tuple[str, tuple]] = field(default_factory=list)

    def inc(self, metric: Metric, *labels: object, amount: float = 1.0) -> None:
        self.calls.append((metric.name, labels))
        self.counts[(metric.name, labels)] += amount

    def observe_many(self, metric: Metric, observations, *labels: object) -> None:
        self.calls.append((metric.name, labels))
        self.counts[(metric.name, labels)] += len(list(observations))


@dataclass
class Wired:
    engine: Engine
    state: CountingState
    dispatched: Dispatched
    tape: Tape
    metrics: Metrics

    @property
    def taped(self) -> list[MarketEvent]:
        return [event for batch in self.tape.recorded for event in batch]


@pytest.fixture
def wired(monkeypatch) -> Wired:
    state, metrics = CountingState(), Metrics()
    engine = Engine(RULES, state, make_settings(), metrics)  # type: ignore[arg-type]
    dispatched, tape = Dispatched(), Tape()

    class Dispatcher:
        def alerts(self, alerts, now, origin_ms):
            dispatched.alerts_(alerts, now, origin_ms)

        def flushes(self, flushes):
            dispatched.flushes.extend(flushes)

    monkeypatch.setattr(wiring, "engine", lambda: engine)
    monkeypatch.setattr(wiring, "dispatcher", lambda: Dispatcher())
    monkeypatch.setattr(wiring, "market_tape", lambda: tape)
    monkeypatch.setattr(tasks, "recorder", lambda: metrics)
    return Wired(engine, state, dispatched, tape, metrics)


def read(event: MarketEvent, received_ms: int | None = None, source: str = "coinglass") -> tasks.Read:
    item = [event.to_payload(), received_ms, source]
    return item, event, received_ms, source


SMALL = [read(liq(10_000 + n, symbol="ETHUSDT", t=n)) for n in range(5)]  # under every threshold
BIG = [read(liq(600_000 + n, symbol="ETHUSDT", t=n), received_ms=1_000 + n) for n in range(3)]


def test_a_batch_under_every_threshold_never_reaches_the_engines_state(wired):
    tasks.evaluate(SMALL, "task-1")
    assert (wired.state.calls, wired.dispatched.calls) == ([], 0)
    assert wired.tape.recorded == [[r[1] for r in SMALL]]  # the tape once for the batch
    labels = (KIND_LIQUIDATION,)
    assert wired.metrics.counts[(EVENTS_EVALUATED.name, labels)] == 5
    assert wired.metrics.counts[(EVENT_LATENCY.name, labels)] == 5
    assert len(wired.metrics.calls) == 2  # one count and one histogram call for the batch, not one per event


def test_qualifying_events_share_one_admission_call(wired):
    batch = [SMALL[0], BIG[0], SMALL[1], BIG[1], BIG[2]]
    wired.state.outcomes[BIG[1][1].fingerprint()] = (Outcome.FOLD, 30.0)
    tasks.evaluate(batch, "task-1")
    assert wired.state.calls == [3]
    assert wired.state.admitted == [r[1].fingerprint() for r in BIG]  # in the batch's order
    assert [(alert.alert_id, origin) for alert, origin in wired.dispatched.alerts] == [
        (BIG[0][1].fingerprint(), 1_000),
        (BIG[2][1].fingerprint(), 1_002),
    ]  # each lead with its own event's arrival time
    assert [flush.symbol for flush in wired.dispatched.flushes] == ["ETHUSDT"]
    assert sorted(e.usd for e in wired.taped) == sorted(r[1].usd for r in batch)
    assert wired.metrics.counts[(SUPPRESSED.name, (SUPPRESSED_COOLDOWN,))] == 1


def test_another_claimers_events_are_duplicates_counted_once_for_the_batch(wired):
    tasks.evaluate(BIG, "task-1")
    tasks.evaluate(BIG, "task-1")  # the same task again (a redelivery): the same claims
    tasks.evaluate(BIG, "task-2")  # a second listener's copies
    assert wired.state.calls == [3, 3, 3]
    assert len(wired.dispatched.alerts) == 6
    assert wired.metrics.counts[(SUPPRESSED.name, (SUPPRESSED_DUPLICATE,))] == 3
    assert wired.metrics.calls.count((SUPPRESSED.name, (SUPPRESSED_DUPLICATE,))) == 1


def retried(retry) -> list:
    """The items a RetryPart hands back, as plain JSON items (its one argument is a packed batch)."""
    (packed,) = retry.value.retry_args
    return [plain(item) for item in unpack(packed)]


def test_an_events_own_failure_is_retried_alone(wired, monkeypatch):
    decide = wired.engine.decide

    def failing(event, admission, now):
        if event is BIG[1][1]:
            raise ValueError("a hostile event")
        return decide(event, admission, now)

    monkeypatch.setattr(wired.engine, "decide", failing)
    with pytest.raises(RetryPart) as retry:
        tasks.evaluate([*BIG, *SMALL], "task-1")
    assert retried(retry) == [BIG[1][0]]
    assert [alert.alert_id for alert, _ in wired.dispatched.alerts] == [
        BIG[0][1].fingerprint(),
        BIG[2][1].fingerprint(),
    ]
    assert BIG[1][1] not in wired.taped and len(wired.taped) == 7  # counted when its retry gets through


def test_a_redis_failure_retries_every_qualifying_event_and_keeps_the_others_done(wired):
    wired.state.fail = redis.ConnectionError("reset")
    with pytest.raises(RetryPart) as retry:
        tasks.evaluate([SMALL[0], *BIG, SMALL[1]], "task-1")
    assert retried(retry) == [r[0] for r in BIG]
    assert wired.taped == [SMALL[0][1], SMALL[1][1]] and wired.dispatched.alerts == []


def test_a_broker_failure_retries_the_events_not_yet_dispatched(wired):
    wired.dispatched.fail_on_call = 2
    with pytest.raises(RetryPart) as retry:
        tasks.evaluate([*BIG, SMALL[0]], "task-1")
    assert retried(retry) == [BIG[1][0], BIG[2][0]]
    assert wired.taped == [SMALL[0][1], BIG[0][1]]
    assert [alert.alert_id for alert, _ in wired.dispatched.alerts] == [BIG[0][1].fingerprint()]


def test_the_match_drops_are_counted_once_per_label_and_only_kept_events_are_evaluated(wired, monkeypatch):
    statuses = [KEPT, DUPLICATE, MERGED, MERGED, KEPT_AGAIN, DUPLICATE]
    batch = [SMALL[0], SMALL[1], BIG[0], SMALL[2], BIG[1], BIG[2]]
    sources = ["coinglass", "coinglass", "binance", "binance", "coinglass", "coinglass"]
    items = [[event.to_payload(), None, source] for (_, event, _, _), source in zip(batch, sources)]

    class Match:
        def admit(self, sightings, claimer):
            assert [source for _, source in sightings] == sources
            return statuses

    monkeypatch.setattr(wiring, "cross_match", lambda: Match())
    tasks.process_events(items)
    assert wired.taped == [SMALL[0][1], BIG[1][1]]
    assert wired.metrics.counts[(EVENTS_DUPLICATE.name, ("coinglass",))] == 2
    assert wired.metrics.counts[(EVENTS_MERGED.name, ("binance",))] == 2
    assert wired.metrics.counts[(SUPPRESSED.name, (SUPPRESSED_DUPLICATE,))] == 2  # BIG[0] and BIG[2] qualify
    assert wired.metrics.calls.count((EVENTS_MERGED.name, ("binance",))) == 1

"""The engine's decisions around its Redis state, against in-memory fakes: what reaches the state at all, what
a lead, a fold and a storm turn into, what a flush sends. The Lua scripts behind the real state have their
own tests against redis-server (tests/integration/test_engine.py, test_store.py)."""

from dataclasses import replace

from teleglas.decide.aggregation import encode_entry
from teleglas.decide.engine import Engine
from teleglas.defines import STORM_QUIET_MIN_S
from teleglas.model.alerts import FlushSource, Form
from teleglas.model.charts import ChartKind
from teleglas.model.events import FuturesTrade, LiquidationOrder
from teleglas.state.engine import Outcome
from tests.support.engine_harness import RULES, T0
from tests.support.fakes import FakeEngineState
from tests.support.settings import make_settings


def liq(usd: float, side: int = 2, symbol: str = "BTCUSDT", t: float = 0.0) -> LiquidationOrder:
    return LiquidationOrder("Binance", symbol, symbol.removesuffix("USDT"), 56_738.0, side, usd, int((T0 + t) * 1000))


def engine(**settings: str) -> tuple[Engine, FakeEngineState]:
    state = FakeEngineState()
    return Engine(RULES, state, make_settings(**settings)), state  # type: ignore[arg-type]


def test_an_event_under_its_threshold_never_reaches_the_state():
    eng, state = engine()
    assert eng.evaluate(liq(499_999), "task-1", T0) == ([], [])  # BTC is a major: 500k
    assert state.owners == {} and state.admitted == []


def test_whale_trades_stay_quiet_when_whale_alerts_are_off():
    eng, state = engine(ENABLE_WHALE_ALERTS="false")
    trade = FuturesTrade("Binance", "BTCUSDT", "BTC", 56_750.0, 2, 5_000_000.0, int(T0 * 1000))
    assert eng.evaluate(trade, "task-1", T0) == ([], []) and state.admitted == []


def test_the_same_event_from_another_claimer_is_a_duplicate():
    eng, state = engine()
    event = liq(600_000)
    alerts, _ = eng.evaluate(event, "task-1", T0)
    assert len(alerts) == 1
    assert eng.evaluate(event, "task-2", T0) == ([], [])  # a second listener's copy
    assert eng.evaluate(event, "task-1", T0)[0] == alerts  # the same task redelivered: the same answer
    assert state.admitted == [event.fingerprint(), event.fingerprint()]


def test_a_lead_is_an_alert_quoting_its_event():
    eng, _ = engine()
    event = liq(1_250_000)
    (alert,), flushes = eng.evaluate(event, "task-1", T0)
    assert flushes == [] and alert.form is Form.SINGLE and alert.event_ids == (event.fingerprint(),)
    assert (alert.symbol, alert.side, alert.usd, alert.price) == ("BTCUSDT", "SHORT", 1_250_000.0, 56_738.0)
    assert "🔥 LIQUIDATION ALERT" in alert.text and "$1,250,000" in alert.text


def test_a_fold_and_a_storm_ask_for_their_flush():
    eng, state = engine()
    folded, stormy = liq(700_000, t=1), liq(800_000, t=2)
    state.outcomes[folded.fingerprint()] = (Outcome.FOLD, 29.0)
    state.outcomes[stormy.fingerprint()] = (Outcome.STORM_START, 10.0)
    assert eng.evaluate(folded, "task-1", T0 + 1)[1][0].source is FlushSource.FOLDED
    ((storm_flush,),) = [eng.evaluate(stormy, "task-1", T0 + 2)[1]]
    # the first look comes after the least quiet that can end a storm, not at the window's end
    assert (storm_flush.source, storm_flush.scope, storm_flush.due_s, storm_flush.due_at) == (
        FlushSource.STORM,
        "ALL",
        STORM_QUIET_MIN_S,
        T0 + 2 + STORM_QUIET_MIN_S,
    )


def test_a_storm_kept_open_for_its_whole_window_is_flushed_at_its_end():
    state = FakeEngineState()
    eng = Engine(replace(RULES, storm=replace(RULES.storm, quiet_gaps=0)), state, make_settings())  # type: ignore[arg-type]
    stormy = liq(800_000, t=2)
    state.outcomes[stormy.fingerprint()] = (Outcome.STORM_START, 10.0)
    ((storm_flush,),) = [eng.evaluate(stormy, "task-1", T0 + 2)[1]]
    assert (storm_flush.due_s, storm_flush.due_at) == (10.0, T0 + 12)


def test_a_flush_sends_a_summary_of_what_was_taken_and_nothing_when_it_is_gone():
    eng, state = engine()
    first, second = liq(700_000, t=1), liq(900_000, t=2)
    state.outcomes[first.fingerprint()] = (Outcome.FOLD, 29.0)
    (flush,) = eng.evaluate(first, "task-1", T0 + 1)[1]
    state.folded[("liquidation", "BTCUSDT", "SHORT")] = [encode_entry(first).encode(), encode_entry(second).encode()]
    (summary,), again = eng.flush(flush, "flush-1", T0 + 31)
    assert summary.form is Form.SUMMARY and set(summary.event_ids) == {first.fingerprint(), second.fingerprint()}
    assert "$1,600,000" in summary.text and summary.current_ms == int(flush.due_at * 1000) and again == []
    assert summary.chart is not None and summary.chart.kind is ChartKind.SUMMARY  # sent as a photo
    assert eng.flush(flush, "flush-2", T0 + 32) == ([], [])  # a lead took them, or a redelivered flush found them gone

"""Property tests over random event streams (hypothesis), against a real redis-server: every qualifying event
is in exactly one message, no message repeats an event, every message is valid Telegram HTML that fits."""

from hypothesis import HealthCheck, given, settings, strategies as st

from teleglas.deliver.message_split import split_message
from teleglas.devstack.emulators.telegram_html import parse_html
from teleglas.model.events import FuturesTrade, LiquidationOrder
from tests.support.engine_harness import RULES, T0, Harness
from tests.support.settings import make_settings

SYMBOLS = ("BTCUSDT", "ETHUSDT", "<b>X</b>USDT", "A&BUSDT")
CHATS = "42,-1001000000001"

event_strategy = st.builds(
    lambda kind, symbol, side, usd, exchange, gap: (
        gap,
        (LiquidationOrder if kind else FuturesTrade)(
            exchange, symbol, symbol.removesuffix("USDT"), 100.0, side, float(usd), 0
        ),
    ),
    st.booleans(),
    st.sampled_from(SYMBOLS),
    st.sampled_from((1, 2)),
    st.one_of(st.integers(1_000, 99_999), st.integers(100_000, 3_000_000)),
    st.sampled_from(("Binance", "OKX", "Bybit<script>")),
    st.floats(0, 8),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(event_strategy, min_size=1, max_size=60), st.integers(0, 3))
def test_every_qualifying_event_is_in_exactly_one_message(state, stream, repeats):
    state.redis.flushdb()
    harness = Harness(RULES, state, make_settings(TELEGRAM_ALERT_CHAT_IDS=CHATS))
    at = T0
    qualifying = set()
    events = []
    for gap, event in stream:
        at += gap
        event = type(event)(
            event.exchange, event.symbol, event.base_asset, event.price, event.side, event.usd, int(at * 1000)
        )
        events.append((at, event))
        harness.event(at, event)
        if RULES.rule_for(event.symbol, event.base_asset, event.exchange).admits(event, True):
            qualifying.add(event.fingerprint())
    for at, event in events[:repeats]:  # replays from a second listener
        harness.event(at + 1, event)
    harness.run()

    for chat in (42, -1001000000001):
        sends = [s for s in harness.sent if s.chat_id == chat]
        counted = [event_id for send in sends for event_id in harness.events_in(send)]
        assert len(counted) == len(set(counted)), "an event counted twice"
        assert set(counted) == qualifying, "an event missing or invented"
    for send in harness.sent:
        for part in split_message(send.text, is_html=True):
            assert parse_html(part).utf16_length <= 4096

"""Whale score properties (hypothesis) and per-chat rules."""

from hypothesis import given, strategies as st

from teleglas.decide.chat_rules import parse_chat_rules
from teleglas.decide.scoring import WhaleContext, agreeing_liquidation_side, whale_score

usd = st.floats(min_value=0, max_value=1e10, allow_nan=False)
count = st.integers(min_value=0, max_value=50)


def score(size, same, agree, oppose):
    return whale_score(size, 1_000_000, 500_000, WhaleContext(same, agree, oppose))


@given(usd, usd, count, usd, usd)
def test_score_never_falls_as_the_trade_grows(a, b, same, agree, oppose):
    small, big = sorted((a, b))
    assert score(small, same, agree, oppose).total <= score(big, same, agree, oppose).total
    assert 0 <= score(small, same, agree, oppose).total <= 100


@given(usd, count, count, usd, usd)
def test_score_never_falls_with_more_same_side_whales(size, a, b, agree, oppose):
    few, many = sorted((a, b))
    assert score(size, few, agree, oppose).total <= score(size, many, agree, oppose).total


@given(usd, count, usd, usd, usd)
def test_agreeing_liquidations_raise_it_and_opposing_ones_lower_it(size, same, a, b, other):
    low, high = sorted((a, b))
    assert score(size, same, low, other).total <= score(size, same, high, other).total
    assert score(size, same, other, low).total >= score(size, same, other, high).total


def test_score_factors_have_their_documented_bounds():
    assert score(1_000_000, 0, 0, 0).total == 0  # just at the threshold, alone, no liquidations
    full = score(10_000_000, 3, 1e12, 0)
    assert (round(full.size), round(full.flow), round(full.liquidations), full.total) == (40, 30, 30, 100)
    assert agreeing_liquidation_side("BUY") == "SHORT" and agreeing_liquidation_side("SELL") == "LONG"


def test_chat_rules_filter_by_kind_symbol_threshold_and_mute():
    rules = parse_chat_rules(
        {
            "kinds": "liquidation",
            "symbols": "BTC, ETHUSDT",
            "liquidation_min_usd": "1,000,000",
            "liquidation_min_usd:ETHUSDT": "250000",
            "muted_until": "1000",
        }
    )
    assert rules.problems == ()
    assert not rules.accepts("liquidation", "BTCUSDT", "BTC", 5e6, now=999)  # muted
    assert rules.accepts("liquidation", "BTCUSDT", "BTC", 1e6, now=1000)
    assert not rules.accepts("liquidation", "BTCUSDT", "BTC", 999_999, now=1000)
    assert rules.accepts("liquidation", "ETHUSDT", "ETH", 250_000, now=1000)  # the symbol's own threshold
    assert not rules.accepts("trade", "BTCUSDT", "BTC", 9e9, now=1000)  # not a subscribed kind
    assert not rules.accepts("liquidation", "SOLUSDT", "SOL", 9e9, now=1000)  # not a subscribed symbol
    assert rules.accepts("liquidation", "BTCUSDT", "BTC", None, now=1000)  # storms: no single-event threshold


def test_a_chat_without_settings_gets_everything_and_bad_values_are_reported_not_fatal():
    assert parse_chat_rules({}).accepts("trade", "PEPEUSDT", "PEPE", 1.0, now=0)
    rules = parse_chat_rules({"kinds": "whale,bogus", "whale_min_usd": "lots", "muted_until": "-"})
    assert rules.kinds == frozenset({"trade", "whale_position"})  # "whale" covers trades and REST positions
    assert len(rules.problems) == 3 and rules.accepts("trade", "X", "X", 1.0, now=0)

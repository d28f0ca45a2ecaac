"""The alert engine against a real redis-server on a simulated clock: cooldowns, summaries, storms, clusters,
whale scores, per-chat rules and digests."""

import re
from dataclasses import replace

import pytest

from teleglas.decide.engine import Engine
from teleglas.defines import DIGEST_STORM_WAIT_S
from teleglas.model.alerts import Send
from teleglas.state.engine import EngineStore
from tests.support.engine_harness import RULES, T0, Harness, liq, trade
from tests.support.settings import make_settings

PRIVATE, GROUP = 42, -1001000000001


@pytest.fixture
def harness(state):
    settings = make_settings(TELEGRAM_ALERT_CHAT_IDS=str(PRIVATE))
    return Harness(RULES, state, settings)


def texts(harness):
    return [send.text for send in harness.sent]


def test_below_threshold_costs_no_redis_command(state):
    engine = Engine(RULES, EngineStore(state.redis), make_settings())
    before = state.redis.info("stats")["total_commands_processed"]
    assert engine.evaluate(liq(499_999), "t1", T0) == ([], [])
    assert engine.evaluate(trade(999_999), "t2", T0) == ([], [])
    assert state.redis.info("stats")["total_commands_processed"] == before + 1  # only the INFO itself


def test_cooldown_folds_into_a_summary_sent_when_it_ends(harness):
    harness.event(T0, liq(600_000))
    harness.event(T0 + 5, liq(700_000, exchange="OKX", t=5))
    harness.event(T0 + 6, liq(800_000, exchange="Bybit", t=6))
    harness.event(T0 + 7, liq(900_000, side=1, t=7))  # the other side has its own cooldown
    harness.run()
    lead, long_lead, summary = harness.sent
    assert "💵 Size: $600,000" in lead.text and "➕" not in lead.text
    assert "📈 Side: LONG" in long_lead.text
    assert summary.text == (
        "🔁 LIQUIDATION SUMMARY\n📊 Symbol: BTCUSDT\n📉 Side: SHORT\n➕ 2 more since the last alert: $1,500,000\n"
        "🏆 Largest: $800,000 SHORT on Bybit @ $56,738.00\n⏰ Time: 19:30:50 – 19:30:51"
    )


def test_a_lead_after_the_cooldown_takes_the_folded_events_along(harness):
    harness.event(T0, liq(600_000))
    harness.event(T0 + 5, liq(700_000, t=5))
    harness.run(until=T0 + 10)
    harness.event(T0 + 29.9, liq(1_000_000, t=29.9))  # still inside the 30 s cooldown: folded
    harness.run(until=T0 + 29.95)
    harness.event(T0 + 29.95, liq(2_000_000, t=29.95))  # folded too; the flush at 30 s sends both
    harness.run()
    assert len(harness.sent) == 2 and "➕ 3 more since the last alert: $3,700,000" in harness.sent[1].text


def test_storm_replaces_single_alerts_for_its_window(harness):
    for i in range(12):
        harness.event(T0 + i, liq(1_000_000 + i, side=1 + i % 2, exchange=("Binance", "OKX", "Bybit")[i % 3], t=i))
    harness.run()
    singles = [s for s in harness.sent if "LIQUIDATION ALERT" in s.text]
    storms = [s for s in harness.sent if s.text.startswith("⚡ LIQUIDATION STORM")]
    assert len(storms) == 1
    storm = storms[0].text
    # events 2..11: 0 and 1 alerted, 2 and 3 folded into their cooldowns and taken along when 4 opened the storm
    assert "💥 10 liquidations · $10,000,065" in storm
    assert "📈 Longs: 5 · $5,000,030" in storm and "📉 Shorts: 5 · $5,000,035" in storm
    assert "🏆 Largest: $1,000,011 SHORT on Bybit" in storm and "📍 Exchanges: " in storm
    assert len(singles) == 2
    counted = [e for send in harness.sent for e in harness.events_in(send)]
    assert len(counted) == len(set(counted)) == 12


def test_a_storm_ends_once_its_symbol_goes_quiet_and_the_next_liquidation_opens_another(harness):
    for i in range(10):  # one every 0.5 s: the storm opens with the fifth, at 2 s
        harness.event(T0 + 0.5 * i, liq(1_000_000 + i, t=0.5 * i))
    harness.run(until=T0 + 6.9)  # quiet for 5 of its 0.5 s gaps ends it at 7 s, not at its window's 22 s
    assert not any(s.text.startswith("⚡ LIQUIDATION STORM") for s in harness.sent)
    harness.run(until=T0 + 7.0)
    (first,) = [s for s in harness.sent if s.text.startswith("⚡ LIQUIDATION STORM")]
    assert "💥 9 liquidations · $9,000,045" in first.text  # events 1..9: 0 alerted, 1..3 folded, taken along
    harness.event(T0 + 8, liq(2_000_000, t=8))  # the window still counts nine: a new storm, not a single alert
    harness.run()
    storms = [s for s in harness.sent if s.text.startswith("⚡ LIQUIDATION STORM")]
    assert len(storms) == 2 and "💥 1 liquidation · $2,000,000" in storms[1].text
    counted = [e for send in harness.sent for e in harness.events_in(send)]
    assert len(counted) == len(set(counted)) == 11


def test_a_storm_with_quiet_gaps_0_stays_open_for_its_window(state):
    rules = replace(RULES, storm=replace(RULES.storm, quiet_gaps=0))
    harness = Harness(rules, state, make_settings(TELEGRAM_ALERT_CHAT_IDS=str(PRIVATE)))
    for i in range(10):
        harness.event(T0 + 0.5 * i, liq(1_000_000 + i, t=0.5 * i))
    harness.run(until=T0 + 21.9)
    assert not any(s.text.startswith("⚡ LIQUIDATION STORM") for s in harness.sent)
    harness.run()
    assert sum(s.text.startswith("⚡ LIQUIDATION STORM") for s in harness.sent) == 1


def test_whale_cluster_is_per_side_and_whales_carry_a_confidence_score(harness):
    harness.event(T0, liq(900_000, side=2))  # shorts liquidated: agrees with whale buys
    for i in range(4):
        harness.event(T0 + 1 + i, trade(2_000_000, side=2, t=1 + i))
    harness.event(T0 + 6, trade(1_500_000, side=1, t=6))
    harness.run()
    buy_lead = next(s.text for s in harness.sent if "WHALE TRADE ALERT" in s.text and "BUY" in s.text)
    score = int(re.search(r"🎯 Confidence: (\d+)/100", buy_lead).group(1))
    assert 10 <= score <= 100
    cluster = next(s.text for s in harness.sent if s.text.startswith("🐋 WHALE CLUSTER"))
    # the trades at 3 and 4 s, and the one at 2 s that the lead's cooldown had folded
    assert "📈 Side: BUY" in cluster and "💥 3 whale trades · $6,000,000" in cluster
    sell = next(s.text for s in harness.sent if "📉 Side: SELL" in s.text)
    assert "WHALE TRADE ALERT" in sell  # the other side is not part of the cluster


def test_a_redelivered_evaluation_gets_the_same_decision_and_counts_nothing_twice(harness):
    harness.event(T0, liq(600_000), claimer="task-a")
    harness.event(T0 + 1, liq(700_000, t=1), claimer="task-b")
    harness.event(T0 + 1.5, liq(700_000, t=1), claimer="task-b")  # the same task again after a crash
    harness.event(T0 + 2, liq(700_000, t=1), claimer="task-c")  # the same event from a second listener
    harness.run()
    assert len(harness.sent) == 2 and "➕ 1 more since the last alert: $700,000" in harness.sent[1].text


def test_a_busy_chat_gets_digests_and_a_quiet_one_each_alert_at_once(state):
    harness = Harness(
        RULES,
        state,
        make_settings(TELEGRAM_ALERT_CHAT_IDS=f"{GROUP}", DIGEST_GROUP_WAIT="2", DIGEST_GROUP_INTERVAL="10"),
    )
    symbols = ["AUSDT", "BUSDT", "CUSDT", "DUSDT", "EUSDT"]
    for i, symbol in enumerate(symbols):
        harness.event(T0 + 0.2 * i, liq(150_000, symbol=symbol, t=0.2 * i))
    harness.event(T0 + 60, liq(150_000, symbol="FUSDT", t=60))  # a minute later the chat is quiet again
    harness.run()
    first, digest, quiet = harness.sent
    assert "📊 Symbol: AUSDT" in first.text
    assert digest.text.splitlines()[0] == "🧾 DIGEST · 4 alerts"
    assert [line.split()[1] for line in digest.text.splitlines()[1:]] == symbols[1:]
    assert "📊 Symbol: FUSDT" in quiet.text and "DIGEST" not in quiet.text


def _busy_group(state) -> Harness:
    """A group chat whose digest round comes due at 6 s: a direct alert at -6, a round at -4, XRP waiting since -3
    (the group interval, 10 s, after the round)."""
    harness = Harness(
        RULES,
        state,
        make_settings(TELEGRAM_ALERT_CHAT_IDS=f"{GROUP}", DIGEST_GROUP_WAIT="2", DIGEST_GROUP_INTERVAL="10"),
    )
    for at, symbol in ((-6, "ETHUSDT"), (-6, "SOLUSDT"), (-3, "XRPUSDT")):
        harness.event(T0 + at, liq(150_000, symbol=symbol, t=at))
    return harness


def _storms_sent(harness: Harness) -> list[Send]:
    return [s for s in harness.sent if any(line.startswith("⚡") for line in s.text.splitlines())]


def test_a_digest_round_due_as_a_cascade_ends_waits_for_its_storm(state):
    harness = _busy_group(state)
    for i in range(10):  # the storm opens at 2 s; quiet for 5 of its 0.5 s gaps, it ends at 7 s
        harness.event(T0 + 0.5 * i, liq(1_000_000 + i, t=0.5 * i))
    harness.run(until=T0 + 6.9)  # the round due at 6 s waits: the storm has had no event since 4.5 s
    assert len(harness.sent) == 2
    harness.run(until=T0 + 7.6)  # not at 16 s, a group interval after a round at 6 s
    digest = harness.sent[-1]
    assert digest.text.startswith("🧾 DIGEST") and _storms_sent(harness) == [digest]
    events = harness.events_in(digest)  # XRP, and BTC's lead with every event of its storm
    assert len(events) == len(set(events)) == 1 + 10
    harness.run()
    assert len(harness.sent) == 3


def test_a_retried_digest_flush_that_took_its_digest_sends_it_even_as_a_cascade_ends(state):
    harness = _busy_group(state)
    for i in range(10):
        harness.event(T0 + 0.5 * i, liq(1_000_000 + i, t=0.5 * i))
    harness.run(until=T0 + 5.9)
    rules = harness.settings.rules
    taken = harness.fanout.state.take_digest(GROUP, "crashed", rules.event_dedupe_ttl_s, T0 + 6.0)
    assert len(taken) == 2  # the flush took XRP and BTC's lead, then its worker died before sending
    harness.dispatcher.digest(GROUP, "crashed", T0 + 6.1)  # its retry, while the storm is ending
    assert harness.sent[-1].text.startswith("🧾 DIGEST") and len(harness.sent) == 3


def test_a_digest_round_goes_on_time_while_a_storm_still_takes_events(state):
    harness = _busy_group(state)
    for i in range(30):  # every 0.3 s until 8.7 s: the cascade goes on past the round at 6 s
        harness.event(T0 + 0.3 * i, liq(1_000_000 + i, t=0.3 * i))
    harness.run(until=T0 + 6.0)
    assert len(harness.sent) == 3 and harness.sent[-1].text.startswith("🧾 DIGEST") and not _storms_sent(harness)


def test_a_digest_round_waits_for_a_slow_storm_no_longer_than_its_bound(state):
    harness = _busy_group(state)
    for i in range(5):  # one every 1.2 s: the storm opens at 4.8 s; quiet for 5 of its gaps, it ends at 10.8 s
        harness.event(T0 + 1.2 * i, liq(1_000_000 + i, t=1.2 * i))
    harness.run(until=T0 + 6.0 + DIGEST_STORM_WAIT_S - 0.05)
    assert len(harness.sent) == 2
    harness.run(until=T0 + 6.0 + DIGEST_STORM_WAIT_S + 0.05)
    assert len(harness.sent) == 3 and not _storms_sent(harness)
    harness.run()
    assert len(_storms_sent(harness)) == 1


def test_chat_rules_and_mute_apply_at_fan_out(state):
    harness = Harness(RULES, state, make_settings(TELEGRAM_ALERT_CHAT_IDS="1,2,3"))
    state.chats.update_chat_settings(1, {"kinds": "whale"})
    state.chats.update_chat_settings(2, {"liquidation_min_usd": "800000"})
    state.chats.update_chat_settings(3, {"muted_until": str(T0 + 100)})
    harness.event(T0, liq(600_000))
    harness.event(T0 + 200, liq(900_000, t=200))
    harness.run()
    assert [(s.chat_id, s.text.splitlines()[-2]) for s in harness.sent] == [
        (2, "💵 Size: $900,000"),
        (3, "💵 Size: $900,000"),
    ]


def test_every_engine_key_has_a_ttl(state):
    harness = Harness(RULES, state, make_settings(TELEGRAM_ALERT_CHAT_IDS=f"{GROUP},{PRIVATE}"))
    state.chats.update_chat_settings(
        PRIVATE, {"kinds": "liquidation"}
    )  # configuration: the one kind of key without one
    for i in range(14):
        harness.event(T0 + i * 0.3, liq(900_000 + i, side=1 + i % 2, t=i * 0.3))
        harness.event(T0 + i * 0.3, trade(2_500_000 + i, t=i * 0.3))
    harness.run()
    assert len(harness.sent) > 3
    keys = [key.decode() for key in state.redis.scan_iter(count=1000)]
    assert (
        any(":storm:" in k for k in keys)
        and any(":digest:" in k for k in keys)
        and any(":cooldown:" in k for k in keys)
    )
    without_ttl = [k for k in keys if state.redis.ttl(k) < 0]
    assert without_ttl == [f"teleglas:chat:{PRIVATE}:settings"]

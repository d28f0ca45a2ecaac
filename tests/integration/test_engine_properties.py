"""Property tests over random event streams (hypothesis), against a real redis-server: every qualifying event is in
exactly one message, every message is valid Telegram HTML that fits.

The oracle shares nothing with the engine. Which events qualify is decided by the thresholds restated below from
the rules, not by `Rule.admits`; which events a chat got is read back from the texts Telegram would show (each part
as split for sending), not from the alert ids a message claims to cover. So a digest that drops a line while its
`covers` still name the alert fails here: the last tests show it."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import replace

import msgspec
from hypothesis import HealthCheck, example, given, settings, strategies as st

from teleglas.deliver.message_split import split_message
from teleglas.devstack.emulators.telegram_html import parse_html
from teleglas.model.events import FuturesTrade, LiquidationOrder
from tests.support.engine_harness import RULES, T0, Harness, liq, trade
from tests.support.settings import make_settings

SYMBOLS = ("BTCUSDT", "ETHUSDT", "<b>X</b>USDT", "A&BUSDT")
CHATS = "42,-1001000000001"

# test_engine.RULES, restated: (liquidation minimum, whale trade minimum) in USD, by coin.
MAJORS = {"BTC": (500_000, 1_000_000)}
DEFAULT_MINIMUMS = (100_000, 200_000)

Totals = dict[tuple[str, str], tuple[int, int]]  # (kind, symbol) → (events, USD)


def qualifies(kind: str, symbol: str, usd: float) -> bool:
    liquidation_min, whale_min = MAJORS.get(symbol.removesuffix("USDT"), DEFAULT_MINIMUMS)
    return usd >= (liquidation_min if kind == "liquidation" else whale_min)


def expected_totals(events) -> Totals:
    """What every chat must be told: each distinct qualifying event once, summed per kind and symbol."""
    seen = set()
    totals: dict = defaultdict(lambda: (0, 0))
    for e in events:
        identity = (e.kind, e.exchange, e.symbol, e.side, e.price, e.usd, e.time_ms)
        if identity in seen or not qualifies(e.kind, e.symbol, e.usd):
            continue
        seen.add(identity)
        count, usd = totals[(e.kind, e.symbol)]
        totals[(e.kind, e.symbol)] = (count + 1, usd + int(e.usd))
    return dict(totals)


# -- reading the texts back ------------------------------------------------------------------------------------

_MONEY = r"\$([\d,]+)"
_MORE = rf"(?: \(\+(\d+) more: {_MONEY}\))?"
DIGEST_LINES = (  # (pattern, kind, is a lead); groups of a lead: symbol, USD, more events, their USD; of the
    # others: symbol, events, USD
    (re.compile(rf"🔥 (\S+) (?:LONG|SHORT) {_MONEY} · .+ · \d\d:\d\d:\d\d{_MORE}"), "liquidation", True),
    (re.compile(rf"🐋 (\S+) (?:BUY|SELL) {_MONEY} · .+ · \d\d:\d\d:\d\d{_MORE}"), "trade", True),
    (re.compile(rf"🔁 (\S+) (?:LONG|SHORT) liquidations: (\d+) more: {_MONEY}"), "liquidation", False),
    (re.compile(rf"🔁 (\S+) (?:BUY|SELL) whale trades: (\d+) more: {_MONEY}"), "trade", False),
    (re.compile(rf"⚡ (\S+) storm: (\d+) liquidations? · {_MONEY}"), "liquidation", False),
    (re.compile(rf"🐋 (\S+) (?:BUY|SELL) cluster: (\d+) whale trades? · {_MONEY}"), "trade", False),
)
TITLES = {
    "🔥 LIQUIDATION ALERT": "liquidation",
    "🐋 WHALE TRADE ALERT": "trade",
    "🔁 LIQUIDATION SUMMARY": "liquidation",
    "🔁 WHALE TRADE SUMMARY": "trade",
    "⚡ LIQUIDATION STORM": "liquidation",
    "🐋 WHALE CLUSTER": "trade",
}


def _int(text: str | None) -> int:
    return int(text.replace(",", "")) if text else 0


def _field(pattern: str, text: str) -> re.Match | None:
    return re.search(pattern, text, re.MULTILINE)


def read_message(parts: list[str]) -> tuple[list[tuple[str, str, int, int]], list[str]]:
    """(kind, symbol, events, USD) for everything one message's parts report, and what could not be read."""
    found, problems = [], []
    digest_size, digest_lines = None, 0
    for part in parts:
        lines = html.unescape(parse_html(part).plain_text).splitlines()
        if lines and lines[0].startswith("⏳ "):  # the "delayed" line a late send starts with
            lines = lines[1:]
        if lines and lines[0] in TITLES:
            found.append(_read_alert(TITLES[lines[0]], "\n".join(lines), problems))
            continue
        for line in lines:
            header = re.fullmatch(r"🧾 DIGEST · (\d+) alerts", line)
            if header:
                digest_size = int(header[1])
                continue
            digest_lines += 1
            for pattern, kind, lead in DIGEST_LINES:
                match = pattern.fullmatch(line)
                if match and lead:
                    symbol, usd, more, more_usd = match.groups()
                    found.append((kind, symbol, 1 + _int(more), _int(usd) + _int(more_usd)))
                    break
                if match:
                    symbol, events, usd = match.groups()
                    found.append((kind, symbol, int(events), _int(usd)))
                    break
            else:
                problems.append(f"unreadable line {line!r}")
    if digest_size is not None and digest_size != digest_lines:
        problems.append(f"the digest says {digest_size} alerts and shows {digest_lines} lines")
    return found, problems


def _read_alert(kind: str, text: str, problems: list[str]) -> tuple[str, str, int, int]:
    symbol = _field(r"^📊 Symbol: (\S+)$", text)
    folded = _field(rf"^➕ (\d+) more since the last alert: {_MONEY}$", text)
    window = _field(rf"^💥 (\d+) (?:liquidations?|whale trades?) · {_MONEY}$", text)
    size = _field(rf"^💵 Size: {_MONEY}$", text)
    if symbol is None:
        problems.append(f"no symbol in {text!r}")
        return kind, "?", 0, 0
    if window:
        return kind, symbol[1], int(window[1]), _int(window[2])
    events = (1 if size else 0) + (int(folded[1]) if folded else 0)
    return kind, symbol[1], events, (_int(size[1]) if size else 0) + (_int(folded[2]) if folded else 0)


def read_back(texts: list[str]) -> tuple[Totals, list[str]]:
    """Totals per (kind, symbol) over a chat's messages, each read as the parts it is sent in."""
    totals: dict = defaultdict(lambda: (0, 0))
    problems: list[str] = []
    for text in texts:
        found, unread = read_message(split_message(text, is_html=True))
        problems += unread
        for kind, symbol, events, usd in found:
            count, total = totals[(kind, symbol)]
            totals[(kind, symbol)] = (count + events, total + usd)
    return dict(totals), problems


def discrepancies(texts: list[str], expected: Totals) -> list[str]:
    """Everything the messages misreport against the events: empty when each qualifying event is told once."""
    reported, problems = read_back(texts)
    for key in sorted(set(reported) | set(expected)):
        told, happened = reported.get(key, (0, 0)), expected.get(key, (0, 0))
        if told != happened:
            problems.append(
                f"{key[0]} {key[1]}: messages tell {told[0]} events, ${told[1]:,}; "
                f"{happened[0]} happened, ${happened[1]:,}"
            )
    return problems


# -- the property ------------------------------------------------------------------------------------------------

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
    # Bursts as well as quiet streams: bursts make the storms, clusters, summaries and digests the oracle reads.
    st.one_of(st.just(0.0), st.floats(0, 0.5), st.floats(0, 8)),
)


def burst(kind, symbol: str, side: int, amounts) -> list:
    return [(0.2, kind("OKX", symbol, symbol.removesuffix("USDT"), 100.0, side, float(usd), 0)) for usd in amounts]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(event_strategy, min_size=1, max_size=60), st.integers(0, 3))
@example(  # a liquidation storm and a whale cluster, which random streams seldom reach
    burst(LiquidationOrder, "ETHUSDT", 1, range(900_000, 900_006)) + burst(FuturesTrade, "A&BUSDT", 2, [2_500_000] * 4),
    2,
)
def test_every_qualifying_event_is_in_exactly_one_message(state, stream, repeats):
    state.redis.flushdb()
    harness = Harness(RULES, state, make_settings(TELEGRAM_ALERT_CHAT_IDS=CHATS))
    at = T0
    events = []
    for gap, event in stream:
        at += gap
        event = msgspec.structs.replace(event, time_ms=int(at * 1000))
        events.append((at, event))
        harness.event(at, event)
    for at, event in events[:repeats]:  # replays from a second listener
        harness.event(at + 1, event)
    harness.run()

    expected = expected_totals(event for _, event in events)
    for chat in (42, -1001000000001):
        assert discrepancies([s.text for s in harness.sent if s.chat_id == chat], expected) == []
    for send in harness.sent:
        for part in split_message(send.text, is_html=True):
            assert parse_html(part).utf16_length <= 4096


# -- the oracle catches what the engine's own accounting cannot -------------------------------------------------


def busy_chat_digest(state) -> tuple[Harness, list]:
    """Five qualifying events at once for one chat: the first alone, the other four as one digest."""
    harness = Harness(RULES, state, make_settings(TELEGRAM_ALERT_CHAT_IDS="42"))
    events = [liq(200_000 + i, symbol=symbol, t=i * 0.1) for i, symbol in enumerate(("ETHUSDT", "SOLUSDT", "XRPUSDT"))]
    events += [liq(600_000, symbol="BTCUSDT", t=0.3), trade(300_000, symbol="ETHUSDT", t=0.4)]
    for event in events:
        harness.event(event.time_ms / 1000, event)
    harness.run()
    return harness, events


def test_the_oracle_agrees_with_an_intact_digest(state):
    harness, events = busy_chat_digest(state)
    assert [s.text.splitlines()[0] for s in harness.sent] == ["🔥 LIQUIDATION ALERT", "🧾 DIGEST · 4 alerts"]
    assert discrepancies([s.text for s in harness.sent], expected_totals(events)) == []


def test_a_digest_that_drops_a_line_but_keeps_its_ids_is_reported(state):
    harness, events = busy_chat_digest(state)
    single, digest = harness.sent
    lines = digest.text.splitlines()
    assert lines[2].startswith("🔥 XRPUSDT SHORT $200,002")
    dropped = replace(digest, text="\n".join(lines[:2] + lines[3:]))
    assert dropped.covers == digest.covers  # the engine's own accounting still counts every event
    counted = [e for send in (single, dropped) for e in harness.events_in(send)]
    assert sorted(counted) == sorted(e.fingerprint() for e in events)
    assert discrepancies([single.text, dropped.text], expected_totals(events)) == [
        "the digest says 4 alerts and shows 3 lines",
        "liquidation XRPUSDT: messages tell 0 events, $0; 1 happened, $200,002",
    ]


def test_a_line_told_twice_or_a_changed_amount_is_reported(state):
    harness, events = busy_chat_digest(state)
    single, digest = (s.text for s in harness.sent)
    expected = expected_totals(events)
    assert discrepancies([single, single, digest], expected) == [
        "liquidation ETHUSDT: messages tell 2 events, $400,000; 1 happened, $200,000"
    ]
    assert discrepancies([single, digest.replace("$600,000", "$60,000")], expected) == [
        "liquidation BTCUSDT: messages tell 1 events, $60,000; 1 happened, $600,000"
    ]

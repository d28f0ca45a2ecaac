"""A liquidation cascade through two real workers: thousands of events on a few symbols, some replayed. The
messages Telegram receives stay inside its limits and account for every qualifying event exactly once: which
events qualify is restated here from the rules, not asked of the engine's own rule code."""

import random
from collections import Counter, defaultdict

from teleglas.devstack.local_stack import wait_until
from teleglas.devstack.readback import totals
from teleglas.model.events import LiquidationOrder
from tests.support.messages import max_in_window

RULES = """
[default]
liquidation_min_usd = 100_000
whale_min_usd = 200_000
cooldown_s = 4

[groups.majors]
symbols = ["BTC", "ETH"]
liquidation_min_usd = 500_000
whale_min_usd = 1_000_000
cooldown_s = 3

[storm]
window_s = 5
min_count = 10
min_usd = 5_000_000
"""
LIQUIDATION_MINIMUMS = {"BTC": 500_000, "ETH": 500_000}  # the majors of RULES; every other coin 100_000
SYMBOLS = {"BTCUSDT": 60_000.0, "ETHUSDT": 2_400.0, "SOLUSDT": 140.0, "DOGEUSDT": 0.12}
PRIVATE, GROUP = 7301, -1007302
T0_MS = 1_725_478_245_000


def test_a_cascade_through_two_workers_is_fully_accounted_for(make_stack, tmp_path):
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(RULES)
    stack = make_stack(
        chat_ids=(str(PRIVATE), str(GROUP)),
        settings_env={"ALERT_RULES_FILE": str(rules_path), "DIGEST_GROUP_WAIT": "1", "DIGEST_GROUP_INTERVAL": "4"},
    )
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_worker("worker-a", concurrency=2)
    stack.start_worker("worker-b", concurrency=2)

    rng = random.Random(5)
    events = []
    for n in range(3000):
        symbol = rng.choice(list(SYMBOLS))
        usd = rng.choice((rng.randint(5_000, 90_000), rng.randint(100_000, 400_000), rng.randint(500_000, 2_000_000)))
        events.append(
            LiquidationOrder(
                rng.choice(("Binance", "OKX", "Bybit")),
                symbol,
                symbol.removesuffix("USDT"),
                SYMBOLS[symbol],
                rng.choice((1, 2)),
                float(usd),
                T0_MS + n * 7,
            )
        )
    replays = rng.sample(events, 150)  # the same events again, as from a second listener
    stack.enqueue_events([e.to_payload() for e in events + replays])

    expected_usd, expected_count = defaultdict(int), Counter()
    for event in events:
        if event.usd >= LIQUIDATION_MINIMUMS.get(event.base_asset, 100_000):
            expected_usd[event.symbol] += int(event.usd)
            expected_count[event.symbol] += 1
    assert sum(expected_count.values()) > 1000

    wait_until(lambda: stack.pending_tasks() == 0, 180, 0.5, what="the cascade to be processed")
    messages = stack.wait_for_idle(settle_s=6)  # longer than the longest flush (cooldown, storm, digest)

    for chat in (PRIVATE, GROUP):
        got_count, got_usd = totals(m["text"] for m in messages if m["chat_id"] == chat)
        assert dict(got_count) == dict(expected_count), chat  # every qualifying event once, none twice
        assert dict(got_usd) == dict(expected_usd), chat
    calls = Counter(c["status"] for c in stack.telegram_calls() if c["method"] == "sendmessage")
    assert set(calls) == {200}, calls
    private_times = sorted(m["received_at"] for m in messages if m["chat_id"] == PRIVATE)
    assert min(b - a for a, b in zip(private_times, private_times[1:])) >= 1.0
    assert max_in_window([m["received_at"] for m in messages if m["chat_id"] == GROUP], 60.0) <= 20
    assert any(
        m["text"].startswith("⚡ LIQUIDATION STORM") or "\n⚡ " in m["text"] for m in messages
    )  # alone or in a digest
    assert any(m["text"].startswith("🧾 DIGEST") for m in messages)
    print(
        f"{len(events)} events, {sum(expected_count.values())} qualifying, {len(messages)} messages "
        f"({Counter(m['chat_id'] for m in messages)})"
    )

"""A liquidation cascade through two real workers: thousands of events on a few symbols, some replayed. The
messages Telegram receives stay inside its limits and account for every qualifying event exactly once."""
import random
import re
from collections import Counter, defaultdict

from teleglas.alerts.rules import parse_rules
from teleglas.alerts.thresholds import qualifies
from teleglas.coinglass.events import LiquidationOrder
from teleglas.local_stack import wait_until
from tests.integration.test_delivery_limits import max_in_window

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
SYMBOLS = {"BTCUSDT": 60_000.0, "ETHUSDT": 2_400.0, "SOLUSDT": 140.0, "DOGEUSDT": 0.12}
PRIVATE, GROUP = 7301, -1007302
T0_MS = 1_725_478_245_000

_USD = re.compile(r"\$([\d,]+)")


def amounts(text: str) -> list[int]:
    return [int(a.replace(",", "")) for a in _USD.findall(text)]


def account(text: str) -> list[tuple[str, int, int]]:
    """(symbol, events, usd) for everything one message reports, by its documented shapes."""
    lines = text.splitlines()
    if lines[0].startswith("🧾 DIGEST"):
        found = []
        for line in lines[1:]:
            parts = line.split()
            symbol = parts[1]
            if line.startswith("🔥"):
                size = amounts(line)[0]
                more = re.search(r"\(\+(\d+) more: \$([\d,]+)\)", line)
                found.append((symbol, 1 + (int(more[1]) if more else 0), size + (int(more[2].replace(",", "")) if more else 0)))
            else:  # 🔁 summary or ⚡ storm: "N more: $X" / "N liquidations · $X"
                count = int(re.search(r"(\d+) (?:more|liquidations?)", line)[1])
                found.append((symbol, count, amounts(line)[-1]))
        return found
    symbol = re.search(r"📊 Symbol: (\S+)", text)[1]
    folded = re.search(r"➕ (\d+) more since the last alert: \$([\d,]+)", text)
    extra = (int(folded[1]), int(folded[2].replace(",", ""))) if folded else (0, 0)
    if lines[0] == "🔥 LIQUIDATION ALERT":
        size = amounts(re.search(r"💵 Size: .*", text)[0])[0]
        return [(symbol, 1 + extra[0], size + extra[1])]
    if lines[0] == "⚡ LIQUIDATION STORM":
        storm = re.search(r"💥 (\d+) liquidations? · \$([\d,]+)", text)
        return [(symbol, int(storm[1]), int(storm[2].replace(",", "")))]
    assert lines[0] == "🔁 LIQUIDATION SUMMARY", text
    return [(symbol, *extra)]


def test_a_cascade_through_two_workers_is_fully_accounted_for(make_stack, tmp_path):
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text(RULES)
    stack = make_stack(chat_ids=(str(PRIVATE), str(GROUP)), settings_env={
        "ALERT_RULES_FILE": str(rules_path), "DIGEST_GROUP_WAIT": "1", "DIGEST_GROUP_INTERVAL": "4"})
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_worker("worker-a", concurrency=2)
    stack.start_worker("worker-b", concurrency=2)

    rules = parse_rules(RULES)
    rng = random.Random(5)
    events = []
    for n in range(3000):
        symbol = rng.choice(list(SYMBOLS))
        usd = rng.choice((rng.randint(5_000, 90_000), rng.randint(100_000, 400_000), rng.randint(500_000, 2_000_000)))
        events.append(LiquidationOrder(rng.choice(("Binance", "OKX", "Bybit")), symbol, symbol.removesuffix("USDT"),
                                       SYMBOLS[symbol], rng.choice((1, 2)), float(usd), T0_MS + n * 7))
    replays = rng.sample(events, 150)  # the same events again, as from a second listener
    stack.enqueue_events([e.to_payload() for e in events + replays])

    expected_usd, expected_count = defaultdict(int), Counter()
    for event in events:
        if qualifies(event, rules.rule_for(event.symbol, event.base_asset, event.exchange), True):
            expected_usd[event.symbol] += int(event.usd)
            expected_count[event.symbol] += 1
    assert sum(expected_count.values()) > 1000

    wait_until(lambda: stack.pending_tasks() == 0, 180, 0.5, what="the cascade to be processed")
    messages = stack.wait_for_idle(settle_s=6)  # longer than the longest flush (cooldown, storm, digest)

    for chat in (PRIVATE, GROUP):
        got_usd, got_count = defaultdict(int), Counter()
        for message in (m for m in messages if m["chat_id"] == chat):
            for symbol, count, usd in account(message["text"]):
                got_usd[symbol] += usd
                got_count[symbol] += count
        assert dict(got_count) == dict(expected_count), chat  # every qualifying event once, none twice
        assert dict(got_usd) == dict(expected_usd), chat
    calls = Counter(c["status"] for c in stack.telegram_calls() if c["method"] == "sendmessage")
    assert set(calls) == {200}, calls
    private_times = sorted(m["received_at"] for m in messages if m["chat_id"] == PRIVATE)
    assert min(b - a for a, b in zip(private_times, private_times[1:])) >= 1.0
    assert max_in_window([m["received_at"] for m in messages if m["chat_id"] == GROUP], 60.0) <= 20
    assert any(m["text"].startswith("⚡ LIQUIDATION STORM") or "⚡" in m["text"] for m in messages)
    assert any(m["text"].startswith("🧾 DIGEST") for m in messages)
    print(f"{len(events)} events, {sum(expected_count.values())} qualifying, {len(messages)} messages "
          f"({Counter(m['chat_id'] for m in messages)})")

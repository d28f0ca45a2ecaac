"""Cascade: 50,000 liquidation events in 30 s across 20 pairs, to 3 chats (one private, two groups), through
the listener and two `celery -A teleglas worker -c 2`, with the Telegram emulator enforcing the real flood
limits. Reported: time from the last event to the last message, messages, 429 answers, and the accounting
(every qualifying event once in every chat).

The rules are the bundled thresholds with the cascade windows shortened (cooldown 30 s, storm window 10 s):
with the bundled cooldowns (300-600 s) the last cooldown summary arrives when the cooldown ends, by design."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from bench.workload import account_chats, delivered_frames, liquidation_stream, write_scenario
from teleglas.decide.rules import parse_rules
from teleglas.devstack.local_stack import LocalStack

RULES = """
[default]
liquidation_min_usd = 100_000
whale_min_usd = 200_000
cooldown_s = 30

[groups.majors]
symbols = ["BTC", "ETH", "SOL"]
liquidation_min_usd = 500_000
whale_min_usd = 1_000_000
cooldown_s = 30

[groups.large_caps]
symbols = ["BNB", "XRP", "ADA", "DOGE", "AVAX", "DOT"]
liquidation_min_usd = 200_000
whale_min_usd = 500_000
cooldown_s = 30

[storm]
window_s = 10
min_count = 10
min_usd = 5_000_000
"""
CHATS = (7301, -1007302, -1007303)


def run(
    workdir: Path,
    count: int = 50_000,
    seconds: float = 30.0,
    per_frame: int = 50,
    extra_env: dict | None = None,
    during=None,
    drops: int = 0,
    quick_rules: bool = False,
) -> dict[str, float]:
    """`during(stack, faults)`, when given, starts the faults of a chaos run (timers) once everything runs and
    appends the time of each fault to `faults`; `drops` closes the WebSocket that many times, evenly over the
    cascade (the first drop is the fault's time); `quick_rules` shortens the windows to 3 s."""
    events = liquidation_stream(count, qualifying_share=0.02, seed=13, large_share=0.05)
    workdir.mkdir(parents=True, exist_ok=True)
    scenario, rules = workdir / "cascade.jsonl", workdir / "rules.toml"
    frames = (count + per_frame - 1) // per_frame
    faults_at = {frames * (n + 1) // (drops + 1): {"drop": True} for n in range(drops)}
    frame_steps = write_scenario(scenario, events, per_frame, pause_s=seconds / frames, faults=faults_at)
    rules_text = (
        RULES.replace("cooldown_s = 30", "cooldown_s = 3").replace("window_s = 10", "window_s = 3")
        if quick_rules
        else RULES
    )
    rules.write_text(rules_text)
    env = {"ALERT_RULES_FILE": str(rules), "STARTUP_QUIET": "1", **(extra_env or {})}
    with LocalStack(
        workdir / "stack", chat_ids=tuple(str(c) for c in CHATS), scenario=str(scenario), settings_env=env
    ) as stack:
        stack.start_redis(appendonly=True, fsync="always")  # as docker-compose.yml runs it
        stack.start_telegram_emulator()
        stack.start_coinglass_emulator()
        stack.start_worker("worker-a", concurrency=2)
        stack.start_worker("worker-b", concurrency=2)
        stack.start_listener()
        faults: list[float] = []
        if during is not None:
            during(stack, faults)
        stack.wait_for_replay(timeout_s=seconds * 4 + 120)
        messages = stack.wait_for_idle(settle_s=1.5 if quick_rules else 3.0, timeout_s=300)
        delivered, sent_at = delivered_frames(stack, frame_steps)
        calls = Counter(c["status"] for c in stack.telegram_calls() if c["method"] == "sendmessage")
    went_in = [e for number in sorted(delivered) for e in events[number * per_frame : (number + 1) * per_frame]]
    alerts = [m for m in messages if not m["text"].startswith("✅ TELEGLAS online")]
    accounting = account_chats(went_in, parse_rules(rules_text), alerts, list(CHATS))
    last_event = max(sent_at.values())
    drop_frames = sorted(faults_at)
    if drops and drop_frames:  # the first drop: when the frame after it went out, or the last frame before it
        before = [sent_at[n] for n in sent_at if n < drop_frames[0]]
        faults.append(max(before) if before else min(sent_at.values()))
    last_message = max((m["received_at"] for m in alerts), default=last_event)
    return {
        "fault_at": min(faults) if faults else None,
        "last_event_at": last_event,
        "last_message_at": last_message,
        "events_in": accounting.events_in,
        "qualifying": accounting.qualifying,
        "delivered": accounting.delivered,
        "lost": accounting.lost,
        "duplicates": accounting.duplicates,
        "messages": len(alerts),
        "http_429": calls.get(429, 0),
        "last_message_after_s": last_message - last_event,
        "ingest_seconds": last_event - min(sent_at.values()),
        "finished_at": time.time(),
    }

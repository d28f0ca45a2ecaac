"""Cascade: 50,000 liquidation events in 30 s across 20 pairs, to 3 chats (one private, two groups), through
the listener and two `celery -A teleglas worker -c 2`, with the Telegram emulator enforcing the real flood
limits. Reported: time from the last event to the last message, messages, 429 answers, and the accounting
(every qualifying event once in every chat).

The rules are the bundled thresholds with the cascade windows shortened (cooldown 30 s, storm window 10 s):
with the bundled cooldowns (300-600 s) the last cooldown summary arrives when the cooldown ends, by design.

The tail (last event → last message) is broken down into the steps the last message waited for, so whoever
shortens it sees which step to cut: when the workers finished the last batch, made the last storm or summary
alert, when the last digest flush was due (and the round before it, which the digest interval counts from),
when it ran, when its chart was rendered, and when Telegram got the message. Task times come from the
workers' own Celery log lines (event batches log none: their last is when Redis last showed one in hand); due
times from sampling the due-work set in Redis (teleglas.state.due)."""

from __future__ import annotations

import re
import threading
import time
from http import HTTPStatus
from pathlib import Path

import redis

from bench.workload import account_chats, delivered_frames, evaluating, liquidation_stream, write_scenario
from teleglas.decide.rules import parse_rules
from teleglas.defines import LOG_ENGINE, TASK_FLUSH_DIGEST, TASK_RENDER_CHART
from teleglas.devstack.local_stack import LocalStack
from teleglas.model.alerts import Form
from teleglas.state.keys import due_key
from teleglas.tasks.dispatch import digest_task

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
AGGREGATE_ALERTS = "storm and summary alerts"  # task_finishes' name for when those alerts were made
DUE_SAMPLE_S = 0.02  # well under the group wait (2 s): every digest round is seen while it waits
# What each figure of the tail breakdown (seconds after the last event) is the last of.
TAIL_STEPS = {
    "batch_evaluated_s": "last event batch evaluated",  # last seen in hand, to DUE_SAMPLE_S
    "aggregate_flushed_s": "last storm/summary alert made",
    "previous_digest_due_s": "digest round before the last due",
    "digest_due_s": "last digest round due",
    "digest_flushed_s": "last digest flushed",
    "chart_rendered_s": "last chart rendered",
    "photo_s": "last photo at Telegram",  # a digest too long for a caption: its text follows, a chat spacing later
    "message_s": "last message at Telegram",
}
# Celery's own line for a finished task: "[2026-11-28 16:48:55,520: INFO/ForkPoolWorker-2] Task NAME[ID] succeeded"
_SUCCEEDED = re.compile(r"^\[([\d-]+ [\d:]+),(\d{3}): [^\]]*\] Task ([\w.]+)\[[^\]]*\] succeeded", re.M)
# The engine's line for an alert it dispatched: "[...] [ALERT_ENGINE] liquidation storm alert storm-… BTCUSDT: …"
_AGGREGATE_ALERT = re.compile(
    rf"^\[([\d-]+ [\d:]+),(\d{{3}}): [^\]]*\] {re.escape(LOG_ENGINE)} \S+ ({Form.STORM}|{Form.SUMMARY}) alert ", re.M
)


class DueWatch:
    """Samples the due-work set every DUE_SAMPLE_S and keeps each (key, due time) it saw, and when it last saw an
    event batch being evaluated (taken by a worker and not yet acknowledged: the workers log no line for each).
    Due times are on Redis's clock, which is this machine's, as are the emulators' and the workers' log times."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.seen: set[tuple[str, float]] = set()
        self.last_evaluating: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="due-watch", daemon=True)

    def __enter__(self) -> DueWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(DUE_SAMPLE_S):
            try:
                entries = self.client.zrange(due_key(), 0, -1, withscores=True)
                if evaluating(self.client):
                    self.last_evaluating = time.time()
            except redis.RedisError:
                continue  # a chaos run's Redis fault: the watch resumes with Redis
            self.seen.update((key.decode(), due) for key, due in entries)

    def due_times(self, key: str) -> list[float]:
        """Every due time `key` had, in order (a digest key is scheduled again for each round)."""
        return sorted(due for name, due in self.seen if name == key)


def task_finishes(stack: LocalStack) -> dict[str, list[float]]:
    """When each task finished, by task name, from every worker's log (Celery logs local time, to the ms), and
    when each storm or summary alert was made (under AGGREGATE_ALERTS: a flush_aggregate that finds a storm still
    going makes none)."""
    finished: dict[str, list[float]] = {}
    for proc in stack.processes.values():
        if "worker" not in proc.name:
            continue
        text = proc.log_text()
        for stamp, ms, name in _SUCCEEDED.findall(text):
            finished.setdefault(name, []).append(_log_time(stamp, ms))
        for stamp, ms, _form in _AGGREGATE_ALERT.findall(text):
            finished.setdefault(AGGREGATE_ALERTS, []).append(_log_time(stamp, ms))
    return finished


def _log_time(stamp: str, ms: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(ms) / 1000


def tail_breakdown(
    last_event: float, last_message: dict | None, finished: dict[str, list[float]], due: DueWatch, calls: list[dict]
) -> dict[str, float | None]:
    """Seconds from the last event to the last of each step (None: the step never ran). The digest rounds are
    those of the last message's chat: the last one, and the one before it that the digest interval counts from."""

    def last(name: str) -> float | None:
        return max(finished[name]) - last_event if finished.get(name) else None

    rounds = due.due_times(digest_task(last_message["chat_id"]).key) if last_message else []
    photos = [c["at"] for c in calls if c["method"] == "sendphoto" and c["status"] == HTTPStatus.OK]
    return {
        "batch_evaluated_s": due.last_evaluating - last_event if due.last_evaluating else None,
        "aggregate_flushed_s": last(AGGREGATE_ALERTS),
        "previous_digest_due_s": rounds[-2] - last_event if len(rounds) > 1 else None,
        "digest_due_s": rounds[-1] - last_event if rounds else None,
        "digest_flushed_s": last(TASK_FLUSH_DIGEST),
        "chart_rendered_s": last(TASK_RENDER_CHART),
        "photo_s": max(photos) - last_event if photos else None,
        "message_s": last_message["received_at"] - last_event if last_message else None,
    }


def run(
    workdir: Path,
    count: int = 50_000,
    seconds: float = 30.0,
    per_frame: int = 50,
    extra_env: dict | None = None,
    during=None,
    drops: int = 0,
    quick_rules: bool = False,
) -> dict:
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
        with DueWatch(stack.redis()) as due:
            if during is not None:
                during(stack, faults)
            stack.wait_for_replay(timeout_s=seconds * 4 + 120)
            messages = stack.wait_for_idle(settle_s=1.5 if quick_rules else 3.0, timeout_s=300)
        delivered, sent_at = delivered_frames(stack, frame_steps)
        calls = stack.telegram_calls()
        finished = task_finishes(stack)
    went_in = [e for number in sorted(delivered) for e in events[number * per_frame : (number + 1) * per_frame]]
    alerts = [m for m in messages if not m["text"].startswith("✅ TELEGLAS online")]
    accounting = account_chats(went_in, parse_rules(rules_text), alerts, list(CHATS))
    last_event = max(sent_at.values())
    drop_frames = sorted(faults_at)
    if drops and drop_frames:  # the first drop: when the frame after it went out, or the last frame before it
        before = [sent_at[n] for n in sent_at if n < drop_frames[0]]
        faults.append(max(before) if before else min(sent_at.values()))
    last_alert = max(alerts, key=lambda m: m["received_at"], default=None)
    last_message = last_alert["received_at"] if last_alert else last_event
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
        "http_429": sum(1 for c in calls if c["status"] == HTTPStatus.TOO_MANY_REQUESTS),  # sendMessage, sendPhoto
        "last_message_after_s": last_message - last_event,
        "ingest_seconds": last_event - min(sent_at.values()),
        "finished_at": time.time(),
        "tail": tail_breakdown(last_event, last_alert, finished, due, calls),
    }

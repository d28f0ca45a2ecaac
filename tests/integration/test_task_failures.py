"""A failing task never drops its work: a Redis call that fails inside each task (the connection dropped by a
proxy; our redis-py client does not retry on its own) is retried as due work under the same task id, and the
work completes exactly once; a task that keeps failing ends in the dead letters with its reason."""

import re
import subprocess
import sys
import time

from teleglas.devstack.local_stack import wait_until
from teleglas.devstack.readback import totals
from teleglas.model.batch import unpack
from teleglas.model.events import LiquidationOrder
from tests.support.redis_fault_proxy import RedisFaultProxy
from tests.support.state import State

GROUP = -1007501
RULES = """
[default]
liquidation_min_usd = 100_000
whale_min_usd = 200_000
cooldown_s = 2
"""


def liquidation(symbol: str, usd: float, offset_ms: int) -> dict:
    return LiquidationOrder(
        "Binance", symbol, symbol.removesuffix("USDT"), 50_000.0, 1, usd, int(time.time() * 1000) + offset_ms
    ).to_payload()


def start(make_stack, tmp_path, **settings):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    stack = make_stack(chat_ids=(str(GROUP),), settings_env={"ALERT_RULES_FILE": str(rules), **settings})
    stack.start_redis()
    stack.start_telegram_emulator()
    proxy = RedisFaultProxy(stack.redis_port)
    return stack, proxy


# How often each task's Redis call fails: each failure costs the task one retry (backoff 1, 2 s, jittered), and
# the four tasks run one after another, so a few keep the test well inside its wait.
FAILURES = 2


def test_one_failing_redis_call_in_each_task_costs_a_retry_not_an_alert(make_stack, tmp_path):
    stack, proxy = start(make_stack, tmp_path)
    rules = {
        # the engine's admission of an event; taking a chat's digest; taking what a cooldown folded; the send's gate
        # (the rate limiter's call with its guard, which takes the delivery lease)
        "teleglas.process_events": proxy.fail(b"EVALSHA", b"teleglas:decision:", times=FAILURES),
        "teleglas.flush_digest": proxy.fail(b"EVALSHA", b"teleglas:digest:", times=FAILURES),
        "teleglas.flush_aggregate": proxy.fail(b"EVALSHA", b"teleglas:folded:", times=FAILURES),
        "teleglas.send_message": proxy.fail(b"EVALSHA", b"teleglas:rate:", times=FAILURES),
    }
    # State through the proxy; the broker straight to Redis (its own reconnects are kombu's business).
    worker = stack.start_worker(extra_env={"REDIS_URL": proxy.url, "CELERY_BROKER_URL": stack.redis_url})
    stack.enqueue_events(
        [
            liquidation("BTCUSDT", 1_000_000, 0),  # lead: a message of its own
            liquidation("ETHUSDT", 1_500_000, 10),  # the group had a message within 3 s: into its digest
            liquidation("BTCUSDT", 2_000_000, 20),  # within BTC's cooldown: folded, summarized when it ends
        ],
        batch=3,
    )

    wait_until(
        lambda: (
            stack.pending_tasks() == 0
            and totals(m["text"] for m in stack.telegram_messages())[0] == {"BTCUSDT": 2, "ETHUSDT": 1}
        ),
        60,
        0.2,
        what="every event in a message",
    )
    messages = stack.wait_for_idle(settle_s=1.0)
    count, usd = totals(m["text"] for m in messages)
    assert (dict(count), usd) == (
        {"BTCUSDT": 2, "ETHUSDT": 1},
        {"BTCUSDT": 3_000_000, "ETHUSDT": 1_500_000},
    )  # once each
    assert State.of(stack.redis()).dead_letters.dead_letters() == []
    log = worker.log_text()
    for task, rule in rules.items():
        assert rule.hits == FAILURES, task  # each planned failure happened, and the task came through it
        assert re.search(rf"task {re.escape(task)}\[\S+\] failed: ConnectionError: .*; retry 1/8 in", log), task
    proxy.close()


def test_a_task_that_keeps_failing_ends_in_the_dead_letters_with_its_reason(make_stack, tmp_path):
    stack, proxy = start(make_stack, tmp_path, TASK_MAX_RETRIES="2")
    proxy.fail(b"EVALSHA", b"teleglas:decision:", times=10_000)
    worker = stack.start_worker(extra_env={"REDIS_URL": proxy.url, "CELERY_BROKER_URL": stack.redis_url})
    event = liquidation("BTCUSDT", 1_000_000, 0)
    stack.enqueue_events([event])
    state = State.of(stack.redis())
    wait_until(lambda: state.dead_letters.dead_letters(), 60, 0.2, what="the dead letter")
    ((_, letter),) = state.dead_letters.dead_letters()
    assert (letter["task"], letter["reason"], letter["attempts"]) == ("teleglas.process_events", "ConnectionError", 3)
    (packed,) = letter["args"]  # the batch's part left to retry, packed as the listener packs a batch
    assert unpack(packed) == [[event, None]]
    # The line comes after the dead letter is written.
    wait_until(lambda: "failed 3 times, dead-lettered" in worker.log_text(), 10, 0.1, what="the dead-letter line")
    assert stack.telegram_messages() == []

    proxy.rules.clear()  # Redis answers again: an operator replays the task under its own id
    replay = subprocess.run(
        [sys.executable, "-m", "teleglas.ops.deadletters", "replay"],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replay.returncode == 0 and "replayed 1 dead letter(s)" in replay.stdout
    wait_until(lambda: len(stack.telegram_messages()) == 1, 30, 0.1, what="the replayed event's alert")
    assert state.dead_letters.dead_letters() == [] and totals(m["text"] for m in stack.telegram_messages())[0] == {
        "BTCUSDT": 1
    }
    proxy.close()

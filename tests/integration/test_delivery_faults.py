"""Every Telegram failure through a real Celery worker, redis-server and the Telegram emulator (flood limits on).

Each test uses its own chats, so they share one stack; the last test searches everything the module
produced (logs, every Redis command including task bodies, dead letters) for the token.
"""

import json
import re
import subprocess
import sys

import pytest

from teleglas.deliver.message_split import html_to_plain
from teleglas.devstack.local_stack import DEMO_ALERT_TOKEN, LocalStack, wait_until
from tests.support.redis_monitor import RedisMonitor
from tests.support.state import State

SECRET = DEMO_ALERT_TOKEN.split(":", 1)[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = LocalStack(tmp_path_factory.mktemp("faults"), settings_env={"TELEGRAM_SEND_MAX_RETRIES": "2"})
    stack.start_redis()
    monitor = RedisMonitor(stack.redis())
    stack.start_telegram_emulator()
    stack.start_worker(loglevel="DEBUG")
    stack.monitor = monitor
    yield stack
    monitor.stop()
    stack.stop()


def messages_to(stack, chat_id) -> list[dict]:
    return [m for m in stack.telegram_messages() if m["chat_id"] == chat_id]


def calls_to(stack, chat_id) -> list[dict]:
    return [c for c in stack.telegram_calls() if c["method"] == "sendmessage" and str(c["chat_id"]) == str(chat_id)]


def wait_for_messages(stack, chat_id, count, timeout_s=30) -> list[dict]:
    wait_until(
        lambda: len(messages_to(stack, chat_id)) >= count, timeout_s, 0.1, what=f"{count} message(s) to {chat_id}"
    )
    return messages_to(stack, chat_id)


def worker_log(stack) -> str:
    return stack.processes["worker"].log_text()


def run_cli(stack, module, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args], env=stack.env(), capture_output=True, text=True, timeout=60
    )


def test_429_pauses_every_send_of_the_bot_then_delivers_once(stack):
    stack.add_telegram_fault(status=429, description="Too Many Requests: retry after 2", retry_after=2, chat_id="1001")
    stack.enqueue_send(1001, "<b>A</b> to 1001", "rate-a")
    wait_until(lambda: any(c["status"] == 429 for c in calls_to(stack, 1001)), 15, 0.05, what="the 429")
    stack.enqueue_send(1002, "<b>B</b> to 1002", "rate-b")
    stack.enqueue_send(1003, "<b>C</b> to 1003", "rate-c")
    for chat in (1001, 1002, 1003):
        wait_for_messages(stack, chat, 1)
    limited_at = next(c["at"] for c in calls_to(stack, 1001) if c["status"] == 429)
    accepted = [m for m in stack.telegram_messages() if m["chat_id"] in (1001, 1002, 1003)]
    assert sorted(m["text"] for m in accepted) == ["<b>A</b> to 1001", "<b>B</b> to 1002", "<b>C</b> to 1003"]
    assert min(m["received_at"] for m in accepted) >= limited_at + 1.95  # nobody sent during the pause
    assert "every sender of this bot pauses 2.0 s" in stack.processes["worker"].log_text()


def test_5xx_is_retried_with_backoff_then_dead_lettered_and_replayed(stack):
    state = State.of(stack.redis())
    stack.add_telegram_fault(status=500, description="Internal Server Error", chat_id="2001")
    stack.add_telegram_fault(status=502, description="Bad Gateway", chat_id="2002", count=3)
    stack.enqueue_send(2001, "recovers", "5xx-a")
    stack.enqueue_send(2002, "gives up", "5xx-b")
    assert [m["text"] for m in wait_for_messages(stack, 2001, 1)] == ["recovers"]
    wait_until(lambda: state.dead_letters.dead_letters(), 30, 0.1, what="a dead letter")
    ((_, letter),) = state.dead_letters.dead_letters()
    assert (letter["alert_id"], letter["chat_id"], letter["reason"], letter["error_code"], letter["attempts"]) == (
        "5xx-b",
        2002,
        "server_error",
        502,
        3,
    )
    assert [c["status"] for c in calls_to(stack, 2002)] == [502, 502, 502]
    failures = [c["at"] for c in calls_to(stack, 2002)]
    assert (
        failures[1] - failures[0] >= 1.45 and failures[2] - failures[1] >= 2.95
    )  # 2 s, then 4 s, each less up to a quarter (jitter)

    listing = run_cli(stack, "teleglas.ops.deadletters", "list")
    assert (
        listing.returncode == 0 and "chat=2002  alert=5xx-b  server_error 502 Bad Gateway  attempts=3" in listing.stdout
    )
    replay = run_cli(stack, "teleglas.ops.deadletters", "replay", "--chat", "2002")
    assert replay.returncode == 0 and "replayed 1 dead letter(s)" in replay.stdout
    assert [m["text"] for m in wait_for_messages(stack, 2002, 1)] == ["gives up"]
    assert state.dead_letters.dead_letters() == []


def test_403_disables_the_chat_logs_once_and_keeps_what_it_misses(stack):
    state = State.of(stack.redis())
    stack.set_telegram_chats(blocked=[3001])
    stack.enqueue_send(3001, "first", "blocked-a")
    wait_until(lambda: 3001 in state.chats.disabled_chats(), 15, 0.05, what="the chat to be disabled")
    stack.enqueue_send(3001, "second", "blocked-b")
    stack.enqueue_send(3002, "a chat that still works", "blocked-c")
    wait_for_messages(stack, 3002, 1)
    # Nothing is dropped silently: the refused alert and the one after it wait in the dead letters (and once the
    # second is there, its task is over: it cannot reach Telegram any more).
    wait_until(lambda: len(state.dead_letters.dead_letters()) == 2, 15, 0.05, what="both alerts in the dead letters")
    assert messages_to(stack, 3001) == []
    assert [c["status"] for c in calls_to(stack, 3001)] == [403]  # the second alert never reached Telegram
    assert state.chats.disabled_chats()[3001]["reason"] == "Forbidden: bot was blocked by the user"
    assert stack.processes["worker"].log_text().count("chat=3001 chat disabled") == 1
    assert [c[:2] for c in state.chats.alert_chats((3001, 3002))] == [(3001, True), (3002, False)]
    assert sorted((e["alert_id"], e["reason"]) for _, e in state.dead_letters.dead_letters()) == [
        ("blocked-a", "forbidden"),
        ("blocked-b", "chat_disabled"),
    ]

    listing = run_cli(stack, "teleglas.ops.chats", "list")
    assert "disabled  chat=3001" in listing.stdout and "reason=Forbidden: bot was blocked by the user" in listing.stdout
    assert run_cli(stack, "teleglas.ops.chats", "enable", "3001").returncode == 0
    assert state.chats.disabled_chats() == {}


def test_migrated_group_moves_its_settings_and_the_alert_is_resent_to_the_supergroup(stack):
    state = State.of(stack.redis())
    state.chats.update_chat_settings(-4001, {"whale_min_usd": "2000000"})
    stack.set_telegram_chats(migrated={"-4001": -1004001})
    stack.enqueue_send(-4001, "🔥 <b>to the old group</b>", "migrate-a")
    assert [m["text"] for m in wait_for_messages(stack, -1004001, 1)] == ["🔥 <b>to the old group</b>"]
    assert state.chats.chat_migrations() == {-4001: -1004001}
    assert (
        state.chats.chat_settings(-1004001) == {"whale_min_usd": "2000000"} and state.chats.chat_settings(-4001) == {}
    )
    stack.enqueue_send(-4001, "second, straight to the supergroup", "migrate-b")
    wait_for_messages(stack, -1004001, 2)
    assert [c["status"] for c in calls_to(stack, -4001)] == [400]  # only the first send met the old id
    assert [c[:2] for c in state.chats.alert_chats((-4001,))] == [(-1004001, False)]


def test_unparseable_html_is_resent_as_plain_text(stack):
    broken = "🔥 <b>LIQUIDATION</b>\n📊 Symbol: a<b"  # an unescaped "<" from a bug upstream
    stack.enqueue_send(5001, broken, "html-a")
    stack.add_telegram_fault(
        status=400,
        description='Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3',
        chat_id="5002",
    )
    stack.enqueue_send(5002, "<b>valid</b> &amp; fine", "html-b")
    (first,) = wait_for_messages(stack, 5001, 1)
    (second,) = wait_for_messages(stack, 5002, 1)
    assert (first["text"], first["parse_mode"]) == (html_to_plain(broken), None)
    assert first["text"] == "🔥 LIQUIDATION\n📊 Symbol: a<b"
    assert (second["text"], second["parse_mode"]) == ("valid & fine", None)
    assert [c["status"] for c in calls_to(stack, 5001)] == [400, 200]


def test_too_long_text_is_split_on_line_boundaries_in_order(stack):
    lines = [f"<b>{i:03d}</b> BTCUSDT short liquidated on Binance for $1,250,000 at $56,738.00" for i in range(150)]
    stack.enqueue_send(6001, "\n".join(lines), "long-a")
    parts = wait_for_messages(stack, 6001, 3)
    assert "\n".join(m["text"] for m in parts) == "\n".join(lines)
    assert all(len(html_to_plain(m["text"])) <= 4096 for m in parts)
    assert [m["received_at"] for m in parts] == sorted(m["received_at"] for m in parts)

    # Telegram's own count can disagree with ours: on its "message is too long" the parts get smaller.
    stack.add_telegram_fault(status=400, description="Bad Request: message is too long", chat_id="6002")
    text = "\n".join(lines[:40])
    stack.enqueue_send(6002, text, "long-b")
    parts = wait_for_messages(stack, 6002, 2)
    assert "\n".join(m["text"] for m in parts) == text and len(parts) == 2


def test_connection_reset_is_retried_and_delivered_once(stack):
    stack.add_telegram_fault(reset=True, chat_id="7001")
    stack.enqueue_send(7001, "after a reset", "reset-a")
    assert [m["text"] for m in wait_for_messages(stack, 7001, 1)] == ["after a reset"]
    wait_until(lambda: "delivered alert=reset-a" in worker_log(stack), 15, 0.05, what="the task to finish")
    assert [c["status"] for c in calls_to(stack, 7001)] == [0, 200]
    assert len(messages_to(stack, 7001)) == 1
    assert re.search(
        r"alert=reset-a chat=7001 network: ConnectionError: delivery unknown; retry 1/2 in (1\.[5-9]|2\.0) s",
        stack.processes["worker"].log_text(),
    )


def test_a_duplicate_task_sends_once(stack):
    for _ in range(3):
        stack.enqueue_send(8001, "one alert, three tasks", "dup-a")
    wait_for_messages(stack, 8001, 1)
    # The other copies ran (after their rate-limit slot or the first one's lease) and found the record; a copy
    # waiting for its slot and one waiting for the lease share the due entry send:dup-a:8001, so one or two say so.
    copies = "alert=dup-a chat=8001 already delivered: this copy sends nothing"
    stack.wait_for_idle(timeout_s=60)
    assert 1 <= worker_log(stack).count(copies) <= 2
    assert len(messages_to(stack, 8001)) == 1
    assert worker_log(stack).count("delivered alert=dup-a") == 1


def test_no_token_in_logs_task_arguments_redis_or_dead_letters(stack):
    stack.add_telegram_fault(status=503, description="Service Unavailable", chat_id="9001", count=3)
    stack.enqueue_send(9001, "into the dead letters", "secret-a")
    state = State.of(stack.redis())
    wait_until(
        lambda: any(e["alert_id"] == "secret-a" for _, e in state.dead_letters.dead_letters()),
        30,
        0.1,
        what="the dead letter",
    )
    monitor: RedisMonitor = stack.monitor
    # Task bodies were really captured (MONITOR's reader may trail Redis by a moment on a loaded machine).
    wait_until(
        lambda: any("into the dead letters" in body for body in monitor.task_bodies()), 30, what="the task's body"
    )
    searched = {
        "worker log": stack.processes["worker"].log_text(),
        "emulator log": stack.processes["telegram-emulator"].log_text(),
        "redis commands and task bodies": "\n".join(monitor.commands),
        "dead letters": json.dumps([entry for _, entry in state.dead_letters.dead_letters()]),
    }
    assert "DEBUG" in searched["worker log"] and len(monitor.commands) > 100
    for where, text in searched.items():
        assert DEMO_ALERT_TOKEN not in text and SECRET not in text, where

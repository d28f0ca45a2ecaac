"""The Bot API edge against the Telegram emulator over a real socket: every failure classified, no token leaks."""

import json
import time

import pytest
import requests

from teleglas.deliver.telegram import DeliveryError, TelegramClient
from teleglas.devstack.emulators.telegram import Fault, FloodLimits, TelegramEmulator
from teleglas.devstack.local_stack import free_port

TOKEN = "100000002:clientTestTokenForTheEmulator_0"


@pytest.fixture
def emulator(tmp_path):
    emu = TelegramEmulator({TOKEN}, record_path=tmp_path / "messages.jsonl").start()
    yield emu
    emu.stop()


def send_error(client, chat=42, text="hi") -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        client.send(chat, text, html=True)
    assert TOKEN not in str(info.value) and TOKEN.split(":")[1] not in repr(info.value)
    return info.value


def test_send_records_exactly_what_telegram_got(emulator, tmp_path):
    client = TelegramClient(emulator.url, TOKEN, 5)
    assert client.check_token() == "teleglas_emulator_bot"
    assert client.send(-1001000000001, "a &lt;b&gt; <b>c</b>", html=True) == 1
    assert client.send(-1001000000001, "second", html=True) == 2
    assert client.send(42, "other chat", html=True) == 1
    record = [json.loads(line) for line in (tmp_path / "messages.jsonl").read_text().splitlines()]
    assert [(r["chat_id"], r["message_id"], r["text"]) for r in record] == [
        (-1001000000001, 1, "a &lt;b&gt; <b>c</b>"),
        (-1001000000001, 2, "second"),
        (42, 1, "other chat"),
    ]
    assert record[0]["parse_mode"] == "HTML"


@pytest.mark.parametrize(
    "fault, reason, retryable, retry_after",
    [
        (Fault(429, "Too Many Requests: retry after 7", retry_after=7), "rate_limited", True, 7.0),
        (Fault(500, "Internal Server Error"), "server_error", True, None),
        (Fault(502, "Bad Gateway"), "server_error", True, None),
        (Fault(403, "Forbidden: bot was blocked by the user"), "forbidden", False, None),
        (Fault(400, "Bad Request: chat not found"), "chat_not_found", False, None),
        (Fault(400, "Bad Request: can't parse entities: Unmatched end tag at byte offset 3"), "bad_html", False, None),
        (Fault(400, "Bad Request: message is too long"), "too_long", False, None),
        (Fault(400, "Bad Request: text is too long"), "too_long", False, None),
        (Fault(400, "Bad Request: message text is empty"), "empty_text", False, None),
        (Fault(400, "Bad Request: wrong parameter action in request"), "bad_request", False, None),
    ],
)
def test_scripted_errors_are_classified(emulator, fault, reason, retryable, retry_after):
    emulator.add_fault(fault)
    error = send_error(TelegramClient(emulator.url, TOKEN, 5))
    assert (error.reason, error.retryable, error.retry_after, error.error_code) == (
        reason,
        retryable,
        retry_after,
        fault.status,
    )
    assert fault.description in error.description
    assert emulator.messages == []


def test_migration_carries_the_new_chat_id(emulator):
    emulator.add_fault(
        Fault(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-1009876543210)
    )
    error = send_error(TelegramClient(emulator.url, TOKEN, 5), chat=-4001)
    assert (error.reason, error.retryable, error.migrate_to_chat_id) == ("chat_migrated", False, -1009876543210)


def test_real_server_refusals_are_classified(emulator):
    client = TelegramClient(emulator.url, TOKEN, 5)
    error = send_error(client, text="<x>")
    assert error.reason == "bad_html" and 'can\'t parse entities: Unsupported start tag "x"' in error.description
    assert send_error(client, text="").reason == "empty_text"
    assert send_error(client, text="x" * 4097).reason == "too_long"
    assert client.send(42, "<x> sent as plain text", html=False) == 1
    assert emulator.messages[-1]["parse_mode"] is None and emulator.messages[-1]["text"] == "<x> sent as plain text"
    wrong = TelegramClient(emulator.url, "100000002:someOtherTokenNotKnownToIt", 5)
    error = send_error(wrong)
    assert (error.reason, error.retryable) == ("unauthorized", False)


def test_network_failure_is_retryable_and_carries_no_url(emulator):
    client = TelegramClient(f"http://127.0.0.1:{free_port()}", TOKEN, 2)
    error = send_error(client)
    assert (error.reason, error.retryable) == ("network", True)
    assert "/bot" not in str(error)


def test_emulator_accepts_form_and_json_bodies_like_the_real_api(emulator):
    form = requests.post(
        f"{emulator.url}/bot{TOKEN}/sendMessage", data={"chat_id": "7", "text": "form"}, timeout=5
    ).json()
    as_json = requests.post(
        f"{emulator.url}/bot{TOKEN}/SENDMESSAGE", json={"chat_id": 7, "text": "json"}, timeout=5
    ).json()
    query = requests.get(
        f"{emulator.url}/bot{TOKEN}/sendMessage", params={"chat_id": "@news", "text": "q"}, timeout=5
    ).json()
    assert form["ok"] and form["result"]["chat"] == {"id": 7, "type": "private", "first_name": "Trader"}
    assert as_json["result"]["message_id"] == 2 and as_json["result"]["text"] == "json"
    assert query["result"]["chat"]["type"] == "channel"
    missing = requests.post(f"{emulator.url}/bot{TOKEN}/sendMessage", data={"text": "x"}, timeout=5)
    assert missing.status_code == 400 and missing.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat_id is empty",
    }
    unknown = requests.post(f"{emulator.url}/bot{TOKEN}/noSuchMethod", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found: method not found"
    emulator.add_fault(Fault(429, "Too Many Requests: retry after 3", retry_after=3))
    limited = requests.post(f"{emulator.url}/bot{TOKEN}/sendMessage", data={"chat_id": "7", "text": "x"}, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }


def test_emulator_enforces_the_flood_limits_with_429_and_retry_after():
    limits = FloodLimits(chat_interval_s=1.0, group_per_minute=3, bot_per_second=5)
    emulator = TelegramEmulator({TOKEN}, limits=limits).start()
    try:
        client = TelegramClient(emulator.url, TOKEN, 5)
        client.send(42, "first", html=True)
        error = send_error(client, chat=42, text="too soon")
        assert (error.reason, error.retry_after) == ("rate_limited", 1.0)
        with emulator._lock:  # pretend the earlier group messages are older than the chat interval
            for i in range(3):
                emulator._accepted_at[(100000002, -4001)].append(time.time() - 50 + i)  # (bot id, chat)
        error = send_error(client, chat=-4001)  # 3 in the last minute already
        assert (
            error.reason == "rate_limited" and error.retry_after == 10.0
        )  # the oldest of the 3 leaves the minute in 10 s
        for chat in range(100, 104):
            client.send(chat, "fan-out", html=True)
        assert send_error(client, chat=200).reason == "rate_limited"  # 5 per second for the bot
        assert [c["status"] for c in emulator.calls] == [200, 429, 429, 200, 200, 200, 200, 429]
    finally:
        emulator.stop()


def test_emulator_answers_for_blocked_and_migrated_chats_like_the_real_server(emulator):
    emulator.set_chat_states(blocked=[42, -4002], migrated={"-4001": -1004001})
    client = TelegramClient(emulator.url, TOKEN, 5)
    assert send_error(client, chat=42).description == "Forbidden: bot was blocked by the user"
    assert send_error(client, chat=-4002).description == "Forbidden: bot was kicked from the group chat"
    migrated = send_error(client, chat=-4001)
    assert (
        migrated.description == "Bad Request: group chat was upgraded to a supergroup chat"
        and migrated.migrate_to_chat_id == -1004001
    )
    assert client.send(-1004001, "to the supergroup", html=True) == 1

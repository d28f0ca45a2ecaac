"""The emulator's long-polling half, over a real socket, as the Bot API server behaves (docs/protocols.md)."""

import json
import threading
import time

import pytest
import requests

from teleglas.devstack.emulators.telegram import FIRST_UPDATE_ID, TelegramEmulator
from teleglas.devstack.local_stack import wait_until

TOKEN = "100000003:updatesTestTokenForTheEmulator_0"
BOT = 100000003


@pytest.fixture
def emulator():
    emu = TelegramEmulator({TOKEN}).start()
    yield emu
    emu.stop()


def call(emulator, method, **params):
    response = requests.post(f"{emulator.url}/bot{TOKEN}/{method}", data=params, timeout=30)
    return response.status_code, response.json()


def test_updates_are_confirmed_by_a_higher_offset(emulator):
    for text in ("/liq@MyBot BTC 1h", "/raw ETH", "hello"):
        emulator.push_update(BOT, text, -1001234567890, user_id=11111)
    status, body = call(emulator, "getUpdates")
    updates = body["result"]
    assert status == 200 and [u["update_id"] for u in updates] == [
        FIRST_UPDATE_ID,
        FIRST_UPDATE_ID + 1,
        FIRST_UPDATE_ID + 2,
    ]
    first = updates[0]["message"]
    assert first["entities"] == [{"type": "bot_command", "offset": 0, "length": 10}]
    assert (
        first["chat"] == {"id": -1001234567890, "type": "supergroup", "title": "Alerts"}
        and first["from"]["id"] == 11111
    )
    assert "entities" not in updates[2]["message"]
    assert len(call(emulator, "getUpdates")[1]["result"]) == 3  # not confirmed yet: delivered again
    assert [u["update_id"] for u in call(emulator, "getUpdates", offset=FIRST_UPDATE_ID + 2)[1]["result"]] == [
        FIRST_UPDATE_ID + 2
    ]
    assert call(emulator, "getUpdates", offset=FIRST_UPDATE_ID + 3)[1]["result"] == []  # confirmed for good


def test_negative_offset_limit_and_channel_posts(emulator):
    for n in range(5):
        emulator.push_update(BOT, f"/status {n}", 42)
    emulator.push_update(BOT, "/alerts", "@desk")
    assert [u["message"]["text"] for u in call(emulator, "getUpdates", offset=-2, limit=1)[1]["result"]] == [
        "/status 4"
    ]
    last = call(emulator, "getUpdates", offset=-1)[1]["result"]
    assert (
        "channel_post" in last[0]
        and "from" not in last[0]["channel_post"]
        and last[0]["channel_post"]["sender_chat"]["type"] == "channel"
    )
    assert len(call(emulator, "getUpdates", limit=0)[1]["result"]) == 1  # limit clamped to 1..100
    assert len(call(emulator, "getUpdates", limit=500)[1]["result"]) == 6


def test_long_poll_waits_for_a_message_or_its_timeout(emulator):
    started = time.monotonic()
    assert call(emulator, "getUpdates", timeout=1)[1]["result"] == []
    assert time.monotonic() - started >= 0.9
    answers = {}
    poll = threading.Thread(target=lambda: answers.update(poll=call(emulator, "getUpdates", timeout=20)))
    started = time.monotonic()
    poll.start()
    wait_until(lambda: emulator.polling[BOT] == 1, 10, what="the long poll to wait")
    emulator.push_update(BOT, "/help", 42)
    poll.join(25)
    assert [u["message"]["text"] for u in answers["poll"][1]["result"]] == ["/help"]
    assert time.monotonic() - started < 20  # answered by the message, not by its timeout


def test_a_second_poller_ends_the_first_with_409(emulator):
    answers = {}
    first = threading.Thread(target=lambda: answers.update(first=call(emulator, "getUpdates", timeout=5)))
    first.start()
    wait_until(lambda: emulator.polling[BOT] == 1, 10, what="the first poll to wait")
    call(emulator, "getUpdates", timeout=0)
    first.join(5)
    status, body = answers["first"]
    assert (
        status == 409
        and body["description"]
        == "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    )


def test_set_my_commands_delete_webhook_and_chat_members(emulator):
    commands = [{"command": "liq", "description": "Liquidations"}]
    assert call(emulator, "setMyCommands", commands=json.dumps(commands)) == (200, {"ok": True, "result": True})
    assert call(emulator, "getMyCommands")[1]["result"] == commands
    status, body = call(emulator, "setMyCommands", commands=json.dumps([{"command": "Bad-Name", "description": "x"}]))
    assert status == 400 and body["description"] == "Bad Request: BOT_COMMAND_INVALID"
    emulator.push_update(BOT, "/help", 42)
    assert call(emulator, "deleteWebhook", drop_pending_updates="true")[1]["result"] is True
    assert call(emulator, "getUpdates")[1]["result"] == []
    emulator.set_chat_states(admins={"-1001": [7]})
    assert call(emulator, "getChatMember", chat_id=-1001, user_id=7)[1]["result"]["status"] == "administrator"
    assert call(emulator, "getChatMember", chat_id=-1001, user_id=8)[1]["result"]["status"] == "member"

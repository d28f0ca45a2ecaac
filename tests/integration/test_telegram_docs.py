"""The Telegram edge against the Bot API server's own error descriptions (tests/fixtures/docs/telegram, each with
the line of the server or TDLib source that writes it), over a real socket to the emulator: every description is
classified as the table below expects, and every refusal the emulator makes itself is one of them, word for word."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from teleglas.deliver.message_split import split_message
from teleglas.deliver.telegram import DeliveryError, TelegramClient
from teleglas.devstack.emulators.telegram import Fault, TelegramEmulator

TOKEN = "100000003:docsTestTokenForTheEmulator_00"
DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs" / "telegram"
ERRORS = json.loads((DOCS / "error_descriptions.json").read_text(encoding="utf-8"))["errors"]

# What the sender must make of each description: written from what each one means, not from the classifier.
EXPECTED = {
    "Bad Request: message text is empty": "empty_text",
    "Bad Request: text is too long": "too_long",
    "Bad Request: unsupported parse_mode": "bad_request",
    "Bad Request: can't parse entities: <parser message>": "bad_html",
    "Bad Request: text must be non-empty": "empty_text",
    "Bad Request: message is too long": "too_long",
    "Bad Request: message caption is too long": "caption_too_long",
    "Bad Request: there is no photo in the request": "photo_refused",
    "Bad Request: chat not found": "chat_not_found",
    "Bad Request: chat_id is empty": "bad_request",
    "Bad Request: group chat was upgraded to a supergroup chat": "chat_migrated",
    "Bad Request: user not found": "bad_request",
    "Bad Request: invalid user_id specified": "bad_request",
    "Bad Request: can't parse commands JSON object": "bad_request",
    "Bad Request: expected an Array of BotCommand": "bad_request",
    "Forbidden: bot was blocked by the user": "forbidden",
    "Forbidden: user is deactivated": "forbidden",
    "Forbidden: bot was kicked from the group chat": "forbidden",
    "Forbidden: bot was kicked from the supergroup chat": "forbidden",
    "Forbidden: bot was kicked from the channel chat": "forbidden",
    "Forbidden: bot is not a member of the group chat": "forbidden",
    "Forbidden: the group chat was deleted": "forbidden",
    "Unauthorized": "unauthorized",
    "Unauthorized: invalid token specified": "unauthorized",
    "Not Found: method not found": "bad_request",
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first": (
        "bad_request"
    ),
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running": (
        "bad_request"
    ),
    "Too Many Requests: retry after <N>": "rate_limited",
    "Internal Server Error: restart": "server_error",
}
RETRYABLE = {"rate_limited", "server_error", "network"}


@pytest.fixture(scope="module")
def started():
    emu = TelegramEmulator({TOKEN}).start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(started):
    started.reset()
    return started


def concrete(description: str) -> str:
    """The fixture's placeholders filled as the server fills them."""
    return description.replace("<N>", "7").replace("<parser message>", 'Unsupported start tag "x" at byte offset 0')


def test_every_documented_description_has_an_expected_class():
    assert {e["description"] for e in ERRORS} == set(EXPECTED)


@pytest.mark.parametrize("error", ERRORS, ids=[e["description"][:60] for e in ERRORS])
def test_each_server_description_is_classified(emulator, error):
    parameters = {}
    if error["error_code"] == 429:
        parameters["retry_after"] = 7
    if "upgraded to a supergroup" in error["description"]:
        parameters["migrate_to_chat_id"] = -1009876543210
    emulator.add_fault(Fault(error["error_code"], concrete(error["description"]), **parameters))
    with pytest.raises(DeliveryError) as info:
        TelegramClient(emulator.url, TOKEN, 5).send(42, "hi", html=True)
    expected = EXPECTED[error["description"]]
    assert (info.value.reason, info.value.retryable) == (expected, expected in RETRYABLE)
    if error["error_code"] == 429:
        assert info.value.retry_after == 7.0
    assert emulator.messages == []


def documented(description: str) -> bool:
    """True when `description` is one of the server's, its placeholders standing for any text."""
    for error in ERRORS:
        pieces = re.split(r"(<N>|<parser message>)", error["description"])
        pattern = "".join({"<N>": r"\d+", "<parser message>": ".+"}.get(p, re.escape(p)) for p in pieces)
        if re.fullmatch(pattern, description):
            return True
    return False


def call(emulator, method: str, token: str = TOKEN, **params) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{emulator.url}/bot{token}/{method}", json.dumps(params).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_emulators_own_refusals_are_the_servers_descriptions(emulator):
    emulator.set_chat_states(blocked=[42, -4001, -1001000000002], migrated={"-4002": -1004002})
    refusals = [
        call(emulator, "sendMessage", chat_id=7, text=""),
        call(emulator, "sendMessage", chat_id=7, text="x" * 40_000),
        call(emulator, "sendMessage", chat_id=7, text="hi", parse_mode="textile"),
        call(emulator, "sendMessage", chat_id=7, text="<x>hi</x>", parse_mode="HTML"),
        call(emulator, "sendMessage", chat_id=7, text="<b> </b>", parse_mode="HTML"),
        call(emulator, "sendMessage", chat_id=7, text="y" * 4097),
        call(emulator, "sendMessage", text="hi"),
        call(emulator, "sendMessage", chat_id=42, text="hi"),
        call(emulator, "sendMessage", chat_id=-4001, text="hi"),
        call(emulator, "sendMessage", chat_id=-1001000000002, text="hi"),
        call(emulator, "sendMessage", chat_id=-4002, text="hi"),
        call(emulator, "setMyCommands", commands="not json"),
        call(emulator, "setMyCommands", commands={"command": "x"}),
        call(emulator, "getChatMember", chat_id=7, user_id=8),
        call(emulator, "getChatMember", chat_id=7, user_id="me"),
        call(emulator, "sendMessage", token="100000003:notTheToken", chat_id=7, text="hi"),
        call(emulator, "sendMessage", token="not-a-token", chat_id=7, text="hi"),
    ]
    for status, body in refusals:
        assert body["ok"] is False and body["error_code"] == status, body
        assert documented(body["description"]), body["description"]
    assert emulator.messages == []


def test_the_length_limit_counts_code_points_and_the_splitter_stays_within_utf16_units(emulator):
    """Telegram's 4096 is counted in code points (TDLib's utf8_length): 4096 astral emoji are accepted, though they
    are 8192 UTF-16 units. TELEGLAS splits by UTF-16 units, the stricter count, so its parts fit either way."""
    text = "🐋" * 4096
    status, body = call(emulator, "sendMessage", chat_id=7, text=text)
    assert status == 200 and body["result"]["text"] == text
    assert call(emulator, "sendMessage", chat_id=8, text=text + "🐋")[1]["description"] == (
        "Bad Request: message is too long"
    )
    parts = split_message(text, is_html=False)
    assert len(parts) == 2 and "".join(parts) == text and all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)

"""A Telegram Bot API emulator: `/bot<token>/<method>` with the real envelopes and error texts.

Written from the Bot API page and the official server's source (docs/protocols.md, Telegram), sharing no code
with the client it tests: it imports nothing from teleglas outside this package, so a misreading in the product
cannot hide here too. Error descriptions are the server's (tests/fixtures/docs/telegram/error_descriptions.json);
a text's length is counted as the server counts it, in Unicode code points after entity parsing.

Records every accepted message (in memory, and as JSON lines when a record file is given) so a test or a
person can read exactly what "Telegram" received. Like the real service it enforces the flood limits
(1 message/s per chat, 20/min per group or channel, 30/s per bot) with 429 + retry_after. Control paths:
- `POST /_emulator/faults`: scripted answers for the next matching calls, e.g.
  `{"status": 500, "description": "Internal Server Error", "count": 3, "chat_id": "42"}`, or
  `{"reset": true}` to drop the connection without an answer (and without accepting the message), or
  `{"status": 429, "retry_after": 1, "for_s": 10}` for every matching call during the next 10 s (a storm);
- `POST /_emulator/chats`: `{"blocked": [42], "migrated": {"-4001": -1004001}}`, chats that answer 403 or
  the group→supergroup 400 from now on;
- `POST /_emulator/chats` also takes `{"admins": {"-1001": [11111]}}`, the users getChatMember reports as
  administrators of a group, and `{"unblocked": [42]}`, chats that take the bot again (it was re-added);
- `POST /_emulator/updates`: a user's message for a bot's getUpdates, e.g.
  `{"bot_id": 123456, "chat_id": -1001, "user_id": 11111, "text": "/liq@MyBot BTC"}` (the bot_command
  entity is added as Telegram does; a channel chat gets a `channel_post` without `from`);
- `GET /_emulator/messages`, `DELETE /_emulator/messages`, `GET /_emulator/calls` (every call with its status),
  `GET /_emulator/commands` (what each bot set with setMyCommands);
- `GET /_emulator/photos/<chat_id>/<message_id>`: the PNG a sendPhoto uploaded (also written to `--photos-dir`).

sendPhoto takes the photo as a multipart/form-data upload, as the Bot API does (at most 10 MB; width + height at
most 10000, ratio at most 20; a PNG is read for its size, anything else is refused as a picture it cannot
process), a caption of at most 1024 characters after entity parsing, and counts against the same flood limits
as sendMessage (docs/protocols.md, "Telegram: sendPhoto").

Long polling follows the Bot API server (docs/protocols.md, getUpdates): `offset` confirms every update below it,
a negative offset keeps the last N, `limit` is clamped to 1..100 and `timeout` to 0..50 s, and a newer
getUpdates of the same bot ends the older one with 409.

    python -m teleglas.devstack.emulators.telegram --port 8081 --token 123456:ABC... --record messages.jsonl
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import json
import logging
import math
import re
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from teleglas.devstack.emulators.telegram_html import HtmlParseError, parse_html, utf16_length

log = logging.getLogger(__name__)

LOG_TG_EMULATOR = "[TG_EMULATOR]"
# The server refuses a raw text over 1 << 15 bytes before parsing ("Text is too long", Client.cpp), then TDLib
# a parsed text over message_text_length_max code points (at least 4096: MessageContent.cpp, utf8_length).
MAX_RAW_BYTES = 1 << 15
MAX_TEXT_CODE_POINTS = 4096
MAX_COMMANDS = 100
_BOT_PATH = re.compile(r"^/bot([^/]*)/([A-Za-z]+)$")
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")  # `<bot id>:<secret>`, else 401 "invalid token specified"
_TOKEN_IN_PATH = re.compile(r"/bot[^/\s]+/")
_NUMERIC = re.compile(r"^-?\d+$")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_BOT_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,64})?")
FIRST_UPDATE_ID = 815_000_001
MAX_POLL_TIMEOUT_S = 50
MAX_CAPTION_CHARACTERS = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000  # width + height
MAX_PHOTO_RATIO = 20
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PHOTO_PATH = re.compile(r"^/_emulator/photos/(-?\d+|@\w+)/(\d+)$")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart/form-data request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Fault:
    """One scripted answer for the next matching call (of `method`, and to `chat_id` when given)."""

    status: int = 0
    description: str = ""
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None
    method: str = "sendmessage"
    chat_id: str | None = None
    reset: bool = False  # close the connection without answering, as a network failure looks
    slow_s: float = 0.0  # handle the call, then write the answer a byte at a time over this long (a slow network)
    until: float = 0.0  # set from `for_s`: answers every matching call until then instead of the next one

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        return self.method == method and (
            self.chat_id is None or str(params.get("chat_id", "")).strip() == str(self.chat_id)
        )


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's approximate published limits (docs/protocols.md, flood limits), enforced on accepted messages."""

    chat_interval_s: float = 1.0
    group_per_minute: int = 20
    bot_per_second: int = 30


class ConnectionDropped(Exception):
    """A scripted network failure: the handler closes the socket without a response."""


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class TelegramEmulator:
    def __init__(
        self,
        tokens: set[str],
        host: str = "127.0.0.1",
        port: int = 0,
        record_path: Path | None = None,
        known_chats: set[int | str] | None = None,
        limits: FloodLimits | None = None,
        photos_dir: Path | None = None,
    ):
        self.tokens = set(tokens)
        self.known_chats = known_chats
        self.record_path = record_path
        self.limits = limits
        self.blocked_chats: set[int | str] = set()
        self.migrated_chats: dict[int | str, int] = {}
        self.messages: list[dict[str, Any]] = []
        self.photos: dict[tuple[int | str, int], bytes] = {}  # (chat, message_id) → the uploaded PNG
        self.photos_dir = photos_dir
        self.calls: list[dict[str, Any]] = []  # every request, accepted or not: method, chat, status, time
        self._faults: deque[Fault] = deque()
        self.commands: dict[int, list[dict[str, str]]] = {}  # bot id → its setMyCommands list
        self.chat_admins: dict[int | str, set[int]] = defaultdict(set)
        self._updates: dict[int, list[dict[str, Any]]] = defaultdict(list)  # bot id → unconfirmed updates
        self._next_update_id: dict[int, int] = defaultdict(lambda: FIRST_UPDATE_ID)
        self._poller: dict[int, int] = defaultdict(int)  # bot id → generation of its newest getUpdates
        self.polling: dict[int, int] = defaultdict(int)  # bot id → getUpdates calls waiting right now
        self._next_user_message_id = 1
        self._next_message_id: dict[int | str, int] = defaultdict(lambda: 1)
        self._accepted_at: dict[tuple[int, int | str], deque[float]] = defaultdict(deque)  # (bot, chat)
        self._bot_accepted_at: dict[int, deque[float]] = defaultdict(deque)
        self._lock = threading.Condition()
        self._host = host
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> TelegramEmulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="telegram-emulator", daemon=True)
        self._thread.start()
        log.info("%s listening on %s", LOG_TG_EMULATOR, self.url)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.photos.clear()
            self.calls.clear()
            self._faults.clear()
            self._accepted_at.clear()
            self._bot_accepted_at.clear()

    def set_chat_states(
        self,
        blocked: list | None = None,
        migrated: dict | None = None,
        admins: dict | None = None,
        unblocked: list | None = None,
    ) -> None:
        with self._lock:
            self.blocked_chats.update(_chat_id(c) for c in blocked or ())
            self.blocked_chats.difference_update(_chat_id(c) for c in unblocked or ())
            self.migrated_chats.update({_chat_id(k): int(v) for k, v in (migrated or {}).items()})
            for chat, users in (admins or {}).items():
                self.chat_admins[_chat_id(chat)] = {int(u) for u in users}

    def push_update(
        self, bot_id: int, text: str, chat_id: int | str, user_id: int | None = None, username: str | None = None
    ) -> dict[str, Any]:
        """A message as the bot would receive it; returns the Update."""
        chat = _chat_object(_chat_id(chat_id))
        with self._lock:
            message: dict[str, Any] = {
                "message_id": self._next_user_message_id,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
            self._next_user_message_id += 1
            if chat["type"] == "channel":
                message["sender_chat"] = chat
            else:
                uid = int(user_id if user_id is not None else chat["id"])
                message["from"] = {
                    "id": uid,
                    "is_bot": False,
                    "first_name": "Trader",
                    **({"username": username} if username else {}),
                }
            command = _BOT_COMMAND.match(text)
            if command:
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_length(command.group(0))}]
            update = {
                "update_id": self._next_update_id[bot_id],
                "channel_post" if chat["type"] == "channel" else "message": message,
            }
            self._next_update_id[bot_id] += 1
            self._updates[bot_id].append(update)
            self._lock.notify_all()
        return update

    def record_call(self, method: str, params: dict[str, Any], status: int) -> None:
        with self._lock:
            self.calls.append(
                {"method": method.lower(), "chat_id": params.get("chat_id"), "status": status, "at": time.time()}
            )

    def wait_for_messages(self, count: int, timeout_s: float) -> list[dict[str, Any]]:
        """Blocks until at least `count` messages were accepted or the timeout passed; returns them all."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while len(self.messages) < count and (remaining := deadline - time.monotonic()) > 0:
                self._lock.wait(remaining)
            return list(self.messages)

    # -- the Bot API ------------------------------------------------------------------------------------

    def call(self, token: str, method: str, params: dict[str, Any]) -> Any:
        if token not in self.tokens:
            raise ApiError(
                401, "Unauthorized" if _TOKEN_SHAPE.match(token) else "Unauthorized: invalid token specified"
            )
        method = method.lower()
        with self._lock:
            now = time.time()
            self._faults = deque(f for f in self._faults if not f.until or f.until > now)
            fault = next((f for f in self._faults if f.matches(method, params)), None)
            if fault is not None:
                if not fault.until:
                    self._faults.remove(fault)
                if fault.reset:
                    raise ConnectionDropped()
            if fault is not None and fault.slow_s:
                _answer.slow_s = fault.slow_s
                fault = None
            if fault is not None:
                parameters = {}
                if fault.retry_after is not None:
                    parameters["retry_after"] = fault.retry_after
                if fault.migrate_to_chat_id is not None:
                    parameters["migrate_to_chat_id"] = fault.migrate_to_chat_id
                raise ApiError(fault.status, fault.description, parameters or None)
        if method == "getme":
            return self._bot_user(token)
        if method == "sendmessage":
            return self._send_message(token, params)
        if method == "sendphoto":
            return self._send_photo(token, params)
        if method == "getupdates":
            return self._get_updates(_bot_id(token), params)
        if method == "setmycommands":
            return self._set_my_commands(_bot_id(token), params)
        if method == "getmycommands":
            with self._lock:
                return list(self.commands.get(_bot_id(token), []))
        if method == "deletewebhook":
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                with self._lock:
                    self._updates[_bot_id(token)].clear()
            return True
        if method == "getchatmember":
            return self._chat_member(params)
        raise ApiError(404, "Not Found: method not found")

    def _get_updates(self, bot_id: int, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The server clamps what it is given (limit to 1..100, timeout to 0..50 s) and reads a value that is not
        an integer as the default, instead of refusing it."""
        offset = _integer(params.get("offset"), 0)
        limit = min(100, max(1, _integer(params.get("limit"), 100)))
        timeout = min(MAX_POLL_TIMEOUT_S, max(0, _integer(params.get("timeout"), 0)))
        deadline = time.monotonic() + timeout
        with self._lock:
            self._poller[bot_id] += 1
            generation = self._poller[bot_id]
            self._lock.notify_all()  # an older long poll of this bot sees it was overtaken
            pending = self._updates[bot_id]
            if offset > 0:
                pending[:] = [u for u in pending if u["update_id"] >= offset]
            self.polling[bot_id] += 1
            try:
                while True:
                    if self._poller[bot_id] != generation:
                        raise ApiError(
                            409,
                            "Conflict: terminated by other getUpdates request; "
                            "make sure that only one bot instance is running",
                        )
                    ready = pending[offset:] if offset < 0 else pending
                    remaining = deadline - time.monotonic()
                    if ready or remaining <= 0:
                        return [dict(u) for u in ready[:limit]]
                    self._lock.wait(remaining)
            finally:
                self.polling[bot_id] -= 1

    def _set_my_commands(self, bot_id: int, params: dict[str, Any]) -> bool:
        raw = params.get("commands")
        try:
            commands = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse commands JSON object") from None
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: expected an Array of BotCommand")
        if len(commands) > MAX_COMMANDS:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for item in commands:
            if not isinstance(item, dict):
                raise ApiError(400, "Bad Request: expected an Array of BotCommand")
            command = str(item.get("command", "")).strip().removeprefix("/")
            description = str(item.get("description", "")).strip()
            if not command:
                raise ApiError(400, "Bad Request: command must be non-empty")
            if len(command) > 32:
                raise ApiError(400, "Bad Request: command length must not exceed 32")
            if not description:
                raise ApiError(400, "Bad Request: command description must be non-empty")
            if len(description) > 256:
                raise ApiError(400, "Bad Request: command description length must not exceed 256")
            if not _COMMAND.match(command):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        with self._lock:
            self.commands[bot_id] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params.get("chat_id"))
        try:
            user_id = int(params.get("user_id") or "")
        except ValueError:
            raise ApiError(400, "Bad Request: invalid user_id specified") from None
        if user_id in {_bot_id(token) for token in self.tokens}:  # a bot asking about itself
            with self._lock:
                if chat_id in self.blocked_chats:
                    raise ApiError(403, _refusal(chat_id))
            return {"status": "member", "user": {"id": user_id, "is_bot": True, "first_name": "TELEGLAS Emulator"}}
        user = {"id": user_id, "is_bot": False, "first_name": "Trader"}
        if isinstance(chat_id, int) and chat_id > 0:
            if chat_id != user_id:
                raise ApiError(400, "Bad Request: user not found")
            return {"status": "member", "user": user}
        with self._lock:
            admin = user_id in self.chat_admins.get(chat_id, ())
        if not admin:
            return {"status": "member", "user": user}
        # ChatMemberAdministrator with every field the Bot API marks as always present.
        rights = (
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
        )
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_promote_members": False,
            **dict.fromkeys(rights, True),
        }

    def _bot_user(self, token: str) -> dict[str, Any]:
        return {
            "id": _bot_id(token),
            "is_bot": True,
            "first_name": "TELEGLAS Emulator",
            "username": "teleglas_emulator_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _reachable_chat(self, raw: Any) -> int | str:
        """The chat a send names, refused as the server refuses it when the group moved or the bot was removed."""
        chat_id = _chat_id(raw)
        if chat_id in self.migrated_chats:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated_chats[chat_id]},
            )
        if chat_id in self.blocked_chats:
            raise ApiError(403, _refusal(chat_id))
        return chat_id

    def _send_message(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        arrived = time.time()
        chat_id = self._reachable_chat(params.get("chat_id"))
        text = params.get("text")
        text = "" if text is None else str(text)
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-8")) > MAX_RAW_BYTES:
            raise ApiError(400, "Bad Request: text is too long")
        parse_mode = str(params.get("parse_mode") or "")
        if parse_mode and parse_mode.lower() not in ("html", "markdown", "markdownv2"):
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        plain = text
        if parse_mode.lower() == "html":
            try:
                parsed = parse_html(text)
            except HtmlParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
            plain = parsed.plain_text
        if not plain.strip():
            raise ApiError(400, "Bad Request: text must be non-empty")
        if len(plain) > MAX_TEXT_CODE_POINTS:
            raise ApiError(400, "Bad Request: message is too long")
        if self.known_chats is not None and chat_id not in self.known_chats:
            raise ApiError(400, "Bad Request: chat not found")
        now = arrived
        with self._lock:
            self._check_flood(_bot_id(token), chat_id, now)
            message_id = self._next_message_id[chat_id]
            self._next_message_id[chat_id] += 1
            record = {
                "bot_id": _bot_id(token),
                "chat_id": chat_id,
                "message_id": message_id,
                "method": "sendMessage",
                "text": text,
                "parse_mode": parse_mode or None,
                "params": {k: v for k, v in params.items() if k not in ("chat_id", "text")},
                "received_at": now,
            }
            self.messages.append(record)
            log.info(
                "%s bot=%s chat=%s message_id=%d %s",
                LOG_TG_EMULATOR,
                record["bot_id"],
                chat_id,
                message_id,
                text.replace("\n", " ⏎ ")[:500],
            )
            if self.record_path is not None:
                with self.record_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._lock.notify_all()
        return {
            "message_id": message_id,
            "from": self._bot_user(token),
            "chat": _chat_object(chat_id),
            "date": int(now),
            "text": plain,
        }

    def _send_photo(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        """sendPhoto with an uploaded photo; checks in the order the server does: chat, photo, caption, flood."""
        arrived = time.time()
        chat_id = self._reachable_chat(params.get("chat_id"))
        photo = params.get("photo")
        if not isinstance(photo, Upload) or not photo.data:
            if isinstance(photo, str) and photo:  # a file_id or URL: this emulator keeps no files and fetches nothing
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if len(photo.data) > MAX_PHOTO_BYTES:
            raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        size = png_size(photo.data)
        if size is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > MAX_PHOTO_SIDES or max(width, height) > MAX_PHOTO_RATIO * min(width, height):
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        caption = str(params.get("caption") or "")
        parse_mode = str(params.get("parse_mode") or "")
        if parse_mode and parse_mode.lower() not in ("html", "markdown", "markdownv2"):
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        plain = caption
        if caption and parse_mode.lower() == "html":
            try:
                plain = parse_html(caption).plain_text
            except HtmlParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if len(plain) > MAX_CAPTION_CHARACTERS:  # code points, as for texts
            raise ApiError(400, "Bad Request: message caption is too long")
        if self.known_chats is not None and chat_id not in self.known_chats:
            raise ApiError(400, "Bad Request: chat not found")
        with self._lock:
            self._check_flood(_bot_id(token), chat_id, arrived)
            message_id = self._next_message_id[chat_id]
            self._next_message_id[chat_id] += 1
            self.photos[(chat_id, message_id)] = photo.data
            record = {
                "bot_id": _bot_id(token),
                "chat_id": chat_id,
                "message_id": message_id,
                "method": "sendPhoto",
                "text": caption,
                "parse_mode": parse_mode or None,
                "photo": {"width": width, "height": height, "bytes": len(photo.data), "filename": photo.filename},
                "params": {k: v for k, v in params.items() if k not in ("chat_id", "caption", "photo")},
                "received_at": arrived,
            }
            self.messages.append(record)
            log.info(
                "%s bot=%s chat=%s message_id=%d [photo %dx%d, %d KB] %s",
                LOG_TG_EMULATOR,
                record["bot_id"],
                chat_id,
                message_id,
                width,
                height,
                len(photo.data) // 1024,
                caption.replace("\n", " ⏎ ")[:500],
            )
            if self.photos_dir is not None:
                self.photos_dir.mkdir(parents=True, exist_ok=True)
                (self.photos_dir / f"{chat_id}-{message_id}.png").write_bytes(photo.data)
            if self.record_path is not None:
                with self.record_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._lock.notify_all()
        file_id = f"emulated-{chat_id}-{message_id}"
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(token),
            "chat": _chat_object(chat_id),
            "date": int(arrived),
            "photo": [
                {
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "width": width,
                    "height": height,
                    "file_size": len(photo.data),
                }
            ],
        }
        if plain:
            message["caption"] = plain
        return message

    def _check_flood(self, bot_id: int, chat_id: int | str, now: float) -> None:
        """Raises the 429 Telegram would send; on success counts the message. Called under the lock.
        Limits are per bot: two bots writing to one chat do not slow each other."""
        if self.limits is None:
            return
        chat_times = self._accepted_at[(bot_id, chat_id)]
        bot_times = self._bot_accepted_at[bot_id]
        while chat_times and chat_times[0] <= now - 60:
            chat_times.popleft()
        while bot_times and bot_times[0] <= now - 1:
            bot_times.popleft()
        wait = 0.0
        if chat_times and now - chat_times[-1] < self.limits.chat_interval_s:
            wait = chat_times[-1] + self.limits.chat_interval_s - now
        if _is_group(chat_id) and len(chat_times) >= self.limits.group_per_minute:
            wait = max(wait, chat_times[-self.limits.group_per_minute] + 60 - now)
        if len(bot_times) >= self.limits.bot_per_second:
            wait = max(wait, bot_times[-self.limits.bot_per_second] + 1 - now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        chat_times.append(now)
        bot_times.append(now)


def _integer(raw: Any, default: int) -> int:
    try:
        return int(str(raw).strip()) if raw not in (None, "") else default
    except ValueError:
        return default


def _masked(text: str, tokens: set[str]) -> str:
    """A log line without the bot tokens it may carry (the request path holds one)."""
    for token in tokens:
        text = text.replace(token, "***")
    return _TOKEN_IN_PATH.sub("/bot***/", text)


def _bot_id(token: str) -> int:
    return int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 0


def _chat_id(raw: Any) -> int | str:
    if raw is None or raw == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(raw, bool):
        raise ApiError(400, "Bad Request: chat not found")
    if isinstance(raw, int):
        return raw
    value = str(raw).strip()
    if _NUMERIC.match(value):
        return int(value)
    if value.startswith("@") and len(value) > 1:
        return value
    raise ApiError(400, "Bad Request: chat not found")


def _is_group(chat_id: int | str) -> bool:
    return isinstance(chat_id, str) or chat_id < 0


def _refusal(chat_id: int | str) -> str:
    """The 403 texts of the Bot API server for a chat that refuses the bot (fixtures: error_descriptions.json)."""
    kind = _chat_object(chat_id)["type"]
    if kind == "private":
        return "Forbidden: bot was blocked by the user"
    return f"Forbidden: bot was kicked from the {kind} chat"


def _chat_object(chat_id: int | str) -> dict[str, Any]:
    if isinstance(chat_id, str):
        return {"id": -1001000000000, "type": "channel", "title": chat_id[1:], "username": chat_id[1:]}
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Trader"}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": "Alerts"}


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk; None for anything that is not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def _decode_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """A multipart/form-data body: text fields as strings, files as Upload."""
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ApiError(400, "Bad Request: invalid request body")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)  # a leaf part decodes to bytes
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            fields[str(name)] = Upload(str(filename), part.get_content_type(), data)
        else:
            fields[str(name)] = data.decode("utf-8")
    return fields


def _decode_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        return _decode_multipart(content_type, body)
    if kind == "application/json":
        value = json.loads(body.decode("utf-8"))
        if not isinstance(value, dict):
            raise ApiError(400, "Bad Request: invalid request body")
        return value
    if kind in ("application/x-www-form-urlencoded", ""):
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    raise ApiError(400, "Bad Request: unsupported content type")


_answer = threading.local()  # per request thread: how slowly to write the answer (a `slow_s` fault)


def _handler_for(emulator: TelegramEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes
        server_version = "telegram-bot-api-emulator"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s %s", LOG_TG_EMULATOR, _masked(fmt % args, emulator.tokens))

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if url.path.startswith("/_emulator/"):
                return self._control(url.path, body)
            match = _BOT_PATH.match(url.path)
            if not match:
                return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            token, method = match.groups()
            params: dict[str, Any] = {}
            try:
                params = dict(parse_qsl(url.query, keep_blank_values=True))
                params.update(_decode_body(self.headers.get("Content-Type", ""), body))
                result = emulator.call(token, method, params)
            except ConnectionDropped:
                emulator.record_call(method, params, 0)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            except ApiError as exc:
                payload: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
                if exc.parameters:
                    payload["parameters"] = exc.parameters
                headers = (
                    {"Retry-After": str(exc.parameters["retry_after"])}
                    if exc.parameters and "retry_after" in exc.parameters
                    else {}
                )
                emulator.record_call(method, params, exc.status)
                return self._reply(exc.status, payload, headers)
            except (ValueError, UnicodeDecodeError):
                emulator.record_call(method, params, 400)
                return self._reply(
                    400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid request body"}
                )
            emulator.record_call(method, params, 200)
            self._reply(200, {"ok": True, "result": result})

        def _control(self, path: str, body: bytes) -> None:
            if path == "/_emulator/messages" and self.command == "GET":
                with emulator._lock:
                    return self._reply(200, list(emulator.messages))
            if path == "/_emulator/messages" and self.command == "DELETE":
                emulator.reset()
                return self._reply(200, {"ok": True})
            photo = _PHOTO_PATH.match(path)
            if photo and self.command == "GET":
                with emulator._lock:
                    data = emulator.photos.get((_chat_id(photo.group(1)), int(photo.group(2))))
                if data is None:
                    return self._reply(404, {"ok": False, "description": "no such photo"})
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None
            if path == "/_emulator/calls" and self.command == "GET":
                with emulator._lock:
                    return self._reply(200, list(emulator.calls))
            if path == "/_emulator/chats" and self.command == "POST":
                try:
                    spec = json.loads(body or b"{}")
                    emulator.set_chat_states(
                        spec.get("blocked"), spec.get("migrated"), spec.get("admins"), spec.get("unblocked")
                    )
                except (ValueError, TypeError, AttributeError, ApiError) as exc:
                    return self._reply(400, {"ok": False, "description": f"bad chat states: {exc}"})
                return self._reply(200, {"ok": True})
            if path == "/_emulator/commands" and self.command == "GET":
                with emulator._lock:
                    return self._reply(200, {str(bot): cmds for bot, cmds in emulator.commands.items()})
            if path == "/_emulator/updates" and self.command == "POST":
                try:
                    spec = json.loads(body or b"{}")
                    update = emulator.push_update(
                        int(spec["bot_id"]),
                        str(spec["text"]),
                        spec["chat_id"],
                        spec.get("user_id"),
                        spec.get("username"),
                    )
                except (ValueError, TypeError, KeyError, AttributeError, ApiError) as exc:
                    return self._reply(400, {"ok": False, "description": f"bad update: {exc}"})
                return self._reply(200, update)
            if path == "/_emulator/faults" and self.command == "POST":
                try:
                    spec = json.loads(body or b"{}")
                    fault = Fault(**{k: spec[k] for k in spec if k in Fault.__dataclass_fields__ and k != "until"})
                    fault.method = fault.method.lower()
                    if spec.get("for_s"):
                        fault.until = time.time() + float(spec["for_s"])
                        spec["count"] = 1
                except (ValueError, TypeError) as exc:
                    return self._reply(400, {"ok": False, "description": f"bad fault: {exc}"})
                for _ in range(int(spec.get("count", 1))):
                    emulator.add_fault(Fault(**vars(fault)))
                return self._reply(200, {"ok": True})
            self._reply(404, {"ok": False, "description": "unknown emulator control path"})

        def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else None)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            slow_s, _answer.slow_s = getattr(_answer, "slow_s", 0.0), 0.0
            if not slow_s:
                self.wfile.write(body)
                return
            for index in range(len(body)):  # each byte well within a client's read timeout, the whole far beyond it
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
                time.sleep(slow_s / len(body))

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", action="append", required=True, help="a bot token the emulator accepts (repeatable)")
    parser.add_argument("--record", type=Path, help="append every accepted message to this JSON-lines file")
    parser.add_argument("--photos-dir", type=Path, help="write every photo sendPhoto uploads here (CHAT-MESSAGE.png)")
    parser.add_argument("--no-flood-limits", action="store_true", help="accept any rate (the real service does not)")
    parser.add_argument(
        "--chat-interval",
        type=float,
        default=FloodLimits.chat_interval_s,
        help="seconds between two messages to one chat",
    )
    parser.add_argument("--group-per-minute", type=int, default=FloodLimits.group_per_minute)
    parser.add_argument("--bot-per-second", type=int, default=FloodLimits.bot_per_second)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(message)s")
    limits = (
        None if args.no_flood_limits else FloodLimits(args.chat_interval, args.group_per_minute, args.bot_per_second)
    )
    emulator = TelegramEmulator(
        set(args.token), args.host, args.port, args.record, limits=limits, photos_dir=args.photos_dir
    )
    log.info("%s listening on %s", LOG_TG_EMULATOR, emulator.url)
    try:
        emulator._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

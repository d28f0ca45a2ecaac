"""The Telegram Bot API edge: telebot underneath, every failure classified here as retryable or not.

Nothing above this module sees a telebot or requests exception: their texts can carry the bot token
(the URL path) and the message itself, so they are turned into DeliveryError with a redacted text.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import telebot
from telebot import apihelper
from telebot.types import LinkPreviewOptions

from teleglas.defines import TELEGRAM_TOKEN_PATTERN
from teleglas.ops.redaction import redact, register_secrets

_url_lock = threading.Lock()
_TOKEN_SHAPE = re.compile(TELEGRAM_TOKEN_PATTERN)


# Why a send failed, decided here from the descriptions the Bot API server sends (docs/protocols.md, Telegram: each
# one with the line of the server or TDLib source that writes it).
RATE_LIMITED = "rate_limited"  # 429: wait retry_after, every sender of this bot
SERVER_ERROR = "server_error"  # 5xx or a body that is not JSON: back off and retry
NETWORK = "network"  # no answer: delivery unknown, back off and retry
UNAUTHORIZED = "unauthorized"  # 401: the token is wrong or revoked
FORBIDDEN = "forbidden"  # 403: blocked, kicked, deactivated, deleted
CHAT_MIGRATED = "chat_migrated"  # 400 with migrate_to_chat_id
CHAT_NOT_FOUND = "chat_not_found"  # 400: wrong id or the bot was never in the chat
BAD_HTML = "bad_html"  # 400 can't parse entities: resend as plain text
TOO_LONG = "too_long"  # 400 message/text (or a photo's caption) is too long: split
EMPTY_TEXT = "empty_text"  # 400 message text is empty, or nothing visible is left after parsing
BAD_REQUEST = "bad_request"  # any other 400
CHAT_DISABLED = "chat_disabled"  # not Telegram's answer: the chat refused the bot before and is not asked again yet
CAPTION_TOO_LONG = "caption_too_long"  # 400 message caption is too long: the photo with a short caption, then the text
PHOTO_REFUSED = "photo_refused"  # 400 about the photo itself (dimensions, no photo, too big): the alert goes as text
_RETRYABLE = {RATE_LIMITED, SERVER_ERROR, NETWORK}
_BAD_REQUEST_SHAPES = (
    # sendPhoto first: "message caption is too long" must not read as a text that is too long (docs/protocols.md).
    ("message caption is too long", CAPTION_TOO_LONG),
    ("there is no photo in the request", PHOTO_REFUSED),
    ("photo_invalid_dimensions", PHOTO_REFUSED),
    ("image_process_failed", PHOTO_REFUSED),
    ("photo_save_file_invalid", PHOTO_REFUSED),
    ("can't parse entities", BAD_HTML),
    ("message is too long", TOO_LONG),
    ("text is too long", TOO_LONG),
    ("caption is too long", TOO_LONG),
    ("message text is empty", EMPTY_TEXT),
    ("text must be non-empty", EMPTY_TEXT),
    ("chat not found", CHAT_NOT_FOUND),
)


@dataclass
class DeliveryError(Exception):
    reason: str
    retryable: bool
    description: str
    error_code: int | None = None
    retry_after: float | None = None
    migrate_to_chat_id: int | None = None

    def __str__(self) -> str:
        code = f" {self.error_code}" if self.error_code is not None else ""
        return f"{self.reason}{code}: {self.description}"


def use_api_url(api_url: str) -> None:
    """Points telebot (process-wide, by design of telebot) at `api_url`, e.g. the emulator, and sends its requests
    through _send_request."""
    with _url_lock:
        # setattr: telebot declares these as None (its default, meaning api.telegram.org and its own sessions)
        setattr(apihelper, "API_URL", f"{api_url.rstrip('/')}/bot{{0}}/{{1}}")  # noqa: B010
        setattr(apihelper, "FILE_URL", f"{api_url.rstrip('/')}/file/bot{{0}}/{{1}}")  # noqa: B010
        setattr(apihelper, "CUSTOM_REQUEST_SENDER", _send_request)  # noqa: B010


class _Session(requests.Session):
    """requests looks up the proxy variables (HTTPS_PROXY, NO_PROXY, ...) and the CA bundle ones for every request,
    scanning the whole environment twice: a third of a send's time before its first byte left. A running process's
    environment does not change, so each lookup is kept, per host and request options; what requests does with the
    result is unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, dict[str, Any]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        key = (urlsplit(url)[:2], None if proxies is None else frozenset(proxies.items()), stream, verify, cert)
        found = self._environment.get(key)
        if found is None:
            found = self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {**found, "proxies": dict(found["proxies"])}


_sessions = threading.local()


def _send_request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """telebot's hook for its HTTP requests (apihelper.CUSTOM_REQUEST_SENDER): the same request, on a _Session of
    the calling thread's own (telebot also keeps one per thread)."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = _Session()
    return session.request(method, url, **kwargs)


class TelegramClient:
    def __init__(self, api_url: str, token: str, timeout_s: float):
        register_secrets(token)
        use_api_url(api_url)
        # A missing or malformed token fails every send like a refused one (401), so alerts land in the
        # dead letters with a clear reason instead of crashing each task.
        self._bot = telebot.TeleBot(token, threaded=False) if _TOKEN_SHAPE.match(token) else None
        self._timeout = max(1, math.ceil(timeout_s))  # telebot takes whole seconds
        # The bot id is public (it is the bot's user id); the token_key names this token in Redis without
        # revealing it, so a refused token's mark does not outlive a new token for the same bot.
        self.bot_id = token.split(":", 1)[0] if self._bot else "unconfigured"
        self.token_key = f"{self.bot_id}-{hashlib.sha256(token.encode()).hexdigest()[:12]}"

    def _require_bot(self) -> telebot.TeleBot:
        if self._bot is None:
            raise DeliveryError(
                UNAUTHORIZED, False, "TELEGRAM_ALERT_TOKEN is missing or is not a bot token (<id>:<secret>)"
            )
        return self._bot

    def check_token(self) -> str:
        """getMe: proves the token works and returns the bot's username."""
        bot = self._require_bot()
        try:
            return bot.get_me().username or ""
        except Exception as exc:
            raise classify(exc) from None

    def bot_can_post(self, chat_id: int | str) -> bool:
        """getChatMember for the bot itself: True when it is a member that may post (an administrator, the
        creator, a member, or restricted but allowed to send messages)."""
        bot = self._require_bot()
        try:
            member = bot.get_chat_member(chat_id, int(self.bot_id))
        except Exception as exc:
            raise classify(exc) from None
        if member.status in ("creator", "administrator", "member"):
            return member.status != "administrator" or getattr(member, "can_post_messages", None) is not False
        return member.status == "restricted" and bool(getattr(member, "can_send_messages", False))

    def send(self, chat_id: int | str, text: str, html: bool) -> int:
        """Sends `text` (HTML, or plain text without a parse mode) without link previews; returns the message_id."""
        bot = self._require_bot()
        try:
            message = bot.send_message(
                chat_id,
                text,
                parse_mode="HTML" if html else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                timeout=self._timeout,
            )
        except Exception as exc:  # every failure is classified at this edge
            raise classify(exc) from None
        return message.message_id

    def send_photo(self, chat_id: int | str, png: bytes, caption: str, html: bool) -> int:
        """sendPhoto with the PNG as a multipart upload and `caption` (HTML, or plain text); returns the message_id."""
        bot = self._require_bot()
        try:
            message = bot.send_photo(
                chat_id,
                ("chart.png", png, "image/png"),
                caption=caption or None,
                parse_mode=("HTML" if html else None) if caption else None,
                timeout=self._timeout,
            )
        except Exception as exc:  # every failure is classified at this edge
            raise classify(exc) from None
        return message.message_id


def classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, apihelper.ApiTelegramException):
        parameters = (exc.result_json or {}).get("parameters") or {}
        if not isinstance(parameters, dict):
            parameters = {}
        return _by_status(exc.error_code, redact(str(exc.description)), parameters, exc.result)
    if isinstance(exc, apihelper.ApiHTTPException):
        status = exc.result.status_code
        return _by_status(status, f"HTTP {status} without a JSON body", {}, exc.result)
    if isinstance(exc, apihelper.ApiInvalidJSONException):
        return DeliveryError(SERVER_ERROR, True, "HTTP 200 with a body that is not JSON")
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return DeliveryError(NETWORK, True, f"{type(exc).__name__}: delivery unknown")
    return DeliveryError(NETWORK, True, redact(f"{type(exc).__name__}: {exc}"))


def _by_status(
    status: int, description: str, parameters: dict[str, Any], response: requests.Response | None
) -> DeliveryError:
    if status == 429:
        retry_after = parameters.get("retry_after")
        if retry_after is None and response is not None:
            retry_after = response.headers.get("Retry-After")
        try:
            wait = max(float(retry_after), 0.0) if retry_after is not None else 1.0
        except (TypeError, ValueError):
            wait = 1.0
        return DeliveryError(RATE_LIMITED, True, description, status, retry_after=wait)
    if status >= 500:
        return DeliveryError(SERVER_ERROR, True, description, status)
    if status == 401:
        return DeliveryError(
            UNAUTHORIZED, False, "the alert bot token was refused (check TELEGRAM_ALERT_TOKEN)", status
        )
    if status == 403:
        return DeliveryError(FORBIDDEN, False, description, status)
    if status == 413:  # a body over the server's upload limit never reaches the Bot API (ASSUMED, docs/protocols.md)
        return DeliveryError(PHOTO_REFUSED, False, description, status)
    migrate_to = parameters.get("migrate_to_chat_id")
    if isinstance(migrate_to, int) and not isinstance(migrate_to, bool):
        return DeliveryError(CHAT_MIGRATED, False, description, status, migrate_to_chat_id=migrate_to)
    lowered = description.lower()
    reason = next((kind for shape, kind in _BAD_REQUEST_SHAPES if shape in lowered), BAD_REQUEST)
    return DeliveryError(reason, reason in _RETRYABLE, description, status)

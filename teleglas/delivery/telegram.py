"""The Telegram Bot API edge: telebot underneath, every failure classified here as retryable or not.

Nothing above this module sees a telebot or requests exception: their texts can carry the bot token
(the URL path) and the message itself, so they are turned into DeliveryError with a redacted text.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import requests
import telebot
from telebot import apihelper
from telebot.types import LinkPreviewOptions

from teleglas.redaction import redact, register_secrets

_url_lock = threading.Lock()


@dataclass
class DeliveryError(Exception):
    reason: str  # rate_limited | server_error | network | unauthorized | forbidden | bad_request
    retryable: bool
    description: str
    error_code: int | None = None
    retry_after: float | None = None

    def __str__(self) -> str:
        code = f" {self.error_code}" if self.error_code is not None else ""
        return f"{self.reason}{code}: {self.description}"


def use_api_url(api_url: str) -> None:
    """Points telebot (process-wide, by design of telebot) at `api_url`, e.g. the emulator."""
    with _url_lock:
        apihelper.API_URL = f"{api_url.rstrip('/')}/bot{{0}}/{{1}}"
        apihelper.FILE_URL = f"{api_url.rstrip('/')}/file/bot{{0}}/{{1}}"


class TelegramClient:
    def __init__(self, api_url: str, token: str, timeout_s: float):
        register_secrets(token)
        use_api_url(api_url)
        self._bot = telebot.TeleBot(token, threaded=False)
        self._timeout = timeout_s

    def check_token(self) -> str:
        """getMe: proves the token works and returns the bot's username."""
        try:
            return self._bot.get_me().username
        except Exception as exc:
            raise classify(exc) from None

    def send_html(self, chat_id: int | str, text: str) -> int:
        """Sends `text` in HTML parse mode without link previews; returns Telegram's message_id."""
        try:
            message = self._bot.send_message(
                chat_id,
                text,
                parse_mode="HTML",
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                timeout=self._timeout,
            )
        except Exception as exc:  # every failure is classified at this edge
            raise classify(exc) from None
        return message.message_id


def classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, apihelper.ApiTelegramException):
        parameters = (exc.result_json or {}).get("parameters") or {}
        return _by_status(exc.error_code, redact(str(exc.description)), parameters.get("retry_after"), exc.result)
    if isinstance(exc, apihelper.ApiHTTPException):
        status = exc.result.status_code
        return _by_status(status, f"HTTP {status} without a JSON body", None, exc.result)
    if isinstance(exc, apihelper.ApiInvalidJSONException):
        return DeliveryError("server_error", True, "HTTP 200 with a body that is not JSON")
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return DeliveryError("network", True, f"{type(exc).__name__}: delivery unknown")
    return DeliveryError("network", True, redact(f"{type(exc).__name__}: {exc}"))


def _by_status(status: int, description: str, retry_after, response) -> DeliveryError:
    if status == 429:
        if retry_after is None and response is not None:
            retry_after = response.headers.get("Retry-After")
        try:
            wait = max(float(retry_after), 0.0)
        except (TypeError, ValueError):
            wait = 1.0
        return DeliveryError("rate_limited", True, description, status, wait)
    if status >= 500:
        return DeliveryError("server_error", True, description, status)
    if status == 401:
        return DeliveryError("unauthorized", False, "the alert bot token was refused (check TELEGRAM_ALERT_TOKEN)", status)
    if status == 403:
        return DeliveryError("forbidden", False, description, status)
    return DeliveryError("bad_request", False, description, status)

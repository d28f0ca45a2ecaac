"""The manual bot process: pyTelegramBotAPI long polling, each message it answers through the per-user budget,
commands through the access rules, the bot's share of the CoinGlass budget and their handler, and the answer
sent back. Started by `python bots/manual.py`.

It never sends automatic alerts: those come from the alert system (Celery) with the alert bot's token.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import requests
import telebot
from telebot import apihelper
from telebot.types import BotCommand, Message

from teleglas.celery import app as celery_app
from teleglas.decide.rules import RulesError, rules_from_settings
from teleglas.defines import (
    LOG_MANUAL,
    QUEUE_TELEGRAM,
    TASK_SEND_MESSAGE,
    TELEGRAM_MAX_CAPTION_UNITS,
    TELEGRAM_TOKEN_PATTERN,
)
from teleglas.deliver import telegram as tg
from teleglas.deliver.message_split import html_to_plain, split_message, visible_units
from teleglas.deliver.telegram import DeliveryError, TelegramClient
from teleglas.manual.access import PRIVATE, Access, OneAtATime, Requester, over_budget_reply
from teleglas.manual.chart_answers import ChartAnswers, PhotoAnswer
from teleglas.manual.chat_alerts import ChatAlerts
from teleglas.manual.command_args import split_arguments
from teleglas.manual.commands import BY_NAME, COMMANDS, MARKET, SETTINGS, SYSTEM, Command, CommandHandlers
from teleglas.manual.market_data import MarketData
from teleglas.model.chat import ChatId
from teleglas.ops.health import HealthServer, verdict
from teleglas.ops.logging_setup import install_redaction, process_settings
from teleglas.ops.redaction import redact
from teleglas.settings import Settings
from teleglas.source.coinglass.rest import CoinGlassRest
from teleglas.state.budgets import CommandBudget, RestBudget, RestCache
from teleglas.state.chats import ChatState
from teleglas.state.client import redis_client
from teleglas.state.due import DueWork
from teleglas.state.system import SystemState
from teleglas.state.tape import TapeReader

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "channel_post"]
STARTUP_RETRY_S = 5.0
REPLY_ATTEMPTS = 4
MAX_REPLY_WAIT_S = 10.0
ANSWER_FAILED = "Something went wrong while answering. The operator can find it in the bot's log under [MANUAL]."
REDIS_DOWN = "The alert system's database (Redis) is unreachable right now. Please try again in a minute."
MARKET_BUSY = (
    "Market data is busy: this bot's share of its CoinGlass requests is used up for this minute (the rest is kept "
    "for the alerts). Please try again in {seconds} s."
)


def refusal_to_start(settings: Settings) -> str | None:
    """Why the bot must not start with these settings, or None."""
    if not settings.manual.token:
        return "TELEGRAM_TOKEN is empty: the manual bot needs a bot token of its own (from @BotFather)"
    if settings.manual.token == settings.telegram.alert_token:
        return (
            "TELEGRAM_TOKEN equals TELEGRAM_ALERT_TOKEN: give the manual bot a bot of its own, so commands and "
            "alerts do not share one getUpdates stream and one rate limit"
        )
    if not re.match(TELEGRAM_TOKEN_PATTERN, settings.manual.token):
        return "TELEGRAM_TOKEN is not a bot token (expected <bot id>:<secret>, as @BotFather gives it)"
    return None


class PollingBot(telebot.TeleBot):
    """TeleBot that remembers when getUpdates last answered and when the last update came, for /health."""

    last_poll_ok: float = 0.0
    last_update_at: float = 0.0

    def get_updates(self, *args, **kwargs):
        updates = super().get_updates(*args, **kwargs)
        self.last_poll_ok = time.time()
        if updates:
            self.last_update_at = self.last_poll_ok
        return updates


class ManualBot:
    def __init__(
        self,
        settings: Settings,
        bot: PollingBot,
        telegram: TelegramClient,
        budget: CommandBudget,
        rest_left: Callable[[], int],
        handlers: CommandHandlers,
        access: Access,
    ):
        self.settings = settings
        self.bot = bot
        self.telegram = telegram
        self.budget = budget
        self.rest_left = rest_left  # CoinGlass requests the bot's share may still make this minute
        self.handlers = handlers
        self.access = access
        self.username = ""
        self._one_at_a_time = OneAtATime()
        bot.register_message_handler(self.on_message, content_types=["text"])
        bot.register_channel_post_handler(self.on_message, content_types=["text"])

    # -- start-up --------------------------------------------------------------------------------------

    def prepare(self, stopping: threading.Event) -> bool:
        """getMe (the token check), deleteWebhook (getUpdates conflicts with one), setMyCommands. Retries
        while Telegram is unreachable; False when the token is refused or the process is stopping."""
        while not stopping.is_set():
            try:
                self.username = self.bot.get_me().username or ""
                self.bot.delete_webhook(drop_pending_updates=False)
                self.bot.set_my_commands([BotCommand(c.name, c.description) for c in COMMANDS])
                return True
            except apihelper.ApiTelegramException as exc:
                if exc.error_code == 401:
                    log.error("%s Telegram refused TELEGRAM_TOKEN (401 Unauthorized): check the token", LOG_MANUAL)
                    return False
                log.warning(
                    "%s start-up call failed, retrying in %.0f s: %s", LOG_MANUAL, STARTUP_RETRY_S, redact(str(exc))
                )
            except (requests.RequestException, apihelper.ApiException) as exc:
                log.warning(
                    "%s Telegram unreachable at start, retrying in %.0f s: %s",
                    LOG_MANUAL,
                    STARTUP_RETRY_S,
                    type(exc).__name__,
                )
            stopping.wait(STARTUP_RETRY_S)
        return False

    # -- one message -----------------------------------------------------------------------------------

    def on_message(self, message: Message) -> None:
        """telebot's handler threads: each sender's messages run one at a time, in order (OneAtATime)."""
        who = Requester(message.chat.id, message.chat.type, message.from_user.id if message.from_user else None)
        self._one_at_a_time.run(_sender(who), lambda: self._handle(who, message.text or ""))

    def _handle(self, who: Requester, text: str) -> None:
        started = time.monotonic()
        chat_id = who.chat_id
        try:
            answer = self.answer(who, text)
        except redis.RedisError as exc:
            log.error("%s chat=%s Redis unreachable: %s", LOG_MANUAL, chat_id, type(exc).__name__)
            answer = REDIS_DOWN
        except Exception as exc:  # the boundary: a bug answers with an apology, never a stack trace
            log.exception("%s chat=%s command failed: %s", LOG_MANUAL, chat_id, redact(str(exc))[:200])
            answer = ANSWER_FAILED
        if answer is None:
            return
        if isinstance(answer, PhotoAnswer):
            self.reply_photo(chat_id, answer)
        else:
            self.reply(chat_id, answer)
        log.info(
            "%s chat=%s user=%s %s answered in %.0f ms",
            LOG_MANUAL,
            chat_id,
            who.user_id,
            text.split(maxsplit=1)[0][:40] if text else "-",
            (time.monotonic() - started) * 1000,
        )

    def answer(self, who: Requester, text: str) -> str | PhotoAnswer | None:
        """The reply to one message, or None to stay silent (not for this bot, or a flood). Every message the
        bot would answer (a command, an unknown command, plain text) counts against its sender's budget first,
        so no kind of message gets a flood of replies out of it."""
        command, reply = self._route(who, text)
        if command is None and reply is None:
            return None  # chatter in a group, another bot's command: not ours to answer
        refused, over = over_budget_reply(
            self.budget.count(_sender(who), time.time()), self.settings.manual.commands_per_minute
        )
        if refused:
            if over is None:  # one line per silenced message: what a person (or a test) reads instead of a reply
                log.info(
                    "%s chat=%s user=%s not answered: over the message budget", LOG_MANUAL, who.chat_id, who.user_id
                )
            return over
        if command is None:
            return reply
        refusal = self._refusal(command, who)
        if refusal:
            return refusal
        if command.rest_cost and self.rest_left() < command.rest_cost:
            log.info("%s /%s refused: the bot's share of the CoinGlass budget is used up", LOG_MANUAL, command.name)
            return MARKET_BUSY.format(seconds=60 - int(time.time() % 60))
        return self.handlers.answer(command, who, split_arguments(text))

    def _route(self, who: Requester, text: str) -> tuple[Command | None, str | None]:
        """The command a message asks for, or the reply it gets without one; (None, None): not for this bot."""
        if not text.startswith("/"):
            return None, ("Send /help for the commands." if who.chat_type == PRIVATE else None)
        name, _, target = text.split(maxsplit=1)[0][1:].partition("@")
        if target and target.lower() != self.username.lower():
            return None, None  # addressed to another bot in this group
        command = BY_NAME.get(name.lower())
        if command is None and (who.chat_type == PRIVATE or target):
            return None, f"Unknown command /{_short(name)}. /help lists the commands."
        return command, None

    def _refusal(self, command: Command, who: Requester) -> str | None:
        if command.group == MARKET:
            return self.access.refuse_market_data(who)
        if command.group == SETTINGS:
            return self.access.refuse_settings_change(who)
        if command.group == SYSTEM:
            return self.access.refuse_status(who)
        return None

    def reply(self, chat_id: int, text: str) -> None:
        """Through the same Telegram edge as the alerts (teleglas.deliver.telegram: one classification of
        Telegram's answers). An answer over Telegram's length is split on line boundaries like an alert; a 429
        waits the `retry_after` Telegram asks for, up to MAX_REPLY_WAIT_S (a person sending commands quickly is
        answered a little later, not never); HTML Telegram cannot parse goes again as plain text."""
        for part in split_message(text, is_html=True):
            self._send(chat_id, part, html=True)

    def reply_photo(self, chat_id: int, answer: PhotoAnswer) -> None:
        """The picture with the answer as its caption, or with the answer's first line and the answer after it
        when it is longer than a caption may be; a photo Telegram refuses leaves the answer as text."""
        fits = visible_units(answer.caption, True) <= TELEGRAM_MAX_CAPTION_UNITS
        caption = answer.caption if fits else answer.caption.split("\n", 1)[0]
        for attempt in range(REPLY_ATTEMPTS):
            try:
                self.telegram.send_photo(chat_id, answer.png, caption, html=True)
                break
            except DeliveryError as exc:
                if exc.reason == tg.RATE_LIMITED and attempt + 1 < REPLY_ATTEMPTS:
                    time.sleep(min(exc.retry_after or 1.0, MAX_REPLY_WAIT_S))
                    continue
                log.warning("%s chat=%s photo not sent (%s): answering with text", LOG_MANUAL, chat_id, exc)
                self.reply(chat_id, answer.caption)
                return
        if not fits:
            self.reply(chat_id, answer.caption)

    def _send(self, chat_id: int, text: str, html: bool) -> None:
        for attempt in range(REPLY_ATTEMPTS):
            try:
                self.telegram.send(chat_id, text, html=html)
                return
            except DeliveryError as exc:
                if exc.reason == tg.RATE_LIMITED and attempt + 1 < REPLY_ATTEMPTS:
                    time.sleep(min(exc.retry_after or 1.0, MAX_REPLY_WAIT_S))
                    continue
                if exc.reason == tg.BAD_HTML and html:
                    log.error("%s chat=%s reply had bad HTML, sent as plain text: %s", LOG_MANUAL, chat_id, exc)
                    self._send(chat_id, html_to_plain(text), html=False)
                    return
                log.warning("%s chat=%s reply not sent: %s", LOG_MANUAL, chat_id, exc)
                return

    # -- health ------------------------------------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, Any]]:
        now = time.time()
        poll_age = now - self.bot.last_poll_ok if self.bot.last_poll_ok else None
        report: dict[str, Any] = {
            "polling_alive": poll_age is not None and poll_age <= self.settings.manual.poll_timeout_s + 30,
            "last_poll_age_s": None if poll_age is None else round(poll_age, 3),
            "last_update_age_s": round(now - self.bot.last_update_at, 3) if self.bot.last_update_at else None,
        }
        try:
            report["redis_reachable"] = bool(self.budget.redis.ping())
        except (redis.RedisError, OSError):
            report["redis_reachable"] = False
        reasons = []
        if not report["redis_reachable"]:
            reasons.append("redis unreachable")
        if not report["polling_alive"]:
            reasons.append(
                "not polling Telegram" if poll_age is None else f"last getUpdates answer {poll_age:.0f} s ago"
            )
        return verdict(report, reasons)


def _sender(who: Requester) -> int:
    """Whose budget a message counts against: its user, or for a channel post (no user) the channel."""
    return who.user_id if who.user_id is not None else who.chat_id


def _short(word: str) -> str:
    return word[:32].replace("<", "").replace(">", "").replace("&", "")


def build(settings: Settings) -> ManualBot:
    telegram = TelegramClient(
        settings.telegram.api_url, settings.manual.token, settings.telegram.timeout_s
    )  # also points telebot at the API
    client = redis_client(settings.redis.url)
    rest_budget = RestBudget(client, manual_share=settings.manual.rest_share)
    rest = CoinGlassRest(
        settings.coinglass.api_url,
        settings.coinglass.api_key,
        rest_budget,
        RestCache(client),
        settings.coinglass.requests_per_minute,
        settings.coinglass.timeout_s,
    )
    bot = PollingBot(settings.manual.token, threaded=True, num_threads=4)

    def member_status(chat_id: int, user_id: int) -> str:
        try:
            return bot.get_chat_member(chat_id, user_id).status
        except (apihelper.ApiException, requests.RequestException) as exc:
            log.warning("%s chat=%s admin check failed: %s", LOG_MANUAL, chat_id, type(exc).__name__)
            return "unknown"

    def send_alert(chat_id: ChatId, text: str, alert_id: str) -> None:
        """The alert bot's send_message task, published as the engine publishes it."""
        args = (chat_id, text, alert_id, int(time.time() * 1000))
        celery_app.send_task(TASK_SEND_MESSAGE, args=args, queue=QUEUE_TELEGRAM)

    handlers = CommandHandlers(
        settings,
        SystemState.of(client),
        MarketData(rest),
        ChatAlerts(ChatState(client), settings.telegram.alert_chat_ids),
        rules_from_settings(settings.rules),
        send_alert,
        charts=ChartAnswers(
            TapeReader(client), ChatState(client), DueWork(client).schedule, settings.timezone, time.time
        ),
    )
    access = Access(
        settings.manual.allowed_user_ids,
        settings.manual.market_data_public,
        member_status,
        status_public=settings.manual.status_public,
    )
    return ManualBot(
        settings, bot, telegram, CommandBudget(client), lambda: rest_budget.left(rest.per_minute()), handlers, access
    )


def main() -> int:
    settings = process_settings(LOG_MANUAL)
    if settings is None:
        return 2
    install_redaction(logging.getLogger("TeleBot"))
    refusal = refusal_to_start(settings)
    if refusal:
        log.error("%s not starting: %s", LOG_MANUAL, refusal)
        return 2
    try:
        manual = build(settings)
    except RulesError as exc:
        log.error("%s %s", LOG_MANUAL, exc)
        return 2
    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()
        log.info("%s %s received: stopping", LOG_MANUAL, signal.Signals(signum).name)
        manual.bot.stop_polling()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    health = None
    if settings.manual.health_port:
        try:
            health = HealthServer(
                settings.manual.health_port, manual.health, settings.ops.health_host, log_prefix=LOG_MANUAL
            )
            health.start()
        except OSError as exc:
            log.warning(
                "%s health endpoint not started on :%d: %s", LOG_MANUAL, settings.manual.health_port, exc.strerror
            )
    if not manual.prepare(stopping):
        return 0 if stopping.is_set() else 2
    log.info(
        "%s @%s answering %d commands; automatic whale and liquidation monitoring runs in the alert system "
        "(Celery workers), not in this bot",
        LOG_MANUAL,
        manual.username,
        len(COMMANDS),
    )
    poll = settings.manual.poll_timeout_s
    manual.bot.infinity_polling(
        timeout=poll + 10, long_polling_timeout=poll, allowed_updates=ALLOWED_UPDATES, logger_level=logging.ERROR
    )
    if health is not None:
        health.stop()
    log.info("%s stopped", LOG_MANUAL)
    return 0

"""What follows each classified refusal, as a table (reason → reaction), so the reaction to a Telegram answer
is read in one place and a reason without an entry is dead-lettered, never dropped.

Every delay a reaction asks for (a 429's retry_after, a backoff) comes back as Status.LATER: the task turns it
into due work in Redis, so no message waits inside a worker whatever Telegram asks.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from teleglas.defines import LOG_SENDER
from teleglas.deliver import telegram as tg
from teleglas.deliver.ratelimit import RateLimiter
from teleglas.deliver.stages import Attempt, Outcome, Status
from teleglas.deliver.telegram import DeliveryError
from teleglas.model.alerts import send_dead_letter
from teleglas.model.chat import ChatId
from teleglas.ops.metrics import CHARTS, DEAD_LETTERS, NoMetrics, Recorder

log = logging.getLogger(__name__)

MIN_SPLIT_UNITS = 256
BACKOFF_CAP_S = 60.0


class ChatChanges(Protocol):
    def disable_chat(self, chat_id: ChatId, reason: str) -> bool: ...
    def migrate_chat(self, old: ChatId, new: ChatId) -> int: ...
    def flag_token_invalid(self, bot_key: str, ttl_s: int) -> bool: ...


class DeadLetterSink(Protocol):
    def push_dead_letter(self, entry: dict, ttl_s: int, max_entries: int) -> None: ...


@dataclass(frozen=True)
class Effects:
    """What a reaction may change besides choosing the next step."""

    chats: ChatChanges
    dead_letters: DeadLetterSink
    limiter: RateLimiter
    token_key: str
    max_retries: int
    deadletter_ttl_s: int
    deadletter_max: int
    recheck: Callable[[ChatId], None]  # ask a disabled chat again later
    metrics: Recorder | NoMetrics


Reaction = Callable[[Effects, Attempt, DeliveryError], Outcome]


def _where(attempt: Attempt) -> str:
    return f"{LOG_SENDER} alert={attempt.job.alert_id} chat={attempt.job.chat_id}"


def dead_letter(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    """Kept for an operator to replay (same alert id: a message that did arrive is not sent twice)."""
    job = attempt.job
    fx.dead_letters.push_dead_letter(
        send_dead_letter(
            job.chat_id,
            job.text,
            job.alert_id,
            job.origin_ms,
            job.current_ms,
            plain=job.plain,
            photo=job.photo,
            reason=exc.reason,
            error_code=exc.error_code,
            description=exc.description,
            attempts=job.failures,
        ),
        fx.deadletter_ttl_s,
        fx.deadletter_max,
    )
    fx.metrics.inc(DEAD_LETTERS, exc.reason)
    log.error("%s dead-lettered after %d attempt(s): %s %s", _where(attempt), job.failures, exc.reason, exc.description)
    return Outcome(Status.DEAD_LETTER, exc.description, job=job)


def pause_bot(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    """Not a failure of this message: Telegram says when to come back, to every sender of this bot."""
    paused = fx.limiter.pause(exc.retry_after or 1.0)
    log.warning("%s %s; every sender of this bot pauses %.1f s", _where(attempt), exc, paused)
    return Outcome(Status.LATER, delay_s=paused, job=replace(attempt.job, slot=None))


def back_off(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    """2, 4, 8 … s up to a minute, with jitter so retries after an incident do not leave in lock-step."""
    failures = attempt.job.failures + 1
    job = replace(attempt.job, failures=failures, slot=None)
    if failures > fx.max_retries:
        return dead_letter(fx, replace(attempt, job=job), exc)
    delay = min(2.0**failures, BACKOFF_CAP_S) * random.uniform(0.75, 1.0)
    log.warning("%s %s; retry %d/%d in %.1f s", _where(attempt), exc, failures, fx.max_retries, delay)
    return Outcome(Status.LATER, delay_s=delay, job=job)


def disable_chat(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    """Blocked, kicked, gone: no more sends to the chat until a re-check finds the bot welcome again; what
    it misses goes to the dead letters."""
    if fx.chats.disable_chat(attempt.job.chat_id, exc.description):
        log.error(
            "%s chat disabled: %s; its alerts go to the dead letters until it takes the bot again", _where(attempt), exc
        )
        fx.recheck(attempt.job.chat_id)
    return dead_letter(fx, attempt, exc)


def follow_migration(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    if exc.migrate_to_chat_id is None:
        return dead_letter(fx, attempt, exc)
    moved = fx.chats.migrate_chat(attempt.job.chat_id, exc.migrate_to_chat_id)
    log.warning(
        "%s group became supergroup %s (%d setting key(s) moved); update TELEGRAM_ALERT_CHAT_IDS",
        _where(attempt),
        exc.migrate_to_chat_id,
        moved,
    )
    return Outcome(Status.AGAIN, job=replace(attempt.job, chat_id=exc.migrate_to_chat_id, slot=None))


def plain_text(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    if attempt.job.plain:
        return dead_letter(fx, attempt, exc)
    log.warning("%s %s; resending as plain text", _where(attempt), exc)
    return Outcome(Status.AGAIN, job=replace(attempt.job, plain=True))


def smaller_parts(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    half = attempt.job.max_units // 2
    if half < MIN_SPLIT_UNITS:
        return dead_letter(fx, attempt, exc)
    log.warning("%s %s; resending what is left in parts of at most %d characters", _where(attempt), exc, half)
    return Outcome(Status.AGAIN, job=replace(attempt.job, max_units=half))


def text_only(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    """Telegram refused the chart itself (its size, its dimensions): the alert goes out as text, counted."""
    if not attempt.job.photo:
        return dead_letter(fx, attempt, exc)
    fx.metrics.inc(CHARTS, "refused")
    log.warning("%s %s; sending the alert as text", _where(attempt), exc)
    return Outcome(Status.AGAIN, job=replace(attempt.job, photo=None, separate_text=False))


def text_after_photo(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    """Telegram counted the caption longer than we did: the photo with its title line, then the whole text."""
    if not attempt.job.photo or attempt.job.separate_text:
        return text_only(fx, attempt, exc)
    log.warning("%s %s; sending the photo with a short caption and the text after it", _where(attempt), exc)
    return Outcome(Status.AGAIN, job=replace(attempt.job, separate_text=True))


def drop(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    """Nothing to send: there is nothing to keep either."""
    log.error("%s %s; dropped", _where(attempt), exc)
    return Outcome(Status.DROPPED, exc.description)


def stop_bot(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    if exc.error_code == 401 and fx.chats.flag_token_invalid(fx.token_key, fx.deadletter_ttl_s):
        log.error(
            "%s Telegram refused the alert bot token (401): every send stops until it is fixed; alerts go to the "
            "dead letters",
            LOG_SENDER,
        )
    return dead_letter(fx, attempt, exc)


ON_ERROR: dict[str, Reaction] = {
    tg.RATE_LIMITED: pause_bot,
    tg.SERVER_ERROR: back_off,
    tg.NETWORK: back_off,
    tg.FORBIDDEN: disable_chat,
    tg.CHAT_NOT_FOUND: disable_chat,
    tg.CHAT_DISABLED: dead_letter,
    tg.CHAT_MIGRATED: follow_migration,
    tg.BAD_HTML: plain_text,
    tg.TOO_LONG: smaller_parts,
    tg.EMPTY_TEXT: drop,
    tg.PHOTO_REFUSED: text_only,
    tg.CAPTION_TOO_LONG: text_after_photo,
    tg.UNAUTHORIZED: stop_bot,
}


def react(fx: Effects, attempt: Attempt, exc: DeliveryError) -> Outcome:
    return ON_ERROR.get(exc.reason, dead_letter)(fx, attempt, exc)

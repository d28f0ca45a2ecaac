"""Delivering one alert to one chat, as small named stages (Prometheus Alertmanager's notify/ pattern):

    route  follow a group→supergroup migration; skip a disabled chat; stop while the token is refused
    fit    split a text over Telegram's length limit on line boundaries (parts keep their own ids)
    per part:
      dedup  already sent → skip; another sender holds the lease → come back when it ends
      wait   the shared rate limit: a short sleep, or "come back in N s" (a Celery countdown)
      claim  a lease on (part, chat), so two copies of a task never send at once
      send   one Bot API call; its error, classified at the edge, picks the next step
      record the message_id, which is what makes every later copy of the task a no-op

The one window left open: Telegram accepted the message, and the process died (or the answer was lost on
the network) before `record` ran. The Bot API has no idempotency key, so a later attempt cannot know, and
sends again. The window is one HTTP round trip plus one Redis SET; nothing else happens inside it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from teleglas.alert_history import AlertHistory
from teleglas.defines import LOG_SENDER, TELEGRAM_MAX_TEXT_UNITS
from teleglas.delivery import telegram as tg
from teleglas.delivery.message_split import html_to_plain, split_message
from teleglas.delivery.ratelimit import RateLimiter
from teleglas.delivery.telegram import DeliveryError, TelegramClient
from teleglas.metrics import (DEAD_LETTERS, FRAME_TO_SEND, MESSAGES_SENT, RATE_LIMIT_WAIT_SECONDS, RATE_LIMIT_WAITS, TELEGRAM_ERRORS,
                              NoMetrics, Recorder)
from teleglas.settings import ChatId, Settings
from teleglas.store import Store

log = logging.getLogger(__name__)

SENT = "sent"
ALREADY_SENT = "already_sent"
DROPPED = "dropped"
DEAD_LETTER = "dead_letter"
RESCHEDULE = "reschedule"
_AGAIN_NOW = "again_now"  # migrate, plain text, smaller parts: retried at once inside `run`
_MAX_IMMEDIATE_RETRIES = 4
_MIN_SPLIT_UNITS = 256
_BACKOFF_CAP_S = 60.0
_LEASE_MARGIN_S = 5.0
_STATE_FIELDS = ("slot", "failures", "plain", "max_units")  # what a rescheduled task carries as kwargs


@dataclass(frozen=True, slots=True)
class SendJob:
    """Everything a send_message task carries. No token: workers read it from Settings."""

    chat_id: ChatId
    text: str
    alert_id: str
    origin_ms: int | None = None
    slot: float | None = None  # a held place in the chat's rate-limit queue
    failures: int = 0  # failed attempts so far (429, 5xx, network)
    plain: bool = False  # Telegram could not parse the HTML: send the text without a parse mode
    max_units: int = TELEGRAM_MAX_TEXT_UNITS  # lowered after a "message is too long"

    def task_args(self) -> tuple:
        return (self.chat_id, self.text, self.alert_id, self.origin_ms)

    def task_kwargs(self) -> dict:
        defaults = SendJob(self.chat_id, self.text, self.alert_id)
        return {name: getattr(self, name) for name in _STATE_FIELDS if getattr(self, name) != getattr(defaults, name)}

    @classmethod
    def from_task(cls, chat_id: ChatId, text: str, alert_id: str, origin_ms: int | None, state: dict) -> "SendJob":
        return cls(chat_id, text, alert_id, origin_ms, **{k: v for k, v in state.items() if k in _STATE_FIELDS})


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    detail: str = ""
    message_ids: tuple[int, ...] = ()
    countdown: float = 0.0
    job: SendJob | None = None


class Sender:
    def __init__(self, client: TelegramClient, store: Store, limiter: RateLimiter, settings: Settings, sleep: Callable[[float], None] = time.sleep,
                 metrics: Recorder | NoMetrics | None = None, history: AlertHistory | None = None):
        self.client = client
        self.history = history
        self.store = store
        self.limiter = limiter
        self.settings = settings
        self._sleep = sleep
        self.metrics = metrics or NoMetrics()
        self._lease_s = settings.telegram_timeout_s + _LEASE_MARGIN_S

    def run(self, job: SendJob, owner: str) -> Outcome:
        for _ in range(_MAX_IMMEDIATE_RETRIES + 1):
            outcome = self._attempt(job, owner)
            if outcome.status != _AGAIN_NOW:
                return outcome
            job = outcome.job
        return self._dead_letter(job, "too_many_changes", None, "migrated, re-split or re-encoded too many times")

    # -- stages ------------------------------------------------------------------------------------------

    def _attempt(self, job: SendJob, owner: str) -> Outcome:
        route = self.store.chat_route(job.chat_id, self.client.token_key)
        if route.chat_id != job.chat_id:
            log.info("%s alert=%s chat=%s migrated, sending to chat=%s", LOG_SENDER, job.alert_id, job.chat_id, route.chat_id)
            job = replace(job, chat_id=route.chat_id, slot=None)
        if route.disabled:
            log.debug("%s alert=%s chat=%s is disabled, not sent", LOG_SENDER, job.alert_id, job.chat_id)
            return Outcome(DROPPED, "chat disabled")
        if route.token_invalid:
            return self._dead_letter(job, tg.UNAUTHORIZED, 401, "the alert bot token was refused earlier; fix TELEGRAM_ALERT_TOKEN and restart the workers")

        text = html_to_plain(job.text) if job.plain else job.text
        parts = split_message(text, not job.plain, job.max_units)
        if not parts:
            log.error("%s alert=%s chat=%s has an empty text, dropped", LOG_SENDER, job.alert_id, job.chat_id)
            return Outcome(DROPPED, "empty text")
        message_ids: list[int] = []
        sent_now = False
        for index, part in enumerate(parts):
            part_id = job.alert_id if len(parts) == 1 else f"{job.alert_id}/{index + 1}of{len(parts)}"
            state = self.store.delivery_state(part_id, job.chat_id)
            if state.message_id is not None:
                message_ids.append(state.message_id)
                continue
            if state.sending_owner is not None:
                log.info("%s alert=%s chat=%s is being sent by %s; checking again in %.1f s", LOG_SENDER, part_id, job.chat_id, state.sending_owner, state.lease_left_s)
                return self._reschedule(job, max(state.lease_left_s, 0.1))
            permit = self.limiter.acquire(job.chat_id, job.slot)
            if permit.wait_s > 0:
                self.metrics.inc(RATE_LIMIT_WAITS)
                self.metrics.inc(RATE_LIMIT_WAIT_SECONDS, amount=permit.wait_s)
            if not permit.granted:
                log.debug("%s alert=%s chat=%s waits %.2f s for its rate-limit slot", LOG_SENDER, part_id, job.chat_id, permit.wait_s)
                return self._reschedule(replace(job, slot=permit.slot), permit.wait_s)
            job = replace(job, slot=None)
            if permit.wait_s > 0:
                self._sleep(permit.wait_s)
            if not self.store.claim_delivery(part_id, job.chat_id, owner, self._lease_s):
                return self._reschedule(job, 1.0)
            try:
                message_id = self.client.send(job.chat_id, part, html=not job.plain)
            except DeliveryError as exc:
                self.store.release_delivery(part_id, job.chat_id, owner)
                self.metrics.inc(TELEGRAM_ERRORS, exc.reason, exc.error_code if exc.error_code is not None else "none")
                return self._failed(job, exc)
            self.store.record_delivery(part_id, job.chat_id, message_id, self.settings.delivery_record_ttl_s)
            self.metrics.inc(MESSAGES_SENT, job.chat_id)
            if job.origin_ms:
                self.metrics.observe(FRAME_TO_SEND, time.time() - job.origin_ms / 1000)
            message_ids.append(message_id)
            sent_now = True
        if sent_now and self.history is not None:
            self.history.record_sent(job.alert_id, job.chat_id, tuple(message_ids), job.text, time.time())
        return Outcome(SENT if sent_now else ALREADY_SENT, message_ids=tuple(message_ids), job=job)

    def _failed(self, job: SendJob, exc: DeliveryError) -> Outcome:
        where = f"{LOG_SENDER} alert={job.alert_id} chat={job.chat_id}"
        if exc.reason == tg.RATE_LIMITED:  # not a failure of this message: Telegram says when to come back
            paused = self.limiter.pause(exc.retry_after or 1.0)
            log.warning("%s %s; every sender of this bot pauses %.1f s", where, exc, paused)
            return self._reschedule(replace(job, slot=None), paused)
        if exc.retryable:
            return self._retry_later(job, exc, min(2.0 ** (job.failures + 1), _BACKOFF_CAP_S))
        if exc.reason in (tg.FORBIDDEN, tg.CHAT_NOT_FOUND):
            if self.store.disable_chat(job.chat_id, exc.description):
                log.error("%s chat disabled, no more alerts go to it: %s", where, exc)
            return Outcome(DROPPED, exc.description)
        if exc.reason == tg.CHAT_MIGRATED and exc.migrate_to_chat_id is not None:
            moved = self.store.migrate_chat(job.chat_id, exc.migrate_to_chat_id)
            log.warning("%s group became supergroup %s (%d setting key(s) moved); update TELEGRAM_ALERT_CHAT_IDS", where, exc.migrate_to_chat_id, moved)
            return Outcome(_AGAIN_NOW, job=replace(job, chat_id=exc.migrate_to_chat_id, slot=None))
        if exc.reason == tg.BAD_HTML and not job.plain:
            log.warning("%s %s; resending as plain text", where, exc)
            return Outcome(_AGAIN_NOW, job=replace(job, plain=True))
        if exc.reason == tg.TOO_LONG and job.max_units // 2 >= _MIN_SPLIT_UNITS:
            log.warning("%s %s; resending in parts of at most %d characters", where, exc, job.max_units // 2)
            return Outcome(_AGAIN_NOW, job=replace(job, max_units=job.max_units // 2))
        if exc.reason == tg.EMPTY_TEXT:
            log.error("%s %s; dropped", where, exc)
            return Outcome(DROPPED, exc.description)
        if exc.reason == tg.UNAUTHORIZED and self.store.flag_token_invalid(self.client.token_key, self.settings.deadletter_ttl_s):
            log.error("%s Telegram refused the alert bot token (401): every send stops until it is fixed; alerts go to the dead letters", LOG_SENDER)
        return self._dead_letter(job, exc.reason, exc.error_code, exc.description)

    def _retry_later(self, job: SendJob, exc: DeliveryError, delay_s: float) -> Outcome:
        failures = job.failures + 1
        if failures > self.settings.send_max_retries:
            return self._dead_letter(replace(job, failures=failures), exc.reason, exc.error_code, exc.description)
        log.warning("%s alert=%s chat=%s %s; retry %d/%d in %.1f s", LOG_SENDER, job.alert_id, job.chat_id, exc, failures, self.settings.send_max_retries, delay_s)
        return self._reschedule(replace(job, failures=failures, slot=None), delay_s)

    def _reschedule(self, job: SendJob, delay_s: float) -> Outcome:
        # A countdown past the visibility timeout would be redelivered while still held: cap it; the
        # task then simply asks again and keeps its slot.
        return Outcome(RESCHEDULE, countdown=min(max(delay_s, 0.0), self.settings.telegram_max_countdown_s), job=job)

    def _dead_letter(self, job: SendJob, reason: str, error_code: int | None, description: str) -> Outcome:
        entry = {
            "alert_id": job.alert_id, "chat_id": job.chat_id, "text": job.text, "origin_ms": job.origin_ms,
            "plain": job.plain, "reason": reason, "error_code": error_code, "description": description,
            "attempts": job.failures, "failed_at": round(time.time(), 3),
        }
        self.store.push_dead_letter(entry, self.settings.deadletter_ttl_s, self.settings.deadletter_max)
        self.metrics.inc(DEAD_LETTERS, reason)
        log.error("%s alert=%s chat=%s dead-lettered after %d attempt(s): %s %s", LOG_SENDER, job.alert_id, job.chat_id, job.failures, reason, description)
        return Outcome(DEAD_LETTER, description, job=job)


def job_from_dead_letter(entry: dict) -> SendJob:
    """A fresh job for a replay: same alert id (so a message that did arrive is not sent twice), no failures."""
    return SendJob(entry["chat_id"], entry["text"], entry["alert_id"], entry.get("origin_ms"), plain=bool(entry.get("plain")))


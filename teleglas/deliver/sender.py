"""Delivering one alert to one chat: the stages of teleglas.deliver.stages composed into one pipeline, and
the policy table for what follows a refusal.

The one window left open: Telegram accepted the message, and the process died (or the answer was lost on
the network) before `record` ran. The Bot API has no idempotency key, so a later attempt cannot know, and
sends again. The window is one HTTP round trip plus one Redis SET; nothing else happens inside it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from teleglas.defines import LOG_SENDER
from teleglas.deliver import telegram as tg
from teleglas.deliver.policy import Effects, dead_letter, react
from teleglas.deliver.ratelimit import RateLimiter
from teleglas.deliver.stages import (
    Attempt,
    Fit,
    Gate,
    LeaseKeeper,
    LoadChart,
    MarkLate,
    Outcome,
    Part,
    PartStage,
    PerPart,
    Record,
    RecordHistory,
    Send,
    SendJob,
    Stage,
    Status,
)
from teleglas.deliver.telegram import DeliveryError, TelegramClient
from teleglas.model.chat import ChatId
from teleglas.ops.metrics import (
    FRAME_TO_SEND,
    MESSAGES_SENT,
    RATE_LIMIT_WAIT_SECONDS,
    RATE_LIMIT_WAITS,
    TELEGRAM_ERRORS,
    NoMetrics,
    Recorder,
)
from teleglas.settings import Settings
from teleglas.state.charts import ChartStore
from teleglas.state.chats import ChatState
from teleglas.state.claims import DeliveryLedger
from teleglas.state.deadletters import DeadLetters
from teleglas.state.history import AlertHistory

log = logging.getLogger(__name__)

__all__ = ["Outcome", "SendJob", "Sender", "Status"]

_MAX_AGAIN = 4  # migrated, re-encoded or re-split this many times in one run, and it is dead-lettered
_LEASE_MARGIN_S = 5.0


class Measured:
    """Metrics around a part stage, so stages hold no metric calls: `after` when it passed, `failed` when it raised."""

    def __init__(
        self,
        stage: PartStage,
        after: Callable[[Attempt, Part], None] | None = None,
        failed: Callable[[DeliveryError], None] | None = None,
    ):
        self.stage = stage
        self._after = after
        self._failed = failed

    def __call__(self, attempt: Attempt, part: Part) -> Outcome | None:
        try:
            outcome = self.stage(attempt, part)
        except DeliveryError as exc:
            if self._failed is not None:
                self._failed(exc)
            raise
        if outcome is None and self._after is not None:
            self._after(attempt, part)
        return outcome


class Sender:
    def __init__(
        self,
        client: TelegramClient,
        ledger: DeliveryLedger,
        chats: ChatState,
        dead_letters: DeadLetters,
        limiter: RateLimiter,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
        metrics: Recorder | NoMetrics | None = None,
        history: AlertHistory | None = None,
        recheck: Callable[[ChatId], None] | None = None,
        charts: ChartStore | None = None,
    ):
        self.client = client
        self.ledger = ledger
        self.chats = chats
        self.settings = settings
        self.metrics = metrics or NoMetrics()
        # A request can take the connect and the read timeout (telebot gives both TELEGRAM_TIMEOUT); the lease
        # outlasts that, and is renewed while a slower request (a stalled DNS lookup) is still in flight.
        lease_s = 2 * settings.telegram.timeout_s + _LEASE_MARGIN_S
        self.effects = Effects(
            chats,
            dead_letters,
            limiter,
            client.token_key,
            settings.telegram.send_max_retries,
            settings.delivery.deadletter_ttl_s,
            settings.delivery.deadletter_max,
            recheck or (lambda _chat: None),
            self.metrics,
        )
        self.stages: tuple[Stage, ...] = (
            MarkLate(settings.rules.max_age_s, settings.timezone),
            LoadChart(charts, ledger),
            PerPart(
                Fit(),
                Measured(Gate(limiter, client.token_key, lease_s, sleep), after=self._waited),
                Measured(Send(client, ledger, lease_s, LeaseKeeper()), after=self._sent, failed=self._refused),
                Record(ledger, settings.delivery.record_ttl_s),
            ),
            RecordHistory(history),
        )

    def run(self, job: SendJob, owner: str) -> Outcome:
        for _ in range(_MAX_AGAIN + 1):
            attempt = Attempt(job, owner, time.time())
            try:
                outcome = self._through(attempt)
            except DeliveryError as exc:
                outcome = react(self.effects, attempt, exc)
            if outcome.status is not Status.AGAIN:
                return outcome
            assert outcome.job is not None
            job = outcome.job
        endless = DeliveryError("too_many_changes", False, "migrated, re-split or re-encoded too many times")
        return dead_letter(self.effects, Attempt(job, owner, time.time()), endless)

    def _through(self, attempt: Attempt) -> Outcome:
        for stage in self.stages:
            outcome = stage(attempt)
            if outcome is not None:
                return outcome
        status = Status.SENT if attempt.sent else Status.ALREADY_SENT
        return Outcome(status, message_ids=tuple(attempt.message_ids), job=attempt.job)

    def recheck_chat(self, chat_id: ChatId) -> None:
        """A disabled chat, asked again: the bot re-added (or unblocked) heals it; otherwise ask again later."""
        if not self.chats.chat_route(chat_id).disabled:
            return
        try:
            welcome = self.client.bot_can_post(chat_id)
        except DeliveryError as exc:
            welcome = False
            if exc.reason not in (tg.FORBIDDEN, tg.CHAT_NOT_FOUND, tg.BAD_REQUEST):
                log.warning("%s chat=%s re-check failed: %s; asking again later", LOG_SENDER, chat_id, exc)
        if not welcome:
            self.effects.recheck(chat_id)
            return
        if self.chats.enable_chat(chat_id):
            log.warning(
                "%s chat=%s takes the bot again: alerts resume (the ones it missed are in the dead letters: "
                "python -m teleglas.ops.deadletters replay --chat %s)",
                LOG_SENDER,
                chat_id,
                chat_id,
            )

    # -- metrics, around the stages ----------------------------------------------------------------------

    def _waited(self, attempt: Attempt, part: Part) -> None:
        if part.waited_s > 0:
            self.metrics.inc(RATE_LIMIT_WAITS)
            self.metrics.inc(RATE_LIMIT_WAIT_SECONDS, amount=part.waited_s)

    def _sent(self, attempt: Attempt, part: Part) -> None:
        self.metrics.inc(MESSAGES_SENT, attempt.job.chat_id)
        if attempt.job.origin_ms:
            self.metrics.observe(FRAME_TO_SEND, time.time() - attempt.job.origin_ms / 1000)

    def _refused(self, exc: DeliveryError) -> None:
        self.metrics.inc(TELEGRAM_ERRORS, exc.reason, exc.error_code if exc.error_code is not None else "none")

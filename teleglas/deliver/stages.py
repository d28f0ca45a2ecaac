"""The stages of one delivery attempt, each a small callable (Prometheus Alertmanager's notify/ pattern).

An attempt runs the attempt stages in order; `PerPart` runs the part stages for each part of the text. A
stage returns None to go on, or an Outcome to end the attempt; a refusal is raised as a DeliveryError,
classified at the Telegram edge, and the sender's policy table decides what follows.

    late    an alert sent long after its news says so in a first line ("delayed")
    chart   a send with a chart loads its PNG (an expired one makes it a text send, unless the photo went out)
    per part, named by where it starts (message_split.Cursor; a chart's photo comes first, at PHOTO):
      fit     the longest part from here within Telegram's limit (the first part carries the late line)
      gate    one atomic Redis call (the rate limiter's, with a Guard), answered in this order:
                route   a refused token or a disabled chat is refused; a group→supergroup migration is followed
                dedup   already sent → the next part; another sender holds the lease → come back when it ends
                wait    the shared rate limit: come back in N s (due work, not a held message), or go
                claim   a go takes a lease on (part, chat), so two copies of a task never send at once
      send    one Bot API call (after the go's short sleep, if any); the lease is renewed while it is in flight
      record  the message_id and where the next part begins: every later copy skips this part
    history the dashboard's record of what was sent
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Protocol
from zoneinfo import ZoneInfo

from teleglas.defines import LOG_SENDER, TELEGRAM_MAX_CAPTION_UNITS, TELEGRAM_MAX_RAW_BYTES, TELEGRAM_MAX_TEXT_UNITS
from teleglas.deliver import telegram as tg
from teleglas.deliver.message_split import START, Cursor, html_to_plain, next_part, visible_units
from teleglas.deliver.ratelimit import Guard, RateLimiter, Refusal, Refused
from teleglas.deliver.telegram import DeliveryError, TelegramClient
from teleglas.model.chat import ChatId
from teleglas.state.claims import DeliveryState
from teleglas.state.history import AlertHistory

log = logging.getLogger(__name__)


class Status(Enum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    DROPPED = "dropped"
    DEAD_LETTER = "dead_letter"
    LATER = "later"  # come back in `delay_s` (due work in Redis)
    AGAIN = "again"  # migrated, plain text, smaller parts: the sender runs the attempt again at once


# What a send that comes back later carries as kwargs (a chart's send carries `photo` from the start).
_STATE_FIELDS = ("slot", "failures", "plain", "max_units", "photo", "separate_text")
PHOTO = Cursor(-1)  # a chart's photo: the first message of its send, before the text's START


@dataclass(frozen=True, slots=True)
class SendJob:
    """Everything a send_message task carries. No token: workers read it from Settings."""

    chat_id: ChatId
    text: str
    alert_id: str
    origin_ms: int | None = None  # the frame's arrival at the listener (latency metrics)
    current_ms: int | None = None  # when the news was current (the "delayed" line)
    slot: float | None = None  # a held place in the chat's rate-limit queue
    failures: int = 0  # failed attempts so far (5xx, network)
    plain: bool = False  # Telegram could not parse the HTML: send the text without a parse mode
    max_units: int = TELEGRAM_MAX_TEXT_UNITS  # lowered after a "message is too long"
    photo: str | None = None  # the chart id of a rendered chart (teleglas.state.charts): sent with sendPhoto first
    separate_text: bool = False  # the caption was refused as too long: a short caption, then the text

    def task_args(self) -> tuple:
        return (self.chat_id, self.text, self.alert_id, self.origin_ms, self.current_ms)

    def task_kwargs(self) -> dict:
        defaults = SendJob(self.chat_id, self.text, self.alert_id)
        return {name: getattr(self, name) for name in _STATE_FIELDS if getattr(self, name) != getattr(defaults, name)}

    @classmethod
    def from_task(
        cls, chat_id: ChatId, text: str, alert_id: str, origin_ms: int | None, current_ms: int | None, state: dict
    ) -> SendJob:
        return cls(
            chat_id, text, alert_id, origin_ms, current_ms, **{k: v for k, v in state.items() if k in _STATE_FIELDS}
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    detail: str = ""
    message_ids: tuple[int, ...] = ()
    delay_s: float = 0.0
    job: SendJob | None = None


@dataclass(slots=True)
class Attempt:
    """One pass through the stages; stages change the job as they learn (a migration, a released slot)."""

    job: SendJob
    owner: str
    now: float
    late_line: str = ""
    message_ids: list[int] = field(default_factory=list)
    sent: bool = False
    png: bytes | None = None  # the chart of a photo send, loaded once per attempt


@dataclass(slots=True)
class Part:
    cursor: Cursor
    part_id: str
    text: str = ""
    next: Cursor | None = None  # where the next part begins; None: this is the last
    done: bool = False  # nothing (more) to send for this part
    waited_s: float = 0.0
    message_id: int | None = None


def part_id(alert_id: str, cursor: Cursor, after_photo: bool = False) -> str:
    """The first message keeps the alert's own id (most sends are one message): the photo of a chart's send,
    or else the text's first part."""
    if cursor == PHOTO or (cursor == START and not after_photo):
        return alert_id
    return f"{alert_id}/{cursor.line}.{cursor.char}"


def first_cursor(job: SendJob) -> Cursor:
    return PHOTO if job.photo else START


class Stage(Protocol):
    def __call__(self, attempt: Attempt) -> Outcome | None: ...


class PartStage(Protocol):
    def __call__(self, attempt: Attempt, part: Part) -> Outcome | None: ...


class Ledger(Protocol):
    """Per (part, chat): free → sending (a lease) → sent (the message_id)."""

    def delivery_state(self, alert_id: str, chat_id: ChatId) -> DeliveryState: ...
    def renew_delivery(self, alert_id: str, chat_id: ChatId, owner: str, lease_s: float) -> bool: ...
    def release_delivery(self, alert_id: str, chat_id: ChatId, owner: str) -> None: ...
    def record_delivery(
        self, alert_id: str, chat_id: ChatId, message_id: int, ttl_s: int, next_part: tuple[int, int] | None = None
    ) -> None: ...


class MarkLate:
    """An alert sent more than `max_age_s` after its news is still sent (nothing is lost), but says so."""

    def __init__(self, max_age_s: float, zone: ZoneInfo):
        self.max_age_s = max_age_s
        self.zone = zone

    def __call__(self, attempt: Attempt) -> Outcome | None:
        current_ms = attempt.job.current_ms
        if current_ms and attempt.now - current_ms / 1000 > self.max_age_s:
            attempt.late_line = late_line(attempt.now - current_ms / 1000, current_ms, self.zone)
        return None


def late_line(late_s: float, current_ms: int, zone: ZoneInfo) -> str:
    at = datetime.fromtimestamp(current_ms / 1000, tz=zone).strftime("%H:%M:%S")
    return f"⏳ <b>DELAYED {_duration(late_s)}</b> · this alert is from {at}, not now"


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{seconds:.0f} s"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


class ChartSource(Protocol):
    def get(self, chart_id: str) -> bytes | None: ...


class LoadChart:
    """The PNG of a send with a chart. One that expired (CHART_TTL) before its photo went out makes the send a
    text send; once the photo is recorded only the text is left to send, so its PNG is not needed."""

    def __init__(self, charts: ChartSource | None, ledger: Ledger):
        self.charts = charts
        self.ledger = ledger

    def __call__(self, attempt: Attempt) -> Outcome | None:
        job = attempt.job
        if not job.photo:
            return None
        attempt.png = self.charts.get(job.photo) if self.charts is not None else None
        if attempt.png is None and self.ledger.delivery_state(job.alert_id, job.chat_id).message_id is None:
            log.warning(
                "%s alert=%s chat=%s chart %s is gone; sending the text",
                LOG_SENDER,
                job.alert_id,
                job.chat_id,
                job.photo,
            )
            attempt.job = replace(job, photo=None, separate_text=False)
        return None


class PerPart:
    """Runs the part stages for each part, from the first (a chart's photo, or the text's start) to the end."""

    def __init__(self, *stages: PartStage):
        self.stages = stages

    def __call__(self, attempt: Attempt) -> Outcome | None:
        cursor: Cursor | None = first_cursor(attempt.job)
        after_photo = bool(attempt.job.photo)
        while cursor is not None:
            part = Part(cursor, part_id(attempt.job.alert_id, cursor, after_photo))
            for stage in self.stages:
                outcome = stage(attempt, part)
                if outcome is not None:
                    return outcome
                if part.done:
                    break
            cursor = part.next
        return None


class Fit:
    """The longest part from the cursor on within the job's limit; the first part also carries the late line. A
    chart's photo carries the whole text as its caption when it fits Telegram's 1,024, else a short one (the
    text's first line) and the text follows as messages of its own."""

    def __call__(self, attempt: Attempt, part: Part) -> Outcome | None:
        job = attempt.job
        is_html = not job.plain
        text = html_to_plain(job.text) if job.plain else job.text
        head = ""
        if part.cursor == first_cursor(job) and attempt.late_line:
            head = (html_to_plain(attempt.late_line) if job.plain else attempt.late_line) + "\n"
        if part.cursor == PHOTO:
            whole = head + text
            if not job.separate_text and _fits_caption(whole, is_html):
                part.text, part.next = whole, None
            else:
                part.text, part.next = _short_caption(head, text, is_html), START
            return None
        found = next_part(text, is_html, job.max_units - visible_units(head, is_html), part.cursor)
        if found is None:
            if part.cursor == START:
                raise DeliveryError(tg.EMPTY_TEXT, False, "nothing visible to send")
            part.done = True
            return None
        body, part.next = found
        part.text = head + body
        return None


def _fits_caption(text: str, is_html: bool) -> bool:
    return visible_units(text, is_html) <= TELEGRAM_MAX_CAPTION_UNITS and len(text.encode()) <= TELEGRAM_MAX_RAW_BYTES


def _short_caption(head: str, text: str, is_html: bool) -> str:
    """The late line and the text's title line (every alert's first line), when they fit; else no caption."""
    caption = head + text.split("\n", 1)[0]
    return caption if _fits_caption(caption, is_html) else ""


class Gate:
    """Route, dedup, wait and claim in one Redis call before each part's send (see the table above): four round
    trips before the request were most of a send's own latency."""

    def __init__(self, limiter: RateLimiter, token_key: str, lease_s: float, sleep: Callable[[float], None]):
        self.limiter = limiter
        self.token_key = token_key
        self.lease_s = lease_s
        self._sleep = sleep

    def __call__(self, attempt: Attempt, part: Part) -> Outcome | None:
        job = attempt.job
        guard = Guard(self.token_key, part.part_id, attempt.owner, self.lease_s)
        answer = self.limiter.acquire(guard, job.chat_id, job.slot)
        if isinstance(answer, Refused):
            return self._refused(attempt, part, answer)
        part.waited_s = answer.wait_s
        if not answer.granted:
            log.debug(
                "%s alert=%s chat=%s waits %.2f s for its rate-limit slot",
                LOG_SENDER,
                part.part_id,
                job.chat_id,
                answer.wait_s,
            )
            return Outcome(Status.LATER, delay_s=answer.wait_s, job=replace(job, slot=answer.slot))
        attempt.job = replace(job, slot=None)
        if answer.wait_s > 0:
            self._sleep(answer.wait_s)
        return None

    def _refused(self, attempt: Attempt, part: Part, refused: Refused) -> Outcome | None:
        job = attempt.job
        if refused.reason is Refusal.TOKEN_INVALID:
            raise DeliveryError(
                tg.UNAUTHORIZED,
                False,
                "the alert bot token was refused earlier; fix TELEGRAM_ALERT_TOKEN and restart the workers",
            )
        if refused.reason is Refusal.DISABLED:
            raise DeliveryError(
                tg.CHAT_DISABLED,
                False,
                "the chat refused the bot earlier; it is checked again every CHAT_RECHECK_INTERVAL",
            )
        if refused.reason is Refusal.MIGRATED:
            assert refused.migrated_to is not None
            log.info(
                "%s alert=%s chat=%s migrated, sending to chat=%s",
                LOG_SENDER,
                job.alert_id,
                job.chat_id,
                refused.migrated_to,
            )
            return Outcome(Status.AGAIN, job=replace(job, chat_id=refused.migrated_to, slot=None))
        state = refused.delivery
        assert state is not None
        if state.message_id is not None:
            attempt.message_ids.append(state.message_id)
            part.done = True
            part.next = Cursor(*state.next_part) if state.next_part is not None else None
            return None
        log.info(
            "%s alert=%s chat=%s is being sent by %s; checking again in %.1f s",
            LOG_SENDER,
            part.part_id,
            job.chat_id,
            state.sending_owner,
            state.lease_left_s,
        )
        return Outcome(Status.LATER, delay_s=max(state.lease_left_s, 0.1), job=job)


class Send:
    """One sendMessage, or sendPhoto for a chart's photo. The lease is renewed every third of its length while the
    request is in flight, so no request, however slow (DNS, connect and read timeouts add up), outlives it; a dead
    sender stops renewing."""

    def __init__(self, client: TelegramClient, ledger: Ledger, lease_s: float, keeper: LeaseKeeper):
        self.client = client
        self.ledger = ledger
        self.lease_s = lease_s
        self.keeper = keeper

    def __call__(self, attempt: Attempt, part: Part) -> Outcome | None:
        job = attempt.job
        renew = lambda: self.ledger.renew_delivery(part.part_id, job.chat_id, attempt.owner, self.lease_s)  # noqa: E731
        try:
            with self.keeper.renewing(renew, self.lease_s / 3):
                if part.cursor == PHOTO:
                    assert attempt.png is not None  # LoadChart made a send without its PNG a text send
                    part.message_id = self.client.send_photo(job.chat_id, attempt.png, part.text, html=not job.plain)
                else:
                    part.message_id = self.client.send(job.chat_id, part.text, html=not job.plain)
        except DeliveryError:
            self.ledger.release_delivery(part.part_id, job.chat_id, attempt.owner)
            raise
        return None


class Record:
    def __init__(self, ledger: Ledger, ttl_s: int):
        self.ledger = ledger
        self.ttl_s = ttl_s

    def __call__(self, attempt: Attempt, part: Part) -> Outcome | None:
        assert part.message_id is not None
        following = (part.next.line, part.next.char) if part.next is not None else None
        self.ledger.record_delivery(part.part_id, attempt.job.chat_id, part.message_id, self.ttl_s, following)
        attempt.message_ids.append(part.message_id)
        attempt.sent = True
        part.done = True
        return None


class RecordHistory:
    """The dashboard's record of a message Telegram accepted: its own stage, best effort."""

    def __init__(self, history: AlertHistory | None):
        self.history = history

    def __call__(self, attempt: Attempt) -> Outcome | None:
        if attempt.sent and self.history is not None:
            self.history.record_sent(
                attempt.job.alert_id, attempt.job.chat_id, tuple(attempt.message_ids), attempt.job.text, time.time()
            )
        return None


class LeaseKeeper:
    """One thread per process renews the leases of the sends in flight: each `renew` runs every `every_s` while
    its block runs, and stops when it returns False (the lease is no longer ours) or Redis fails (then the
    lease runs out by itself, as for a dead sender)."""

    _TICK_S = 0.5

    def __init__(self) -> None:
        self._held: dict[int, list] = {}  # id → [renew, next due (monotonic), every_s]
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @contextlib.contextmanager
    def renewing(self, renew: Callable[[], bool], every_s: float) -> Iterator[None]:
        token = id(renew)
        with self._lock:
            self._held[token] = [renew, time.monotonic() + every_s, every_s]
            self._ensure_thread()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(token, None)

    def _ensure_thread(self) -> None:
        """Started on first use in each process (a pool process does not inherit its parent's thread)."""
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self._TICK_S)
            now = time.monotonic()
            with self._lock:
                due = [(token, entry) for token, entry in self._held.items() if entry[1] <= now]
            for token, entry in due:
                try:
                    kept = entry[0]()
                except Exception as exc:
                    log.warning("%s lease not renewed: %s", LOG_SENDER, type(exc).__name__)
                    kept = False
                with self._lock:
                    if not kept:
                        self._held.pop(token, None)
                    elif token in self._held:
                        entry[1] = now + entry[2]

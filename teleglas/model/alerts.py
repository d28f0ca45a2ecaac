"""What the engine decides and fan-out sends: alerts, the later flushes they ask for, and sends to one chat.
Plain shapes shared by decide, deliver and the tasks; no I/O."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from teleglas.defines import TASK_SEND_MESSAGE
from teleglas.model.charts import ChartSpec
from teleglas.model.chat import ChatId


class Form(StrEnum):
    SINGLE = "single"  # one event's own alert
    SUMMARY = "summary"  # what a cooldown folded, at its end
    STORM = "storm"  # a liquidation storm or whale cluster, at its window's end


class FlushSource(StrEnum):
    FOLDED = "folded"
    STORM = "storm"


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str  # derived from content: every retrying path stays exactly-once per chat
    kind: str  # the event kind: liquidation or trade
    form: Form
    symbol: str
    base_asset: str
    usd: float | None  # a single event's size (per-chat thresholds); None for totals
    text: str
    digest_line: str
    event_ids: tuple[str, ...]  # every event this message accounts for
    # The event the alert quotes (a single event, or a summary's largest): for the history's latency and
    # price moves. Empty for polled checks and notices.
    side: str = ""
    exchange: str = ""
    price: float | None = None
    event_ms: int | None = None
    # When the news was current: the window's end for a summary or a storm, the decision for a polled check;
    # None for a single event, which dispatch dates from when it reached TELEGLAS (a replayed or polled event
    # keeps its own exchange time in the text). A send long after it says so ("delayed").
    current_ms: int | None = None
    # Storms, liquidation summaries and cascade digests carry a chart, rendered off the text path; None: text only.
    chart: ChartSpec | None = None


@dataclass(frozen=True, slots=True)
class Flush:
    """A later step for the caller to schedule: send what a cooldown folded, or a storm's message."""

    source: FlushSource
    kind: str
    symbol: str
    base_asset: str
    scope: str  # the side (folded, whale cluster) or ALL (liquidation storm)
    due_s: float
    due_at: float | None = None  # when it is due (the deciding worker's clock): the summary's "current" time

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Flush:
        values = {f.name: payload[f.name] for f in fields(cls) if f.name in payload}
        return cls(**{**values, "source": FlushSource(values["source"])})


@dataclass(frozen=True, slots=True)
class Send:
    chat_id: ChatId
    alert_id: str
    text: str
    covers: tuple[str, ...]  # the alert ids this message carries (one, or a digest's many)
    current_ms: int | None = None  # when the news was current (a digest: its oldest alert's); older is "delayed"
    chart: ChartSpec | None = None  # the picture to send with the text, once rendered


@dataclass(frozen=True, slots=True)
class DigestFlush:
    chat_id: ChatId
    due_s: float


def send_dead_letter(
    chat_id: ChatId,
    text: str,
    alert_id: str,
    origin_ms: int | None,
    current_ms: int | None,
    *,
    plain: bool,
    reason: str,
    error_code: int | None,
    description: str,
    attempts: int,
    photo: str | None = None,
) -> dict[str, Any]:
    """A send kept in the dead letters: what it was, why it failed, and what a replay publishes (the same alert
    id, so a message that did arrive is not sent twice; `send_message`'s arguments, no failures)."""
    return {
        "alert_id": alert_id,
        "chat_id": chat_id,
        "text": text,
        "origin_ms": origin_ms,
        "current_ms": current_ms,
        "plain": plain,
        "photo": photo,
        "reason": reason,
        "error_code": error_code,
        "description": description,
        "attempts": attempts,
        "failed_at": round(time.time(), 3),
        "task": TASK_SEND_MESSAGE,
        "args": [chat_id, text, alert_id, origin_ms, current_ms],
        "kwargs": {name: value for name, value in (("plain", plain), ("photo", photo)) if value},
    }

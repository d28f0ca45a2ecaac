"""From an alert to the chats that get it, and when: per-chat rules, then the digest gate.

The gate works like Alertmanager's grouping, per chat: a chat that has not had an alert within Telegram's
spacing (1 s for a private chat, 3 s for a group or channel) gets the alert at once. Otherwise the alert
waits in the chat's digest buffer; the first one waiting schedules a flush after the group wait (later
flushes keep at least the group interval apart), and the flush sends every waiting alert as one digest.
A round that comes due as a cascade ends (every open storm quiet) waits a few seconds at most for the storms
to be taken, so their messages come in it and not a group interval later.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from teleglas.decide import formatting
from teleglas.decide.chat_rules import parse_chat_rules
from teleglas.defines import KIND_LIQUIDATION, KIND_SYSTEM, LOG_ENGINE
from teleglas.model.alerts import Alert, DigestFlush, Send, send_dead_letter
from teleglas.model.charts import ChartKind, ChartSpec, ChartSpecError, chart_for
from teleglas.model.chat import ChatId, ChatSpacing
from teleglas.model.ids import content_id
from teleglas.ops.metrics import (
    ALERTS,
    DEAD_LETTERS,
    DISABLED_CHAT_ALERTS,
    SUPPRESSED,
    SUPPRESSED_DIGEST,
    NoMetrics,
    Recorder,
)
from teleglas.settings import Settings
from teleglas.state.chats import ChatState
from teleglas.state.deadletters import DeadLetters
from teleglas.state.engine import Decision, EngineStore

log = logging.getLogger(__name__)
CHAT_DISABLED_REASON = "chat_disabled"  # the same reason the sender gives (teleglas.deliver.telegram.CHAT_DISABLED)


class FanOut:
    def __init__(
        self,
        chats: ChatState,
        dead_letters: DeadLetters,
        engine_store: EngineStore,
        settings: Settings,
        spacing: ChatSpacing,
        metrics: Recorder | NoMetrics | None = None,
    ):
        self.chats = chats
        self.dead_letters = dead_letters
        self.spacing = spacing
        self.metrics = metrics or NoMetrics()
        self.state = engine_store
        self.settings = settings

    def route(self, alert: Alert, now: float) -> tuple[list[Send], list[DigestFlush]]:
        sends: list[Send] = []
        flushes: list[DigestFlush] = []
        for chat, disabled, fields in self.chats.alert_chats(self.settings.telegram.alert_chat_ids):
            rules = parse_chat_rules(fields)
            if rules.problems:
                log.warning("%s chat=%s settings ignored: %s", LOG_ENGINE, chat, "; ".join(rules.problems))
            if not rules.accepts(alert.kind, alert.symbol, alert.base_asset, alert.usd, now):
                log.debug("%s alert=%s not for chat=%s (its own rules or mute)", LOG_ENGINE, alert.alert_id, chat)
                continue
            if disabled:
                self._missed(alert, chat)
                continue
            self.metrics.inc(ALERTS, alert.kind, chat)
            if alert.kind == KIND_SYSTEM:  # an "online" notice: never in a digest, never delaying the next alert
                sends.append(Send(chat, alert.alert_id, alert.text, (alert.alert_id,), alert.current_ms))
                continue
            entry = json.dumps(
                {
                    "alert_id": alert.alert_id,
                    "text": alert.text,
                    "line": alert.digest_line,
                    "current_ms": alert.current_ms,
                    **_chart_fields(alert),
                },
                ensure_ascii=False,
            )
            route = self.state.route(
                alert.alert_id,
                chat,
                entry,
                self.spacing.for_chat(chat),
                self.settings.rules.digest_group_wait_s,
                self.settings.rules.digest_group_interval_s,
                self.settings.rules.event_dedupe_ttl_s,
                now,
            )
            if route.decision is Decision.DIRECT:
                sends.append(Send(chat, alert.alert_id, alert.text, (alert.alert_id,), alert.current_ms, alert.chart))
            elif route.flush_due_s > 0:
                flushes.append(DigestFlush(chat, route.flush_due_s))
        return sends, flushes

    def _missed(self, alert: Alert, chat: ChatId) -> None:
        """A disabled chat misses the alert: counted, and kept in the dead letters when it is a configured alert
        chat (a subscriber who blocked the bot is only counted, or its misses would crowd out the rest)."""
        self.metrics.inc(DISABLED_CHAT_ALERTS)
        if chat not in self.settings.telegram.alert_chat_ids:
            return
        self.dead_letters.push_dead_letter(
            send_dead_letter(
                chat,
                alert.text,
                alert.alert_id,
                None,
                alert.current_ms,
                plain=False,
                reason=CHAT_DISABLED_REASON,
                error_code=None,
                description="the chat refused the bot; not sent",
                attempts=0,
            ),
            self.settings.delivery.deadletter_ttl_s,
            self.settings.delivery.deadletter_max,
        )
        self.metrics.inc(DEAD_LETTERS, CHAT_DISABLED_REASON)

    def digest_wait(self, chat_id: ChatId, claimer: str, now: float) -> float:
        """Seconds the chat's due digest round waits for storms that are ending, so that it carries them."""
        return self.state.digest_wait(chat_id, claimer, now)

    def flush_digest(self, chat_id: ChatId, claimer: str, now: float) -> list[Send]:
        raw = self.state.take_digest(chat_id, claimer, self.settings.rules.event_dedupe_ttl_s, now)
        entries = list({e["alert_id"]: e for e in (json.loads(r) for r in raw)}.values())
        if not entries:
            return []
        if len(entries) == 1:
            (entry,) = entries
            return [
                Send(
                    chat_id,
                    entry["alert_id"],
                    entry["text"],
                    (entry["alert_id"],),
                    entry.get("current_ms"),
                    _entry_chart(entry),
                )
            ]
        covers = tuple(e["alert_id"] for e in entries)
        digest_id = "digest-" + content_id(sorted(covers))
        text = formatting.format_digest([e["line"] for e in entries])
        log.info("%s chat=%s digest of %d alerts", LOG_ENGINE, chat_id, len(entries))
        self.metrics.inc(SUPPRESSED, SUPPRESSED_DIGEST, amount=len(entries))
        current = [e["current_ms"] for e in entries if e.get("current_ms")]
        return [Send(chat_id, digest_id, text, covers, min(current) if current else None, cascade_chart(entries))]


def _chart_fields(alert: Alert) -> dict[str, Any]:
    """What a digest needs to draw the cascade its liquidation alerts belong to: the symbol and the span each one
    covers (a single event's time, a storm's or summary's marked window), and an alert's own chart."""
    fields: dict[str, Any] = {"chart": alert.chart.to_payload() if alert.chart is not None else None}
    if alert.kind == KIND_LIQUIDATION and alert.event_ms is not None:
        span = (alert.chart.mark_start_ms, alert.chart.mark_end_ms) if alert.chart else (alert.event_ms, alert.event_ms)
        fields.update(symbol=alert.symbol, span=list(span))
    return fields


def _entry_chart(entry: dict[str, Any]) -> ChartSpec | None:
    try:
        return ChartSpec.from_payload(entry["chart"]) if entry.get("chart") else None
    except ChartSpecError:
        return None


def cascade_chart(entries: list[dict[str, Any]]) -> ChartSpec | None:
    """A digest is a cascade, and carries its chart, when it holds a storm or summary chart or two liquidation
    alerts or more: the tape of their symbols (the busiest first) over the span they cover."""
    liquidations = [e for e in entries if isinstance(e.get("span"), list) and isinstance(e.get("symbol"), str)]
    if len(liquidations) < 2 and not any(e.get("chart") for e in entries):
        return None
    if not liquidations:
        return None
    try:
        first = min(int(e["span"][0]) for e in liquidations)
        last = max(int(e["span"][1]) for e in liquidations)
    except (IndexError, TypeError, ValueError):
        return None
    symbols = tuple(symbol for symbol, _ in Counter(e["symbol"] for e in liquidations).most_common())
    return chart_for(ChartKind.DIGEST, symbols, first, last)

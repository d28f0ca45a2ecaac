"""The alert history behind the dashboard's analytics: two capped Redis streams, each at most
ALERT_HISTORY_MAX entries and none older than ALERT_HISTORY_TTL, and the price move after each alert.

- alerts: what the engine decided: every alert (kind, form, symbol, the event it quotes, how many events it
  covers) and every digest (which alerts it carried to which chat);
- sent: every message Telegram accepted (alert or digest id, chat, message ids, the text as sent).

Writing is best effort: an alert never waits on, or fails because of, its history. A redelivered task can
write an entry twice; readers keep the first per id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

import redis

from teleglas.defines import LOG_ENGINE
from teleglas.model.alerts import Alert
from teleglas.model.chat import ChatId
from teleglas.settings import Settings
from teleglas.state.keys import history_alerts_key, history_sent_key, price_move_key

log = logging.getLogger(__name__)

TYPE_ALERT = "alert"
TYPE_DIGEST = "digest"
TYPE_SENT = "sent"
SENT_TEXT_MAX = 1000  # characters of a sent text kept for the dashboard; the chat has the rest


@dataclass(frozen=True, slots=True)
class AlertRecord:
    alert_id: str
    kind: str
    form: str  # single, summary or storm
    symbol: str
    base_asset: str
    side: str
    exchange: str
    usd: float | None  # the quoted event's size
    price: float | None  # the quoted event's price: where the price moves start
    event_ms: int | None  # the quoted event's exchange time
    events: int  # events this alert accounts for
    decided_ms: int


@dataclass(frozen=True, slots=True)
class DigestRecord:
    digest_id: str
    chat_id: ChatId
    covers: tuple[str, ...]
    decided_ms: int


@dataclass(frozen=True, slots=True)
class SentRecord:
    alert_id: str  # an alert's id, or a digest's
    chat_id: ChatId
    message_ids: tuple[int, ...]
    sent_ms: int
    text: str


@dataclass(frozen=True, slots=True)
class PriceMove:
    minutes: int
    price: float
    pct: float  # signed change from the alert's price


Record = AlertRecord | DigestRecord | SentRecord


def _decode(cls: type[Record], payload: dict[str, Any]) -> Record:
    values = {f.name: payload[f.name] for f in fields(cls)}
    for name in ("covers", "message_ids"):
        if name in values:
            values[name] = tuple(values[name])
    return cls(**values)


def parse_entry(raw: dict[bytes, bytes]) -> Record | None:
    """One stream entry; None for anything this version did not write (logged by the caller's counter)."""
    try:
        payload = json.loads(raw[b"d"])
        kind = payload.pop("type", None)
        cls: type[Record] | None = {TYPE_ALERT: AlertRecord, TYPE_DIGEST: DigestRecord, TYPE_SENT: SentRecord}.get(kind)
        return _decode(cls, payload) if cls is not None else None
    except (KeyError, TypeError, ValueError):
        return None


class AlertHistory:
    def __init__(self, client: redis.Redis, ttl_s: int, max_entries: int):
        self.redis = client
        self.ttl_s = ttl_s
        self.max_entries = max_entries

    # -- writing (workers) ------------------------------------------------------------------------------

    def record_alerts(self, alerts: Iterable[Alert], now: float) -> None:
        records = [
            AlertRecord(
                a.alert_id,
                a.kind,
                a.form,
                a.symbol,
                a.base_asset,
                a.side,
                a.exchange,
                a.usd,
                a.price,
                a.event_ms,
                len(a.event_ids),
                int(now * 1000),
            )
            for a in alerts
        ]
        self._add(history_alerts_key(), [(TYPE_ALERT, r) for r in records], now)

    def record_digest(self, digest_id: str, chat_id: ChatId, covers: tuple[str, ...], now: float) -> None:
        self._add(history_alerts_key(), [(TYPE_DIGEST, DigestRecord(digest_id, chat_id, covers, int(now * 1000)))], now)

    def record_sent(self, alert_id: str, chat_id: ChatId, message_ids: tuple[int, ...], text: str, now: float) -> None:
        self._add(
            history_sent_key(),
            [(TYPE_SENT, SentRecord(alert_id, chat_id, message_ids, int(now * 1000), text[:SENT_TEXT_MAX]))],
            now,
        )

    def _add(self, key: str, records: list[tuple[str, Any]], now: float) -> None:
        if not records:
            return
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for kind, record in records:
                    pipe.xadd(
                        key,
                        {"d": json.dumps({"type": kind, **asdict(record)}, ensure_ascii=False)},
                        maxlen=self.max_entries,
                        approximate=True,
                    )
                pipe.xtrim(key, minid=int((now - self.ttl_s) * 1000), approximate=True)
                pipe.expire(key, self.ttl_s)
                pipe.execute()
        except (redis.RedisError, OSError) as exc:
            log.warning("%s %d alert history entr(ies) not written: %s", LOG_ENGINE, len(records), type(exc).__name__)

    # -- price moves (the beat task writes, the dashboard reads) ----------------------------------------

    def price_moves(self, alert_ids: list[str]) -> dict[str, dict[int, PriceMove]]:
        if not alert_ids:
            return {}
        found = {}
        for alert_id, raw in zip(alert_ids, self.redis.mget([price_move_key(a) for a in alert_ids])):
            if raw is None:
                continue
            try:
                found[alert_id] = {
                    int(m): PriceMove(int(m), float(v["price"]), float(v["pct"])) for m, v in json.loads(raw).items()
                }
            except (TypeError, ValueError, KeyError):
                continue
        return found

    def save_price_moves(self, alert_id: str, moves: dict[int, PriceMove]) -> None:
        payload = {str(m): {"price": move.price, "pct": move.pct} for m, move in sorted(moves.items())}
        self.redis.set(price_move_key(alert_id), json.dumps(payload), ex=self.ttl_s)

    # -- reading (the dashboard, the price-move task) ---------------------------------------------------

    def read(self, key: str, after_id: bytes = b"-", count: int = 10_000) -> tuple[list[Any], int, bytes | None]:
        """Records after `after_id` (b"-": from the start), oldest first; how many entries could not be parsed;
        the id of the last entry read (None when there was none), where the next read starts."""
        start = after_id if after_id == b"-" else b"(" + after_id
        raw_entries = self.redis.xrange(key, min=start, max="+", count=count)
        records = [parse_entry(raw) for _, raw in raw_entries]
        parsed = [r for r in records if r is not None]
        return parsed, len(records) - len(parsed), raw_entries[-1][0] if raw_entries else None

    def newest_sent(self, count: int) -> list[SentRecord]:
        """The last `count` messages Telegram accepted, newest first."""
        records = [parse_entry(raw) for _, raw in self.redis.xrevrange(history_sent_key(), count=count)]
        return [r for r in records if isinstance(r, SentRecord)]

    def alerts_since(self, since_s: float) -> list[AlertRecord]:
        entries = self.redis.xrange(history_alerts_key(), min=int(since_s * 1000), max="+")
        first: dict[str, AlertRecord] = {}
        for _, raw in entries:
            record = parse_entry(raw)
            if isinstance(record, AlertRecord):
                first.setdefault(record.alert_id, record)
        return list(first.values())


def history_from_settings(client: redis.Redis, settings: Settings) -> AlertHistory:
    return AlertHistory(client, settings.ops.alert_history_ttl_s, settings.ops.alert_history_max)

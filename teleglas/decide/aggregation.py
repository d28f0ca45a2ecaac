"""Folded events: the compact form they wait in (in Redis) and the totals a summary, storm or cluster shows.

An entry is `id|side|usd|price|time_ms|exchange`; the exchange goes last because it is outside text and may
hold any character, and the Lua scripts only read the side and the USD.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from teleglas.model.events import MarketEvent


@dataclass(frozen=True, slots=True)
class Entry:
    event_id: str
    side: str
    usd: float
    price: float
    time_ms: int
    exchange: str


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    usd: float
    by_side: dict[str, tuple[int, float]]  # side → (count, usd)
    largest: Entry
    exchanges: tuple[str, ...]  # most events first
    first_ms: int
    last_ms: int
    event_ids: tuple[str, ...]


def encode_entry(event: MarketEvent) -> str:
    fields = (
        event.fingerprint(),
        event.side_name,
        repr(float(event.usd)),
        repr(float(event.price)),
        str(int(event.time_ms)),
    )
    return "|".join((*fields, event.exchange))


def decode_entry(raw: str | bytes) -> Entry:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    event_id, side, usd, price, time_ms, exchange = text.split("|", 5)
    return Entry(event_id, side, float(usd), float(price), int(time_ms), exchange)


def summarize(entries: list[Entry]) -> Summary | None:
    """Totals over entries, each event counted once even if a redelivery stored it twice."""
    unique = list({entry.event_id: entry for entry in entries}.values())
    if not unique:
        return None
    by_side: dict[str, tuple[int, float]] = {}
    for entry in unique:
        count, usd = by_side.get(entry.side, (0, 0.0))
        by_side[entry.side] = (count + 1, usd + entry.usd)
    exchanges = tuple(name for name, _ in Counter(e.exchange for e in unique).most_common())
    return Summary(
        count=len(unique),
        usd=sum(e.usd for e in unique),
        by_side=dict(sorted(by_side.items())),
        largest=max(unique, key=lambda e: (e.usd, e.event_id)),
        exchanges=exchanges,
        first_ms=min(e.time_ms for e in unique),
        last_ms=max(e.time_ms for e in unique),
        event_ids=tuple(e.event_id for e in unique),
    )

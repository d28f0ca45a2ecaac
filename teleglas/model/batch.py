"""A batch of events as the listener publishes it and process_events reads it: a list of flat items
[kind, received_ms, source, exchange, symbol, base_asset, price, side, usd, time_ms], the time the event's frame
arrived (null when unknown) and the source that brought it before the event's own fields.

Flat, because the listener writes 200,000 of them a second: one tuple an event, written to JSON by msgspec in one
call (0.28 µs an event; a dict an event and kombu's JSON of 500 of them took 3.2), and half the bytes of a JSON
object an event for base64, Redis and the worker's JSON to carry. The worker checks an item's types in one
msgspec call and builds its typed event. Items of the shape before, [payload, received_ms] or [payload, received_ms,
source] with the kind inside the payload, are still read: tasks an earlier version published or scheduled for a
retry. Only the stream's kinds travel in a batch (liquidations and trades); whale positions come from REST
polling and are evaluated where they are polled.
"""

from __future__ import annotations

from typing import Any

import msgspec

from teleglas.defines import KIND_LIQUIDATION, KIND_TRADE, SOURCE_COINGLASS
from teleglas.model.events import FuturesTrade, LiquidationOrder, MarketEvent, PayloadError, event_from_payload

Item = tuple[str, int | None, str, str, str, str, float, int, float, int]


class _ReadItem(msgspec.Struct, array_like=True):
    """An item as the worker reads it: its types checked in C (one cached struct type, so no per-call type work)."""

    kind: str
    received_ms: int | None
    source: str
    exchange: str
    symbol: str
    base_asset: str
    price: float
    side: int
    usd: float
    time_ms: int


_STREAM_EVENTS: dict[str, type[LiquidationOrder] | type[FuturesTrade]] = {
    KIND_LIQUIDATION: LiquidationOrder,
    KIND_TRADE: FuturesTrade,
}
_ENCODER = msgspec.json.Encoder()


def items(events: list[MarketEvent], received_ms: int | None, source: str) -> list[Item]:
    """One frame's events as batch items (tuples: msgspec writes them as the arrays process_events reads)."""
    return [
        (e.kind, received_ms, source, e.exchange, e.symbol, e.base_asset, e.price, e.side, e.usd, e.time_ms)
        for e in events
    ]


def encode(value: Any) -> bytes:
    """JSON of anything holding batch items (a Celery message body): TELEGLAS's kombu serializer."""
    return _ENCODER.encode(value)


def read_item(item: Any) -> tuple[MarketEvent, int | None, str]:
    """(event, received_ms, source) of one item as JSON gave it back; anything else is a PayloadError."""
    if isinstance(item, list) and item and isinstance(item[0], str):
        try:
            read = msgspec.convert(item, _ReadItem)
        except msgspec.ValidationError as exc:
            raise PayloadError(f"batch item: {exc}") from None
        cls = _STREAM_EVENTS.get(read.kind)
        if cls is None:
            raise PayloadError(f"unknown event kind {read.kind!r}")
        if read.side not in cls.side_names:
            raise PayloadError(f"{read.kind} payload has side {read.side!r}")
        return (
            cls(read.exchange, read.symbol, read.base_asset, read.price, read.side, read.usd, read.time_ms),
            read.received_ms,
            read.source,
        )
    try:
        payload, received_ms, *rest = item
        event = event_from_payload(payload)
    except PayloadError:
        raise
    except (TypeError, ValueError) as exc:  # not a list of two or three, a side that cannot be looked up
        raise PayloadError(str(exc)) from None
    return event, received_ms, rest[0] if rest and isinstance(rest[0], str) else SOURCE_COINGLASS

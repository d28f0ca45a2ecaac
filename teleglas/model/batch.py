"""A batch of events as the listener publishes it and process_events reads it: a list of flat items
[kind, received_ms, source, exchange, symbol, base_asset, price, side, usd, time_ms], the time the event's frame
arrived (null when unknown) and the source that brought it before the event's own fields.

Flat, because the listener writes 200,000 of them a second: one tuple an event, written to JSON by msgspec in one
call (0.28 µs an event; a dict an event and kombu's JSON of 500 of them took 3.2), and half the bytes of a JSON
object an event for base64, Redis and the worker's JSON to carry.

Packed: the task's argument is the items' JSON as one text (`pack`), not the list. Celery's worker decodes a task's
arguments in its main process and pickles them to the pool process, which decodes the message again: a list of a
hundred items was a thousand objects built, pickled and unpickled per task, one text is one. The pool process
then reads the text in one typed msgspec call (`unpack`); a batch with an item that call refuses is read again item
by item, so a hostile item is refused alone, as before. Item lists (tasks an earlier version published) and items
of the shape before that, [payload, received_ms] or [payload, received_ms, source] with the kind inside the payload,
are still read. Only the stream's kinds travel in a batch (liquidations and trades); whale positions come from REST
polling and are evaluated where they are polled.
"""

from __future__ import annotations

import json
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
_PACKED = msgspec.json.Decoder(list[_ReadItem])


def items(events: list[MarketEvent], received_ms: int | None, source: str) -> list[Item]:
    """One frame's events as batch items (tuples: msgspec writes them as the arrays process_events reads)."""
    return [
        (e.kind, received_ms, source, e.exchange, e.symbol, e.base_asset, e.price, e.side, e.usd, e.time_ms)
        for e in events
    ]


def encode(value: Any) -> bytes:
    """JSON of anything holding batch items (a Celery message body): TELEGLAS's kombu serializer."""
    return _ENCODER.encode(value)


def pack(batch: list[Item]) -> str:
    """A task's argument: the items as one JSON text."""
    return _ENCODER.encode(batch).decode()


def unpack(argument: Any) -> list[Any]:
    """The items of a task's argument, each for read_item: a packed batch read in one typed call (or, if that
    refuses an item, as plain JSON, each item to be judged alone); a list is the items themselves. A text that is not
    JSON, or not a list, is a PayloadError for the whole batch."""
    if isinstance(argument, list):
        return argument
    if not isinstance(argument, str):
        raise PayloadError(f"batch is {type(argument).__name__}, not a list or its JSON")
    try:
        return _PACKED.decode(argument)
    except msgspec.MsgspecError:  # an item the typed call refuses (it stops there): the batch as plain JSON
        pass
    try:
        items = json.loads(argument)  # the standard reader: any JSON at all, numbers beyond 64 bits too
    except ValueError as exc:
        raise PayloadError(f"packed batch: {exc}") from None
    if not isinstance(items, list):
        raise PayloadError(f"packed batch is {type(items).__name__}, not a list")
    return items


def read_item(item: Any) -> tuple[MarketEvent, int | None, str]:
    """(event, received_ms, source) of one item as unpack or JSON gave it back; anything else is a PayloadError."""
    if type(item) is _ReadItem:
        return _event(item)
    if isinstance(item, list) and item and isinstance(item[0], str):
        try:
            read = msgspec.convert(item, _ReadItem)
        except msgspec.ValidationError as exc:
            raise PayloadError(f"batch item: {exc}") from None
        return _event(read)
    try:
        payload, received_ms, *rest = item
        event = event_from_payload(payload)
    except PayloadError:
        raise
    except (TypeError, ValueError) as exc:  # not a list of two or three, a side that cannot be looked up
        raise PayloadError(str(exc)) from None
    return event, received_ms, rest[0] if rest and isinstance(rest[0], str) else SOURCE_COINGLASS


def plain(item: Any) -> Any:
    """An item as JSON can carry it again (a retry's argument): a typed item back to its array."""
    return list(msgspec.structs.astuple(item)) if type(item) is _ReadItem else item


def _event(read: _ReadItem) -> tuple[MarketEvent, int | None, str]:
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

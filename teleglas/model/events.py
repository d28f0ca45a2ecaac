"""Typed market events, the only shape the alert engine sees, whatever transport brought them."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from teleglas.defines import (
    KIND_LIQUIDATION,
    KIND_TRADE,
    KIND_WHALE_POSITION,
    LIQUIDATION_SIDES,
    POSITION_SIDES,
    TRADE_SIDES,
)
from teleglas.model.ids import content_id


class MarketEvent(msgspec.Struct, frozen=True):
    """Frozen (hashable, safe to share) and built in C: a busy worker builds a hundred thousand a second, and a
    frozen dataclass's __init__ alone took 1.6 µs each."""

    kind: ClassVar[str]
    side_names: ClassVar[dict[int, str]]

    exchange: str
    symbol: str
    base_asset: str
    price: float
    side: int
    usd: float
    time_ms: int

    @property
    def side_name(self) -> str:
        return self.side_names[self.side]

    def fingerprint(self) -> str:
        """Identity from content only, so the same event from a replay, a second listener or an overlapping
        REST poll matches."""
        return content_id(self._identity())

    def _identity(self) -> tuple[str, ...]:
        return (
            self.kind,
            self.exchange,
            self.symbol,
            str(self.side),
            repr(float(self.price)),
            repr(float(self.usd)),
            str(self.time_ms),
        )

    def to_payload(self) -> dict[str, Any]:
        """A JSON-safe dict for a Celery task argument (fields are plain values, read as they are)."""
        return {"kind": self.kind, **{name: getattr(self, name) for name in self.__struct_fields__}}


class LiquidationOrder(MarketEvent, frozen=True):
    """A forced close; `side` names the liquidated position (1 long, 2 short)."""

    kind: ClassVar[str] = KIND_LIQUIDATION
    side_names: ClassVar[dict[int, str]] = LIQUIDATION_SIDES


class FuturesTrade(MarketEvent, frozen=True):
    """A large taker trade; `side` is the taker side (1 sell, 2 buy)."""

    kind: ClassVar[str] = KIND_TRADE
    side_names: ClassVar[dict[int, str]] = TRADE_SIDES


class WhalePosition(MarketEvent, frozen=True):
    """A Hyperliquid whale opening or closing a position (REST whale alerts); `side` 1 long, 2 short,
    `price` the entry price, `user` the trader's address, `action` 1 open, 2 close."""

    kind: ClassVar[str] = KIND_WHALE_POSITION
    side_names: ClassVar[dict[int, str]] = POSITION_SIDES
    user: str = ""
    action: int = 1

    def _identity(self) -> tuple[str, ...]:
        return (*MarketEvent._identity(self), self.user, str(self.action))


EVENT_TYPES: dict[str, type[MarketEvent]] = {cls.kind: cls for cls in (LiquidationOrder, FuturesTrade, WhalePosition)}


class PayloadError(ValueError):
    """A task payload that is not an event this version understands."""


def event_from_payload(payload: dict[str, Any]) -> MarketEvent:
    """Inverse of `to_payload`; rejects anything else with a PayloadError."""
    if not isinstance(payload, dict):
        raise PayloadError(f"payload is {type(payload).__name__}, not an object")
    cls = EVENT_TYPES.get(payload.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        raise PayloadError(f"unknown event kind {payload.get('kind')!r}")
    try:
        event = cls(**{f.name: payload[f.name] for f in msgspec.structs.fields(cls) if f.name in payload or f.required})
    except KeyError as exc:
        raise PayloadError(f"{cls.kind} payload lacks {exc.args[0]!r}") from None
    if event.side not in cls.side_names:
        raise PayloadError(f"{cls.kind} payload has side {event.side!r}")
    return event

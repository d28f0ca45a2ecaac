"""Typed market events, the only shape the alert engine sees, whatever transport brought them."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from teleglas.defines import KIND_LIQUIDATION, KIND_TRADE, LIQUIDATION_SIDES, TRADE_SIDES


@dataclass(frozen=True, slots=True)
class MarketEvent:
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
        """Identity from content only, so the same event from a replay or a second listener matches."""
        canonical = "|".join(
            (self.kind, self.exchange, self.symbol, str(self.side), repr(float(self.price)), repr(float(self.usd)), str(self.time_ms))
        )
        return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()

    def to_payload(self) -> dict[str, Any]:
        """A JSON-safe dict for a Celery task argument."""
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True, slots=True)
class LiquidationOrder(MarketEvent):
    """A forced close; `side` names the liquidated position (1 long, 2 short)."""

    kind: ClassVar[str] = KIND_LIQUIDATION
    side_names: ClassVar[dict[int, str]] = LIQUIDATION_SIDES


@dataclass(frozen=True, slots=True)
class FuturesTrade(MarketEvent):
    """A large taker trade; `side` is the taker side (1 sell, 2 buy)."""

    kind: ClassVar[str] = KIND_TRADE
    side_names: ClassVar[dict[int, str]] = TRADE_SIDES


EVENT_TYPES: dict[str, type[MarketEvent]] = {cls.kind: cls for cls in (LiquidationOrder, FuturesTrade)}
_FIELDS = tuple(f.name for f in fields(MarketEvent))


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
        event = cls(**{name: payload[name] for name in _FIELDS})
    except KeyError as exc:
        raise PayloadError(f"{cls.kind} payload lacks {exc.args[0]!r}") from None
    if event.side not in cls.side_names:
        raise PayloadError(f"{cls.kind} payload has side {event.side!r}")
    return event

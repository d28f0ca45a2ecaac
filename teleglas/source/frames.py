"""What a venue's parser makes of one WebSocket frame: its kind, the events it carried and the reason for each
item refused. Every venue module returns one; the listener's frame router counts and publishes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from teleglas.model.events import MarketEvent


class FrameKind(StrEnum):
    DATA = "data"
    PONG = "pong"
    ACK = "ack"  # a venue's answer to our (un)subscribe: nothing to count
    UNKNOWN = "unknown"  # well-formed but not a data frame we know (an error text, an ack, another channel)
    MALFORMED = "malformed"  # not JSON, or JSON of the wrong shape


@dataclass
class ParsedFrame:
    kind: FrameKind
    channel: str = ""
    events: list[MarketEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one reason per bad item of a data frame
    reason: str = ""  # why a whole frame is unknown or malformed

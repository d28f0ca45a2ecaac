"""Frames in, events out: one text frame → typed events for the publisher, with a log line and a counter for
each bad part. One router per source, with that venue's parser. Runs on the source's read thread; it never
raises, so no frame can end the read loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from teleglas.defines import KIND_TRADE, LOG_WS, OTHER_CHANNEL, SOURCE_COINGLASS
from teleglas.source.coinglass.ws_protocol import parse_frame
from teleglas.source.frames import FrameKind, ParsedFrame
from teleglas.source.listener.publisher import EventPublisher

log = logging.getLogger(__name__)
_SNIPPET = 80


@dataclass
class ListenerCounters:
    frames: int = 0
    events: int = 0
    bad_frames: int = 0
    unknown_frames: int = 0
    rejected_items: int = 0
    oversized_frames: int = 0
    filtered_trades: int = 0  # exchange trades under EXCHANGE_TRADE_MIN_USD, kept out of the broker
    last_event_time: float = 0.0


class FrameRouter:
    """Turns one text frame into events for the publisher, with a log line and a counter for each bad part."""

    def __init__(
        self,
        publisher: EventPublisher,
        max_message_bytes: int,
        channels: tuple[str, ...] = (),
        parse: Callable[[str], ParsedFrame] | None = None,  # None: CoinGlass's
        source: str = SOURCE_COINGLASS,
        trade_min_usd: float = 0.0,
    ):
        self.publisher = publisher
        self.max_message_bytes = max_message_bytes
        self.parse = parse if parse is not None else parse_frame
        self.source = source
        self.trade_min_usd = trade_min_usd
        self.counters = ListenerCounters()
        # Per channel, only for the channels we subscribed to: a frame naming anything else (hostile input)
        # counts as "other" and cannot grow the metric's label set.
        self.by_channel: dict[str, list[int]] = {channel: [0, 0] for channel in (*channels, OTHER_CHANNEL)}

    def __call__(self, text: str, received_ms: int) -> None:
        """Never raises: the read loop calls this for every frame, and one hostile frame must not end it."""
        self.counters.frames += 1
        try:
            self._route(text, received_ms)
        except Exception as exc:  # last resort: a bug in parsing or handling costs this one frame, counted as malformed
            self.counters.bad_frames += 1
            log.warning(
                "%s %s frame not handled (%s); frame=%r; %d bad so far",
                LOG_WS,
                self.source,
                type(exc).__name__,
                text[:_SNIPPET],
                self.counters.bad_frames,
            )

    def _route(self, text: str, received_ms: int) -> None:
        # A character is 1-4 UTF-8 bytes: encode only the frames whose length leaves the answer open.
        if len(text) > self.max_message_bytes or (
            len(text) * 4 > self.max_message_bytes
            and len(text.encode("utf-8", errors="replace")) > self.max_message_bytes
        ):
            self.counters.oversized_frames += 1
            log.warning(
                "%s %s oversized frame dropped (%d chars > %d bytes), %d so far",
                LOG_WS,
                self.source,
                len(text),
                self.max_message_bytes,
                self.counters.oversized_frames,
            )
            return
        frame = self.parse(text)
        if frame.kind is FrameKind.ACK:  # a venue confirming our subscription
            return
        if frame.kind is FrameKind.MALFORMED:
            self.counters.bad_frames += 1
            log.warning(
                "%s %s malformed frame: %s; frame=%r; %d bad so far",
                LOG_WS,
                self.source,
                frame.reason,
                text[:_SNIPPET],
                self.counters.bad_frames,
            )
            return
        if frame.kind is FrameKind.UNKNOWN:
            self.counters.unknown_frames += 1
            log.warning("%s %s unknown frame (%s): %r", LOG_WS, self.source, frame.reason, text[:_SNIPPET])
            return
        for reason in frame.rejected:  # the channel is from the frame: %r, so CR or ANSI escapes cannot forge log lines
            self.counters.rejected_items += 1
            log.warning(
                "%s %s %r item rejected: %s; %d rejected so far",
                LOG_WS,
                self.source,
                frame.channel[:_SNIPPET],
                reason,
                self.counters.rejected_items,
            )
        counts = self.by_channel.get(frame.channel, self.by_channel[OTHER_CHANNEL])
        counts[0] += 1
        counts[1] += len(frame.events)
        events = frame.events
        if self.trade_min_usd:
            events = [e for e in events if not (e.kind == KIND_TRADE and e.usd < self.trade_min_usd)]
            self.counters.filtered_trades += len(frame.events) - len(events)
        if events:
            self.publisher.submit(events, received_ms, self.source)  # the frame's events at once: one lock, one entry
        if frame.events:
            self.counters.events += len(frame.events)
            self.counters.last_event_time = received_ms / 1000

"""Drives the alert engine and fan-out as the Celery tasks do, without Celery, on a simulated clock: events
and the flushes they schedule run in time order against a real redis-server, and every message that would
be sent is collected with the events it accounts for."""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from teleglas.alerts.engine import Engine
from teleglas.alerts.fanout import FanOut, Send
from teleglas.alerts.rules import Rules
from teleglas.coinglass.events import MarketEvent
from teleglas.engine_store import EngineStore
from teleglas.settings import Settings
from teleglas.store import Store


@dataclass
class Harness:
    rules: Rules
    store: Store
    settings: Settings
    sent: list[Send] = field(default_factory=list)
    events_of_alert: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _queue: list = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        state = EngineStore(self.store.redis)
        self.engine = Engine(self.rules, self.store, state, self.settings)
        self.fanout = FanOut(self.store, state, self.settings)

    def event(self, at: float, event: MarketEvent, claimer: str | None = None) -> None:
        self._push(at, "event", (event, claimer))

    def run(self, until: float | None = None) -> None:
        """Runs everything due up to `until` (everything, when None), in time order."""
        while self._queue and (until is None or self._queue[0][0] <= until):
            at, _, what, payload = heapq.heappop(self._queue)
            if what == "event":
                event, claimer = payload
                alerts, flushes = self.engine.evaluate(event, claimer or f"task-{next(self._order)}", at)
                for flush in flushes:
                    self._push(at + min(flush.due_s, self.settings.telegram_max_countdown_s), "flush", flush)
                self._dispatch(alerts, at)
            elif what == "flush":
                self._dispatch(self.engine.flush(payload, f"flush-{next(self._order)}", at), at)
            else:
                self.sent.extend(self.fanout.flush_digest(payload, f"digest-{next(self._order)}", at))

    def _dispatch(self, alerts, at: float) -> None:
        for alert in alerts:
            self.events_of_alert[alert.alert_id] = alert.event_ids
            sends, digests = self.fanout.route(alert, at)
            self.sent.extend(sends)
            for digest in digests:
                self._push(at + digest.due_s, "digest", digest.chat_id)

    def _push(self, at: float, what: str, payload) -> None:
        heapq.heappush(self._queue, (at, next(self._order), what, payload))

    def events_in(self, send: Send) -> list[str]:
        return [event_id for alert_id in send.covers for event_id in self.events_of_alert[alert_id]]


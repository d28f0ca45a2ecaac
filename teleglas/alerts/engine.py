"""From one typed event to at most one alert: threshold, then event dedupe, then the text."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from teleglas.alerts.formatting import format_event_alert
from teleglas.alerts.thresholds import qualifies
from teleglas.coinglass.events import MarketEvent
from teleglas.defines import LOG_ENGINE
from teleglas.settings import Settings
from teleglas.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str  # the event fingerprint: every retrying path stays exactly-once per chat
    kind: str
    symbol: str
    text: str


def evaluate(event: MarketEvent, settings: Settings, store: Store, claimer: str) -> Alert | None:
    if not qualifies(event, settings):
        return None
    fingerprint = event.fingerprint()
    if not store.claim_event(fingerprint, claimer, settings.event_dedupe_ttl_s):
        log.info("%s duplicate %s %s %s dropped (fingerprint %s)", LOG_ENGINE, event.kind, event.exchange, event.symbol, fingerprint)
        return None
    return Alert(alert_id=fingerprint, kind=event.kind, symbol=event.symbol, text=format_event_alert(event, settings.timezone))

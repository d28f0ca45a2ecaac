"""Where whale alerts come from right now: the listener's WebSocket stream, or the beat's REST polling
fallback (no WebSocket key, or no listener connected lately). The beat, the manual bot's /status and the
health report all ask this one question the same way."""
from __future__ import annotations

from dataclasses import dataclass

from teleglas.defines import MODE_POLLING, MODE_WEBSOCKET
from teleglas.settings import Settings
from teleglas.store import Store


@dataclass(frozen=True, slots=True)
class WhaleSource:
    mode: str
    reason: str | None  # why the fallback polls; None in WebSocket mode
    listener: dict[str, str] | None  # the most recently updated listener status, connected or not


def whale_source(store: Store, settings: Settings, now: float) -> WhaleSource:
    statuses = []
    for status in store.listener_statuses().values():
        try:
            statuses.append((float(status.get("updated_at", 0)), status))
        except ValueError:
            continue
    newest = max(statuses, key=lambda pair: pair[0])[1] if statuses else None
    if not settings.coinglass_api_key_ws:
        return WhaleSource(MODE_POLLING, "no COINGLASS_API_KEY_WS", newest)
    for updated_at, status in statuses:
        if now - updated_at <= settings.listener_stale_after_s and status.get("is_connected") == "1":
            return WhaleSource(MODE_WEBSOCKET, None, status)
    return WhaleSource(MODE_POLLING, "no listener connected in the last LISTENER_STALE_AFTER s", newest)

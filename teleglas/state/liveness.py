"""Where whale alerts come from right now: the listener's WebSocket stream, or the beat's REST polling
fallback (no WebSocket key, or no listener connected lately). The beat, the manual bot's /status and the
health report all ask this one question the same way."""

from __future__ import annotations

from dataclasses import dataclass

from teleglas.defines import MODE_POLLING, MODE_WEBSOCKET
from teleglas.settings import Settings
from teleglas.state.store import Store


@dataclass(frozen=True, slots=True)
class WhaleSource:
    mode: str
    reason: str | None  # why the fallback polls; None in WebSocket mode
    listener: dict[str, str] | None  # the most recently updated listener status, connected or not


def listener_connected(status: dict[str, str], now: float, stale_after_s: float) -> bool:
    """A listener status says "connected" and was written recently enough to be believed."""
    try:
        updated_at = float(status.get("updated_at", 0))
    except ValueError:
        return False
    return status.get("is_connected") == "1" and now - updated_at <= stale_after_s


def whale_source(store: Store, settings: Settings, now: float) -> WhaleSource:
    return source_from_statuses(store.listener_statuses(), settings, now)


def source_from_statuses(statuses: dict[str, dict[str, str]], settings: Settings, now: float) -> WhaleSource:
    """The same answer from listener statuses already read (the dashboard reads them for its own view)."""
    dated = []
    for status in statuses.values():
        try:
            dated.append((float(status.get("updated_at", 0)), status))
        except ValueError:
            continue
    newest = max(dated, key=lambda pair: pair[0])[1] if dated else None
    if not settings.coinglass_api_key_ws:
        return WhaleSource(MODE_POLLING, "no COINGLASS_API_KEY_WS", newest)
    connected = next(
        (status for _, status in dated if listener_connected(status, now, settings.listener_stale_after_s)), None
    )
    if connected is not None:
        return WhaleSource(MODE_WEBSOCKET, None, connected)
    return WhaleSource(MODE_POLLING, "no listener connected in the last LISTENER_STALE_AFTER s", newest)

"""Who is alive: worker heartbeats, listener statuses (each in a registry sorted by time, so nothing has to
SCAN the keyspace), queue depths; and the question they answer for whales: a listener's stream carrying trades
(CoinGlass's, or an exchange's own), or the beat's REST polling fallback (no such stream configured, or none
connected lately). The beat, the manual bot's /status, the health report and the dashboard all ask it the same
way."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from teleglas.defines import MODE_POLLING, MODE_WEBSOCKET, SOURCE_COINGLASS
from teleglas.settings import Settings
from teleglas.state.client import decoded
from teleglas.state.keys import listener_status_key, listeners_key, worker_heartbeat_key, workers_key

_REGISTRY_KEEP_S = 86_400  # a name gone quiet this long leaves the registry


class Liveness:
    def __init__(self, client: redis.Redis):
        self.redis = client

    def write_worker_heartbeat(self, hostname: str, ttl_s: int) -> None:
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(worker_heartbeat_key(hostname), f"{now:.3f}", ex=ttl_s)
            pipe.zadd(workers_key(), {hostname: now})
            pipe.zremrangebyscore(workers_key(), "-inf", now - _REGISTRY_KEEP_S)
            pipe.expire(workers_key(), _REGISTRY_KEEP_S)
            pipe.execute()

    def worker_heartbeats(self) -> dict[str, float]:
        """Hostname → time of its last heartbeat, for heartbeats not yet expired."""
        names = [n.decode() for n in self.redis.zrange(workers_key(), 0, -1)]
        values = self.redis.mget([worker_heartbeat_key(n) for n in names]) if names else []
        return {name: float(value) for name, value in zip(names, values) if value is not None}

    def queue_depths(self, queues: tuple[str, ...]) -> dict[str, int]:
        with self.redis.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue)
            return dict(zip(queues, pipe.execute()))

    def write_listener_status(self, listener_id: str, fields: dict[str, str | int | float], ttl_s: int) -> None:
        """One MULTI: the hash and its TTL together, so a dead listener's status simply expires."""
        key = listener_status_key(listener_id)
        now = time.time()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, ttl_s)
            pipe.zadd(listeners_key(), {listener_id: now})
            pipe.zremrangebyscore(listeners_key(), "-inf", now - _REGISTRY_KEEP_S)
            pipe.expire(listeners_key(), _REGISTRY_KEEP_S)
            pipe.execute()

    def listener_statuses(self) -> dict[str, dict[str, str]]:
        """Listener id → its status hash, for statuses not yet expired."""
        ids = [i.decode() for i in self.redis.zrange(listeners_key(), 0, -1)]
        with self.redis.pipeline(transaction=False) as pipe:
            for listener_id in ids:
                pipe.hgetall(listener_status_key(listener_id))
            found = pipe.execute()
        return {listener_id: decoded(fields) for listener_id, fields in zip(ids, found) if fields}


@dataclass(frozen=True, slots=True)
class WhaleSource:
    mode: str
    reason: str | None  # why the fallback polls; None in WebSocket mode
    listener: dict[str, str] | None  # the most recently updated listener status, connected or not


def streaming_sources(settings: Settings) -> tuple[str, ...]:
    """The SOURCES a listener streams: CoinGlass only with its WebSocket key, every exchange (no key needed)."""
    return tuple(s for s in settings.sources.sources if s != SOURCE_COINGLASS or settings.coinglass.api_key_ws)


def _whale_streams(settings: Settings) -> bool:
    exchanges = bool(settings.sources.exchanges and settings.sources.trade_symbols)
    return exchanges or SOURCE_COINGLASS in streaming_sources(settings)


def listener_connected(status: dict[str, str], now: float, stale_after_s: float) -> bool:
    """A listener status says "connected" and was written recently enough to be believed."""
    try:
        updated_at = float(status.get("updated_at", 0))
    except ValueError:
        return False
    return status.get("is_connected") == "1" and now - updated_at <= stale_after_s


def whale_source(liveness: Liveness, settings: Settings, now: float) -> WhaleSource:
    return source_from_statuses(liveness.listener_statuses(), settings, now)


def source_from_statuses(statuses: dict[str, dict[str, str]], settings: Settings, now: float) -> WhaleSource:
    """The same answer from listener statuses already read (the dashboard reads them for its own view)."""
    dated = []
    for status in statuses.values():
        try:
            dated.append((float(status.get("updated_at", 0)), status))
        except ValueError:
            continue
    newest = max(dated, key=lambda pair: pair[0])[1] if dated else None
    if not _whale_streams(settings):
        return WhaleSource(MODE_POLLING, "no COINGLASS_API_KEY_WS", newest)
    connected = next(
        (
            status
            for _, status in dated
            if status.get("whale_stream") != "0" and listener_connected(status, now, settings.ws.stale_after_s)
        ),
        None,
    )
    if connected is not None:
        return WhaleSource(MODE_WEBSOCKET, None, connected)
    return WhaleSource(MODE_POLLING, "no listener connected in the last LISTENER_STALE_AFTER s", newest)

"""Every Redis key TELEGLAS uses, in one place, each with a TTL. Callers never build key strings themselves."""
from __future__ import annotations

import functools

import redis

from teleglas.settings import ChatId

PREFIX = "teleglas"


def event_key(fingerprint: str) -> str:
    return f"{PREFIX}:event:{fingerprint}"


def delivery_key(alert_id: str, chat_id: ChatId) -> str:
    return f"{PREFIX}:delivered:{alert_id}:{chat_id}"


def listener_status_key(listener_id: str) -> str:
    return f"{PREFIX}:listener:{listener_id}"


class Store:
    """State shared by all workers. Each method is one atomic Redis operation or a read."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def claim_event(self, fingerprint: str, claimer: str, ttl_s: int) -> bool:
        """True for the first claimer of an event, and again for that same claimer (a Celery redelivery of
        the task that claimed it must still finish its work); False for a duplicate from anyone else."""
        key = event_key(fingerprint)
        if self.redis.set(key, claimer, nx=True, ex=ttl_s):
            return True
        return self.redis.get(key) == claimer.encode()

    def delivered_message_id(self, alert_id: str, chat_id: ChatId) -> int | None:
        value = self.redis.get(delivery_key(alert_id, chat_id))
        return None if value is None else int(value)

    def record_delivery(self, alert_id: str, chat_id: ChatId, message_id: int, ttl_s: int) -> None:
        self.redis.set(delivery_key(alert_id, chat_id), message_id, ex=ttl_s)


    def write_listener_status(self, listener_id: str, fields: dict[str, str | int | float], ttl_s: int) -> None:
        """One MULTI: the hash and its TTL together, so a dead listener's status simply expires."""
        key = listener_status_key(listener_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, ttl_s)
            pipe.execute()

    def listener_statuses(self) -> dict[str, dict[str, str]]:
        statuses = {}
        for key in self.redis.scan_iter(match=listener_status_key("*"), count=100):
            fields = self.redis.hgetall(key)
            if fields:
                name = key.decode().rsplit(":", 1)[-1] if isinstance(key, bytes) else key.rsplit(":", 1)[-1]
                statuses[name] = {k.decode(): v.decode() for k, v in fields.items()}
        return statuses


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """One connection pool per URL and process; redis-py clients are thread-safe."""
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)

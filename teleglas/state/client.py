"""The Redis client every process uses, and decoding of what it returns."""

from __future__ import annotations

import functools

import redis


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """One connection pool per URL and process; redis-py clients are thread-safe."""
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)


def decoded(fields: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in fields.items()}

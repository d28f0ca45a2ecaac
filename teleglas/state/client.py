"""The Redis client every process uses, and decoding of what it returns."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """One connection pool per URL and process; redis-py clients are thread-safe."""
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)


def decoded(fields: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in fields.items()}


def run_script_many(client: redis.Redis, script: Script, calls: Sequence[tuple[list[str], list[Any]]]) -> list[Any]:
    """A script once per (keys, args), in order, in one pipeline: each call stays atomic on its own and sees what
    the calls before it wrote. (redis-py asks SCRIPT EXISTS before every pipeline that holds a Script, a round
    trip more; here the script is loaded only when Redis says it lacks it, after a restart, and the calls, which
    must be idempotent, run again.)"""
    if not calls:
        return []
    for attempt in range(2):
        with client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            replies = pipe.execute(raise_on_error=False)
        if attempt == 0 and any(isinstance(reply, NoScriptError) for reply in replies):
            script.sha = client.script_load(script.script)
            continue
        break
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies

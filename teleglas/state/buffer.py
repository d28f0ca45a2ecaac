"""Counts and rankings that many processes add to shared Redis keys, buffered in each process and written
once a second in one pipeline, so a busy worker pays a dict update per event instead of a round trip.

Used by the metrics (teleglas.ops.metrics) and the market tape (teleglas.state.tape). A SIGKILLed process loses
at most one interval of figures, never an alert; while Redis is away they wait in memory.
"""

from __future__ import annotations

import functools
import heapq
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping

import redis

from teleglas.defines import LOG_RUNNER
from teleglas.settings import get_settings
from teleglas.state.client import redis_client

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0


class RedisBuffer:
    """Safe to use from any thread, and after a fork (prefork workers): each process gets its own thread."""

    def __init__(self, client_factory: Callable[[], redis.Redis], interval_s: float = FLUSH_INTERVAL_S):
        self._client_factory = client_factory
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._sums: dict[tuple[str, str], float] = defaultdict(float)
        self._tops: dict[str, list[tuple[float, str]]] = {}
        self._top_sizes: dict[str, int] = {}
        self._ttls: dict[str, int] = {}
        self._pid = 0
        self._failing = False

    def add(self, key: str, field: str, amount: float, ttl_s: int) -> None:
        """HINCRBYFLOAT key field amount, soon; the key expires `ttl_s` after its last write."""
        with self._lock:
            self._own_thread()
            self._sums[(key, field)] += amount
            self._ttls[key] = ttl_s

    def add_many(self, sums: Mapping[tuple[str, str], float], ttls: Mapping[str, int]) -> None:
        """`add` for a batch: (key, field) -> amount, key -> ttl_s, under one lock."""
        with self._lock:
            self._own_thread()
            mine = self._sums
            for key_field, amount in sums.items():
                mine[key_field] += amount
            self._ttls.update(ttls)

    def keep_top(self, key: str, score: float, member: Callable[[], str], size: int, ttl_s: int) -> None:
        """Offers a member to the sorted set `key`, which keeps only the `size` highest scores; `member()` is
        called only when the score gets in (most events of a busy minute do not)."""
        with self._lock:
            self._own_thread()
            self._offer(key, score, member, size, ttl_s)

    def _offer(self, key: str, score: float, member: Callable[[], str], size: int, ttl_s: int) -> None:
        """keep_top's work, with the lock held."""
        heap = self._tops.setdefault(key, [])
        if len(heap) < size:
            heapq.heappush(heap, (score, member()))
        elif score > heap[0][0]:
            heapq.heapreplace(heap, (score, member()))
        self._top_sizes[key] = size
        self._ttls[key] = ttl_s

    def _own_thread(self) -> None:
        if self._pid != os.getpid():  # first use in this process (or in a forked child)
            self._pid = os.getpid()
            self._sums, self._tops, self._top_sizes, self._ttls = defaultdict(float), {}, {}, {}
            threading.Thread(target=self._run, name="redis-buffer-flush", daemon=True).start()

    def _run(self) -> None:
        client = self._client_factory()
        while True:
            time.sleep(self._interval_s)
            self.flush(client)

    def flush(self, client: redis.Redis) -> None:
        # Everything pending leaves the buffer together, TTLs and sizes too: the keys change every bucket and
        # minute, so nothing may be kept per key between flushes.
        with self._lock:
            sums, self._sums = self._sums, defaultdict(float)
            tops, self._tops = self._tops, {}
            sizes, self._top_sizes = self._top_sizes, {}
            ttls, self._ttls = self._ttls, {}
        if not sums and not tops:
            return
        try:
            with client.pipeline(transaction=False) as pipe:
                for (key, field), amount in sums.items():
                    pipe.hincrbyfloat(key, field, amount)
                for key, heap in tops.items():
                    pipe.zadd(key, {member: score for score, member in heap})
                    pipe.zremrangebyrank(key, 0, -sizes[key] - 1)
                for key, ttl_s in ttls.items():
                    pipe.expire(key, ttl_s)
                pipe.execute()
            self._failing = False
        except (redis.RedisError, OSError) as exc:  # put them back: figures wait for Redis, they are not lost
            if not self._failing:
                log.warning(
                    "%s figures not written to Redis: %s (kept in memory until it answers)",
                    LOG_RUNNER,
                    type(exc).__name__,
                )
            self._failing = True
            with self._lock:
                for (key, field), amount in sums.items():
                    self._sums[(key, field)] += amount
                    self._ttls.setdefault(key, ttls[key])
                for key, heap in tops.items():
                    for score, member in heap:
                        self._offer(
                            key, score, functools.partial(str, member), sizes[key], self._ttls.get(key, ttls[key])
                        )


_buffer: RedisBuffer | None = None
_buffer_lock = threading.Lock()


def shared_buffer() -> RedisBuffer:
    """The process-wide buffer, writing to the Redis of Settings."""
    global _buffer
    with _buffer_lock:
        if _buffer is None:
            _buffer = RedisBuffer(lambda: redis_client(get_settings().redis.url))
        return _buffer

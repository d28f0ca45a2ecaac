"""Rendered charts: the PNG of each chart id, kept CHART_TTL for the sends that carry it (a send that comes back
later, a retry). A send whose chart has expired goes out as text."""

from __future__ import annotations

import redis

from teleglas.state.keys import chart_key


class ChartStore:
    def __init__(self, client: redis.Redis, ttl_s: int):
        self.redis = client
        self.ttl_s = ttl_s

    def put(self, chart_id: str, png: bytes) -> None:
        self.redis.set(chart_key(chart_id), png, ex=self.ttl_s)

    def get(self, chart_id: str) -> bytes | None:
        value = self.redis.get(chart_key(chart_id))
        return bytes(value) if value is not None else None

    def has(self, chart_id: str) -> bool:
        return bool(self.redis.exists(chart_key(chart_id)))

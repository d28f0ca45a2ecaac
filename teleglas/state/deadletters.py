"""Dead letters: sends that ran out of retries and tasks that kept failing, newest first, capped, kept for an
operator to replay or purge."""

from __future__ import annotations

import json

import redis

from teleglas.state.keys import deadletters_key


class DeadLetters:
    """The dead-letter list."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def push_dead_letter(self, entry: dict, ttl_s: int, max_entries: int) -> None:
        key = deadletters_key()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, json.dumps(entry, ensure_ascii=False, sort_keys=True))
            pipe.ltrim(key, 0, max_entries - 1)
            pipe.expire(key, ttl_s)
            pipe.execute()

    def dead_letters(self) -> list[tuple[bytes, dict]]:
        """(raw entry, parsed entry) pairs; the raw form is what `remove_dead_letter` takes."""
        return [(raw, json.loads(raw)) for raw in self.redis.lrange(deadletters_key(), 0, -1)]

    def remove_dead_letter(self, raw: bytes) -> bool:
        return bool(self.redis.lrem(deadletters_key(), 1, raw))

    def dead_letter_count(self) -> int:
        return int(self.redis.llen(deadletters_key()))

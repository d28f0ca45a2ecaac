"""Delayed work kept in Redis, not in the broker: a digest flush, a cooldown summary, a send waiting for its
rate-limit slot or a 429's retry_after, a retry after a failure.

A Celery countdown/ETA message is held unacknowledged by the worker that fetched it; if that worker dies the
message comes back only after the visibility timeout, which then has to be longer than every delay. Here a
delay is a due time in a sorted set (on Redis's clock, so worker clocks never matter) and a mover in every
worker publishes what is due as an ordinary task. The visibility timeout only has to cover a running task.

Every entry has a key: scheduling the same key again replaces its task (the newest state of a send wins) and
either replaces its due time or keeps the earlier one (a flush asked for twice runs once, at the earlier
time). A mover takes due entries into an in-flight set with a lease before publishing and removes them after;
entries of a mover that died between the two are taken again when their lease ends. A task is therefore
published at least once, never lost, and every task is idempotent, so twice is harmless.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

from teleglas.state import keys

# KEYS: 1 due set, 2 task hash. ARGV: 1 key, 2 delay s, 3 keep the earlier due time (1/0), 4 task JSON.
_SCHEDULE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local due = now + tonumber(ARGV[2])
if ARGV[3] == '1' then
  local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
  if current and current < due then due = current end
end
redis.call('ZADD', KEYS[1], due, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return tostring(due - now)
"""

# KEYS: 1 due set, 2 task hash, 3 in-flight set (task JSON → lease end). ARGV: 1 limit, 2 lease s.
# Returns the task JSONs to publish: in-flight ones whose mover died first, then the newly due ones.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)
for _, task in ipairs(out) do redis.call('ZADD', KEYS[3], now + lease, task) end
if #out < limit then
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit - #out)) do
    local task = redis.call('HGET', KEYS[2], key)
    redis.call('ZREM', KEYS[1], key)
    redis.call('HDEL', KEYS[2], key)
    if task then
      redis.call('ZADD', KEYS[3], now + lease, task)
      out[#out + 1] = task
    end
  end
end
return out
"""


@dataclass(frozen=True, slots=True)
class DueTask:
    """A Celery task to publish later. `task_id` keeps the id of the task being retried, so work that is
    claimed by task id (events, taken flush lists) is found again by the retry."""

    key: str
    task: str
    queue: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "task": self.task,
                "queue": self.queue,
                "args": list(self.args),
                "kwargs": self.kwargs,
                "task_id": self.task_id,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> DueTask:
        data = json.loads(raw)
        return cls(data["key"], data["task"], data["queue"], tuple(data["args"]), data["kwargs"], data["task_id"])


class DueWork:
    def __init__(self, client: redis.Redis):
        self.redis = client
        self._schedule = client.register_script(_SCHEDULE)
        self._take = client.register_script(_TAKE)

    def schedule(self, task: DueTask, delay_s: float, keep_earlier: bool = False) -> float:
        """Publishes `task` in `delay_s` seconds; returns the delay it got (shorter when an earlier one is kept)."""
        left = self._schedule(
            keys=[keys.due_key(), keys.due_tasks_key()],
            args=[task.key, f"{max(delay_s, 0.0):.6f}", "1" if keep_earlier else "0", task.to_json()],
        )
        return float(left)

    def take(self, limit: int, lease_s: float) -> list[bytes]:
        """Due tasks (as JSON), each held for `lease_s` until `done`: publish them, then call `done`."""
        return self._take(
            keys=[keys.due_key(), keys.due_tasks_key(), keys.due_inflight_key()], args=[limit, f"{lease_s:.3f}"]
        )

    def done(self, raw_tasks: list[bytes]) -> None:
        if raw_tasks:
            self.redis.zrem(keys.due_inflight_key(), *raw_tasks)

    def pending(self) -> int:
        """Tasks waiting for their time or being published: part of "is there work left"."""
        with self.redis.pipeline(transaction=False) as pipe:
            return sum(pipe.zcard(keys.due_key()).zcard(keys.due_inflight_key()).execute())

    def due_in(self, key: str) -> float | None:
        """Seconds until the task under `key` is due (negative when overdue), None when none is scheduled."""
        with self.redis.pipeline(transaction=False) as pipe:
            score, now = pipe.zscore(keys.due_key(), key).time().execute()
        return None if score is None else score - (now[0] + now[1] / 1e6)

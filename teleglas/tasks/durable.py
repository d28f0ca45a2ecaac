"""A failing task never drops its work: every task is idempotent per claimer or alert id, so whatever it
raised (a Redis timeout or reset, a broker publish error, a bug on one hostile event) it is retried later
under the same task id, with exponential backoff and jitter, as delayed work in Redis; after
TASK_MAX_RETRIES it goes to the dead letters with its reason.

Celery would acknowledge a task that raised (task_acks_on_failure_or_timeout), and its own retry is a
countdown message a worker holds; neither keeps the promise. When even the retry cannot be written (Redis
away), the task is rejected back to its queue, and a worker that cannot do that either leaves the message
unacknowledged, so the broker hands it out again after the visibility timeout.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject

from teleglas.defines import LOG_RUNNER
from teleglas.ops.metrics import DEAD_LETTERS, TASK_RETRIES, recorder
from teleglas.ops.redaction import redact
from teleglas.state.due import DueTask
from teleglas.tasks import wiring

log = logging.getLogger(__name__)

ATTEMPT = "_attempt"  # the keyword argument a retry carries: how many times the task failed before
_BACKOFF_BASE_S = 1.0
_BACKOFF_CAP_S = 60.0
_REJECT_PAUSE_S = 1.0  # before handing a task back while Redis fails, so a worker does not spin on it


class RetryPart(Exception):
    """Raised by a task that finished part of its work: only `args` (the rest) is retried."""

    def __init__(self, args: tuple[Any, ...], cause: BaseException):
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.retry_args = args
        self.cause = cause


def backoff_s(attempt: int) -> float:
    """1, 2, 4 … s up to a minute, each between half and all of that, so retries after an incident spread out."""
    return min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt) * random.uniform(0.5, 1.0)


def durable(body: Callable[..., None]) -> Callable[..., None]:
    """Wraps a bound task body (`bind=True`) so a failure is retried or dead-lettered, never acknowledged away."""

    @functools.wraps(body)
    def run(self: Task, *args: Any, **kwargs: Any) -> None:
        attempt = int(kwargs.pop(ATTEMPT, 0) or 0)
        try:
            body(self, *args, **kwargs)
        except Reject:
            raise
        except RetryPart as part:
            _retry_or_dead_letter(self, part.retry_args, kwargs, attempt, part.cause)
        except Exception as exc:
            _retry_or_dead_letter(self, args, kwargs, attempt, exc)

    return run


def _retry_or_dead_letter(
    task: Task, args: tuple[Any, ...], kwargs: dict[str, Any], attempt: int, exc: BaseException
) -> None:
    settings = wiring.settings()
    task_id = task.request.id or "local"
    reason = type(exc).__name__
    description = redact(str(exc))[:300]
    try:
        if attempt >= settings.delivery.task_max_retries:
            wiring.dead_letters().push_dead_letter(
                {
                    "task": task.name,
                    "task_id": task_id,
                    "args": list(args),
                    "kwargs": kwargs,
                    "reason": reason,
                    "description": description,
                    "attempts": attempt + 1,
                    "failed_at": round(time.time(), 3),
                },
                settings.delivery.deadletter_ttl_s,
                settings.delivery.deadletter_max,
            )
            recorder().inc(DEAD_LETTERS, reason)
            log.error(
                "%s task %s[%s] failed %d times, dead-lettered: %s: %s",
                LOG_RUNNER,
                task.name,
                task_id,
                attempt + 1,
                reason,
                description,
            )
            return
        delay = backoff_s(attempt)
        retry = DueTask(
            f"retry:{task_id}", task.name, task.queue or "", tuple(args), {**kwargs, ATTEMPT: attempt + 1}, task_id
        )
        wiring.due().schedule(retry, delay)
        recorder().inc(TASK_RETRIES, task.name)
        log.warning(
            "%s task %s[%s] failed: %s: %s; retry %d/%d in %.1f s",
            LOG_RUNNER,
            task.name,
            task_id,
            reason,
            description,
            attempt + 1,
            settings.delivery.task_max_retries,
            delay,
        )
    except (redis.RedisError, OSError) as again:
        log.error(
            "%s task %s[%s] failed (%s) and its retry cannot be written (%s): handed back to the broker",
            LOG_RUNNER,
            task.name,
            task_id,
            reason,
            type(again).__name__,
        )
        time.sleep(_REJECT_PAUSE_S)
        raise Reject(reason, requeue=True) from None

"""The mover: every worker's main process publishes the delayed work that is due (teleglas.state.due) as
ordinary Celery tasks, every DUE_POLL_INTERVAL_S.

Any number of workers run one; each due task is taken by one of them (an atomic Lua step) and published at
least once. A task it took and could not publish (broker away) goes out again when its in-flight lease ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis
from celery import Celery

from teleglas.defines import DUE_BATCH, DUE_LEASE_S, DUE_POLL_INTERVAL_S, LOG_RUNNER
from teleglas.state.due import DueTask, DueWork

log = logging.getLogger(__name__)


class DueMover:
    def __init__(self, due: DueWork, publish: Callable[[DueTask], None]):
        self.due = due
        self._publish = publish
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    @classmethod
    def for_app(cls, app: Celery, due: DueWork) -> DueMover:
        def publish(task: DueTask) -> None:
            app.send_task(task.task, args=task.args, kwargs=task.kwargs, queue=task.queue, task_id=task.task_id)

        return cls(due, publish)

    def move_once(self) -> int:
        """Publishes what is due now; returns how many tasks went out."""
        raw_tasks = self.due.take(DUE_BATCH, DUE_LEASE_S)
        published = []
        for raw in raw_tasks:
            try:
                task = DueTask.from_json(raw)
            except (ValueError, KeyError, TypeError) as exc:  # written by an older version or by hand
                log.error("%s due task dropped, not a task this version understands: %s", LOG_RUNNER, exc)
                published.append(raw)
                continue
            try:
                self._publish(task)
            except Exception as exc:  # broker away: it goes out again when its lease ends
                log.warning("%s due task %s not published yet (%s)", LOG_RUNNER, task.key, type(exc).__name__)
                continue
            published.append(raw)
        self.due.done(published)
        return len(published)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="due-mover", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """A warm shutdown lets the mover finish the batch in hand, so nothing waits for its lease."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                moved = self.move_once()
            except (redis.RedisError, OSError) as exc:
                if not self._failing:
                    log.warning("%s due work cannot be read from Redis (%s); retrying", LOG_RUNNER, type(exc).__name__)
                self._failing = True
                self._stop.wait(1.0)
                continue
            if self._failing:
                log.info("%s due work readable again", LOG_RUNNER)
                self._failing = False
            if moved < DUE_BATCH:
                self._stop.wait(DUE_POLL_INTERVAL_S)

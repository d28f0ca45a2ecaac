"""A task that raises is retried under its own id as due work in Redis, never acknowledged away, and ends in
the dead letters with its reason after TASK_MAX_RETRIES: checked in process, with pytest-celery's session app
and worker (a real Celery worker thread over the real redis-server, no Docker), so each step can be watched.

The pipeline's own tasks are tested through real `celery -A teleglas worker` processes elsewhere
(tests/integration/test_task_failures.py): what runs in production runs there; this file isolates the retry
mechanics from everything else a task does."""

import pytest
import redis

from teleglas.devstack.local_stack import wait_until
from teleglas.settings import get_settings
from teleglas.state.due import DueWork
from teleglas.tasks import wiring
from teleglas.tasks.due_mover import DueMover
from teleglas.tasks.durable import ATTEMPT, durable

RUNS: list[tuple[str, int]] = []  # (task id, attempt) of every run of the test task


@pytest.fixture(scope="session")
def celery_config(redis_server):
    return {
        "broker_url": redis_server.redis_url,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_default_queue": "durable-test",
    }


@pytest.fixture(scope="session")
def celery_worker_parameters():
    return {"queues": ("durable-test",), "perform_ping_check": False}


@pytest.fixture
def settings_of_the_test_redis(redis_server, monkeypatch):
    """The wiring reads the one Settings object: point it at the test's redis-server, with a budget of 2."""
    monkeypatch.setenv("TELEGLAS_ENV_FILE", "/dev/null")
    monkeypatch.setenv("REDIS_URL", redis_server.redis_url)
    monkeypatch.setenv("TASK_MAX_RETRIES", "2")
    for cached in (get_settings, wiring.due, wiring.dead_letters):
        cached.cache_clear()
    yield get_settings()
    for cached in (get_settings, wiring.due, wiring.dead_letters):
        cached.cache_clear()


@pytest.fixture(scope="session")
def registered_flaky_task(celery_session_app, celery_session_worker):
    @celery_session_app.task(name="test.flaky", bind=True, queue="durable-test")
    @durable
    def flaky(self, fail_times: int) -> None:
        attempt = len([run for run in RUNS if run[0] == self.request.id])
        RUNS.append((self.request.id, attempt))
        if attempt < fail_times:
            raise redis.ConnectionError("a blip")

    celery_session_worker.reload()
    return flaky


@pytest.fixture
def flaky_task(registered_flaky_task):
    RUNS.clear()
    return registered_flaky_task


def move_when_due(client: redis.Redis, app, key: str) -> None:
    due = DueWork(client)
    wait_until(lambda: due.due_in(key) is not None, 10, 0.02, what=f"{key} in the due set")
    wait_until(lambda: due.due_in(key) <= 0, 70, 0.05, what=f"{key} to be due")
    assert DueMover.for_app(app, due).move_once() == 1


def test_a_failing_task_is_retried_under_its_own_id_as_due_work(
    settings_of_the_test_redis, state, flaky_task, celery_session_app
):
    result = flaky_task.delay(1)
    move_when_due(state.redis, celery_session_app, f"retry:{result.id}")
    wait_until(lambda: len(RUNS) == 2, 10, 0.02, what="the retry to run")
    assert [(result.id, 0), (result.id, 1)] == RUNS  # the same id, so what it claimed is still its own
    assert state.due.pending() == 0 and state.dead_letters.dead_letters() == []


def test_a_task_that_keeps_failing_ends_in_the_dead_letters_with_its_reason(
    settings_of_the_test_redis, state, flaky_task, celery_session_app
):
    result = flaky_task.delay(99)
    for _ in range(2):  # TASK_MAX_RETRIES
        move_when_due(state.redis, celery_session_app, f"retry:{result.id}")
    wait_until(lambda: state.dead_letters.dead_letters(), 10, 0.05, what="the dead letter")
    ((_, letter),) = state.dead_letters.dead_letters()
    assert (letter["task"], letter["task_id"], letter["reason"], letter["attempts"]) == (
        "test.flaky",
        result.id,
        "ConnectionError",
        3,
    )
    assert letter["args"] == [99] and ATTEMPT not in letter["kwargs"]
    assert [attempt for _, attempt in RUNS] == [0, 1, 2]

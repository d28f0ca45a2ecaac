"""Log formats: the JSON lines of LOG_FORMAT=json keep the component prefix as a field, and the redaction."""

import json
import logging
import sys

from teleglas.defines import TASK_PROCESS_EVENTS, TASK_SEND_MESSAGE
from teleglas.ops.logging_setup import (
    CELERY_TASK_LOGGERS,
    JsonFormatter,
    RedactingFilter,
    RoutineTaskFilter,
    quiet_routine_tasks,
)
from teleglas.ops.redaction import register_secrets
from tests.support.settings import make_settings


def test_json_log_lines_carry_the_component_and_no_secret():
    register_secrets("json-log-secret-value")
    record = logging.LogRecord(
        "teleglas.x",
        logging.WARNING,
        __file__,
        1,
        "[SENDER] alert=%s failed: %s",
        ("a1", "json-log-secret-value"),
        None,
    )
    RedactingFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["component"] == "SENDER" and entry["message"] == "alert=a1 failed: ***" and entry["level"] == "WARNING"


def test_the_redis_password_is_masked_in_log_lines_and_tracebacks_as_written_and_as_decoded():
    settings = make_settings(REDIS_URL="redis://:p%40ss-redis-4242@redis:6379/0", ALLOW_PLAINTEXT_URLS="false")
    register_secrets(*settings.secrets())
    try:
        raise ConnectionError("AUTH p@ss-redis-4242 failed")
    except ConnectionError:
        record = logging.LogRecord(
            "teleglas.x",
            logging.ERROR,
            __file__,
            1,
            "[RUNNER] broker %s unreachable",
            (settings.redis.url,),
            sys.exc_info(),
        )
    RedactingFilter().filter(record)
    line = logging.Formatter().format(record)
    assert "ss-redis-4242" not in line and "redis://:***@redis:6379/0" in line and "AUTH *** failed" in line
    assert "ss-redis-4242" not in repr(settings)


def test_celery_lines_for_each_event_batch_are_dropped_but_their_failures_and_other_tasks_are_kept():
    quiet_routine_tasks(frozenset({TASK_PROCESS_EVENTS}))
    quiet_routine_tasks(frozenset({TASK_PROCESS_EVENTS}))  # once per process, however often logging is set up
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect()
    for name in CELERY_TASK_LOGGERS:
        logger = logging.getLogger(name)
        assert sum(isinstance(f, RoutineTaskFilter) for f in logger.filters) == 1
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        for task in (TASK_PROCESS_EVENTS, TASK_SEND_MESSAGE):
            context = {"name": task, "id": "t1", "runtime": 0.01, "return_value": None}
            logging.getLogger("celery.worker.strategy").info("Task %(name)s[%(id)s] received", context)
            logging.getLogger("celery.app.trace").info("Task %(name)s[%(id)s] succeeded in %(runtime)ss", context)
            logging.getLogger("celery.app.trace").error("Task %(name)s[%(id)s] raised unexpected: boom", context)
    finally:
        for name in CELERY_TASK_LOGGERS:
            logging.getLogger(name).removeHandler(handler)
    assert seen == [
        f"Task {TASK_PROCESS_EVENTS}[t1] raised unexpected: boom",
        f"Task {TASK_SEND_MESSAGE}[t1] received",
        f"Task {TASK_SEND_MESSAGE}[t1] succeeded in 0.01s",
        f"Task {TASK_SEND_MESSAGE}[t1] raised unexpected: boom",
    ]

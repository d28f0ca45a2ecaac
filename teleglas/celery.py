"""The Celery app. Configuration lives in the top-level celeryconfig.py; tasks in teleglas.tasks."""

from __future__ import annotations

import logging
import os
import socket
import time

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, beat_init, worker_ready, worker_shutdown

from teleglas.defines import LOG_RUNNER, MODE_POLLING, QUEUE_EVENTS, TASK_ANNOUNCE_START, TASK_PROCESS_EVENTS
from teleglas.ops import broker_transport
from teleglas.ops.heartbeat import start_heartbeat
from teleglas.ops.logging_setup import formatter_for, install_redaction, quiet_routine_tasks, quiet_token_loggers
from teleglas.ops.redaction import register_secrets
from teleglas.settings import get_settings
from teleglas.state.client import redis_client
from teleglas.state.due import DueWork
from teleglas.state.liveness import Liveness, streaming_sources
from teleglas.tasks.due_mover import DueMover

broker_transport.register()  # before the app opens a broker connection: a Redis restart must not stop a worker
app = Celery("teleglas")
app.config_from_object("celeryconfig")
log = logging.getLogger(__name__)
_mover: DueMover | None = None


def announce_start(mode: str) -> None:
    """Asks a worker to tell the alert chats this process is online (once per start, not per worker)."""
    start_id = f"{socket.gethostname()}-{os.getpid()}-{time.time():.0f}"
    try:
        app.send_task(TASK_ANNOUNCE_START, args=(mode, start_id), queue=QUEUE_EVENTS)
    except Exception as exc:  # a missing notice must never stop the listener or beat
        log.warning("%s start-up notice not sent: %s", LOG_RUNNER, type(exc).__name__)


@beat_init.connect
def _beat_started(**_kwargs) -> None:
    """Without a stream to read (no WebSocket key, no exchange source) beat is the alert source: it says so.
    Otherwise the listener announces."""
    if not streaming_sources(get_settings()):
        announce_start(MODE_POLLING)
        log.info("%s beat started: no WebSocket key, beat announces the polling fallback", LOG_RUNNER)
    else:
        log.info("%s beat started: the listener announces the stream", LOG_RUNNER)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_worker_logs(logger, **_kwargs) -> None:
    """Celery installs its own handlers; give each one the secret filter (and the JSON format when chosen)."""
    settings = get_settings()
    register_secrets(*settings.secrets())
    install_redaction(logger)
    quiet_token_loggers()
    quiet_routine_tasks(frozenset({TASK_PROCESS_EVENTS}))
    if settings.ops.log_format == "json":
        for handler in logger.handlers:
            handler.setFormatter(formatter_for(settings))


@worker_ready.connect
def _start_heartbeat(sender=None, **_kwargs) -> None:
    """The worker's main process writes a heartbeat to Redis, which the health endpoint reads."""
    settings = get_settings()
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    start_heartbeat(Liveness(redis_client(settings.redis.url)), hostname, settings)


@worker_ready.connect
def _start_due_mover(**_kwargs) -> None:
    """Every worker publishes the delayed work that is due (teleglas.state.due)."""
    global _mover
    _mover = DueMover.for_app(app, DueWork(redis_client(get_settings().redis.url)))
    _mover.start()


@worker_shutdown.connect
def _stop_due_mover(**_kwargs) -> None:
    if _mover is not None:
        _mover.stop()

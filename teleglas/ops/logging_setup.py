"""Logging for every TELEGLAS process: one line per event, component prefix in the message, secrets masked."""

from __future__ import annotations

import json
import logging
import re
import sys

from teleglas.ops.redaction import redact, register_secrets
from teleglas.settings import Settings, SettingsError, get_settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(message)s"


class RedactingFilter(logging.Filter):
    """Masks secrets in the finished message and in the formatted traceback of every record it sees.

    Attached to handlers (not loggers) so records propagated from any library logger pass through it.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format in some library must not hide the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RoutineTaskFilter(logging.Filter):
    """Drops Celery's INFO lines for tasks too routine to tell one by one ("received", "succeeded in"): a cascade
    runs hundreds of event batches a second, whose two lines each cost the worker a tenth of its time and bury
    the engine's own. Their failures and retries still log (WARNING and above), as does every other task."""

    def __init__(self, task_names: frozenset[str]):
        super().__init__()
        self.task_names = task_names

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return record.levelno > logging.INFO or not (isinstance(args, dict) and args.get("name") in self.task_names)


# Where Celery logs a task received (its strategy) and finished (its tracer).
CELERY_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


def quiet_routine_tasks(task_names: frozenset[str]) -> None:
    """Once per process: every handler then sees those tasks' failures only."""
    for name in CELERY_TASK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RoutineTaskFilter) for f in logger.filters):
            logger.addFilter(RoutineTaskFilter(task_names))


class JsonFormatter(logging.Formatter):
    """LOG_FORMAT=json: one object per line, with the component prefix as a field of its own."""

    _COMPONENT = re.compile(r"^\[([A-Z_]+)\]\s*")

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        match = self._COMPONENT.match(message)
        entry = {
            "time": f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}.{int(record.msecs):03d}",
            "level": record.levelname,
            "process": record.processName,
            "logger": record.name,
            "component": match.group(1) if match else None,
            "message": message[match.end() :] if match else message,
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter_for(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.ops.log_format == "json" else logging.Formatter(LOG_FORMAT)


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Adds the redacting filter to every handler of `logger` (default: root) that lacks one."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def setup_logging(settings: Settings) -> None:
    """Configures the root logger for a plain process (listener, bot, emulator, demo)."""
    register_secrets(*settings.secrets())
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        handler.setFormatter(formatter_for(settings))
    root.setLevel(settings.ops.log_level)
    quiet_token_loggers()
    install_redaction(root)


def process_settings(prefix: str) -> Settings | None:
    """A process's settings with its logging set up from them; None (said on stderr, with the process's prefix)
    when the environment is invalid, so each entry point exits 2 instead of printing a traceback."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        logging.basicConfig(level="INFO")
        logging.getLogger("teleglas").error("%s configuration error: %s", prefix, exc)
        return None
    setup_logging(settings)
    return settings


def quiet_token_loggers() -> None:
    """urllib3 at DEBUG prints request lines with the bot token in the path; keep it at INFO or above."""
    urllib3 = logging.getLogger("urllib3")
    urllib3.setLevel(max(logging.INFO, urllib3.getEffectiveLevel()))

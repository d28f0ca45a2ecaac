"""Logging for every TELEGLAS process: one line per event, component prefix in the message, secrets masked."""
from __future__ import annotations

import logging
import sys

from teleglas.redaction import redact, register_secrets
from teleglas.settings import Settings

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
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    quiet_token_loggers()
    install_redaction(root)


def quiet_token_loggers() -> None:
    """urllib3 at DEBUG prints request lines with the bot token in the path; keep it at INFO or above."""
    urllib3 = logging.getLogger("urllib3")
    urllib3.setLevel(max(logging.INFO, urllib3.getEffectiveLevel()))

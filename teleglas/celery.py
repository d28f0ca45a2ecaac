"""The Celery app. Configuration lives in the top-level celeryconfig.py; tasks in teleglas.tasks."""
from __future__ import annotations

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from teleglas.logging_setup import install_redaction, quiet_token_loggers
from teleglas.redaction import register_secrets
from teleglas.settings import get_settings

app = Celery("teleglas")
app.config_from_object("celeryconfig")


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_worker_logs(logger, **_kwargs) -> None:
    """Celery installs its own handlers; give each one the secret filter."""
    register_secrets(*get_settings().secrets())
    install_redaction(logger)
    quiet_token_loggers()

"""send_message: deliver one alert text to one chat. Arguments carry no token; the worker reads it from Settings."""
from __future__ import annotations

import functools
import logging
import time

from celery import shared_task
from celery.signals import worker_process_init

from teleglas.defines import LOG_SENDER, QUEUE_TELEGRAM, TASK_SEND_MESSAGE
from teleglas.delivery.sender import deliver
from teleglas.delivery.telegram import DeliveryError, TelegramClient
from teleglas.settings import get_settings
from teleglas.store import Store, redis_client

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 60
MAX_RETRY_AFTER_S = 300


@functools.lru_cache(maxsize=1)
def _client() -> TelegramClient:
    settings = get_settings()
    return TelegramClient(settings.telegram_api_url, settings.telegram_alert_token, settings.telegram_timeout_s)


@worker_process_init.connect
def _warm_up(**_kwargs) -> None:
    """Checks the token and opens the HTTP and Redis connections in each new pool process, so the first
    alert after a start is as fast as the rest."""
    settings = get_settings()
    try:
        redis_client(settings.redis_url).ping()
        _client().check_token()
    except DeliveryError as exc:
        log.error("%s Telegram check at start failed: %s", LOG_SENDER, exc)
    except Exception as exc:  # a warm-up must never stop a worker from starting
        log.warning("%s warm-up skipped: %s", LOG_SENDER, type(exc).__name__)


@shared_task(name=TASK_SEND_MESSAGE, queue=QUEUE_TELEGRAM, bind=True, max_retries=None)
def send_message(self, chat_id: int | str, text: str, alert_id: str, origin_ms: int | None = None) -> None:
    settings = get_settings()
    try:
        result = deliver(_client(), Store(redis_client(settings.redis_url)), chat_id, text, alert_id, settings.delivery_record_ttl_s)
    except DeliveryError as exc:
        attempt = self.request.retries
        if exc.retryable and attempt < settings.send_max_retries:
            countdown = min(exc.retry_after, MAX_RETRY_AFTER_S) if exc.retry_after is not None else min(2 ** (attempt + 1), MAX_BACKOFF_S)
            log.warning("%s alert=%s chat=%s %s; retry %d/%d in %.1f s", LOG_SENDER, alert_id, chat_id, exc, attempt + 1, settings.send_max_retries, countdown)
            raise self.retry(countdown=countdown, exc=None) from None
        log.error("%s alert=%s chat=%s not delivered: %s", LOG_SENDER, alert_id, chat_id, exc)
        return
    if not result.already_sent:
        latency = f"{time.time() * 1000 - origin_ms:.1f}" if origin_ms else "n/a"
        log.info("%s delivered alert=%s chat=%s message_id=%s frame_to_send_ms=%s", LOG_SENDER, alert_id, chat_id, result.message_id, latency)

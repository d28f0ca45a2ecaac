"""send_message: deliver one alert text to one chat. Arguments carry no token; the worker reads it from Settings."""
from __future__ import annotations

import functools
import logging
import time

from celery import shared_task
from celery.signals import worker_process_init

from teleglas.alert_history import history_from_settings
from teleglas.defines import LOG_SENDER, QUEUE_TELEGRAM, TASK_SEND_MESSAGE
from teleglas.delivery import telegram as tg
from teleglas.delivery.ratelimit import RateLimiter, RateLimits
from teleglas.delivery.sender import RESCHEDULE, SENT, Sender, SendJob
from teleglas.delivery.telegram import DeliveryError, TelegramClient
from teleglas.metrics import recorder
from teleglas.settings import get_settings
from teleglas.store import Store, redis_client

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _sender() -> Sender:
    settings = get_settings()
    client = TelegramClient(settings.telegram_api_url, settings.telegram_alert_token, settings.telegram_timeout_s)
    redis = redis_client(settings.redis_url)
    return Sender(client, Store(redis), RateLimiter(redis, client.bot_id, RateLimits.from_settings(settings)), settings, metrics=recorder(),
                  history=history_from_settings(redis, settings))


@worker_process_init.connect
def _warm_up(**_kwargs) -> None:
    """Checks the token and opens the HTTP and Redis connections in each new pool process, so the first
    alert after a start is as fast as the rest. A token that works again lifts an earlier 401 stop."""
    settings = get_settings()
    try:
        sender = _sender()
        sender.store.redis.ping()
        sender.client.check_token()
        if sender.store.clear_token_invalid(sender.client.token_key):
            log.warning("%s the alert bot token works again: sending resumes (replay dead letters with `python -m teleglas.deadletters replay`)", LOG_SENDER)
    except DeliveryError as exc:
        log.error("%s Telegram check at start failed: %s", LOG_SENDER, exc)
        if exc.reason == tg.UNAUTHORIZED:
            _sender().store.flag_token_invalid(_sender().client.token_key, settings.deadletter_ttl_s)
    except Exception as exc:  # a warm-up must never stop a worker from starting
        log.warning("%s warm-up skipped: %s", LOG_SENDER, type(exc).__name__)


@shared_task(name=TASK_SEND_MESSAGE, queue=QUEUE_TELEGRAM, bind=True, max_retries=None)
def send_message(self, chat_id: int | str, text: str, alert_id: str, origin_ms: int | None = None, **state) -> None:
    job = SendJob.from_task(chat_id, text, alert_id, origin_ms, state)
    outcome = _sender().run(job, owner=self.request.id or "local")
    if outcome.status == RESCHEDULE:
        raise self.retry(args=outcome.job.task_args(), kwargs=outcome.job.task_kwargs(), countdown=outcome.countdown, exc=None)
    if outcome.status == SENT:
        latency = f"{time.time() * 1000 - origin_ms:.1f}" if origin_ms else "n/a"
        ids = ",".join(str(i) for i in outcome.message_ids)
        log.info("%s delivered alert=%s chat=%s message_id=%s frame_to_send_ms=%s", LOG_SENDER, alert_id, outcome.job.chat_id, ids, latency)

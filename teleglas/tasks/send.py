"""send_message: deliver one alert text to one chat; recheck_chat: see whether a disabled chat takes the bot
again. Arguments carry no token; the worker reads it from Settings."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from celery.signals import worker_process_init

from teleglas.defines import LOG_SENDER, QUEUE_TELEGRAM, TASK_RECHECK_CHAT, TASK_SEND_MESSAGE
from teleglas.deliver import telegram as tg
from teleglas.deliver.sender import SendJob, Status
from teleglas.deliver.telegram import DeliveryError
from teleglas.tasks import wiring
from teleglas.tasks.dispatch import send_retry_task
from teleglas.tasks.durable import durable

log = logging.getLogger(__name__)


@worker_process_init.connect
def _warm_up(**_kwargs) -> None:
    """Checks the token and opens the HTTP and Redis connections in each new pool process, so the first
    alert after a start is as fast as the rest. A token that works again lifts an earlier 401 stop."""
    try:
        sender = wiring.sender()
        sender.chats.redis.ping()
        sender.client.check_token()
        if sender.chats.clear_token_invalid(sender.client.token_key):
            log.warning(
                "%s the alert bot token works again: sending resumes (replay dead letters with "
                "`python -m teleglas.ops.deadletters replay`)",
                LOG_SENDER,
            )
    except DeliveryError as exc:
        log.error("%s Telegram check at start failed: %s", LOG_SENDER, exc)
        if exc.reason == tg.UNAUTHORIZED:
            wiring.sender().chats.flag_token_invalid(
                wiring.sender().client.token_key, wiring.settings().delivery.deadletter_ttl_s
            )
    except Exception as exc:  # a warm-up must never stop a worker from starting
        log.warning("%s warm-up skipped: %s", LOG_SENDER, type(exc).__name__)


@shared_task(name=TASK_SEND_MESSAGE, queue=QUEUE_TELEGRAM, bind=True)
@durable
def send_message(
    self,
    chat_id: int | str,
    text: str,
    alert_id: str,
    origin_ms: int | None = None,
    current_ms: int | None = None,
    **state,
) -> None:
    job = SendJob.from_task(chat_id, text, alert_id, origin_ms, current_ms, state)
    outcome = wiring.sender().run(job, owner=self.request.id or "local")
    final = outcome.job or job  # the job as it ended: migrated, re-split or re-encoded
    if outcome.status is Status.LATER:
        wiring.later(send_retry_task(final.task_args(), final.task_kwargs()), outcome.delay_s)
    elif outcome.status is Status.ALREADY_SENT:
        log.info("%s alert=%s chat=%s already delivered: this copy sends nothing", LOG_SENDER, alert_id, chat_id)
    elif outcome.status is Status.SENT:
        latency = f"{time.time() * 1000 - origin_ms:.1f}" if origin_ms else "n/a"
        ids = ",".join(str(i) for i in outcome.message_ids)
        log.info(
            "%s delivered alert=%s chat=%s message_id=%s frame_to_send_ms=%s",
            LOG_SENDER,
            alert_id,
            final.chat_id,
            ids,
            latency,
        )


@shared_task(name=TASK_RECHECK_CHAT, queue=QUEUE_TELEGRAM, bind=True)
@durable
def recheck_chat(self, chat_id: int | str) -> None:
    """A disabled chat is asked again every CHAT_RECHECK_INTERVAL: re-adding the bot heals it."""
    wiring.sender().recheck_chat(chat_id)

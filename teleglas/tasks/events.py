"""process_event: one CoinGlass event in, zero or one alert fanned out to the alert chats."""
from __future__ import annotations

import logging

from celery import shared_task

from teleglas.alerts.engine import evaluate
from teleglas.coinglass.events import PayloadError, event_from_payload
from teleglas.defines import LOG_ENGINE, QUEUE_EVENTS, QUEUE_TELEGRAM, TASK_PROCESS_EVENT
from teleglas.settings import get_settings
from teleglas.store import Store, redis_client
from teleglas.tasks.send import send_message

log = logging.getLogger(__name__)


@shared_task(name=TASK_PROCESS_EVENT, queue=QUEUE_EVENTS, bind=True)
def process_event(self, payload: dict, received_ms: int | None = None) -> None:
    settings = get_settings()
    try:
        event = event_from_payload(payload)
    except (PayloadError, TypeError, ValueError) as exc:
        log.error("%s rejected task payload: %s", LOG_ENGINE, exc)
        return
    store = Store(redis_client(settings.redis_url))
    alert = evaluate(event, settings, store, claimer=self.request.id or "local")
    if alert is None:
        return
    chats = store.active_chats(settings.telegram_alert_chat_ids)
    log.info("%s %s alert %s %s for %d chat(s)", LOG_ENGINE, alert.kind, alert.alert_id, alert.symbol, len(chats))
    for chat_id in chats:
        send_message.apply_async(args=(chat_id, alert.text, alert.alert_id, received_ms), queue=QUEUE_TELEGRAM)

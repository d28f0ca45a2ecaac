"""The send pipeline for one (alert, chat): skip what was already delivered, send, record the message_id.

The one window left open: Telegram accepted the message and the process died before `record_delivery`
ran; a redelivered task then sends it again. The Bot API has no idempotency key, so it cannot be closed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from teleglas.defines import LOG_SENDER
from teleglas.delivery.telegram import TelegramClient
from teleglas.settings import ChatId
from teleglas.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: int
    already_sent: bool


def deliver(client: TelegramClient, store: Store, chat_id: ChatId, text: str, alert_id: str, record_ttl_s: int) -> Delivery:
    previous = store.delivered_message_id(alert_id, chat_id)
    if previous is not None:
        log.info("%s alert=%s chat=%s already delivered as message_id=%s, skipped", LOG_SENDER, alert_id, chat_id, previous)
        return Delivery(previous, already_sent=True)
    message_id = client.send_html(chat_id, text)
    store.record_delivery(alert_id, chat_id, message_id, record_ttl_s)
    return Delivery(message_id, already_sent=False)

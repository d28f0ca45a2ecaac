"""Celery settings for TELEGLAS, all derived from the one Settings object.

Delivery semantics: at-least-once from the broker, made exactly-once at the chat by the tasks themselves
(event claim by fingerprint in process_events, delivery record per (alert, chat) in send_message).
"""
from kombu import Queue

from teleglas.defines import (QUEUE_EVENTS, QUEUE_TELEGRAM, TASK_ANNOUNCE_START, TASK_CHECK_FUNDING, TASK_CHECK_OPEN_INTEREST, TASK_MEASURE_PRICE_MOVES,
                              TASK_FLUSH_AGGREGATE, TASK_FLUSH_DIGEST, TASK_POLL_WHALES, TASK_PROCESS_EVENTS, TASK_SEND_MESSAGE)
from teleglas.settings import get_settings

_settings = get_settings()

broker_url = _settings.celery_broker_url
# Publishing retries on a broker blip; the listener publishes from its own thread so this never blocks reading.
broker_connection_retry_on_startup = True
task_publish_retry = True
task_publish_retry_policy = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}

include = ["teleglas.tasks.events", "teleglas.tasks.send", "teleglas.tasks.polling"]

# A bare `celery -A teleglas worker` consumes both queues; `-Q events` or `-Q telegram` splits them.
task_queues = (Queue(QUEUE_EVENTS), Queue(QUEUE_TELEGRAM))
task_default_queue = QUEUE_EVENTS
task_routes = {
    TASK_PROCESS_EVENTS: {"queue": QUEUE_EVENTS},
    TASK_FLUSH_AGGREGATE: {"queue": QUEUE_EVENTS},
    TASK_FLUSH_DIGEST: {"queue": QUEUE_EVENTS},
    TASK_POLL_WHALES: {"queue": QUEUE_EVENTS},
    TASK_CHECK_FUNDING: {"queue": QUEUE_EVENTS},
    TASK_CHECK_OPEN_INTEREST: {"queue": QUEUE_EVENTS},
    TASK_ANNOUNCE_START: {"queue": QUEUE_EVENTS},
    TASK_SEND_MESSAGE: {"queue": QUEUE_TELEGRAM},
}

task_serializer = "json"
accept_content = ["json"]
# No result backend: nothing reads task results, and results would be one more place a secret could land.
task_ignore_result = True
result_backend = None

# Ack after the task ran, and redeliver when a worker process dies mid-task: nothing is lost,
# which is why every task is idempotent.
task_acks_late = True
task_reject_on_worker_lost = True
# An unacked message (a task running, or held for its countdown) is handed to another worker after this
# many seconds. Every countdown send_message schedules is capped at TELEGRAM_MAX_COUNTDOWN, and Settings
# refuses a visibility timeout that does not exceed it plus one Telegram timeout; otherwise a delayed send
# would be redelivered while still held (harmless thanks to the delivery lease and record, but wasteful).
# Messages of a worker that died are swept back every 10 s once their timeout passed (kombu's default
# sweep is every 100 s), and at once when a worker starts.
broker_transport_options = {
    "visibility_timeout": _settings.celery_visibility_timeout_s,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
# Small prefetch: with acks_late prefetched messages are safe but held back from other workers.
worker_prefetch_multiplier = 4

worker_hijack_root_logger = True
worker_redirect_stdouts = True
timezone = "UTC"
enable_utc = True

# celery beat: the periodic checks, intervals from Settings. A run that waited in the queue longer than its
# interval (workers down) expires instead of piling up behind the next one.
beat_schedule = {
    name: {"task": task, "schedule": interval, "options": {"queue": QUEUE_EVENTS, "expires": interval}}
    for name, task, interval in (
        ("whale-fallback-poll", TASK_POLL_WHALES, _settings.whale_poll_interval_s),
        ("funding-check", TASK_CHECK_FUNDING, _settings.funding_check_interval_s),
        ("open-interest-check", TASK_CHECK_OPEN_INTEREST, _settings.oi_check_interval_s),
        ("price-moves", TASK_MEASURE_PRICE_MOVES, _settings.price_move_interval_s),
    )
}

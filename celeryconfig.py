"""Celery settings for TELEGLAS, all derived from the one Settings object.

Delivery semantics: at-least-once from the broker, made exactly-once at the chat by the tasks themselves
(event claim by fingerprint in process_events, delivery record per (alert, chat) in send_message).
"""

from kombu import Queue

from teleglas.defines import (
    QUEUE_CHARTS,
    QUEUE_EVENTS,
    QUEUE_TELEGRAM,
    TASK_ANNOUNCE_START,
    TASK_CHECK_FUNDING,
    TASK_CHECK_OPEN_INTEREST,
    TASK_DAILY_RECAP,
    TASK_FLUSH_AGGREGATE,
    TASK_FLUSH_DIGEST,
    TASK_MEASURE_PRICE_MOVES,
    TASK_POLL_WHALES,
    TASK_PROCESS_EVENTS,
    TASK_RECHECK_CHAT,
    TASK_RENDER_CHART,
    TASK_SEND_MESSAGE,
)
from teleglas.settings import get_settings

_settings = get_settings()

broker_url = _settings.redis.broker_url
# Publishing retries on a broker blip; the listener publishes from its own thread so this never blocks reading.
broker_connection_retry_on_startup = True
task_publish_retry = True
task_publish_retry_policy = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2}

include = ["teleglas.tasks.events", "teleglas.tasks.send", "teleglas.tasks.polling", "teleglas.tasks.charts"]

# A bare `celery -A teleglas worker` consumes every queue; `-Q events`, `-Q telegram` or `-Q charts` splits them
# (a chart worker of its own, `-Q charts -c 1`, keeps rendering off the processes that send text).
task_queues = (Queue(QUEUE_EVENTS), Queue(QUEUE_TELEGRAM), Queue(QUEUE_CHARTS))
task_default_queue = QUEUE_EVENTS
# Every queue is declared by the workers that consume it, and a publish goes to the anonymous direct exchange
# (Celery's default for a direct queue: the routing key is the list), which needs no declaration: "declare": []
# skips kombu's per-publish check, a third of a publish's time (copies of the queue and its exchange each time).
task_routes = {
    task: {"queue": queue, "declare": []}
    for task, queue in {
        TASK_PROCESS_EVENTS: QUEUE_EVENTS,
        TASK_FLUSH_AGGREGATE: QUEUE_EVENTS,
        TASK_FLUSH_DIGEST: QUEUE_EVENTS,
        TASK_POLL_WHALES: QUEUE_EVENTS,
        TASK_CHECK_FUNDING: QUEUE_EVENTS,
        TASK_CHECK_OPEN_INTEREST: QUEUE_EVENTS,
        TASK_ANNOUNCE_START: QUEUE_EVENTS,
        TASK_MEASURE_PRICE_MOVES: QUEUE_EVENTS,
        TASK_SEND_MESSAGE: QUEUE_TELEGRAM,
        TASK_RECHECK_CHAT: QUEUE_TELEGRAM,
        TASK_RENDER_CHART: QUEUE_CHARTS,
        TASK_DAILY_RECAP: QUEUE_CHARTS,
    }.items()
}

task_serializer = "json"
accept_content = ["json"]
# No result backend: nothing reads task results, and results would be one more place a secret could land.
task_ignore_result = True
result_backend = None

# Ack after the task ran, and redeliver when a worker process dies mid-task: nothing is lost, which is why
# every task is idempotent. A task that raised is retried by teleglas.tasks.durable, never acked away.
task_acks_late = True
task_reject_on_worker_lost = True
# No message waits inside a worker: every delay (digest flushes, cooldown summaries, rate-limit slots, 429s,
# retries) is due work in Redis (teleglas.state.due), published when due. So the visibility timeout only has
# to cover a running task, and a worker killed at any instant costs that long: its unacknowledged messages
# are handed to another worker once their timeout passed. Every worker sweeps for them each second
# (kombu's default is every 100 s), and the sweep's lock expires in 10 s, so a worker killed while
# sweeping cannot hold the others off for kombu's default of 5 minutes.
broker_transport_options = {
    "visibility_timeout": _settings.redis.visibility_timeout_s,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    "unacked_mutex_expire": 10,
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
        ("whale-fallback-poll", TASK_POLL_WHALES, _settings.beat.whale_poll_interval_s),
        ("funding-check", TASK_CHECK_FUNDING, _settings.beat.funding_check_interval_s),
        ("open-interest-check", TASK_CHECK_OPEN_INTEREST, _settings.beat.oi_check_interval_s),
        ("price-moves", TASK_MEASURE_PRICE_MOVES, _settings.beat.price_move_interval_s),
    )
}

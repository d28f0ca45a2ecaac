"""The latency floor: a two-hop no-op Celery chain with TELEGLAS's own Celery settings (celeryconfig.py: acks
late, prefetch, the same broker), on a queue of its own. hop1 publishes hop2; hop2 records how long it took
from hop1's publication. Run as `celery -A bench.floor_app worker -Q floor -c 2`."""

from __future__ import annotations

import time

from celery import Celery
from kombu import Queue

from teleglas.settings import get_settings
from teleglas.state.client import redis_client

QUEUE = "floor"
RESULTS = "bench:floor:latency"

app = Celery("bench_floor")
app.config_from_object("celeryconfig")
app.conf.include = []
app.conf.task_queues = (Queue(QUEUE),)
app.conf.task_default_queue = QUEUE
app.conf.task_routes = {}


@app.task(name="bench.hop1")
def hop1(published_at: float) -> None:
    hop2.delay(published_at)


@app.task(name="bench.hop2")
def hop2(published_at: float) -> None:
    redis_client(get_settings().redis.url).rpush(RESULTS, time.time() - published_at)

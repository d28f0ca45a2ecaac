"""A worker's heartbeat: its main process writes the time to Redis every WORKER_HEARTBEAT_INTERVAL, so the
health report can tell a worker that is up from one that is gone."""

from __future__ import annotations

import logging
import threading
import time

from teleglas.defines import LOG_RUNNER
from teleglas.settings import Settings
from teleglas.state.liveness import Liveness

log = logging.getLogger(__name__)


def start_heartbeat(liveness: Liveness, hostname: str, settings: Settings) -> threading.Thread:
    ttl = max(1, int(settings.ops.worker_heartbeat_stale_s * 2))

    def beat() -> None:
        while True:
            try:
                liveness.write_worker_heartbeat(hostname, ttl)
            except Exception as exc:  # Redis away: the next beat tries again
                log.debug("%s heartbeat not written: %s", LOG_RUNNER, type(exc).__name__)
            time.sleep(settings.ops.worker_heartbeat_interval_s)

    thread = threading.Thread(target=beat, name="worker-heartbeat", daemon=True)
    thread.start()
    return thread

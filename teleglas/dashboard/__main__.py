"""`python -m teleglas.dashboard`: the live dashboard on DASHBOARD_HOST:DASHBOARD_PORT (127.0.0.1:8082), read-only,
behind basic auth (DASHBOARD_USER / DASHBOARD_PASSWORD, not Flower's admin pair). It shows alert texts and chat ids,
so it never runs open."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from teleglas.dashboard.analytics_view import AlertAnalytics
from teleglas.dashboard.history_mirror import HistoryMirror
from teleglas.dashboard.live import LiveStatus
from teleglas.dashboard.market_view import MarketView
from teleglas.dashboard.server import DashboardServer, Refresher
from teleglas.defines import LOG_RUNNER
from teleglas.ops.logging_setup import process_settings
from teleglas.state.client import redis_client
from teleglas.state.history import history_from_settings
from teleglas.state.system import SystemState

log = logging.getLogger("teleglas.dashboard")


def main() -> int:
    settings = process_settings(LOG_RUNNER)
    if settings is None:
        return 2
    if not (settings.ops.dashboard_user and settings.ops.dashboard_password):
        log.error(
            "%s the dashboard needs DASHBOARD_USER and DASHBOARD_PASSWORD (basic auth); it does not run without them "
            "(MONITOR_USER/MONITOR_PASSWORD are no longer read)",
            LOG_RUNNER,
        )
        return 2
    client = redis_client(settings.redis.url)
    history = history_from_settings(client, settings)
    refresher = Refresher(
        LiveStatus(SystemState.of(client), settings),
        HistoryMirror(history),
        MarketView(client),
        AlertAnalytics(history),
    )
    try:
        server = DashboardServer(
            settings.ops.dashboard_port,
            settings.ops.dashboard_user,
            settings.ops.dashboard_password,
            refresher,
            host=settings.ops.dashboard_host,
        )
    except OSError as exc:
        log.error(
            "%s dashboard cannot listen on %s:%d: %s",
            LOG_RUNNER,
            settings.ops.dashboard_host,
            settings.ops.dashboard_port,
            exc.strerror,
        )
        return 1
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    refresher.start()
    server.start()
    log.info(
        "%s dashboard on %s:%d (basic auth as %s)",
        LOG_RUNNER,
        settings.ops.dashboard_host,
        server.port,
        settings.ops.dashboard_user,
    )
    stopping.wait()
    refresher.stop()
    server.stop()
    log.info("%s dashboard stopped", LOG_RUNNER)
    return 0


if __name__ == "__main__":
    sys.exit(main())

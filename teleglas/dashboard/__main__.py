"""`python -m teleglas.dashboard`: the live dashboard on DASHBOARD_PORT (default 8082), read-only, behind basic
auth (MONITOR_USER / MONITOR_PASSWORD, as Flower). It shows alert texts and chat ids, so it never runs open."""

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
from teleglas.ops.logging_setup import setup_logging
from teleglas.settings import SettingsError, get_settings
from teleglas.state.client import redis_client
from teleglas.state.history import history_from_settings
from teleglas.state.system import SystemState

log = logging.getLogger("teleglas.dashboard")


def main() -> int:
    try:
        settings = get_settings()
    except SettingsError as exc:
        logging.basicConfig(level="INFO")
        log.error("%s configuration error: %s", LOG_RUNNER, exc)
        return 2
    setup_logging(settings)
    if not (settings.ops.monitor_user and settings.ops.monitor_password):
        log.error(
            "%s the dashboard needs MONITOR_USER and MONITOR_PASSWORD (basic auth); it does not run without them",
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
            settings.ops.dashboard_port, settings.ops.monitor_user, settings.ops.monitor_password, refresher
        )
    except OSError as exc:
        log.error("%s dashboard cannot listen on :%d: %s", LOG_RUNNER, settings.ops.dashboard_port, exc.strerror)
        return 1
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    refresher.start()
    server.start()
    log.info("%s dashboard on :%d (basic auth as %s)", LOG_RUNNER, server.port, settings.ops.monitor_user)
    stopping.wait()
    refresher.stop()
    server.stop()
    log.info("%s dashboard stopped", LOG_RUNNER)
    return 0


if __name__ == "__main__":
    sys.exit(main())

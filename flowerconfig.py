"""Flower's configuration (`celery -A teleglas flower` reads ./flowerconfig.py): basic auth from Settings.

Flower is the admin's tool: with basic auth on, its API can send any task (`teleglas.send_message`: any text to
any chat), revoke tasks and shut workers down. So it has a pair of its own, FLOWER_USER / FLOWER_PASSWORD, apart
from the read-only dashboard's, and never runs open: without them it stops at start with a message saying so.
(Flower treats every FLOWER_* environment variable as one of its own options, which is why TELEGLAS's names for
these do not start with FLOWER_.)
"""

import sys

from teleglas.settings import SettingsError, get_settings

try:
    _settings = get_settings()
except SettingsError as exc:
    sys.stderr.write(f"[RUNNER] configuration error: {exc}\n")
    raise SystemExit(2) from None
if not (_settings.ops.flower_user and _settings.ops.flower_password):
    sys.stderr.write(
        "[RUNNER] Flower needs FLOWER_USER and FLOWER_PASSWORD (basic auth; its API can send any message to any "
        "chat); it does not run without them. MONITOR_USER/MONITOR_PASSWORD are no longer read: the read-only "
        "dashboard has DASHBOARD_USER/DASHBOARD_PASSWORD\n"
    )
    raise SystemExit(2)

basic_auth = [f"{_settings.ops.flower_user}:{_settings.ops.flower_password}"]
# Task arguments are alert texts and chat ids (no secret is ever in one); keep them readable, not truncated.
max_tasks = 10_000

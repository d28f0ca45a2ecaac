"""Flower's configuration (`celery -A teleglas flower` reads ./flowerconfig.py): basic auth from Settings.

Flower shows task arguments, so it never runs open: without MONITOR_USER and MONITOR_PASSWORD it stops at
start with a message saying so. (Flower treats every FLOWER_* environment variable as one of its own
options, which is why TELEGLAS's names for these do not start with FLOWER_.)
"""

import sys

from teleglas.settings import get_settings

_settings = get_settings()
if not (_settings.ops.monitor_user and _settings.ops.monitor_password):
    sys.stderr.write(
        "[RUNNER] Flower needs MONITOR_USER and MONITOR_PASSWORD (basic auth); it does not run without them\n"
    )
    raise SystemExit(2)

basic_auth = [f"{_settings.ops.monitor_user}:{_settings.ops.monitor_password}"]
# Task arguments are alert texts and chat ids (no secret is ever in one); keep them readable, not truncated.
max_tasks = 10_000

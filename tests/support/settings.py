"""Settings from exactly the variables a test names: no process environment, no .env file."""

from __future__ import annotations

import os
from pathlib import Path

from teleglas.settings import Settings, load_settings

NO_ENV_FILE = Path(os.devnull)


def make_settings(**environment: str) -> Settings:
    return load_settings(environment, env_file=NO_ENV_FILE)

"""Shared fixtures. Integration fixtures start real processes through teleglas.devstack.local_stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from teleglas.settings import Settings, load_settings

NO_ENV_FILE = Path(os.devnull)


def make_settings(**environment: str) -> Settings:
    """Settings from exactly `environment` (no process environment, no .env file)."""
    return load_settings(environment, env_file=NO_ENV_FILE)


@pytest.fixture
def settings() -> Settings:
    return make_settings(TELEGRAM_ALERT_CHAT_IDS="-1001000000001")

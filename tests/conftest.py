"""Fixtures shared by every test; helpers live in tests/support/. Integration tests (tests/integration/) get the
`integration` marker here, so `pytest -m "not integration"` is the seconds-long unit run."""

from __future__ import annotations

from pathlib import Path

import pytest

from teleglas.settings import Settings
from tests.support.settings import make_settings

INTEGRATION = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `pytestmark` in a conftest marks nothing; mark the items under tests/integration/ (and only those)."""
    for item in items:
        if INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def settings() -> Settings:
    return make_settings(TELEGRAM_ALERT_CHAT_IDS="-1001000000001")

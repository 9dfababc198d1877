"""Fixtures for the command tests: settings pointing at a server (``dead_url`` and
``hung_url`` are in tests/conftest.py, shared with the voice tests)."""

from __future__ import annotations

import pytest

from commands_helpers import settings_for


@pytest.fixture
def live_settings(live_server):
    settings = settings_for(live_server.base_url, timeout_seconds=120)
    # the model's fix: rewrite always runs to the end here, however busy the machine is
    # (the time budget itself is tested against a server that never answers)
    settings.setdefault("fix", {})["rewrite_budget_ms"] = 0
    return settings

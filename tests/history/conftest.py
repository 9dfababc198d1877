"""Fixtures for the history tests: a movable clock and a store in the test's data dir."""

from __future__ import annotations

import pytest

from assistant.history.store import HistoryStore

from history_helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock):
    s = HistoryStore(clock=clock, retention_days=30)
    yield s
    s.close()

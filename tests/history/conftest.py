"""Fixtures for the history tests: a movable clock and a store in the test's data dir."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from assistant.history.store import HistoryStore


class FakeClock:
    """An injectable clock (aware UTC) that tests move by hand."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock):
    s = HistoryStore(clock=clock, retention_days=30)
    yield s
    s.close()


def add_sample(store, **overrides) -> int:
    fields = dict(source="typed", prefix="fix:", command="fix", input="teh cat sat on teh mat",
                  output="The cat sat on the mat.", model="gemma3:270m", status="ok",
                  timings={"total_ms": 812.5, "eval_ms": 300.0})
    fields.update(overrides)
    return store.add(**fields)

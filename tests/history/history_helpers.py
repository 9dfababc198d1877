"""Helpers for the history tests (a uniquely named module: test dirs share sys.path)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class FakeClock:
    """An injectable clock (aware UTC) that tests move by hand."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def add_sample(store, **overrides) -> int:
    fields = dict(source="typed", prefix="fix:", command="fix", input="teh cat sat on teh mat",
                  output="The cat sat on the mat.", model="gemma3:270m", status="ok",
                  timings={"total_ms": 812.5, "eval_ms": 300.0})
    fields.update(overrides)
    return store.add(**fields)

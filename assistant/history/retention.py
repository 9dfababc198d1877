"""Retention: which records are too old, and a small timer that sweeps every hour.

``retention_days = 0`` keeps nothing at all. Clocks are injectable: a clock is a function
returning an aware UTC datetime."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Callable

DEFAULT_RETENTION_DAYS = 30
SWEEP_INTERVAL_SECONDS = 3600.0


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (as stored)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def cutoff(now: datetime, retention_days: float) -> datetime | None:
    """Records created before this moment are expired; None = everything is (days == 0)."""
    if retention_days <= 0:
        return None
    return as_utc(now) - timedelta(days=retention_days)


def is_expired(created_at: datetime, now: datetime, retention_days: float) -> bool:
    limit = cutoff(now, retention_days)
    return limit is None or as_utc(created_at) < limit


class RetentionTimer:
    """Calls ``sweep()`` every ``interval`` seconds on a daemon thread until ``stop()``."""

    def __init__(self, sweep: Callable[[], int], interval: float = SWEEP_INTERVAL_SECONDS):
        self._sweep = sweep
        self.interval = float(interval)
        self._stop = threading.Event()
        self.runs = 0
        self.last_error: Exception | None = None
        self._thread = threading.Thread(target=self._loop, name="history-retention", daemon=True)

    def start(self) -> "RetentionTimer":
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._sweep()
                self.last_error = None
            except Exception as exc:  # a locked or missing DB must not kill the timer
                self.last_error = exc
            self.runs += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

"""A history store opened on first use.

Opening :class:`~assistant.history.store.HistoryStore` imports SQLAlchemy and Alembic and runs
the migrations and a retention sweep: about half a second of CPU. A one-shot command such as
``hushtype do`` only writes its record after the answer has come back, so it hands the
pipeline this proxy and sends its request first. ``clock`` is answered without opening the
database; anything else opens it once and is passed through.
"""

from __future__ import annotations

import threading
from typing import Callable

from assistant.history.retention import utc_now


class LazyHistoryStore:
    def __init__(self, factory: Callable[[], object] | None = None, *, clock=None,
                 retention_days: float | None = None) -> None:
        self.clock = clock or utc_now
        self._factory = factory or self._default_factory(retention_days)
        self._store = None
        self._lock = threading.Lock()

    def _default_factory(self, retention_days):
        def open_store():
            from assistant.history.store import HistoryStore

            return HistoryStore(clock=self.clock, retention_days=retention_days)
        return open_store

    @property
    def opened(self) -> bool:
        return self._store is not None

    def store(self):
        """The real store, opened now if it was not yet."""
        with self._lock:
            if self._store is None:
                self._store = self._factory()
            return self._store

    def __getattr__(self, name):  # only called for attributes this proxy does not have
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.store(), name)

"""The private command history: SQLite through SQLAlchemy, schema by Alembic, retention sweep,
secure wipe, and the ``hushtype history`` / ``hushtype privacy`` commands.

``HistoryStore`` is imported on first use, so that ``hushtype`` commands that never touch the
history (and ``--help``) do not pay for SQLAlchemy and Alembic at start-up."""

__all__ = ["HistoryStore"]


def __getattr__(name):
    if name == "HistoryStore":
        from assistant.history.store import HistoryStore

        return HistoryStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

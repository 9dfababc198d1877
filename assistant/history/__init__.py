"""The private command history: SQLite through SQLAlchemy, schema by Alembic, retention sweep,
secure wipe, and the ``hushtype history`` / ``hushtype privacy`` commands."""

from assistant.history.store import HistoryStore

__all__ = ["HistoryStore"]

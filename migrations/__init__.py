"""Alembic environment and revisions of the history database (applied automatically at
start-up by ``assistant.history.db.migrate``)."""

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent

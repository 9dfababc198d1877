"""Alembic environment for the history database.

hushtype runs migrations itself (``assistant.history.db.migrate``) and passes an open
connection in ``config.attributes["connection"]``. Run by hand, ``sqlalchemy.url`` names the file:
``alembic -x db=/path/history.sqlite3 upgrade head`` with ``script_location`` = this folder.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from assistant.history.models import Base

target_metadata = Base.metadata
config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True)  # SQLite needs batch mode to alter tables
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    db = context.get_x_argument(as_dictionary=True).get("db")
    url = f"sqlite:///{db}" if db else config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url") or "sqlite://",
                      target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

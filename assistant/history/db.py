"""Opening the history database: private file modes, SQLite pragmas, Alembic upgrade.

* the file is created 0600 (its WAL and shared-memory files inherit the mode) in a 0700
  directory;
* WAL + a busy timeout let the assistant and the settings page write at the same time; write
  transactions start with ``BEGIN IMMEDIATE`` so two writers queue instead of failing;
* ``secure_delete`` overwrites deleted rows with zeros; ``temp_store = MEMORY`` keeps VACUUM's
  temporary copy off the disk.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command as alembic_command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

from migrations import MIGRATIONS_DIR

BUSY_TIMEOUT_MS = 15000


def prepare_private_file(path: Path) -> None:
    """Create ``path`` (0600) and its directory (0700) if missing; tighten modes if not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)


def make_engine(path: Path) -> Engine:
    prepare_private_file(path)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA secure_delete = ON")
        cur.execute("PRAGMA temp_store = MEMORY")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (an old database upgrades in place)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
        alembic_command.upgrade(alembic_config(conn), revision)

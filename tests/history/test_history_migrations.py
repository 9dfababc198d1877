"""Alembic migrations on real SQLite files: from nothing, from an empty file, and an old
database (revision 1, with data) upgraded in place at start-up."""

from __future__ import annotations

import sqlite3

from sqlalchemy import inspect, text

from assistant.history.db import current_revision, head_revision, make_engine, migrate
from assistant.history.store import HistoryStore


def test_new_database_is_created_at_head(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path, retention_days=30)
    assert current_revision(store.engine) == head_revision() == "0002"
    cols = {c["name"] for c in inspect(store.engine).get_columns("commands")}
    assert {"timings", "note", "command", "input_text", "output_text"} <= cols
    assert "duration_ms" not in cols


def test_empty_file_is_migrated(tmp_path):
    path = tmp_path / "empty.sqlite3"
    path.write_bytes(b"")
    store = HistoryStore(path, retention_days=30)
    assert store.add(prefix="fix:", input="a", output="b", model="m") is not None
    assert current_revision(store.engine) == "0002"


def test_revision_1_database_with_data_upgrades_in_place(tmp_path):
    path = tmp_path / "old.sqlite3"
    engine = make_engine(path)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO commands (created_at, source, prefix, input_text, output_text, model, status, error, duration_ms) "
            "VALUES ('2026-10-30 08:00:00.000000', 'voice', 'sum:', 'a long old text', 'old summary', 'llama3', 'ok', NULL, 1234),"
            "       ('2026-10-31 09:00:00.000000', 'typed', 'fix:', 'teh old', NULL, 'gemma3:270m', 'failed', 'server down', NULL)"))
    engine.dispose()

    # the store applies the follow-up revision at start-up
    from datetime import datetime, timezone
    store = HistoryStore(path, retention_days=30, clock=lambda: datetime(2026, 11, 1, tzinfo=timezone.utc))
    assert current_revision(store.engine) == "0002"
    old = store.list()
    assert [(r["prefix"], r["input"], r["output"], r["status"], r["error"], r["timings"]) for r in old] == [
        ("fix:", "teh old", None, "failed", "server down", {}),
        ("sum:", "a long old text", "old summary", "ok", None, {"total_ms": 1234}),
    ]
    assert old[1]["created_at"] == "2026-10-30T08:00:00Z" and old[1]["source"] == "voice"
    new_id = store.add(prefix="gen:", input="new", output="x", model="m", timings={"total_ms": 5})
    assert store.get(new_id)["timings"] == {"total_ms": 5}
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("commands")}
    assert "ix_commands_created_at" in indexes
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_downgrade_to_revision_1_keeps_durations(tmp_path):
    from alembic import command

    from assistant.history.db import alembic_config

    path = tmp_path / "down.sqlite3"
    store = HistoryStore(path, retention_days=30)
    store.add(prefix="fix:", input="x", output="y", model="m", timings={"total_ms": 42})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    con = sqlite3.connect(path)
    assert con.execute("SELECT input_text, duration_ms FROM commands").fetchall() == [("x", 42)]
    con.close()

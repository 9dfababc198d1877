"""A damaged history database costs neither the old file nor a working assistant: it is moved
aside with a timestamp (byte for byte, never deleted), a fresh one is started, and the user is
told where the old one is: `hushtype up`'s log and a desktop notification, `hushtype doctor`,
the Privacy tab and `hushtype privacy`. A database that is merely busy is left alone."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import httpx
from faults_helpers import start_up

from assistant import paths
from assistant.history import recovery
from assistant.history.store import HistoryStore


def _healthy_db_with_rows(path: Path, rows: int = 400) -> None:
    store = HistoryStore(path, retention_days=30)
    for i in range(rows):
        store.add(prefix="fix:", input=f"entry {i} " + "x" * 200, output="y" * 200, model="m")
    store.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode = DELETE")
    con.close()


def _corrupt_pages(path: Path) -> None:
    """Keep the header (so it still looks like SQLite) and scribble over the b-tree pages."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    for offset in range(page * 2, len(data) - page, page * 3):
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def _moved_aside(db: Path) -> list[Path]:
    return sorted(p for p in db.parent.iterdir() if p.name.startswith(db.name + ".damaged-"))


def test_a_file_that_is_not_sqlite_is_moved_aside_and_a_fresh_history_starts(hushtype_home):
    db = paths.history_db()
    db.parent.mkdir(parents=True, exist_ok=True)
    garbage = b"this is not a database\n" * 100
    db.write_bytes(garbage)
    store = HistoryStore(retention_days=30)
    assert store.recovered is not None and "not an SQLite database" in store.recovered.reason
    [aside] = _moved_aside(db)
    assert aside.read_bytes() == garbage, "the damaged file is kept byte for byte"
    assert aside.name.startswith("history.sqlite3.damaged-2") and aside.name.endswith("Z")
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert store.recovered.moved_to == str(aside)
    new_id = store.add(prefix="fix:", input="after", output="After.", model="m")
    assert store.get(new_id)["input"] == "after"
    store.close()
    notes = recovery.notes_path(db)
    assert stat.S_IMODE(notes.stat().st_mode) == 0o600
    assert [n.moved_to for n in recovery.read_notes(notes)] == [str(aside)]
    # opening again finds a healthy file: nothing more is moved
    assert HistoryStore(retention_days=30).recovered is None
    assert len(_moved_aside(db)) == 1


def test_a_database_failing_integrity_check_is_moved_aside(hushtype_home):
    db = paths.history_db()
    _healthy_db_with_rows(db)
    _corrupt_pages(db)
    damaged = db.read_bytes()
    assert recovery.damage(db) is not None
    store = HistoryStore(retention_days=30)
    assert store.recovered is not None
    assert "integrity_check" in store.recovered.reason or "malformed" in store.recovered.reason
    [aside] = _moved_aside(db)
    assert aside.read_bytes() == damaged
    assert store.list() == []
    store.close()


def test_a_busy_database_is_never_moved(tmp_path):
    db = tmp_path / "history.sqlite3"
    _healthy_db_with_rows(db, rows=5)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # rollback-journal mode: readers are locked out meanwhile
    try:
        assert recovery.damage(db, busy_timeout=0.2) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert recovery.damage(db) is None and not _moved_aside(db)


def test_doctor_privacy_report_and_page_name_the_moved_file(hushtype_home):
    from assistant.history.privacy import privacy_report, render_report
    from assistant.service.doctor import check_history

    db = paths.history_db()
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"\x00garbage" * 50)
    [before] = check_history()
    assert not before.ok and "is damaged" in before.detail  # doctor sees it before anything opened it
    HistoryStore(retention_days=30).close()
    [aside] = _moved_aside(db)
    [check] = check_history()
    assert not check.ok and str(aside) in check.detail and "moved aside" in check.detail
    report = privacy_report()
    assert [d["moved_to"] for d in report["damaged_history"]] == [str(aside)]
    assert "damaged history database, moved aside" in next(
        f["purpose"] for f in report["files"] if f["path"] == str(aside))
    assert str(aside) in render_report(report)

    from assistant.settings.backend import SettingsBackend
    from assistant.settings.server import SettingsServer

    backend = SettingsBackend(None)
    server = SettingsServer(backend, port=0).start()
    try:
        with httpx.Client(trust_env=False, follow_redirects=True, timeout=10) as client:
            assert client.get(server.url).status_code == 200
            page = client.get(server.base_url + "/privacy")
        assert page.status_code == 200
        assert "The history database was damaged" in page.text and str(aside) in page.text
    finally:
        server.stop()
        backend.close()


def test_up_moves_it_aside_logs_and_notifies(live_server, tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "history.sqlite3").write_bytes(b"not sqlite at all" * 64)
    up = start_up(home, live_server.host, tmp_path)
    try:
        log = up.wait_log("hushtype is up")
        [aside] = _moved_aside(home / "history.sqlite3")
        assert f"moved aside to {aside}" in log
        assert f"moved aside to {aside}" in (home / "logs" / "hushtype.log").read_text()
        shown = up.shown()
        assert "history database was damaged" in shown and str(aside) in shown
        assert aside.read_bytes() == b"not sqlite at all" * 64
    finally:
        up.stop()

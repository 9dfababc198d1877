"""What is left on disk: the wipe byte-grep, deleted records, file modes, concurrent writers."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant import paths
from assistant.history.store import HistoryStore

SECRET = "zebra-PASSPHRASE-93517-quokka"


def raw_hits(root: Path, needle: str) -> list[str]:
    """Every file under ``root`` whose raw bytes contain ``needle`` (UTF-8 or UTF-16)."""
    hits = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            data = (Path(dirpath) / name).read_bytes()
            if needle.encode() in data or needle.encode("utf-16-le") in data:
                hits.append(name)
    return hits


def fill(store: HistoryStore, n: int = 60) -> None:
    for i in range(n):
        store.add(prefix="fix:", input=f"note {i}: my {SECRET} is here " + "x" * 300,
                  output=f"Note {i}: my {SECRET} is here.", model="gemma3:270m",
                  error=None if i % 5 else f"error mentioning {SECRET}",
                  status="ok" if i % 5 else "failed")


def test_wipe_leaves_nothing_recoverable_in_any_file(hushtype_home):
    store = HistoryStore(retention_days=30)
    fill(store)
    other = HistoryStore(retention_days=30)   # e.g. the settings page, open at the same time
    assert other.list(limit=3)
    assert raw_hits(hushtype_home, SECRET), "the grep must see the secret before the wipe"
    store.wipe()
    assert store.list() == [] and other.list() == []
    assert raw_hits(hushtype_home, SECRET) == []
    # the database still works afterwards
    assert store.add(prefix="sum:", input="after", output="ok", model="m") is not None
    con = sqlite3.connect(paths.history_db())
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_deleting_a_record_scrubs_its_text(hushtype_home):
    store = HistoryStore(retention_days=30)
    for i in range(20):
        store.add(prefix="fix:", input=f"harmless text {i}", output="ok", model="m")
    rid = store.add(prefix="fix:", input=f"my {SECRET}", output=f"My {SECRET}.", model="m")
    assert raw_hits(hushtype_home, SECRET)
    assert store.delete(rid)
    assert raw_hits(hushtype_home, SECRET) == []
    assert len(store.list()) == 20


def test_files_are_owner_only_even_with_a_permissive_umask(hushtype_home, tmp_path):
    old = os.umask(0)
    try:
        os.chmod(hushtype_home, 0o755)
        store = HistoryStore(retention_days=30)
        store.add(prefix="fix:", input="x", output="y", model="m")
        store.export(tmp_path / "out.json")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(hushtype_home) == 0o700
    db = paths.history_db()
    assert mode(db) == 0o600
    for side in (Path(str(db) + "-wal"), Path(str(db) + "-shm")):
        assert side.exists() and mode(side) == 0o600
    assert mode(tmp_path / "out.json") == 0o600


WRITER = textwrap.dedent("""
    import sys
    from assistant.history.store import HistoryStore
    store = HistoryStore(retention_days=30)
    for i in range(int(sys.argv[2])):
        store.add(source=sys.argv[1], prefix="fix:", input=f"{sys.argv[1]} {i}", output="o", model="m")
        if i % 20 == 0:
            store.list(limit=5)
            store.sweep()
    print("done")
""")


def test_two_processes_write_concurrently(hushtype_home):
    HistoryStore(retention_days=30).close()  # both writers find the schema in place... or not:
    paths.history_db().unlink()              # start from nothing so migrations race too
    env = dict(os.environ, HUSHTYPE_HOME=str(hushtype_home))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, name, "150"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("typed", "voice")]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    store = HistoryStore(retention_days=30)
    records = store.list(limit=None)
    assert len(records) == 300
    for name in ("typed", "voice"):
        assert sorted(int(r["input"].split()[1]) for r in records if r["source"] == name) == list(range(150))
    con = sqlite3.connect(paths.history_db())
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("BEGIN")
    con.execute("SELECT count(*) FROM commands").fetchone()  # a read snapshot, held open
    print("holding", flush=True)
    sys.stdin.readline()
    con.execute("COMMIT")
""")


def test_wipe_while_another_process_holds_a_read_says_so_then_succeeds(hushtype_home):
    from assistant.history.store import HistoryBusy

    store = HistoryStore(retention_days=30)
    fill(store, 20)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(paths.history_db())],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(HistoryBusy, match="run `hushtype history wipe` again"):
            store.wipe(wait_seconds=0.5)  # the reader's snapshot pins the log
        assert store.list() == []         # the records are gone all the same
    finally:
        holder.communicate("\n", timeout=30)
    store.wipe(wait_seconds=0.5)
    assert raw_hits(hushtype_home, SECRET) == []

"""A damaged history database is moved aside, never deleted, and a fresh one takes its place.

"Damaged" means SQLite itself says so: the file is not a database (``SQLITE_NOTADB``), it is
malformed (``SQLITE_CORRUPT``), or ``PRAGMA integrity_check`` reports problems. A database that
is only busy or locked is never touched. The file (and its ``-wal``/``-shm``/``-journal``
companions) is renamed to ``history.sqlite3.damaged-<UTC time>`` in the same directory, and a
note about it is appended to ``history-damaged.json`` (0600) so that ``hushtype up`` (log and
notification), ``hushtype doctor`` and the Privacy tab can tell the user where it is.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger("hushtype.history")
SQLITE_HEADER = b"SQLite format 3\x00"
NOTES_NAME = "history-damaged.json"
COMPANIONS = ("-wal", "-shm", "-journal")


@dataclass
class MovedAside:
    original: str      # the path the database had
    moved_to: str      # where it is now
    reason: str        # what SQLite said
    at: str            # ISO 8601 UTC


def damage(path: Path, busy_timeout: float = 15.0) -> str | None:
    """Why ``path`` is not a usable SQLite database, or None (missing/empty/healthy/busy)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None  # a new file: SQLite writes the header on first use
    with open(path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        return "not an SQLite database (wrong file header)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=busy_timeout)
    except sqlite3.OperationalError:
        return None  # cannot open it now (permissions, busy): not evidence of damage
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.OperationalError:
        return None  # locked or busy: leave it alone
    except sqlite3.DatabaseError as exc:  # SQLITE_NOTADB, SQLITE_CORRUPT
        return f"SQLite: {exc}"
    finally:
        conn.close()
    problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
    if problems:
        shown = "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")
        return f"integrity_check failed: {shown}"
    return None


def notes_path(db_path: Path) -> Path:
    return db_path.with_name(NOTES_NAME)


def move_aside(path: Path, reason: str, now: datetime | None = None) -> MovedAside:
    """Rename the database and its companions out of the way; record a note; return it."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, target)
    os.chmod(target, 0o600)
    for suffix in COMPANIONS:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    note = MovedAside(original=str(path), moved_to=str(target), reason=reason,
                      at=now.isoformat().replace("+00:00", "Z"))
    try:
        _append_note(notes_path(path), note)
    except OSError as exc:  # e.g. a full disk: the move itself is done and reported by the caller
        log.warning("could not record where the damaged history went: %s", exc)
    return note


def recover(path: Path, now: datetime | None = None) -> MovedAside | None:
    """Move ``path`` aside when it is damaged; None when it is fine."""
    reason = damage(path)
    if reason is None:
        return None
    return move_aside(path, reason, now)


def _append_note(notes: Path, note: MovedAside) -> None:
    existing = read_notes(notes)
    existing.append(note)
    tmp = notes.with_name(notes.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump([asdict(n) for n in existing], fh, indent=2)
    os.replace(tmp, notes)


def read_notes(notes: Path) -> list[MovedAside]:
    """The recorded move-asides whose files still exist (the user may have deleted them)."""
    try:
        raw = json.loads(notes.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = []
    for item in raw if isinstance(raw, list) else []:
        try:
            note = MovedAside(**{k: str(item[k]) for k in ("original", "moved_to", "reason", "at")})
        except (KeyError, TypeError):
            continue
        if Path(note.moved_to).exists():
            out.append(note)
    return out


def describe(note: MovedAside) -> str:
    return (f"the history database was damaged ({note.reason}); it was moved aside to {note.moved_to} "
            f"on {note.at} and a fresh one was started")

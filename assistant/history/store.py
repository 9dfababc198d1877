"""HistoryStore: add, list, get, delete, wipe, sweep, export, stats.

Records come back as plain dicts (JSON-ready)::

    {"id", "created_at" (ISO 8601 UTC), "source", "prefix", "command", "input", "output",
     "model", "status", "error", "note", "timings" (dict)}

The store applies migrations when it opens the file and sweeps expired records at start-up
and after each save; ``start_retention_timer()`` sweeps hourly while the assistant runs.
With ``retention_days = 0`` nothing is ever written (``add`` returns None).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import delete as sql_delete, func, or_, select
from sqlalchemy.orm import Session

from assistant import paths
from assistant.history.db import make_engine, migrate
from assistant.history.models import CommandRecord
from assistant.history.recovery import recover as recover_damaged
from assistant.history.retention import (
    DEFAULT_RETENTION_DAYS, SWEEP_INTERVAL_SECONDS, RetentionTimer, as_utc, cutoff, utc_now,
)

STATUSES = ("ok", "failed", "cancelled")


class HistoryBusy(RuntimeError):
    """Another process kept the database busy for too long."""
FIELDS = ("created_at", "source", "prefix", "command", "input", "output", "model", "status",
          "error", "note", "timings")


def _retention_from_settings() -> float:
    from assistant.config import ConfigError, load_settings

    try:
        settings = load_settings(validate=False)
    except ConfigError as exc:
        settings = exc.settings or {}
    value = settings.get("history", {}).get("retention_days", DEFAULT_RETENTION_DAYS)
    return float(value) if isinstance(value, (int, float)) and value >= 0 else DEFAULT_RETENTION_DAYS


def _naive_utc(moment: datetime) -> datetime:
    return as_utc(moment).replace(tzinfo=None)


def record_to_dict(row: CommandRecord) -> dict:
    try:
        timings = json.loads(row.timings or "{}")
    except ValueError:
        timings = {}
    return {
        "id": row.id,
        "created_at": as_utc(row.created_at).isoformat().replace("+00:00", "Z"),
        "source": row.source, "prefix": row.prefix, "command": row.command,
        "input": row.input_text, "output": row.output_text, "model": row.model,
        "status": row.status, "error": row.error, "note": row.note, "timings": timings,
    }


class HistoryStore:
    def __init__(self, path: Path | None = None, *, clock: Callable[[], datetime] | None = None,
                 retention_days: float | None = None):
        self.path = Path(path) if path is not None else paths.history_db()
        self.clock = clock or utc_now
        self.retention_days = (_retention_from_settings() if retention_days is None
                               else float(retention_days))
        self._last_sweep = None
        # a file SQLite calls damaged is moved aside (never deleted) and a fresh one started
        self.recovered = recover_damaged(self.path)
        self.engine = make_engine(self.path)
        migrate(self.engine)
        self.sweep()

    # ------------------------------------------------------------------ sessions
    def _writer(self) -> Session:
        return Session(self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False)

    def _reader(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ writing
    def add(self, **fields) -> int | None:
        """Store one command; returns its id (None when retention is 0: nothing is kept)."""
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise TypeError(f"unknown history fields: {', '.join(sorted(unknown))}")
        status = fields.get("status", "ok")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        if self.retention_days <= 0:
            return None
        created = fields.get("created_at") or self.clock()
        row = CommandRecord(
            created_at=_naive_utc(created),
            source=str(fields.get("source") or "typed")[:16],
            prefix=str(fields.get("prefix") or "")[:64],
            command=fields.get("command"),
            input_text=str(fields.get("input") or ""),
            output_text=fields.get("output"),
            model=str(fields.get("model") or ""),
            status=status,
            error=fields.get("error"),
            note=fields.get("note"),
            timings=json.dumps(fields.get("timings") or {}, sort_keys=True),
        )
        with self._writer() as session, session.begin():
            session.add(row)
        new_id = row.id
        self.sweep()
        return new_id

    def delete(self, record_id: int) -> bool:
        with self._writer() as session, session.begin():
            gone = session.execute(sql_delete(CommandRecord).where(CommandRecord.id == int(record_id))).rowcount
        if gone:
            self._checkpoint()
        return bool(gone)

    def sweep(self, now: datetime | None = None) -> int:
        """Delete expired records; returns how many."""
        now = now or self.clock()
        self._last_sweep = now
        limit = cutoff(now, self.retention_days)
        stmt = sql_delete(CommandRecord)
        if limit is not None:
            stmt = stmt.where(CommandRecord.created_at < _naive_utc(limit))
        with self._writer() as session, session.begin():
            gone = session.execute(stmt).rowcount or 0
        if gone:
            self._checkpoint()
        return gone

    def _checkpoint(self, mode: str = "TRUNCATE") -> tuple:
        """Copy the WAL into the file and empty it, so deleted text is not left in the WAL."""
        raw = self.engine.raw_connection()
        try:
            return tuple(raw.driver_connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())
        finally:
            raw.close()

    def wipe(self, *, wait_seconds: float = 10.0) -> None:
        """Delete every record and leave nothing recoverable in the file or its WAL.

        Raises HistoryBusy if another program keeps a read open so long that the log could
        not be scrubbed (the records are deleted all the same; run the wipe again)."""
        self.engine.dispose()  # no pooled reader of ours may pin old WAL frames
        raw = self.engine.raw_connection()
        try:
            con = raw.driver_connection
            con.execute("PRAGMA secure_delete = ON")
            # checkpoints wait (busy handler) for readers in other processes to let go
            con.execute(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
            con.execute("BEGIN IMMEDIATE")
            con.execute("DELETE FROM commands")
            con.execute("COMMIT")
            self._checkpoint_until_done(con)
            con.execute("VACUUM")  # rebuilds the file: no free page keeps old text
            done = self._checkpoint_until_done(con)
        finally:
            raw.close()
        self.engine.dispose()
        wal = self.path.with_name(self.path.name + "-wal")
        if not done or (wal.exists() and wal.stat().st_size and not self._wal_scrubbed(wal)):
            raise HistoryBusy("the history was deleted, but another program (the settings page?) "
                              "kept the database open, so its log could not be scrubbed yet; "
                              "close it and run `hushtype history wipe` again")

    @staticmethod
    def _checkpoint_until_done(con, attempts: int = 2) -> bool:
        for _ in range(attempts):
            busy, _log, _done = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return True
            time.sleep(0.05)
        return False

    @staticmethod
    def _wal_scrubbed(wal: Path) -> bool:
        return not wal.read_bytes().strip(b"\0")

    def apply_settings(self, settings: dict) -> int:
        """Take a new ``[history] retention_days`` (e.g. from the settings page) and sweep."""
        value = settings.get("history", {}).get("retention_days", DEFAULT_RETENTION_DAYS)
        self.retention_days = float(value)
        return self.sweep()

    def _maybe_sweep(self) -> None:
        """Readers sweep too when the last sweep is over an hour old, so expired records
        never show even in a process that did not start the timer."""
        now = self.clock()
        if self._last_sweep is None or (as_utc(now) - as_utc(self._last_sweep)).total_seconds() >= SWEEP_INTERVAL_SECONDS:
            self.sweep(now)

    # ------------------------------------------------------------------ reading
    def get(self, record_id: int) -> dict | None:
        self._maybe_sweep()
        with self._reader() as session:
            row = session.get(CommandRecord, int(record_id))
            return record_to_dict(row) if row else None

    def list(self, *, since: datetime | None = None, search: str | None = None,
             prefix: str | None = None, status: str | None = None, limit: int | None = 200) -> list[dict]:
        """Newest first. ``search`` matches input or output (case-insensitive)."""
        self._maybe_sweep()
        stmt = select(CommandRecord).order_by(CommandRecord.created_at.desc(), CommandRecord.id.desc())
        if since is not None:
            stmt = stmt.where(CommandRecord.created_at >= _naive_utc(since))
        if search:
            pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(CommandRecord.input_text.ilike(pattern, escape="\\"),
                                  CommandRecord.output_text.ilike(pattern, escape="\\")))
        if prefix:
            stmt = stmt.where(CommandRecord.prefix == prefix)
        if status:
            stmt = stmt.where(CommandRecord.status == status)
        if limit:
            stmt = stmt.limit(int(limit))
        with self._reader() as session:
            return [record_to_dict(row) for row in session.scalars(stmt)]

    def export(self, path: Path | str) -> int:
        """Write every record (oldest first) to a JSON file readable by its owner only."""
        records = list(reversed(self.list(limit=None)))
        target = Path(path)
        fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"exported_at": utc_now().isoformat().replace("+00:00", "Z"),
                       "records": records}, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        os.chmod(target, 0o600)
        return len(records)

    def stats(self) -> dict:
        with self._reader() as session:
            count, oldest, newest = session.execute(
                select(func.count(CommandRecord.id), func.min(CommandRecord.created_at),
                       func.max(CommandRecord.created_at))).one()
        files = {}
        for suffix in ("", "-wal", "-shm"):
            f = self.path.with_name(self.path.name + suffix)
            if f.exists():
                files[f.name] = f.stat().st_size
        iso = lambda d: as_utc(d).isoformat().replace("+00:00", "Z") if d else None  # noqa: E731
        return {"path": str(self.path), "count": count, "oldest": iso(oldest), "newest": iso(newest),
                "retention_days": self.retention_days, "files": files,
                "size_bytes": sum(files.values())}

    # ------------------------------------------------------------------ retention timer
    def start_retention_timer(self, interval: float = SWEEP_INTERVAL_SECONDS) -> RetentionTimer:
        """Sweep every ``interval`` seconds while the assistant runs; ``.stop()`` ends it."""
        return RetentionTimer(self.sweep, interval).start()

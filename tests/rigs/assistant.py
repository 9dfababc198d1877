"""`hushtype up` as a subprocess in a test's desktop session, and its log and history."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rigs.procs import REPO, kill, wait_until

# gen: keeps its sampling with a fixed seed, so each answer (its length too) is the same on
# every run: the streaming and Esc tests need answers that outlast their keystrokes.
TEST_CONFIG = """
[server]
keep_alive = "30m"
[commands.gen.options]
seed = 7
"""


@dataclass
class Assistant:
    process: subprocess.Popen
    home: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, needle: str, timeout: float = 60.0, count: int = 1) -> str:
        return wait_until(lambda: self.log().count(needle) >= count and self.log(), timeout,
                          message=f"{needle!r} in the hushtype log:\n{self.log()[-3000:]}")

    def history(self) -> list[dict]:
        """The history rows, oldest first ([] before the store exists)."""
        db = self.home / "history.sqlite3"
        if not db.exists():
            return []
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        try:
            tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
            table = "commands" if "commands" in tables else \
                next((t for t in tables if "alembic" not in t), None)
            if table is None:
                return []
            return [dict(r) for r in con.execute(f"select * from {table} order by id")]
        except sqlite3.OperationalError:
            return []                          # the store is being created right now
        finally:
            con.close()

    def stop(self) -> None:
        kill(self.process, timeout=20)


def start_assistant(session, home: Path, ollama_host: str, config: str = "", *,
                    args: tuple = ("--no-voice", "--no-settings"), env_extra: dict | None = None,
                    wait_for: str = "listening for") -> Assistant:
    """`hushtype up` with its own HUSHTYPE_HOME and config, in ``session``'s desktop (anything
    with ``env()``: an XServer, an IBusRig) or, with ``None``, with no display at all (even
    inside a desktop session); returns once ``wait_for`` is in its log."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(config)
    if session is not None:
        env = session.env()
    else:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("OLLAMA_MODELS", None)
    env.update(env_extra or {})
    env.update({"HUSHTYPE_HOME": str(home), "OLLAMA_HOST": ollama_host, "PYTHONUNBUFFERED": "1"})
    log_path = home / "up.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "up", *args], cwd=REPO,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    up = Assistant(proc, home, log_path)
    try:
        up.wait_log(wait_for, 90)
    except AssertionError:
        up.stop()
        raise
    return up

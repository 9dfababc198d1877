"""Helpers for the settings tests: screenshots, reading the SQLite file, running the CLI."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def db_rows(db_path: Path, where: str = "1=1", params: tuple = ()) -> list[tuple]:
    """Read the history table straight from the SQLite file (not through the store)."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return con.execute(f"SELECT id, prefix, input_text, output_text FROM commands WHERE {where} ORDER BY id",
                           params).fetchall()
    finally:
        con.close()


def hushtype_cli(args: list[str], *, env_extra: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the real `hushtype` command line in a subprocess with this test's environment."""
    env = dict(os.environ)
    env.update(env_extra or {})
    script = Path(sys.executable).with_name("hushtype")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    return subprocess.run(argv + args, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO_ROOT)


def have_xvfb() -> bool:
    return shutil.which("Xvfb") is not None


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

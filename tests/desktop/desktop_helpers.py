"""Helpers for the desktop tests: X server, text app and `hushtype up` handles."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEXTAPP = Path(__file__).with_name("textapp.py")
SYSTEM_PYTHON = "/usr/bin/python3"
HUMAN_DELAY_MS = 35          # xdotool type delay: a fast human typist


def _need(*tools: str) -> None:
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/setup.sh --test installs them)")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")


@dataclass
class XServer:
    display: str
    process: subprocess.Popen

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        env["XDG_SESSION_TYPE"] = "x11"
        env.update(extra)
        return env

    def run(self, *args: str, timeout: float = 30, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env=self.env(), capture_output=True, text=True,
                              timeout=timeout, **kw)

    def xdotool(self, *args: str, timeout: float = 60) -> str:
        proc = self.run("xdotool", *args, timeout=timeout)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def type(self, text: str, delay_ms: int = HUMAN_DELAY_MS) -> None:
        self.xdotool("type", "--delay", str(delay_ms), "--", text)

    def key(self, *keys: str) -> None:
        self.xdotool("key", "--delay", "40", *keys)

    def clipboard(self) -> str:
        return self.run("xclip", "-selection", "clipboard", "-o").stdout

    def set_clipboard(self, text: str) -> None:
        subprocess.Popen(["xclip", "-selection", "clipboard", "-i"], env=self.env(),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True).communicate(text.encode())
        wait_until(lambda: self.clipboard() == text, 5, message="the clipboard to be set")






@dataclass
class TextApp:
    xserver: XServer
    path: Path
    process: subprocess.Popen
    window: str
    wm_class: str
    snapshots: list = field(default_factory=list)

    def text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def focus(self) -> None:
        self.xserver.xdotool("windowfocus", "--sync", self.window)

    def click_below_text(self) -> None:
        """A click in the empty lower part of the window (Tk puts the caret at the end)."""
        self.xserver.xdotool("mousemove", "--window", self.window, "600", "280", "click", "1")

    def wait_text(self, predicate, timeout: float = 60.0, message: str = "the app's text"):
        found = []

        def check():
            text = self.text()
            if predicate(text):
                found.append(text)
                return True
            return False

        wait_until(check, timeout, message=f"{message} (app shows {self.text()!r})")
        return found[-1]






# ---------------------------------------------------------------------- hushtype up
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
        db = self.home / "history.sqlite3"
        if not db.exists():
            return []
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        try:
            tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
            table = "commands" if "commands" in tables else next(t for t in tables if "alembic" not in t)
            return [dict(r) for r in con.execute(f"select * from {table} order by id")]
        finally:
            con.close()


def start_assistant(xserver: XServer | None, home: Path, ollama_host: str, config: str = "",
                    args: tuple = ("--no-voice", "--no-settings"), env_extra: dict | None = None,
                    wait_for: str = "listening for") -> Assistant:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(config)
    if xserver is not None:
        env = xserver.env()
    else:                                 # no display at all, even inside a desktop session
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("OLLAMA_MODELS", None)
    env.update(env_extra or {})
    env.update({"HUSHTYPE_HOME": str(home), "OLLAMA_HOST": ollama_host, "PYTHONUNBUFFERED": "1"})
    log_path = home / "up.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "up", *args], cwd=REPO,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    assistant = Assistant(proc, home, log_path)
    try:
        assistant.wait_log(wait_for, 90)
    except AssertionError:
        _kill(proc)
        raise
    return assistant


# Long enough results (>= 40 characters) are pasted, short ones typed: both paths get used.
# gen: keeps its sampling but with a fixed seed, so each answer (its length included) is the
# same on every run: the streaming and Esc tests need answers that outlast their keystrokes.
TEST_CONFIG = """
[injection]
paste_min_chars = 40
[server]
keep_alive = "30m"
[commands.gen.options]
seed = 7
"""

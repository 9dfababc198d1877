"""Helpers for the fault tests: `hushtype up` without a display against the live server, with a
notify-send stand-in on PATH that records each notification instead of showing it (the test
machine has no notification daemon)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class UpProcess:
    def __init__(self, proc: subprocess.Popen, notifications: Path):
        self.proc = proc
        self.notifications = notifications
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def log(self) -> str:
        return "".join(self.lines)

    def wait_log(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return self.log()
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in the log of `hushtype up`:\n{self.log()[-3000:]}")

    def shown(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while not self.notifications.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.notifications.read_text() if self.notifications.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def start_up(home: Path, server_host: str, tmp: Path, *args: str, env_extra: dict | None = None,
             **popen) -> UpProcess:
    """`hushtype up --no-voice --no-settings --no-typed` (no DISPLAY) in its own session."""
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    shown = tmp / "notifications.txt"
    (bindir / "notify-send").write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {shown}\n")
    (bindir / "notify-send").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(HUSHTYPE_HOME=str(home), OLLAMA_HOST=server_host, PATH=f"{bindir}:{env['PATH']}")
    env.update(env_extra or {})
    popen.setdefault("start_new_session", True)
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "up", "--no-voice", "--no-settings",
                             "--no-typed", *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **popen)
    return UpProcess(proc, shown)

"""Synthetic keys through xdotool (XTEST): Backspaces, typed text, key chords."""

from __future__ import annotations

import shutil
import subprocess


class XdotoolError(RuntimeError):
    pass


class Xdotool:
    def __init__(self, *, type_delay_ms: int = 2, key_delay_ms: int = 0, timeout: float = 60.0):
        path = shutil.which("xdotool")
        if not path:
            raise XdotoolError("xdotool is not installed (apt install xdotool)")
        self.path = path
        self.type_delay_ms = int(type_delay_ms)
        self.key_delay_ms = int(key_delay_ms)
        self.timeout = timeout

    def _run(self, *args: str) -> None:
        try:
            proc = subprocess.run([self.path, *args], capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            raise XdotoolError(f"xdotool {args[0]} did not finish") from exc
        if proc.returncode != 0:
            raise XdotoolError(f"xdotool {args[0]} failed: "
                               f"{proc.stderr.decode(errors='replace').strip()[:200]}")

    def backspace(self, count: int) -> None:
        while count > 0:
            batch = min(count, 400)
            self._run("key", "--delay", str(self.key_delay_ms), *(["BackSpace"] * batch))
            count -= batch

    def type(self, text: str) -> None:
        if text:
            self._run("type", "--delay", str(self.type_delay_ms), "--", text)

    def key(self, chord: str) -> None:
        self._run("key", "--delay", str(self.key_delay_ms), chord)


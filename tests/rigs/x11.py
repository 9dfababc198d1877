"""A private X server for the tests: Xvfb with RECORD (pynput's key hook) and XTEST (xdotool)
on a display number of its own, and the handle clients use (``XServer.env()`` names only it)."""

from __future__ import annotations

import os
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from rigs.procs import kill, need, wait_until

HUMAN_DELAY_MS = 35          # xdotool type delay: a fast human typist


@dataclass
class XServer:
    display: str
    process: subprocess.Popen

    def env(self, **extra) -> dict:
        """A client's environment: this display and no Wayland session."""
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

    def stop(self) -> None:
        kill(self.process)


def start_xvfb(attempts: int = 20) -> XServer:
    """Xvfb on a free display number, answering xdotool; ``stop()`` it at the end.

    The number is picked at random from a high range (not with -displayfd): other test
    sessions on this machine start Xvfb servers with low numbers at the same time, and a
    number reused while ours runs would take its socket away."""
    need("Xvfb", "xdotool")
    for _attempt in range(attempts):
        number = random.randrange(300, 1000)
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        proc = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp",
             "+extension", "RECORD", "+extension", "XTEST", "-noreset"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        server = XServer(f":{number}", proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if server.run("xdotool", "getmouselocation", timeout=5).returncode == 0:
                return server
            time.sleep(0.1)
        kill(proc)
    raise RuntimeError(f"Xvfb did not start ({attempts} display numbers tried)")

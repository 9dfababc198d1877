"""Helpers for the desktop tests: the Tk text app on X and the desktop `hushtype up` config
(the X server, `hushtype up` and process helpers are the shared ones in ``tests/rigs``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rigs.assistant import TEST_CONFIG as BASE_CONFIG
from rigs.procs import SYSTEM_PYTHON, wait_until
from rigs.windows import SavedText
from rigs.x11 import XServer

TEXTAPP = Path(__file__).with_name("textapp.py")


@dataclass
class TextApp(SavedText):
    xserver: XServer
    path: Path
    process: subprocess.Popen
    window: str
    wm_class: str
    snapshots: list = field(default_factory=list)

    def focus(self) -> None:
        self.xserver.xdotool("windowfocus", "--sync", self.window)

    def click_below_text(self) -> None:
        """A click in the empty lower part of the window (Tk puts the caret at the end)."""
        self.xserver.xdotool("mousemove", "--window", self.window, "600", "280", "click", "1")


def start_text_app(xserver: XServer, path: Path, wm_class: str = "Hushtest") -> TextApp:
    """The Tk text window on ``xserver``, saving its text to ``path``, focused."""
    proc = subprocess.Popen([SYSTEM_PYTHON, str(TEXTAPP), str(path), wm_class],
                            env=xserver.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: Path(str(path) + ".ready").exists(), 20, message="the text app")
    window = wait_until(lambda: xserver.run("xdotool", "search", "--pid", str(proc.pid),
                                            "--class", wm_class).stdout.split(), 10,
                        message="the text app's window")[-1]
    app = TextApp(xserver, path, proc, window, wm_class)
    app.focus()
    return app


# Long enough results (>= 40 characters) are pasted, short ones typed: both paths get used.
TEST_CONFIG = """
[injection]
paste_min_chars = 40
""" + BASE_CONFIG

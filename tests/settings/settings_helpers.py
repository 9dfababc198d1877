"""Helpers for the settings tests: screenshots, reading the SQLite file, running the CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
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


def submit(page, selector: str) -> None:
    """Click something that loads a new page, and wait until that page is there."""
    with page.expect_navigation():
        page.click(selector)


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


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_tray_owner(display: str) -> None:
    from Xlib import X
    from Xlib.display import Display

    conn = Display(display)
    try:
        atom = conn.intern_atom(f"_NET_SYSTEM_TRAY_S{conn.get_default_screen()}")
        deadline = time.monotonic() + 15
        while conn.get_selection_owner(atom) == X.NONE:
            assert time.monotonic() < deadline, "trayer did not take the system tray selection"
            time.sleep(0.1)
    finally:
        conn.close()


def icon_window(display: str) -> tuple[int, int, int, int]:
    env = {**os.environ, "DISPLAY": display}
    deadline = time.monotonic() + 20
    seen = []
    while True:
        found = subprocess.run(["xdotool", "search", "--name", "^hushtype"], capture_output=True, text=True, env=env)
        for window in found.stdout.split():
            geo = subprocess.run(["xdotool", "getwindowgeometry", "--shell", window], capture_output=True,
                                 text=True, env=env).stdout
            values = dict(line.split("=") for line in geo.split())
            x, y, w, h = (int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
            seen.append((window, x, y, w, h))
            if x > 0:  # docked into the tray (an undocked window stays at 0,0)
                return x, y, w, h
        assert time.monotonic() < deadline, f"the tray icon did not dock: {seen[-3:]}"
        time.sleep(0.1)


def pixels_of(display, box, colour) -> int:
    """How many pixels of the icon's window on the real screen have about this colour."""
    import numpy as np
    from PIL import ImageGrab

    x, y, w, h = box
    pixels = np.asarray(ImageGrab.grab(bbox=(x, y, x + w, y + h), xdisplay=display).convert("RGB"), dtype=int)
    return int((np.abs(pixels - np.array(colour)).max(axis=2) <= 30).sum())


class XDesktop:
    """Xvfb on a free display number, optionally with trayer as the system tray."""

    def __init__(self):
        read_fd, write_fd = os.pipe()
        self.xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "800x600x24",
                                      "-nolisten", "tcp"], pass_fds=(write_fd,),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as fh:
            self.display = ":" + fh.readline().strip()
        self.panel: subprocess.Popen | None = None

    def start_tray(self) -> None:
        self.panel = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel",
                                       "--width", "120", "--height", "32", "--SetDockType", "true"],
                                      env={**os.environ, "DISPLAY": self.display},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_tray_owner(self.display)

    def close(self) -> None:
        import gc
        import signal

        gc.collect()  # pystray icons close their X connection in __del__: let them, while X runs
        for proc in (self.panel, self.xvfb):
            if proc is None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def click_icon_until(display: str, done, attempts: int = 3) -> None:
    """Click the docked tray icon (measured afresh each time) until ``done()``; a slow, loaded
    machine may re-layout the tray between measuring and clicking."""
    env = {**os.environ, "DISPLAY": display}
    for _ in range(attempts):
        x, y, w, h = icon_window(display)
        subprocess.run(["xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "1"], check=True,
                       env=env, timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.05)
    raise AssertionError(f"{attempts} clicks on the tray icon did nothing")


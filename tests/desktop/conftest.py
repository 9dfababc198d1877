"""Fixtures for the desktop tests: a real X server (Xvfb with RECORD + XTEST, its own display
number, killed at the end), a small Tk text window that saves its text on every change, and
`hushtype up` as a subprocess against the live server."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from desktop_helpers import (SYSTEM_PYTHON, TEST_CONFIG, TEXTAPP, TextApp, XServer, _kill, _need,
                             start_assistant, wait_until)


@pytest.fixture(scope="session")
def xserver():
    """Xvfb (RECORD + XTEST) on a display number no one else uses, killed at the end."""
    _need("Xvfb", "xdotool", "xclip")
    numbers = list(range(140, 400))
    random.shuffle(numbers)
    for number in numbers[:20]:
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
                break
            time.sleep(0.1)
        if proc.poll() is None:
            break
    else:
        pytest.fail("Xvfb did not start")
    yield server
    _kill(proc)


@pytest.fixture
def x_env(xserver, monkeypatch):
    """This test process talks to the Xvfb display (for in-process injector tests)."""
    monkeypatch.setenv("DISPLAY", xserver.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return xserver


@pytest.fixture
def text_app_factory(xserver, tmp_path):
    _need(SYSTEM_PYTHON)
    if subprocess.run([SYSTEM_PYTHON, "-c", "import tkinter"], capture_output=True).returncode:
        pytest.skip("Debian's python3-tk is missing (scripts/setup.sh --test installs it)")
    apps: list[TextApp] = []

    def start(wm_class: str = "Hushtest") -> TextApp:
        path = tmp_path / f"{wm_class}-{len(apps)}.txt"
        proc = subprocess.Popen([SYSTEM_PYTHON, str(TEXTAPP), str(path), wm_class],
                                env=xserver.env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: Path(str(path) + ".ready").exists(), 20, message="the text app")
        window = wait_until(lambda: xserver.run("xdotool", "search", "--pid", str(proc.pid),
                                                "--class", wm_class).stdout.split(), 10,
                            message="the text app's window")[-1]
        app = TextApp(xserver, path, proc, window, wm_class)
        apps.append(app)
        app.focus()
        return app

    yield start
    for app in apps:
        _kill(app.process)


@pytest.fixture
def text_app(text_app_factory) -> TextApp:
    return text_app_factory()


@pytest.fixture(scope="module")
def assistant(xserver, live_server, tmp_path_factory):
    """`hushtype up` against the live server with the embedded model, model preloaded."""
    home = tmp_path_factory.mktemp("up-home")
    up = start_assistant(xserver, home, live_server.host, TEST_CONFIG)
    up.wait_log("loaded in", 120)
    yield up
    _kill(up.process)

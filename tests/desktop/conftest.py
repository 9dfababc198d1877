"""Fixtures for the desktop tests: a real X server (Xvfb with RECORD + XTEST, its own display
number, killed at the end), a small Tk text window that saves its text on every change, and
`hushtype up` as a subprocess against the live server."""

from __future__ import annotations

import subprocess

import pytest

from desktop_helpers import TEST_CONFIG, TextApp, start_text_app
from rigs.assistant import start_assistant
from rigs.procs import SYSTEM_PYTHON, kill, need
from rigs.x11 import start_xvfb


@pytest.fixture(scope="session")
def xserver():
    """Xvfb (RECORD + XTEST) on a display number no one else uses, killed at the end."""
    need("Xvfb", "xdotool", "xclip")
    server = start_xvfb()
    yield server
    server.stop()


@pytest.fixture
def x_env(xserver, monkeypatch):
    """This test process talks to the Xvfb display (for in-process injector tests)."""
    monkeypatch.setenv("DISPLAY", xserver.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return xserver


@pytest.fixture
def text_app_factory(xserver, tmp_path):
    need(SYSTEM_PYTHON)
    if subprocess.run([SYSTEM_PYTHON, "-c", "import tkinter"], capture_output=True).returncode:
        pytest.skip("Debian's python3-tk is missing (scripts/setup.sh --test installs it)")
    apps: list[TextApp] = []

    def start(wm_class: str = "Hushtest") -> TextApp:
        app = start_text_app(xserver, tmp_path / f"{wm_class}-{len(apps)}.txt", wm_class)
        apps.append(app)
        return app

    yield start
    for app in apps:
        kill(app.process)


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
    kill(up.process)

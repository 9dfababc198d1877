"""Fixtures for the settings page: the real page on a free loopback port, Debian's chromium.

``settings_server`` serves the page from this process exactly as `hushtype settings` does when
the assistant is not running (a SettingsBackend on the test's HUSHTYPE_HOME, its own
HistoryStore on the real SQLite file). ``browser`` is headless chromium driven by Playwright.
"""

from __future__ import annotations

import os
import shutil

import pytest
from settings_helpers import CHROMIUM, CHROMIUM_ARGS, XDesktop


@pytest.fixture
def settings_server(hushtype_home):
    from assistant.settings.backend import SettingsBackend
    from assistant.settings.server import SettingsServer

    backend = SettingsBackend(None)
    server = SettingsServer(backend, port=0).start()
    yield server
    server.stop()
    backend.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh --test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # script errors only: a 4xx answer the page expects (a refused form) is not a script error
    pg.on("console", lambda msg: errors.append(msg.text)
          if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    pg.js_errors = errors
    yield pg
    context.close()


@pytest.fixture
def on_live_server(live_server, monkeypatch):
    """Point this process (the page) and its subprocesses at the live model server."""
    monkeypatch.setenv("OLLAMA_HOST", live_server.host)
    return live_server


@pytest.fixture
def x_desktop(monkeypatch):
    """A private Xvfb display (DISPLAY points at it); ``.start_tray()`` adds a system tray."""
    if not shutil.which("Xvfb") or not shutil.which("trayer") or not shutil.which("xdotool"):
        pytest.skip("needs Xvfb, trayer and xdotool (scripts/setup.sh --test installs them)")
    desktop = XDesktop()
    monkeypatch.setenv("DISPLAY", desktop.display)
    yield desktop
    desktop.close()


@pytest.fixture
def x_tray(x_desktop):
    """A private Xvfb display with a running system tray (trayer); yields the DISPLAY name."""
    x_desktop.start_tray()
    return x_desktop.display

"""The tray: its menu and icon states as pure logic, its actions on the assistant's state, and
the real pystray icon docked in a real system tray (trayer) on Xvfb, clicked with xdotool."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from settings_helpers import click_icon_until, icon_window, pixels_of

from assistant.settings import tray


def test_menu_model_offers_pause_or_resume_settings_wipe_and_quit():
    running = tray.menu_model(paused=False)
    assert [e.action for e in running] == ["toggle_pause", "open_settings", "wipe_history", "quit"]
    assert running[0].label == "Pause hushtype"
    assert tray.menu_model(paused=True)[0].label == "Resume hushtype"
    assert [e.action for e in running if e.default] == ["open_settings"]  # left click


def test_icon_state_follows_paused_and_busy():
    assert tray.icon_state(paused=False, busy=False) == "listening"
    assert tray.icon_state(paused=False, busy=True) == "working"
    assert tray.icon_state(paused=True, busy=True) == "paused"
    assert tray.icon_state(paused=True, busy=False) == "paused"


def test_each_state_draws_a_distinct_icon():
    icons = {state: tray.draw_icon(state, 64) for state in tray.STATES}
    for state, image in icons.items():
        assert image.size == (64, 64) and image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0                      # round badge: transparent corner
        assert image.getpixel((6, 32))[:3] == tray.COLOURS[state]  # badge colour at the rim
    assert len({icon.tobytes() for icon in icons.values()}) == 3
    with pytest.raises(ValueError):
        tray.draw_icon("sleeping")


def _context():
    # The fields of AssistantContext the tray uses (paused, stop: threading.Event; notify).
    notes = []
    return SimpleNamespace(paused=threading.Event(), stop=threading.Event(), busy=threading.Event(),
                           notify=lambda title, message: notes.append(title), notes=notes)


def test_actions_pause_resume_open_wipe_confirmation_and_quit():
    ctx = _context()
    opened = []
    actions = tray.TrayActions(ctx, lambda path: f"http://127.0.0.1:1{path}?token=t", opened.append)
    actions.run("toggle_pause")
    assert ctx.paused.is_set() and ctx.notes == ["hushtype paused"]
    actions.run("toggle_pause")
    assert not ctx.paused.is_set() and ctx.notes[-1] == "hushtype resumed"
    actions.run("open_settings")
    actions.run("wipe_history")
    # wiping cannot be undone: the tray opens the page's confirmation, it does not wipe blindly
    assert opened == ["http://127.0.0.1:1/history?token=t", "http://127.0.0.1:1/history/wipe?token=t"]
    assert not ctx.stop.is_set()
    actions.run("quit")
    assert ctx.stop.is_set()


# ----------------------------------------------------------------------------- real X tray
@pytest.mark.x11
def test_icon_docks_in_a_real_tray_shows_state_and_a_click_opens_the_settings(x_tray):
    ctx = _context()
    opened = []
    icon = tray.Tray(ctx, tray.TrayActions(ctx, lambda path: f"http://127.0.0.1:1{path}", opened.append),
                     poll=0.05).start()
    try:
        assert icon.ready.wait(10)
        box = icon_window(x_tray)

        def wait_for(state):
            deadline = time.monotonic() + 10
            while True:
                counts = {s: pixels_of(x_tray, box, tray.COLOURS[s]) for s in tray.STATES}
                others = max(counts[o] for o in tray.STATES if o != state)
                if counts[state] > 40 and others * 10 < counts[state]:
                    return
                assert time.monotonic() < deadline, f"icon pixels by state colour: {counts}, expected {state}"
                time.sleep(0.1)

        wait_for("listening")
        ctx.busy.set()
        wait_for("working")
        ctx.paused.set()
        wait_for("paused")
        assert icon.state == "paused"

        click_icon_until(x_tray, lambda: bool(opened))
        assert opened[0] == "http://127.0.0.1:1/history"
    finally:
        icon.stop()


@pytest.mark.x11
def test_icon_docks_when_the_tray_appears_after_hushtype_started(x_desktop):
    # `hushtype up` often starts at login before the desktop's panel and its tray
    ctx = _context()
    icon = tray.Tray(ctx, tray.TrayActions(ctx, lambda path: path, lambda url: None), poll=0.05).start()
    try:
        assert icon.ready.wait(10)
        time.sleep(0.5)
        x_desktop.start_tray()
        x, y, w, h = icon_window(x_desktop.display)
        assert x > 0 and w > 1
        assert pixels_of(x_desktop.display, (x, y, w, h), tray.COLOURS["listening"]) > 40
    finally:
        icon.stop()


@pytest.mark.x11
def test_the_running_assistant_shows_the_tray_and_a_click_opens_the_page(x_tray, hushtype_home, tmp_path,
                                                                         monkeypatch):
    import webbrowser

    import httpx

    from assistant.config import load_settings
    from assistant.history.store import HistoryStore
    from assistant.service.context import AssistantContext
    from assistant.settings import service

    seen = tmp_path / "opened.txt"
    browser = tmp_path / "fake-browser"
    # $BROWSER picks the "default browser"; this one records the URL (no desktop browser here).
    browser.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > {seen}\n")
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{browser} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # make webbrowser read $BROWSER again
    monkeypatch.setattr(webbrowser, "_browsers", {})
    history = HistoryStore()
    ctx = AssistantContext(settings=load_settings(), history=history, notifier=None)
    running = service.start(ctx)
    try:
        assert running.tray is not None and running.tray.ready.wait(10)
        click_icon_until(x_tray, lambda: seen.exists() and bool(seen.read_text()))
        url = seen.read_text()
        assert url == running.server.url_for("/history")
        with httpx.Client(trust_env=False, follow_redirects=True, timeout=10) as client:
            assert "<h1>History</h1>" in client.get(url).text
        ctx.busy.set()
        deadline = time.monotonic() + 5
        while running.tray.state != "working":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        running.stop()
        history.close()


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


def test_tray_backend_prefers_appindicator_then_gtk_then_the_plain_x11_icon():
    bus = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}
    assert tray.tray_backend(bus, gtk=True, appindicator=True) == "appindicator"
    assert tray.tray_backend({}, gtk=True, appindicator=True) == "gtk"      # no bus to publish on
    assert tray.tray_backend(bus, gtk=True, appindicator=False) == "gtk"
    assert tray.tray_backend(bus, gtk=False, appindicator=False) == "xorg"  # GTK does not load
    assert tray.tray_backend({**bus, "PYSTRAY_BACKEND": "xorg"}, gtk=True, appindicator=True) == "xorg"


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
    # today's plain Xlib icon (GTK binds a process to its first X display, and each test here
    # has its own Xvfb: the GTK menu is tested in a process of its own, below)
    icon = tray.Tray(ctx, tray.TrayActions(ctx, lambda path: f"http://127.0.0.1:1{path}", opened.append),
                     poll=0.05, backend="xorg").start()
    try:
        assert icon.backend == "xorg"
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
    icon = tray.Tray(ctx, tray.TrayActions(ctx, lambda path: path, lambda url: None), poll=0.05,
                     backend="xorg").start()
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



# ----------------------------------------------------------------------------- GTK menu
@pytest.mark.x11
def test_gtk_tray_has_a_real_menu_pause_resume_settings_wipe_quit(x_tray, tmp_path):
    """pystray's GTK backend (PyGObject in the venv): a right click on the docked icon opens a
    real GTK menu; its entries, picked with the keyboard, pause, resume, open the settings,
    open the wipe confirmation and quit. (Own process: GTK stays bound to its first display.)"""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("gi", reason="PyGObject is not installed (pip install -e .)")
    events_path = tmp_path / "events.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYSTRAY_BACKEND")}
    env["DISPLAY"] = x_tray          # no session bus: AppIndicator has no host here, GTK's icon docks
    probe = subprocess.Popen([sys.executable, str(Path(__file__).with_name("gtk_tray_probe.py")),
                              str(events_path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def events():
        text = events_path.read_text() if events_path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def wait_event(event, timeout=20):
        deadline = time.monotonic() + timeout
        while event not in events():
            assert probe.poll() is None or event in events(), probe.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, f"{event} not among {events()}"
            time.sleep(0.05)

    def pick(position: int, event) -> None:
        """Right-click the icon, walk down to the entry, press Enter; again until it happened
        (a loaded machine may take the first click before the menu is ready)."""
        for _ in range(4):
            x, y, w, h = icon_window(x_tray)
            xenv = {**os.environ, "DISPLAY": x_tray}
            subprocess.run(["xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "3"],
                           env=xenv, check=True)
            time.sleep(0.6)
            subprocess.run(["xdotool", "key", "--delay", "80", *(["Down"] * position), "Return"],
                           env=xenv, check=True)
            try:
                wait_event(event, timeout=5)
                return
            except AssertionError:
                subprocess.run(["xdotool", "key", "Escape"], env=xenv)
        wait_event(event, timeout=1)

    try:
        wait_event({"ready": "gtk"}, timeout=30)
        pick(1, {"notify": "hushtype paused"})                       # Pause hushtype
        pick(1, {"notify": "hushtype resumed"})                      # now: Resume hushtype
        pick(2, {"opened": "http://127.0.0.1:1/history"})            # Open settings
        pick(3, {"opened": "http://127.0.0.1:1/history/wipe"})       # Wipe history… (confirmation)
        pick(4, {"quit": True})                                      # Quit hushtype
        assert probe.wait(timeout=15) == 0
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()

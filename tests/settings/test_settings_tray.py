"""The tray: its menu and icon states as pure logic, its actions on the assistant's state, and
the real pystray icon docked in a real system tray (trayer) on Xvfb, clicked with xdotool."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest

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
@pytest.fixture
def x_tray(monkeypatch):
    if not shutil.which("Xvfb") or not shutil.which("trayer") or not shutil.which("xdotool"):
        pytest.skip("needs Xvfb, trayer and xdotool (scripts/setup.sh --test installs them)")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        display = ":" + fh.readline().strip()
    monkeypatch.setenv("DISPLAY", display)
    panel = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel",
                              "--width", "120", "--height", "32", "--SetDockType", "true"],
                             env={**os.environ, "DISPLAY": display},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_tray_owner(display)
    yield display
    for proc in (panel, xvfb):
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for_tray_owner(display: str) -> None:
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


def _icon_window(display: str) -> tuple[int, int, int, int]:
    env = {**os.environ, "DISPLAY": display}
    deadline = time.monotonic() + 10
    while True:
        found = subprocess.run(["xdotool", "search", "--name", "^hushtype"], capture_output=True, text=True, env=env)
        if found.returncode == 0:
            window = found.stdout.split()[0]
            geo = subprocess.run(["xdotool", "getwindowgeometry", "--shell", window], capture_output=True,
                                 text=True, env=env).stdout
            values = dict(line.split("=") for line in geo.split())
            x, y, w, h = (int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
            if x > 0:  # docked into the tray (an undocked window stays at 0,0)
                return x, y, w, h
        assert time.monotonic() < deadline, "the tray icon did not dock"
        time.sleep(0.1)


def _pixels_of(display, box, colour) -> int:
    """How many pixels of the icon's window on the real screen have about this colour."""
    import numpy as np
    from PIL import ImageGrab

    x, y, w, h = box
    pixels = np.asarray(ImageGrab.grab(bbox=(x, y, x + w, y + h), xdisplay=display).convert("RGB"), dtype=int)
    return int((np.abs(pixels - np.array(colour)).max(axis=2) <= 30).sum())


@pytest.mark.x11
def test_icon_docks_in_a_real_tray_shows_state_and_a_click_opens_the_settings(x_tray):
    ctx = _context()
    opened = []
    icon = tray.Tray(ctx, tray.TrayActions(ctx, lambda path: f"http://127.0.0.1:1{path}", opened.append),
                     poll=0.05).start()
    try:
        assert icon.ready.wait(10)
        box = _icon_window(x_tray)
        x, y = box[0] + box[2] // 2, box[1] + box[3] // 2

        def wait_for(state):
            deadline = time.monotonic() + 10
            while True:
                counts = {s: _pixels_of(x_tray, box, tray.COLOURS[s]) for s in tray.STATES}
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

        env = {**os.environ, "DISPLAY": x_tray}
        subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True, env=env, timeout=10)
        deadline = time.monotonic() + 10
        while not opened:
            assert time.monotonic() < deadline, "a click on the icon did nothing"
            time.sleep(0.05)
        assert opened == ["http://127.0.0.1:1/history"]
    finally:
        icon.stop()

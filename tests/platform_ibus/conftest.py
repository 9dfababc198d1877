"""Fixtures for the IBus backend tests: a private desktop session - Xvfb or headless sway
(no X server at all) - with its own D-Bus and ibus-daemon, GTK3 windows using IBus, keys from
xdotool (X11) or wtype (Wayland), and the in-process engine pointed at that session only."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ibus_rig import IBusRig, GtkApp, gtk_missing, missing_tools, start_gtk_app  # noqa: E402
from rigs.sway import SwayRig  # noqa: E402
from rigs.x11 import start_xvfb  # noqa: E402


# Each wtype run is a new virtual keyboard: sway moves the keyboard focus away and back as it
# connects and goes, and GTK drops a key that is still on its way through IBus meanwhile. A
# human's keyboard stays connected; wtype waits this long before its first and after its last key.
WTYPE_SETTLE_MS = "200"


@dataclass
class Desktop:
    """One desktop session with IBus: ``kind`` "x11" or "wayland"; keys in its own tool."""

    kind: str
    rig: IBusRig
    sway: SwayRig | None = None

    def _run(self, args: list[str]) -> None:
        proc = subprocess.run(args, env=self.rig.env(), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr

    def type(self, text: str, delay_ms: int = 30) -> None:
        if self.kind == "x11":
            self._run(["xdotool", "type", "--delay", str(delay_ms), "--", text])
        else:
            assert not text.startswith("-")      # (text and options mix on wtype's line)
            self._run(["wtype", "-s", WTYPE_SETTLE_MS, "-d", str(delay_ms), text, "-s",
                       WTYPE_SETTLE_MS])

    def key(self, *names: str) -> None:
        """xdotool-style key names, "ctrl+a" chords too."""
        for name in names:
            if self.kind == "x11":
                self._run(["xdotool", "key", "--delay", "40", name])
                continue
            *mods, key = name.split("+")
            args = ["wtype", "-s", WTYPE_SETTLE_MS]
            for mod in mods:
                args += ["-M", mod]
            args += ["-k", key]
            for mod in reversed(mods):
                args += ["-m", mod]
            self._run(args + ["-s", WTYPE_SETTLE_MS])

    def hold_chord(self, mods: list[str], key: str, seconds: float) -> None:
        """Press mods+key, hold, release key then mods (the voice hotkey)."""
        if self.kind == "x11":
            self._run(["xdotool", "keydown", "+".join(mods + [key])])
            time.sleep(seconds)
            self._run(["xdotool", "keyup", key])
            self._run(["xdotool", "keyup", "+".join(mods)])
            return
        self._run(self._wtype_hold(mods, key, seconds))

    def hold_chord_while(self, mods: list[str], key: str, seconds: float):
        """Start holding mods+key for ``seconds`` (then release); returns the process."""
        env = self.rig.env()
        if self.kind == "x11":
            chord = "+".join(mods + [key])
            return subprocess.Popen(["sh", "-c", f"xdotool keydown {chord}; sleep {seconds}; "
                                     f"xdotool keyup {key}; xdotool keyup {'+'.join(mods)}"],
                                    env=env, start_new_session=True)
        return subprocess.Popen(self._wtype_hold(mods, key, seconds) + ["-s", WTYPE_SETTLE_MS],
                                env=env, start_new_session=True)

    @staticmethod
    def _wtype_hold(mods: list[str], key: str, seconds: float) -> list[str]:
        """wtype's line: press mods, press key, hold, release key, release mods."""
        args = ["wtype", "-s", WTYPE_SETTLE_MS]
        for mod in mods:
            args += ["-M", mod]
        args += ["-P", key, "-s", str(int(seconds * 1000)), "-p", key]
        for mod in reversed(mods):
            args += ["-m", mod]
        return args

    def click(self) -> None:
        """A left click in the window's text area (the caret moves: IBus resets)."""
        if self.kind == "x11":
            self._run(["xdotool", "mousemove", "100", "100", "click", "1"])
        else:
            self.sway.swaymsg("seat", "-", "cursor", "set", "100", "100")
            self.sway.swaymsg("seat", "-", "cursor", "press", "button1")
            self.sway.swaymsg("seat", "-", "cursor", "release", "button1")


@pytest.fixture(scope="module", params=["x11", "wayland"])
def desktop(request, tmp_path_factory):
    """A private desktop session with IBus, X11 (Xvfb, XIM too) or Wayland (headless sway)."""
    why = IBusRig.available() or gtk_missing()
    if why:
        pytest.skip(why)
    root = tmp_path_factory.mktemp(f"ibus-{request.param}")
    rig = IBusRig(root / "ibus")
    cleanup = []
    try:
        if request.param == "x11":
            missing = missing_tools("Xvfb", "xdotool")
            if missing:
                pytest.skip(f"needs {', '.join(missing)} (scripts/setup.sh --test installs them)")
            xvfb = start_xvfb()
            cleanup.append(xvfb.stop)
            rig.start({"DISPLAY": xvfb.display, "XDG_SESSION_TYPE": "x11"}, xim=True)
            session = Desktop("x11", rig)
        else:
            why = SwayRig.available(keep_keyboard=True)
            if why:
                pytest.skip(why)
            sway = SwayRig(root / "sway", keep_keyboard=True).start()
            cleanup.append(sway.stop)
            rig.start(sway.display_env, xim=False)
            session = Desktop("wayland", rig, sway)
        rig.set_engine("xkb:us::eng")            # the user's engine before hushtype
        yield session
    finally:
        rig.stop()
        for step in reversed(cleanup):
            step()


@pytest.fixture
def ibus_env(desktop, monkeypatch):
    """This test process is a client of the desktop's IBus session (for the in-process engine)."""
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "IBUS_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in desktop.rig.env().items():
        monkeypatch.setenv(key, value)
    # libibus caches the address file's path per process: this process meets two sessions
    # (X11, then Wayland), so it is told the daemon's address (hushtype up finds it itself).
    monkeypatch.setenv("IBUS_ADDRESS", desktop.rig.ibus("address").stdout.strip())
    return desktop


@pytest.fixture
def gtk_factory(desktop, tmp_path):
    apps: list[GtkApp] = []

    def start(mode: str | None = None) -> GtkApp:
        app = start_gtk_app(desktop.rig, tmp_path / f"gtk-{len(apps)}.txt", mode=mode)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()

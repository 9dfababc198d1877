"""Fixtures for the IBus backend tests: a private Xvfb + D-Bus + ibus-daemon session (X11),
GTK3 windows using it, and the in-process engine pointed at that session only."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ibus_rig import IBusRig, GtkApp, gtk_missing, kill, missing_tools, start_gtk_app  # noqa: E402


def _start_xvfb():
    numbers = list(range(400, 700))
    random.shuffle(numbers)
    for number in numbers[:20]:
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten",
                                 "tcp", "+extension", "XTEST", "+extension", "RECORD", "-noreset"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            ok = subprocess.run(["xdotool", "getmouselocation"], env={"DISPLAY": f":{number}"},
                                capture_output=True).returncode == 0
            if ok:
                return f":{number}", proc
            time.sleep(0.1)
        kill(proc)
    pytest.fail("Xvfb did not start")


@pytest.fixture(scope="module")
def ibus_x11(tmp_path_factory):
    """Xvfb plus a private IBus session with XIM: the rig (``rig.env()`` for clients)."""
    why = IBusRig.available() or gtk_missing()
    missing = missing_tools("Xvfb", "xdotool")
    if why or missing:
        pytest.skip(why or f"needs {', '.join(missing)} (scripts/setup.sh --test installs them)")
    display, xvfb = _start_xvfb()
    rig = IBusRig(tmp_path_factory.mktemp("ibus-x11"))
    try:
        rig.start({"DISPLAY": display, "XDG_SESSION_TYPE": "x11"}, xim=True)
        rig.set_engine("xkb:us::eng")            # the user's engine before hushtype
        yield rig
    finally:
        rig.stop()
        kill(xvfb)


def xdotool(rig: IBusRig, *args: str) -> None:
    proc = subprocess.run(["xdotool", *args], env=rig.env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def ibus_env(ibus_x11, monkeypatch):
    """This test process is a client of the rig's IBus session (for the in-process engine)."""
    for key, value in ibus_x11.env().items():
        monkeypatch.setenv(key, value)
    for key in ("WAYLAND_DISPLAY", "IBUS_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    return ibus_x11


@pytest.fixture
def gtk_factory(ibus_x11, tmp_path):
    apps: list[GtkApp] = []

    def start(mode: str | None = None) -> GtkApp:
        app = start_gtk_app(ibus_x11, tmp_path / f"gtk-{len(apps)}.txt", mode=mode)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()

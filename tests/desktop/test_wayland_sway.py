"""The voice-only Wayland backend on a real compositor: headless sway (no X server at all),
a GTK3 window on its Wayland socket, text typed in with wtype, the clipboard through
pyperclip/wl-clipboard, and the factory picking the backend from the session."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rigs.procs import SYSTEM_PYTHON, kill, need, wait_until
from rigs.sway import sway_session
from rigs.windows import SavedText

GTK_APP = Path(__file__).with_name("gtk_textapp.py")


@pytest.fixture(scope="module")
def sway():
    with sway_session() as env:
        yield env


class GtkApp(SavedText):
    def __init__(self, path: Path, proc: subprocess.Popen):
        self.path, self.proc = path, proc


@pytest.fixture
def gtk_app(sway, tmp_path):
    """A GTK3 text window on sway (GDK_BACKEND=wayland), focused, that saves its text."""
    need("wtype")
    path = tmp_path / "gtk.txt"
    proc = subprocess.Popen([SYSTEM_PYTHON, str(GTK_APP), str(path)], env=sway,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: Path(str(path) + ".ready").exists(), 30, message="the GTK window to take the focus")
    yield GtkApp(path, proc)
    kill(proc)


@pytest.fixture
def sway_process_env(sway, monkeypatch):
    """This process as a client of the sway session (and of no X server)."""
    for key in ("DISPLAY", "XAUTHORITY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in sway.items():
        monkeypatch.setenv(key, value)
    return sway


def test_the_session_has_no_x_server(sway):
    assert "DISPLAY" not in sway
    assert os.path.isabs(sway["WAYLAND_DISPLAY"])


def test_factory_picks_voice_only_wayland_with_wtype_on_sway(sway_process_env):
    from assistant.platform.select import open_platform
    from assistant.platform.wayland.output import WtypeOutput

    platform = open_platform({}, probes={"ibus": lambda: False})
    assert platform.name == "wayland"
    assert "voice only" in platform.reason and "wtype" in platform.reason
    assert isinstance(platform.output, WtypeOutput)
    assert platform.keys is None and platform.hotkeys is None and platform.focus is None
    assert "no keys" in platform.sees


def test_wtype_output_types_replaces_and_streams_unicode_into_gtk(sway_process_env, gtk_app):
    from assistant.platform.wayland.output import WtypeOutput

    out = WtypeOutput({})
    out.insert("fix: teh cat;;")
    gtk_app.wait_text(lambda t: t == "fix: teh cat;;", message="the typed command")
    out.replace(len("teh cat;;"), "the café – “naïve” ü")
    gtk_app.wait_text(lambda t: t == "fix: the café – “naïve” ü", message="the replaced text")
    session = out.stream(len("fix: the café – “naïve” ü"), original="fix: the café – “naïve” ü")
    session.feed("Once ")
    session.feed("upon\na time")
    assert session.finish() == "Once upon\na time"
    gtk_app.wait_text(lambda t: t == "Once upon\na time", message="the streamed answer")


def test_clipboard_output_leaves_the_text_for_ctrl_v_and_says_so(sway_process_env):
    """Where wtype cannot type (GNOME, KDE): the text goes on the compositor's clipboard (read
    back with wl-paste, as any app's paste would) and a notification says to press Ctrl+V.
    (A Ctrl+V sent by wtype did not make GTK3 paste under headless sway, so the paste itself
    is not driven here.)"""
    from assistant.platform.wayland.clipboard import PyperclipClipboard
    from assistant.platform.wayland.output import ClipboardOutput, OutputError

    need("wl-copy", "wl-paste")
    notes = []
    out = ClipboardOutput(PyperclipClipboard(), lambda title, message: notes.append(message))
    out.insert("Grüße aus Köln – “hi”")
    assert notes == ["The text is on the clipboard: press Ctrl+V to insert it"]
    pasted = subprocess.run(["wl-paste", "--no-newline"], env=sway_process_env, capture_output=True,
                            text=True, timeout=10).stdout
    assert pasted == "Grüße aus Köln – “hi”"
    assert PyperclipClipboard().read_text() == "Grüße aus Köln – “hi”"
    with pytest.raises(OutputError, match="delete text"):
        out.replace(3, "x")                  # it cannot take the command back: it refuses


def test_doctor_names_the_backend_and_why_on_sway(sway, live_server, tmp_path):
    import sys

    from rigs.procs import REPO

    env = dict(sway, HUSHTYPE_HOME=str(tmp_path / "home"), OLLAMA_HOST=live_server.host)
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    out = done.stdout
    assert "[  ok] platform backend: wayland: Wayland session without an IBus daemon: voice only" in out, out
    assert "[  ok] wayland text output: wtype types the transcript" in out, out
    assert "[warn] keyboard hook: no X display" in out, out     # X11 parts: not needed here
    assert done.returncode == 0, out

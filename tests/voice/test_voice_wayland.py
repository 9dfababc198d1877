"""Voice on a Wayland compositor with no global hotkeys: `hushtype voice start|stop|toggle`
(what a user binds to a desktop shortcut) drive a running `hushtype up` over its control socket.
Real parts: headless sway (no X server at all), a GTK3 window, the PulseAudio microphone rig,
jfk.flac / espeak-ng speech, Whisper, wtype; the words arrive in the window."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_helpers import TEST_CONFIG
from rigs.assistant import start_assistant
from rigs.procs import REPO, SYSTEM_PYTHON, kill, need, wait_until
from voice_helpers import ESPEAK_MAX_WER, SENTENCES, trim, wer

pytestmark = [pytest.mark.audio, pytest.mark.live]

GTK_APP = Path(__file__).resolve().parents[1] / "desktop" / "gtk_textapp.py"
JFK_WORDS = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"


def hushtype_voice(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    run_env = dict(env or os.environ)
    run_env["HUSHTYPE_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "assistant.cli", "voice", *args], cwd=REPO, env=run_env,
                          capture_output=True, text=True, timeout=60)


def fast_voice(home: Path, *args: str) -> subprocess.CompletedProcess:
    """The light entry point for desktop shortcuts: `python -m assistant.service.control voice ...`."""
    env = dict(os.environ, HUSHTYPE_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "assistant.service.control", "voice", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)


def recording_streams(rig) -> int:
    return len([line for line in rig.pactl("list", "short", "source-outputs").splitlines() if line.strip()])


@pytest.fixture(scope="module")
def sway():
    from rigs.sway import sway_session

    need("wtype")
    with sway_session() as env:
        yield env


@pytest.fixture(scope="module")
def wl_app(sway, tmp_path_factory):
    path = tmp_path_factory.mktemp("wl-app") / "gtk.txt"
    proc = subprocess.Popen([SYSTEM_PYTHON, str(GTK_APP), str(path)], env=sway,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: Path(str(path) + ".ready").exists(), 30, message="the GTK window to take the focus")
    yield path
    kill(proc)


@pytest.fixture(scope="module")
def wl_up(sway, pulse_rig, live_server, wl_app, tmp_path_factory):
    """`hushtype up` inside the sway session (auto backend: Wayland, no IBus -> voice only)."""
    home = tmp_path_factory.mktemp("wl-up-home")
    up = start_assistant(None, home, live_server.host,
                         TEST_CONFIG + "\n[voice]\nload_at_start = true\nmax_recording_seconds = 60\n",
                         args=("--no-settings",), env_extra={**pulse_rig.env, **sway},
                         wait_for="hushtype is up")
    yield up
    kill(up.process)


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_up_chooses_the_voice_only_wayland_backend_and_opens_a_private_socket(wl_up):
    log = wl_up.wait_log("control socket:")
    assert "platform: wayland" in log and "voice only" in log and "by wtype" in log
    assert "bind `hushtype voice toggle`" in log
    sock = wl_up.home / "control.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600


def test_voice_start_speak_stop_types_the_words_into_the_window(wl_up, wl_app, pulse_rig, jfk_audio):
    assert recording_streams(pulse_rig) == 0
    started = hushtype_voice(wl_up.home, "start")
    assert started.returncode == 0 and started.stdout.strip() == "recording", started.stderr
    wait_until(lambda: recording_streams(pulse_rig) > 0, 10, message="the microphone to open")
    time.sleep(0.3)
    pulse_rig.play(jfk_audio).wait(timeout=60)
    time.sleep(0.5)
    stopped = hushtype_voice(wl_up.home, "stop")
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped", stopped.stderr
    rows = wait_until(lambda: [r for r in wl_up.history() if r["source"] == "voice"], 90,
                      message="a voice history entry (the dictation was typed)")
    assert wer(JFK_WORDS, rows[-1]["output_text"]) <= 0.1, rows[-1]["output_text"]   # Whisper heard it
    # ... and the words arrived in the window. (wtype into GTK on a heavily loaded machine was
    # seen to garble a few characters of a long dictation, hence a word error rate, not equality.)
    wait_until(lambda: wer(JFK_WORDS, text_of(wl_app)) <= 0.25, 30,
               message=f"the dictation in the window (now {text_of(wl_app)!r})")
    wait_until(lambda: recording_streams(pulse_rig) == 0, 10, message="the microphone to close")
    assert "country" not in wl_up.log().lower()       # the words never reach the log


def test_voice_toggle_twice_records_and_types(wl_up, wl_app, pulse_rig, espeak):
    before = text_of(wl_app)
    first = fast_voice(wl_up.home, "toggle")
    assert first.returncode == 0 and first.stdout.strip() == "recording", first.stderr
    wait_until(lambda: recording_streams(pulse_rig) > 0, 10, message="the microphone to open")
    time.sleep(0.3)
    pulse_rig.play(trim(espeak(SENTENCES[1]))).wait(timeout=60)
    time.sleep(0.5)
    second = hushtype_voice(wl_up.home, "toggle")
    assert second.returncode == 0 and second.stdout.strip() == "stopped", second.stderr
    rows = wait_until(lambda: len([r for r in wl_up.history() if r["source"] == "voice"]) >= 2 and
                      [r for r in wl_up.history() if r["source"] == "voice"], 90, message="a second voice entry")
    assert wer(SENTENCES[1], rows[-1]["output_text"]) <= ESPEAK_MAX_WER, rows[-1]["output_text"]
    wait_until(lambda: wer(SENTENCES[1], text_of(wl_app)[len(before):]) <= ESPEAK_MAX_WER + 0.1, 30,
               message=f"the second dictation in the window (now {text_of(wl_app)!r})")


def test_bad_requests_get_a_clear_answer(wl_up):
    from assistant.service.control import request

    path = wl_up.home / "control.sock"
    assert request({"voice": "louder"}, path=path) == {
        "ok": False, "error": "unknown voice action 'louder' (start, stop or toggle)"}
    assert request({"ping": True}, path=path)["platform"] == "wayland"
    assert request({"what": 1}, path=path)["ok"] is False
    import socket

    with socket.socket(socket.AF_UNIX) as s:               # not JSON: an error line, no crash
        s.connect(str(path))
        s.sendall(b"hello\n")
        assert b'"not a JSON line"' in s.recv(4096)
    assert wl_up.process.poll() is None


def test_voice_commands_say_so_when_nothing_runs(tmp_path):
    for done in (hushtype_voice(tmp_path / "nobody-home", "toggle"), fast_voice(tmp_path / "nobody-home", "stop")):
        assert done.returncode == 1
        assert "hushtype is not running" in done.stderr and "hushtype up" in done.stderr
    usage = fast_voice(tmp_path, "louder")
    assert usage.returncode == 2 and "usage:" in usage.stderr

"""Fixtures for the voice tests: the Whisper model loaded once per session, real speech."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from voice_helpers import JFK, espeak_wav


@pytest.fixture(scope="session")
def whisper_engine():
    from assistant.voice.engine import WhisperEngine

    engine = WhisperEngine("", idle_unload_seconds=0)
    engine.load()
    return engine


@pytest.fixture(scope="session")
def jfk_audio() -> np.ndarray:
    from assistant.voice.transcriber import load_audio_file

    return load_audio_file(JFK)


@pytest.fixture(scope="session")
def espeak(tmp_path_factory):
    """espeak(text) -> 16 kHz float32 audio of that text (cached per session)."""
    from assistant.voice.transcriber import load_audio_file

    root = tmp_path_factory.mktemp("espeak")
    cache: dict[str, np.ndarray] = {}

    def make(text: str) -> np.ndarray:
        if text not in cache:
            path = espeak_wav(text, root / f"s{len(cache)}.wav")
            cache[text] = load_audio_file(path)
        return cache[text]

    return make


@pytest.fixture(scope="module")
def pulse_rig(tmp_path_factory):
    """A private PulseAudio server whose default source is a virtual microphone (module)."""
    from pulse_rig import PulseRig

    why = PulseRig.available()
    if why:
        pytest.skip(f"no PulseAudio rig: {why}")
    rig = PulseRig(tmp_path_factory.mktemp("pulse")).start()
    yield rig
    rig.stop()


@pytest.fixture
def pulse_env(pulse_rig, monkeypatch):
    """This process's PortAudio talks to the rig (devices re-scanned)."""
    from pulse_rig import reinit_portaudio

    for key, value in pulse_rig.env.items():
        monkeypatch.setenv(key, value)
    reinit_portaudio()
    yield pulse_rig
    reinit_portaudio()


# ---------------------------------------------------------------------- X11 + `hushtype up`
# The desktop area's helpers (XServer, TextApp, start_assistant) are reused by import.
_DESKTOP = Path(__file__).resolve().parents[1] / "desktop"
if str(_DESKTOP) not in sys.path:
    sys.path.insert(0, str(_DESKTOP))


@pytest.fixture(scope="module")
def voice_xserver():
    """Xvfb with RECORD (pynput's key hook) and XTEST (xdotool), killed at the end.

    Its display number is picked at random from a high range (not with -displayfd): other
    test sessions on this machine start Xvfb servers with low numbers at the same time, and
    a number reused while ours runs would take its socket away."""
    import random
    import subprocess
    import time

    from desktop_helpers import XServer, _kill, _need

    _need("Xvfb", "xdotool")
    for _attempt in range(8):
        number = random.randrange(300, 1000)
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        proc = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp",
             "+extension", "RECORD", "+extension", "XTEST", "-noreset"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        server = XServer(f":{number}", proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if server.run("xdotool", "getmouselocation").returncode == 0:
                break
            time.sleep(0.1)
        if proc.poll() is None and server.run("xdotool", "getmouselocation").returncode == 0:
            yield server
            _kill(proc)
            return
        _kill(proc)
    pytest.fail("Xvfb did not start")


@pytest.fixture
def voice_text_app(voice_xserver, tmp_path):
    """The desktop area's Tk test window, focused."""
    import subprocess

    from desktop_helpers import SYSTEM_PYTHON, TEXTAPP, TextApp, _kill, wait_until

    path = tmp_path / "voice-app.txt"
    proc = subprocess.Popen([SYSTEM_PYTHON, str(TEXTAPP), str(path), "Hushvoice"],
                            env=voice_xserver.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: Path(str(path) + ".ready").exists(), 20, message="the text app")
    window = wait_until(lambda: voice_xserver.run("xdotool", "search", "--pid", str(proc.pid),
                                                  "--class", "Hushvoice").stdout.split(), 10,
                        message="the text app's window")[-1]
    app = TextApp(voice_xserver, path, proc, window, "Hushvoice")
    app.focus()
    yield app
    _kill(proc)


VOICE_UP_CONFIG = """
[voice]
load_at_start = true
max_recording_seconds = 12
"""


@pytest.fixture(scope="module")
def voice_up(voice_xserver, pulse_rig, live_server, tmp_path_factory):
    """`hushtype up` (subprocess) on the Xvfb display, recording from the rig's microphone."""
    from desktop_helpers import TEST_CONFIG, _kill, start_assistant

    home = tmp_path_factory.mktemp("voice-up-home")
    up = start_assistant(voice_xserver, home, live_server.host, TEST_CONFIG + VOICE_UP_CONFIG,
                         args=("--no-settings",), env_extra=pulse_rig.env,
                         wait_for="push-to-talk: hold")
    yield up
    _kill(up.process)

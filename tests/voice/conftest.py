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
# The desktop area's Tk text app and config are reused by import (the X server and
# `hushtype up` come from tests/rigs).
_DESKTOP = Path(__file__).resolve().parents[1] / "desktop"
if str(_DESKTOP) not in sys.path:
    sys.path.insert(0, str(_DESKTOP))


@pytest.fixture(scope="module")
def voice_xserver():
    """Xvfb with RECORD (pynput's key hook) and XTEST (xdotool), killed at the end."""
    from rigs.x11 import start_xvfb

    server = start_xvfb()
    yield server
    server.stop()


@pytest.fixture
def voice_text_app(voice_xserver, tmp_path):
    """The desktop area's Tk test window, focused."""
    from desktop_helpers import start_text_app
    from rigs.procs import kill

    app = start_text_app(voice_xserver, tmp_path / "voice-app.txt", "Hushvoice")
    yield app
    kill(app.process)


VOICE_UP_CONFIG = """
[voice]
load_at_start = true
max_recording_seconds = 12
"""


@pytest.fixture(scope="module")
def voice_up(voice_xserver, pulse_rig, live_server, tmp_path_factory):
    """`hushtype up` (subprocess) on the Xvfb display, recording from the rig's microphone."""
    from desktop_helpers import TEST_CONFIG
    from rigs.assistant import start_assistant
    from rigs.procs import kill

    home = tmp_path_factory.mktemp("voice-up-home")
    up = start_assistant(voice_xserver, home, live_server.host, TEST_CONFIG + VOICE_UP_CONFIG,
                         args=("--no-settings",), env_extra=pulse_rig.env,
                         wait_for="push-to-talk: hold")
    yield up
    kill(up.process)

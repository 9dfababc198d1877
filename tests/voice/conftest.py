"""Fixtures for the voice tests: the Whisper model loaded once per session, real speech."""

from __future__ import annotations

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

"""Push-to-talk through the IBus engine: the voice hotkey's press and release reach the engine
while a GTK3 text field has the focus (the app never sees the chord), speech is played into a
private PulseAudio microphone, and the words are committed into the window."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rigs.assistant import TEST_CONFIG, start_assistant
from rigs.procs import wait_until

VOICE = Path(__file__).resolve().parents[1] / "voice"
if str(VOICE) not in sys.path:
    sys.path.insert(0, str(VOICE))

from voice_helpers import ESPEAK_MAX_WER, SENTENCES, espeak_wav, trim, wer  # noqa: E402

pytestmark = [pytest.mark.audio, pytest.mark.live]

VOICE_CONFIG = """
[voice]
load_at_start = true
max_recording_seconds = 12
"""


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    from pulse_rig import PulseRig

    why = PulseRig.available()
    if why:
        pytest.skip(f"no PulseAudio rig: {why}")
    rig = PulseRig(tmp_path_factory.mktemp("pulse")).start()
    yield rig
    rig.stop()


@pytest.fixture(scope="module")
def voice_up(desktop, pulse, live_server, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"voice-up-{desktop.kind}")
    up = start_assistant(desktop.rig, home, live_server.host, TEST_CONFIG + VOICE_CONFIG,
                         args=("--no-settings", "--platform", "ibus"), env_extra=pulse.env,
                         wait_for="push-to-talk: hold")
    yield up
    up.stop()


def test_dictation_is_committed_into_the_focused_field(voice_up, pulse, gtk_factory, desktop,
                                                       tmp_path):
    from assistant.voice.transcriber import load_audio_file

    window = gtk_factory()
    speech = trim(load_audio_file(espeak_wav(SENTENCES[1], tmp_path / "s.wav")))
    seconds = len(speech) / 16000 + 2.5
    holder = desktop.hold_chord_while(["ctrl", "alt"], "space", seconds)
    try:
        wait_until(lambda: pulse.pactl("list", "short", "source-outputs").strip(), 15,
                   message="the microphone to open")
        time.sleep(0.3)
        pulse.play(np.asarray(speech, dtype=np.float32)).wait(timeout=60)
    finally:
        holder.wait(timeout=60)
    text = window.wait_text(lambda t: t.rstrip().endswith((".", "!", "?")), 60, "the dictation")
    assert wer(SENTENCES[1], text) <= ESPEAK_MAX_WER, text
    assert " " != text[:1]                    # the chord's space never reached the app
    rows = wait_until(lambda: [r for r in voice_up.history() if r["source"] == "voice"], 15,
                      message="a voice history entry")
    assert rows[-1]["status"] == "ok" and rows[-1]["output_text"] == text

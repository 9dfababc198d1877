"""The capture path through a real PortAudio device: PortAudio -> ALSA 'pulse' plugin -> a
private PulseAudio server whose microphone plays espeak-ng speech -> VAD -> Whisper."""

from __future__ import annotations

import time

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from assistant.voice.capture import CaptureError, Microphone, _Resampler, list_input_devices, resolve_device
from assistant.voice.transcriber import IncrementalTranscriber, transcribe_audio
from voice_helpers import ESPEAK_MAX_WER, SENTENCES, silence, wer

pytestmark = pytest.mark.audio


def test_devices_lists_the_pulse_input(pulse_env):
    from assistant.voice import cli

    devices = list_input_devices()
    names = [d["name"] for d in devices]
    assert "pulse" in names and "default" in names
    assert sum(d["default"] for d in devices) == 1
    app = typer.Typer()
    cli.register(app)
    result = CliRunner().invoke(app, ["devices"])
    assert result.exit_code == 0
    assert "pulse" in result.stdout and "* " in result.stdout


def test_device_by_index_or_name_and_clear_errors(pulse_env):
    index = resolve_device("pulse")
    assert isinstance(index, int)
    assert resolve_device(str(index)) == index
    assert resolve_device("") is None
    with pytest.raises(CaptureError, match="no input device named"):
        resolve_device("no such microphone")
    with pytest.raises(CaptureError, match="no input device with index"):
        resolve_device("999")


def test_record_speech_from_the_virtual_microphone(pulse_env, whisper_engine, espeak):
    speech = np.concatenate([espeak(SENTENCES[1]), silence(0.6), espeak(SENTENCES[3])])
    blocks: list[np.ndarray] = []
    session = IncrementalTranscriber(whisper_engine, drop_first_ms=150)

    def on_block(block):
        blocks.append(block)
        session.feed(block)

    mic = Microphone("")  # the system default input = the rig's virtual microphone
    mic.open(on_block)
    try:
        assert mic.is_open and mic.rate == 16000
        time.sleep(0.3)  # the user presses the key, then speaks
        player = pulse_env.play(speech)
        player.wait(timeout=60)
        time.sleep(0.6)  # and lets go a moment after the last word
    finally:
        mic.close()
    assert not mic.is_open
    recorded = np.concatenate(blocks)
    # ~30 ms blocks at 16 kHz, in real time: as long as what was played (+ the waits)
    assert {len(b) for b in blocks[1:-1]} == {480}
    assert len(speech) / 16000 < len(recorded) / 16000 < len(speech) / 16000 + 3.0
    assert np.abs(recorded).max() > 0.1  # the speech arrived, not silence
    result = session.finish()
    assert wer(SENTENCES[1] + " " + SENTENCES[3], result.text) <= ESPEAK_MAX_WER, result.text


def test_opening_twice_is_refused_and_close_is_idempotent(pulse_env):
    mic = Microphone(None)
    mic.open(lambda block: None)
    try:
        with pytest.raises(CaptureError, match="already recording"):
            mic.open(lambda block: None)
    finally:
        mic.close()
    mic.close()


def test_resampling_fallback_for_devices_without_16khz(whisper_engine, espeak):
    """A device that only records at 48 kHz is resampled in 30 ms blocks (no device needed:
    the 'pulse' device converts rates itself, so this path is tested on its own)."""
    import av  # noqa: F401  (PyAV is faster-whisper's decoder)

    speech = espeak(SENTENCES[2])
    # make 48 kHz input: upsample with PyAV as a device would deliver it
    up = av.AudioResampler(format="flt", layout="mono", rate=48000)
    frame = av.AudioFrame.from_ndarray(speech.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = 16000
    high = np.concatenate([f.to_ndarray().reshape(-1) for f in up.resample(frame)])
    resample = _Resampler(48000)
    out = np.concatenate([resample(high[i:i + 1440]) for i in range(0, len(high), 1440)])
    assert abs(len(out) - len(speech)) < 0.1 * 16000
    assert wer(SENTENCES[2], transcribe_audio(whisper_engine, out).text) <= ESPEAK_MAX_WER


def test_microphone_that_appears_after_start_is_found(pulse_rig, monkeypatch):
    """PortAudio lists devices once; opening re-scans when the device list is stale
    (a headset plugged in, or the sound server started, after `hushtype up`)."""
    from pulse_rig import reinit_portaudio

    for key in pulse_rig.env:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/pulse/native")
    reinit_portaudio()  # PortAudio now knows no working input
    try:
        for key, value in pulse_rig.env.items():  # the sound server "appears"
            monkeypatch.setenv(key, value)
        blocks = []
        mic = Microphone("pulse")
        mic.open(blocks.append)
        try:
            wait = time.monotonic() + 5
            while not blocks and time.monotonic() < wait:
                time.sleep(0.05)
        finally:
            mic.close()
        assert blocks, "no audio from the rescanned device"
    finally:
        reinit_portaudio()

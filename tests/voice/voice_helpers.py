"""Helpers for the voice tests: reference texts, WER limits, espeak-ng speech."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np



def _shared_data() -> Path:
    """shared/data beside the checkout or beside one of its parents (CI clones main with
    shared/ beside it; a git worktree may sit a level deeper)."""
    checkout = Path(__file__).resolve().parents[2]
    for folder in checkout.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return checkout.parent / "shared" / "data"


DATA = _shared_data()
JFK = DATA / "jfk.flac"
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")

# Sentences espeak-ng pronounces clearly (no digits: "3" vs "three" is not an error).
SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please send the quarterly report to the finance team before Friday afternoon.",
    "We should test the new software before we release it to our customers.",
    "It is raining outside, so take an umbrella with you.",
]

# Word error rate limits (after lower-casing and removing punctuation):
# * jfk.flac is clear human speech; tiny.en transcribes it without error (measured 0.0).
#   0.1 allows two wrong words out of 22 and still fails on a lost segment or a clipped start.
# * espeak-ng's robotic voice is harder for tiny.en: measured 0.10-0.15 over these sentences
#   ("round fox", "a umbrella"). 0.25 sits well above that noise and far below what a real
#   fault gives (wrong sample rate, dropped segments, truncated audio: 0.5-1.0).
JFK_MAX_WER = 0.10
ESPEAK_MAX_WER = 0.25


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split())


def wer(reference: str | list[str], hypothesis: str | list[str]) -> float:
    import jiwer

    if isinstance(reference, str):
        reference, hypothesis = [reference], [hypothesis]
    return jiwer.wer([normalise(r) for r in reference], [normalise(h) for h in hypothesis])


def normalise_any_language(text: str) -> str:
    """Lower case, letters and digits of any script kept (``normalise`` keeps ASCII only)."""
    return " ".join(re.sub(r"[^\w']+", " ", text.casefold().replace("_", " ")).split())


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate, for languages other than English: espeak-ng's robotic voices make
    Whisper base miss a letter or two in many words ("oficia", "me trazo" for "retraso"), which
    costs a whole word each in WER but little in CER, while a wrong language, English words or a
    dropped half still cost 0.5 or more."""
    import jiwer

    return jiwer.cer(normalise_any_language(reference), normalise_any_language(hypothesis))


def espeak_wav(text: str, path: Path, voice: str = "en-us") -> Path:
    """espeak-ng speech (``voice``: en-us, de, es ...) resampled to 16 kHz mono with sox."""
    raw = path.with_suffix(".22k.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text],
                   check=True, timeout=60)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)],
                   check=True, timeout=60)
    raw.unlink()
    return path


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.float32)


def trim(audio: np.ndarray) -> np.ndarray:
    """espeak audio without its trailing silence (cut 30 ms after the last loud sample)."""
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[: int(loud[-1]) + 480]

"""Several slightly shifted views of one clip, encoded together and averaged.

Whisper's log-mel frames are 10 ms (160 samples) apart, so where a clip starts decides where
every frame boundary falls; tiny.en's errors move with that (the same espeak-ng sentence with
30 or 55 ms of leading silence is heard differently). Encoding copies of the clip shifted by
half a hop either way (-80, 0, +80 samples = -5, 0, +5 ms) and averaging the encoder outputs
before decoding smooths this out: on the 180 dev clips of ``benchmarks/voice_dev.py`` (60
sentences x 3 leading offsets) tiny.en's word error rate went from 0.072 to 0.057, and it fell
at every offset (0.074/0.068/0.074 -> 0.063/0.055/0.052). Two views as :func:`shifts` lays
them out (-40, +40) gave 0.064, five 0.063; earlier two-view layouts (0, +80) 0.066, (0, +120) 0.063. The views are one batched encoder call; decoding still runs once.

Pure array work: :func:`shifts` and :func:`shifted` build the views, :func:`average` the mean
of a batch of encoder outputs. The engine (:mod:`assistant.voice.engine`) does the encoding.
"""

from __future__ import annotations

import numpy as np

STEP = 80  # samples between views: half of Whisper's 160-sample (10 ms) mel hop
DEFAULT_VIEWS = 3  # [voice] encoder_views
MAX_VIEWS = 7


def shifts(views: int, step: int = STEP) -> list[int]:
    """Sample offsets of ``views`` views centred on the clip as recorded (0 is always one of
    them when ``views`` is odd): 1 -> [0], 3 -> [-80, 0, 80], 2 -> [-40, 40]."""
    views = max(1, min(int(views), MAX_VIEWS))
    centre = (views - 1) / 2
    return [int(round((i - centre) * step)) for i in range(views)]


def shifted(audio: np.ndarray, shift: int) -> np.ndarray:
    """``audio`` started ``shift`` samples later (``shift`` > 0: silence put in front) or
    earlier (``shift`` < 0: its first samples dropped)."""
    audio = np.asarray(audio, dtype=np.float32)
    if shift > 0:
        return np.concatenate([np.zeros(shift, dtype=np.float32), audio])
    if shift < 0:
        return audio[-shift:]
    return audio


def fit_frames(features: np.ndarray, frames: int, fill: float) -> np.ndarray:
    """``features`` (mels x n) cut or padded with ``fill`` to ``frames`` columns."""
    out = np.full((features.shape[0], frames), fill, dtype=np.float32)
    n = min(features.shape[1], frames)
    out[:, :n] = features[:, :n]
    return out


def average(encoded: np.ndarray) -> np.ndarray:
    """The mean over the batch axis of encoder outputs (views x time x width), kept as a
    batch of one, C-contiguous float32 (what CTranslate2 takes back)."""
    encoded = np.asarray(encoded, dtype=np.float32)
    return np.ascontiguousarray(encoded.mean(axis=0, keepdims=True))

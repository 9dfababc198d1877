"""Voice activity detection: split a stream of 16 kHz samples into speech segments.

Uses the Silero VAD model that ships inside faster-whisper (``faster_whisper.vad``, ONNX,
run by onnxruntime), fed one 32 ms window at a time with its recurrent state carried over, so
a segment closes while the user is still talking - which is what makes incremental
transcription possible. On a whole file the result is the same as running it in one go.

A segment opens on the first window whose speech probability reaches ``threshold`` (with
``pre_roll_ms`` of audio before it), and closes once the probability has stayed under
``neg_threshold`` for ``hangover_ms``; it keeps ``tail_ms`` of that silence so word endings
are not clipped. Speech running longer than ``max_segment_s`` is cut at its quietest window of
the last ``split_search_s`` seconds (a pause between words), so no segment grows unbounded.
Segments with less than ``min_speech_ms`` of speech (clicks, breaths) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
WINDOW = 512  # samples per Silero window (32 ms)
_CONTEXT = 64  # samples of the previous window the model sees


@dataclass(frozen=True)
class VadConfig:
    threshold: float = 0.5
    neg_threshold: float = 0.35
    pre_roll_ms: int = 200
    hangover_ms: int = 450
    tail_ms: int = 250
    min_speech_ms: int = 100
    max_segment_s: float = 6.0
    split_search_s: float = 2.0


@dataclass(frozen=True)
class Segment:
    start: int  # sample offsets in the stream
    end: int
    audio: np.ndarray
    speech_windows: int = 0  # windows at or above the threshold (identifies a segment's content)

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE


class SileroStream:
    """Speech probability per 512-sample window, state carried across calls."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model  # the bundled ONNX model, loaded once

        self._session = get_vad_model().session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT), dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        x = np.concatenate([self._context, window.reshape(1, WINDOW)], axis=1)
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = x[:, -_CONTEXT:]
        return float(out.ravel()[0])


class SpeechSegmenter:
    """Feed audio as it arrives; get back the segments that closed."""

    def __init__(self, config: VadConfig | None = None, *, probability=None) -> None:
        self.config = config or VadConfig()
        self._prob = probability or SileroStream()
        self._buf = np.zeros(SAMPLE_RATE * 8, dtype=np.float32)  # grows by doubling
        self._n = 0  # samples fed so far (kept in memory only, never written anywhere)
        self._probs: list[float] = []  # one per complete window
        self._in_speech = False
        self._seg_start = 0
        self._seg_speech_windows = 0
        self._silence_windows = 0
        self._last_end = 0
        ms = SAMPLE_RATE // 1000
        c = self.config
        self._pre_roll = c.pre_roll_ms * ms
        self._hangover_windows = max(1, round(c.hangover_ms * ms / WINDOW))
        self._tail = c.tail_ms * ms
        self._min_speech_windows = max(1, round(c.min_speech_ms * ms / WINDOW))
        self._max_segment = int(c.max_segment_s * SAMPLE_RATE)
        self._split_search = int(c.split_search_s * SAMPLE_RATE)

    @property
    def samples(self) -> int:
        return self._n

    @property
    def _audio(self) -> np.ndarray:
        return self._buf[:self._n]

    @property
    def speech_open(self) -> bool:
        return self._in_speech

    def _append(self, samples: np.ndarray) -> None:
        need = self._n + len(samples)
        if need > len(self._buf):
            bigger = np.zeros(max(need, 2 * len(self._buf)), dtype=np.float32)
            bigger[:self._n] = self._buf[:self._n]
            self._buf = bigger
        self._buf[self._n:need] = samples
        self._n = need

    def feed(self, samples: np.ndarray) -> list[Segment]:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._append(samples)
        closed: list[Segment] = []
        while (len(self._probs) + 1) * WINDOW <= len(self._audio):
            i = len(self._probs)
            p = self._prob(self._audio[i * WINDOW:(i + 1) * WINDOW])
            self._probs.append(p)
            seg = self._step(i, p)
            if seg is not None:
                closed.append(seg)
        return closed

    def _emit(self, start: int, end: int) -> Segment | None:
        end = min(end, len(self._audio))
        self._last_end = max(self._last_end, end)
        if end <= start:
            return None
        return Segment(start, end, self._audio[start:end].copy(), self._seg_speech_windows)

    def quiet_open_segment(self, min_silence_ms: int) -> Segment | None:
        """The open segment, cut where it went quiet, once it has been quiet for
        ``min_silence_ms`` (not yet long enough to close it). Its ``start`` and
        ``speech_windows`` equal those of the segment that finally closes if no more speech
        comes - so a transcript made of it now can be used then."""
        if not self._in_speech or self._seg_speech_windows < self._min_speech_windows:
            return None
        if self._silence_windows * WINDOW < min_silence_ms * (SAMPLE_RATE // 1000):
            return None
        silence_start = (len(self._probs) - self._silence_windows) * WINDOW
        end = min(silence_start + self._tail, len(self._audio))
        return Segment(self._seg_start, end, self._audio[self._seg_start:end].copy(),
                       self._seg_speech_windows)

    def _step(self, i: int, p: float) -> Segment | None:
        c = self.config
        pos = i * WINDOW
        if not self._in_speech:
            if p >= c.threshold:
                self._in_speech = True
                self._seg_start = max(self._last_end, pos - self._pre_roll, 0)
                self._seg_speech_windows = 1
                self._silence_windows = 0
            return None
        if p >= c.threshold:
            self._seg_speech_windows += 1
            self._silence_windows = 0
        elif p < c.neg_threshold:
            self._silence_windows += 1
        if self._silence_windows >= self._hangover_windows:
            self._in_speech = False
            silence_start = (i + 1 - self._silence_windows) * WINDOW
            if self._seg_speech_windows < self._min_speech_windows:
                return None
            return self._emit(self._seg_start, silence_start + self._tail)
        if (i + 1) * WINDOW - self._seg_start > self._max_segment:
            return self._split(i)
        return None

    def _split(self, i: int) -> Segment | None:
        """Cut running speech at its quietest window among the last ``split_search_s``."""
        first = max(self._seg_start // WINDOW + 1, i + 1 - self._split_search // WINDOW)
        window_probs = self._probs[first:i + 1]
        cut_window = first + int(np.argmin(window_probs))
        cut = cut_window * WINDOW + WINDOW // 2
        seg = self._emit(self._seg_start, cut)
        self._seg_start = cut
        self._seg_speech_windows = sum(1 for q in self._probs[cut_window:i + 1] if q >= self.config.threshold)
        self._silence_windows = 0
        return seg

    def finish(self) -> list[Segment]:
        """Close the stream: the open segment (if it holds enough speech) ends here."""
        out: list[Segment] = []
        rest = len(self._audio) - len(self._probs) * WINDOW
        if rest > 0:  # the last partial window, zero-padded, still counts
            window = np.zeros(WINDOW, dtype=np.float32)
            window[:rest] = self._audio[len(self._probs) * WINDOW:]
            p = self._prob(window)
            self._probs.append(p)
            seg = self._step(len(self._probs) - 1, p)
            if seg is not None:
                out.append(seg)
        if self._in_speech:
            self._in_speech = False
            if self._seg_speech_windows >= self._min_speech_windows:
                seg = self._emit(self._seg_start, len(self._audio))
                if seg is not None:
                    out.append(seg)
        return out


def speech_segments(audio: np.ndarray, config: VadConfig | None = None) -> list[Segment]:
    """All speech segments of a complete recording."""
    seg = SpeechSegmenter(config)
    return seg.feed(audio) + seg.finish()


def merge_segments(segments: list[Segment], max_seconds: float = 28.0) -> list[np.ndarray]:
    """Concatenate neighbouring segments into pieces of at most ``max_seconds`` (one Whisper
    window each, so a file costs as few model calls as possible)."""
    pieces: list[np.ndarray] = []
    current: list[np.ndarray] = []
    length = 0
    limit = int(max_seconds * SAMPLE_RATE)
    for s in segments:
        n = len(s.audio)
        if current and length + n > limit:
            pieces.append(np.concatenate(current))
            current, length = [], 0
        current.append(s.audio)
        length += n
    if current:
        pieces.append(np.concatenate(current))
    return pieces

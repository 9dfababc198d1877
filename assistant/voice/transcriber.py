"""Speech to text: incremental while the key is held, and whole files.

:class:`IncrementalTranscriber` is one recording. Audio blocks go in from the capture callback
(``feed`` only queues them, it never blocks the audio thread); a worker thread runs VAD and
transcribes each speech segment as soon as VAD closes it. When the user pauses (``early_after_ms``
of silence, before VAD's hangover closes the segment), the open segment is transcribed too: if
the key goes up before more speech comes, that text is used as is. ``finish()`` (the key went
up) then has at most the tail to transcribe. Audio stays in memory and is dropped with the
object.

:func:`transcribe_audio` is the same VAD + model path for a complete recording.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from assistant.voice.engine import WhisperEngine
from assistant.voice.vad import SAMPLE_RATE, Segment, SpeechSegmenter, VadConfig, merge_segments, speech_segments

_PROMPT_CHARS = 200  # previous text given to Whisper as context for the next segment
_MAX_BATCH_S = 28.0


@dataclass
class Transcript:
    text: str
    segments: list[str] = field(default_factory=list)  # text per model call, in order
    speech_seconds: float = 0.0
    audio_seconds: float = 0.0
    incremental_calls: int = 0  # model calls made before finish()
    tail_calls: int = 0  # model calls made by finish()
    early_hits: int = 0  # segments whose text was ready before they closed
    finish_seconds: float = 0.0  # wall time of finish(): release-to-text
    language: str | None = None  # spoken language (detected with language "auto"), by most speech


def _main_language(seconds_by_language: dict[str, float]) -> str | None:
    return max(seconds_by_language, key=seconds_by_language.get) if seconds_by_language else None


def _hotwords(vocabulary) -> str | None:
    words = [w.strip() for w in (vocabulary or ()) if w and w.strip()]
    return " ".join(words) or None


class IncrementalTranscriber:
    def __init__(
        self,
        engine: WhisperEngine,
        *,
        vad: VadConfig | None = None,
        vocabulary=(),
        drop_first_ms: int = 150,
        min_speech_ms: int = 300,
        early_after_ms: int = 200,
    ) -> None:
        self.engine = engine
        self._segmenter = SpeechSegmenter(vad or VadConfig())
        self._hotwords = _hotwords(vocabulary)
        self._drop = int(drop_first_ms * SAMPLE_RATE / 1000)
        self._min_speech = int(min_speech_ms * SAMPLE_RATE / 1000)
        self._blocks: queue.SimpleQueue = queue.SimpleQueue()
        self._texts: list[str] = []
        self._languages: dict[str, float] = {}  # seconds of audio per detected language
        self._speech_samples = 0
        self._received = 0
        self._finishing = False
        self._incremental_calls = 0
        self._tail_calls = 0
        self._error: BaseException | None = None
        self._early_after_ms = early_after_ms
        self._early: tuple[tuple[int, int], str] | None = None  # ((start, speech windows), text)
        self.early_hits = 0
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name="voice-transcribe", daemon=True)
        self._worker.start()

    # -- producer side (audio thread) ----------------------------------------------------
    def feed(self, block: np.ndarray) -> None:
        """Queue an audio block (16 kHz mono float32). Cheap; safe from the audio callback."""
        if self._finishing or self._cancelled.is_set():
            return
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        if self._drop > 0:  # the key click at the start
            cut = min(self._drop, len(block))
            self._drop -= cut
            block = block[cut:]
        if block.size:
            self._received += block.size
            self._blocks.put(block.copy())

    @property
    def text_so_far(self) -> str:
        with self._lock:
            return " ".join(self._texts)

    @property
    def calls_so_far(self) -> int:
        return self._incremental_calls

    # -- worker --------------------------------------------------------------------------
    def _call(self, audio: np.ndarray) -> str:
        with self._lock:
            context = " ".join(self._texts)[-_PROMPT_CHARS:] or None
        text, language = self.engine.transcribe_detailed(audio, prompt=context, hotwords=self._hotwords)
        if text and language:
            self._languages[language] = self._languages.get(language, 0.0) + len(audio) / SAMPLE_RATE
        return text

    def _transcribe(self, segments: list[Segment], *, tail: bool) -> None:
        # a segment already transcribed while the user paused keeps that text
        groups: list[list[Segment] | str] = []
        for seg in segments:
            early = self._early
            if early is not None and (seg.start, seg.speech_windows) == early[0]:
                groups.append(early[1])
                self._early = None
                self.early_hits += 1
            elif groups and isinstance(groups[-1], list):
                groups[-1].append(seg)
            else:
                groups.append([seg])
        for group in groups:
            if self._cancelled.is_set():
                return
            if isinstance(group, str):
                texts = [group]
            else:
                texts = []
                for piece in merge_segments(group, _MAX_BATCH_S):
                    texts.append(self._call(piece))
                    if tail:
                        self._tail_calls += 1
                    else:
                        self._incremental_calls += 1
            with self._lock:
                self._texts.extend(t for t in texts if t)

    def _transcribe_early(self) -> None:
        """The user paused: transcribe the open segment now, in case the key goes up next."""
        seg = self._segmenter.quiet_open_segment(self._early_after_ms)
        if seg is None or (self._early is not None and self._early[0] == (seg.start, seg.speech_windows)):
            return
        text = self._call(seg.audio)
        self._incremental_calls += 1
        self._early = ((seg.start, seg.speech_windows), text)

    def _run(self) -> None:
        pending: list[Segment] = []
        try:
            while not self._cancelled.is_set():
                block = self._blocks.get()
                if block is None:  # finish(): the sentinel comes after every queued block
                    pending.extend(self._segmenter.finish())
                    pending = self._keep_speech(pending)
                    if pending:
                        self._transcribe(pending, tail=True)
                    break
                pending.extend(self._segmenter.feed(block))
                if not self._blocks.empty():
                    continue  # catch up with the audio first
                if pending:  # transcribe what VAD closed
                    batch, pending = self._keep_speech(pending), []
                    self._transcribe(batch, tail=False)
                elif self._early_after_ms:
                    self._transcribe_early()
        except BaseException as exc:  # reported by finish()
            self._error = exc
        finally:
            self._done.set()

    def _keep_speech(self, segments: list[Segment]) -> list[Segment]:
        for s in segments:
            self._speech_samples += len(s.audio)
        return segments

    # -- consumer side -------------------------------------------------------------------
    def finish(self, timeout: float | None = 120.0) -> Transcript:
        """The key went up: transcribe the tail and return the whole transcript."""
        t0 = time.perf_counter()
        self._finishing = True
        self._blocks.put(None)
        if not self._done.wait(timeout):
            self.cancel()
            raise TimeoutError("transcription did not finish in time")
        if self._error is not None:
            raise self._error
        with self._lock:
            texts = list(self._texts)
        text = " ".join(texts)
        if self._speech_samples < self._min_speech:
            text = ""  # too little speech: a cough or the key click, not words
        return Transcript(
            text=text,
            segments=texts,
            speech_seconds=self._speech_samples / SAMPLE_RATE,
            audio_seconds=self._received / SAMPLE_RATE,
            incremental_calls=self._incremental_calls,
            tail_calls=self._tail_calls,
            early_hits=self.early_hits,
            finish_seconds=time.perf_counter() - t0,
            language=_main_language(self._languages),
        )

    def cancel(self) -> None:
        """Throw the recording away without transcribing the rest."""
        self._cancelled.set()
        self._blocks.put(None)


def transcribe_audio(
    engine: WhisperEngine,
    audio: np.ndarray,
    *,
    vad: VadConfig | None = None,
    vocabulary=(),
) -> Transcript:
    """Transcript of a complete 16 kHz mono recording through the same VAD + model path."""
    t0 = time.perf_counter()
    segments = speech_segments(np.asarray(audio, dtype=np.float32), vad)
    hotwords = _hotwords(vocabulary)
    texts: list[str] = []
    languages: dict[str, float] = {}
    for piece in merge_segments(segments, _MAX_BATCH_S):
        context = " ".join(texts)[-_PROMPT_CHARS:] or None
        text, language = engine.transcribe_detailed(piece, prompt=context, hotwords=hotwords)
        if text:
            texts.append(text)
            if language:
                languages[language] = languages.get(language, 0.0) + len(piece) / SAMPLE_RATE
    return Transcript(
        text=" ".join(texts),
        segments=texts,
        speech_seconds=sum(len(s.audio) for s in segments) / SAMPLE_RATE,
        audio_seconds=len(audio) / SAMPLE_RATE,
        tail_calls=len(texts),
        finish_seconds=time.perf_counter() - t0,
        language=_main_language(languages),
    )


def load_audio_file(path) -> np.ndarray:
    """Decode any file PyAV/ffmpeg reads to 16 kHz mono float32 (in memory)."""
    from faster_whisper import decode_audio

    return decode_audio(str(path), sampling_rate=SAMPLE_RATE)

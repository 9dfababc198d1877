"""One-call transcription for other areas (the settings page's microphone test):
``transcribe_audio(audio, settings) -> str`` through the same VAD + Whisper + clean-up path as
push-to-talk. The engine is cached per model settings and unloads itself when idle."""

from __future__ import annotations

import threading

import numpy as np

from assistant.voice.cleanup import clean_transcript
from assistant.voice.engine import WhisperEngine
from assistant.voice.settings import engine_from_settings, vad_from_settings
from assistant.voice import transcriber

_lock = threading.Lock()
_engines: dict[tuple, WhisperEngine] = {}


def shared_engine(voice: dict) -> WhisperEngine:
    key = (str(voice.get("model_path", "")), str(voice.get("model", "")), voice.get("language", "en"),
           str(voice.get("detect_languages", [])),
           voice.get("beam_size", 5), voice.get("cpu_threads", 0), voice.get("rescore", True),
           voice.get("short_window_seconds", 10), voice.get("encoder_views", 3))
    with _lock:
        for other_key, other in list(_engines.items()):
            if other_key != key:
                other.unload_if_idle()
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = engine_from_settings(voice)
        return engine


def transcribe_audio(audio: np.ndarray, settings: dict) -> str:
    """Cleaned transcript of 16 kHz mono float32 ``audio`` ("" when there is no speech)."""
    voice = settings.get("voice", {})
    engine = shared_engine(voice)
    result = transcriber.transcribe_audio(engine, audio, vad=vad_from_settings(voice),
                                          vocabulary=voice.get("vocabulary", []))
    return clean_transcript(result.text, remove_filler_words=bool(voice.get("remove_fillers", True)),
                            vocabulary=voice.get("vocabulary", []))

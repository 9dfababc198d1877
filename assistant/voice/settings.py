"""Build the voice objects from the ``[voice]`` settings table (config/defaults.toml)."""

from __future__ import annotations

from assistant.voice import encoder_views as views
from assistant.voice.engine import WhisperEngine, rescore_mode
from assistant.voice.lm_rescoring import BUDGET_S
from assistant.voice.model_store import choice_from_settings
from assistant.voice.vad import VadConfig

DEFAULT_RESCORE = "model"  # config/defaults.toml has the same


def _num(voice: dict, key: str, default, *, minimum=0):
    value = voice.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(f"[voice] {key} must be a number >= {minimum}, got {value!r}")
    return value


def vad_from_settings(voice: dict) -> VadConfig:
    return VadConfig(
        threshold=float(_num(voice, "vad_threshold", 0.5)),
        hangover_ms=int(_num(voice, "vad_hangover_ms", 450)),
        pre_roll_ms=int(_num(voice, "vad_pre_roll_ms", 200)),
        max_segment_s=float(_num(voice, "max_segment_seconds", 6.0, minimum=1)),
    )


def _short_window(voice: dict) -> float:
    """0 = always Whisper's full 30 s window; otherwise at least 5 s (shorter hurts accuracy)."""
    value = float(_num(voice, "short_window_seconds", 10))
    return 0.0 if value == 0 else max(5.0, min(value, 30.0))


def engine_from_settings(voice: dict, *, model: str | None = None, model_lm=None) -> WhisperEngine:
    """``model`` ("tiny.en", "base" or a folder) overrides ``[voice] model``/``model_path``;
    ``model_lm`` is the server's scorer for ``rescore = "model"``
    (:class:`assistant.voice.lm_rescoring.ServerLM`)."""
    return WhisperEngine(
        model if model else choice_from_settings(voice),
        language=voice.get("language", "en") or None,  # "auto" = detect (multilingual models)
        beam_size=int(_num(voice, "beam_size", 5, minimum=1)),
        cpu_threads=int(_num(voice, "cpu_threads", 0)),
        idle_unload_seconds=float(_num(voice, "unload_after_idle_seconds", 600)),
        short_window_s=_short_window(voice),
        detect_languages=_detect_languages(voice),
        rescore=rescore_mode(voice.get("rescore", DEFAULT_RESCORE)),
        model_lm=model_lm,
        model_budget_s=float(_num(voice, "rescore_budget_ms", 1000 * BUDGET_S)) / 1000,
        encoder_views=_encoder_views(voice),
    )


def _encoder_views(voice: dict) -> int:
    """1 (the clip encoded once) to ``MAX_VIEWS`` shifted copies averaged."""
    value = voice.get("encoder_views", views.DEFAULT_VIEWS)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= views.MAX_VIEWS:
        raise ValueError(f"[voice] encoder_views must be a whole number from 1 to {views.MAX_VIEWS}, "
                         f"got {value!r}")
    return value


def _detect_languages(voice: dict) -> list[str]:
    value = voice.get("detect_languages", [])
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"[voice] detect_languages must be a list of language codes, got {value!r}")
    return value

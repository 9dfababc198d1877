"""Whisper base, assembled from its PyPI packages, on real speech: jfk.flac, espeak-ng speech
in Spanish and German with the language detected ("auto"), the same through
``hushtype transcribe --model base``, and a dictation through the real microphone path whose
history entry records the language heard."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from voice_helpers import JFK, JFK_MAX_WER, cer, espeak_wav, trim, wer

# Sentences espeak-ng's Spanish and German voices pronounce so that Whisper base detects the
# language reliably (measured: es 0.98, de 0.94). French is left out on purpose: espeak-ng's
# French comes out detected as Thai by Whisper base (and by plain faster-whisper alike).
SPANISH = "Buenos días, hoy voy a llegar un poco tarde a la oficina porque el tren tiene retraso."
GERMAN = "Guten Morgen, ich komme heute etwas später ins Büro, weil der Zug Verspätung hat."
# Scored by character error rate: espeak-ng's robotic voices cost Whisper base a letter or two
# in several words ("oficia", "ten", "me trazo" for "retraso"), and how many varies with the
# CPU's int8 kernels (WER 0.39 on CI's machine, CER 0.13). 0.25 CER still fails on the wrong
# language (0.76), English words or a dropped half (0.5).
OTHER_LANGUAGE_MAX_CER = 0.25
MICROPHONE_MAX_CER = 0.35


@pytest.fixture(scope="module")
def base_engine(tmp_path_factory):
    from assistant.voice.engine import WhisperEngine

    old = os.environ.get("HUSHTYPE_HOME")
    os.environ["HUSHTYPE_HOME"] = str(tmp_path_factory.mktemp("home"))  # assembled there once
    try:
        engine = WhisperEngine("base", language="auto", idle_unload_seconds=0)
        engine.load()
    finally:
        if old is None:
            os.environ.pop("HUSHTYPE_HOME", None)
        else:
            os.environ["HUSHTYPE_HOME"] = old
    return engine


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    from assistant.voice.transcriber import load_audio_file

    root = tmp_path_factory.mktemp("speech")
    out = {}
    for lang, voice, text in (("es", "es", SPANISH), ("de", "de", GERMAN)):
        path = espeak_wav(text, root / f"{lang}.wav", voice=voice)
        out[lang] = (path, load_audio_file(path), text)
    return out


def test_base_transcribes_jfk_and_detects_english(base_engine, jfk_audio):
    from assistant.voice.transcriber import transcribe_audio

    assert base_engine.model_name == "base" and base_engine.load().model.is_multilingual
    result = transcribe_audio(base_engine, jfk_audio)
    from voice_helpers import JFK_TEXT

    assert wer(JFK_TEXT, result.text) <= JFK_MAX_WER, result.text
    assert result.language == "en"


@pytest.mark.parametrize("lang", ["es", "de"])
def test_base_detects_and_transcribes_another_language(base_engine, speech, lang):
    from assistant.voice.transcriber import transcribe_audio

    _, audio, text = speech[lang]
    result = transcribe_audio(base_engine, audio)
    assert result.language == lang, result.text
    assert cer(text, result.text) <= OTHER_LANGUAGE_MAX_CER, result.text


def test_incremental_push_to_talk_path_detects_the_language(base_engine, speech):
    from assistant.voice.transcriber import IncrementalTranscriber

    _, audio, text = speech["es"]
    audio = np.concatenate([np.zeros(4800, np.float32), audio])  # the key press, then speech
    session = IncrementalTranscriber(base_engine)
    for i in range(0, len(audio), 480):
        session.feed(audio[i:i + 480])
    result = session.finish()
    assert result.language == "es" and cer(text, result.text) <= OTHER_LANGUAGE_MAX_CER, result.text


def test_a_fixed_language_is_used_as_set(base_engine, speech):
    from assistant.voice.engine import WhisperEngine

    german = WhisperEngine(base_engine.model_path, language="de", idle_unload_seconds=0)
    german._model = base_engine.load()  # the same loaded model, another language setting
    _, audio, text = speech["de"]
    out, language = german.transcribe_detailed(audio)
    assert language == "de" and cer(text, out) <= OTHER_LANGUAGE_MAX_CER, out


def test_transcribe_cli_with_model_base(speech, tmp_path):
    env = {**os.environ, "HUSHTYPE_HOME": str(tmp_path / "home")}
    path, _, text = speech["es"]
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "transcribe", "--model", "base", "--language", "auto",
         "--stats", str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert cer(text, proc.stdout) <= OTHER_LANGUAGE_MAX_CER, proc.stdout
    assert "model base" in proc.stderr and "language es" in proc.stderr
    assert (tmp_path / "home" / "whisper" / "base" / "model.bin").is_file()
    # jfk.flac with the English-only default
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", "transcribe", "--model", "tiny.en", str(JFK)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "fellow americans" in proc.stdout.lower(), proc.stderr
    bad = subprocess.run([sys.executable, "-m", "assistant.cli", "transcribe", "--model", "nonesuch", str(path)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 1 and "not a CTranslate2 Whisper model folder" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.x11
@pytest.mark.audio
def test_dictation_with_base_records_the_language_in_history(voice_xserver, voice_text_app, pulse_env,
                                                            base_engine, speech, monkeypatch, tmp_path):
    from assistant.config import load_settings
    from assistant.history.store import HistoryStore
    from assistant.platform.x11.output import Injector
    from assistant.service.context import AssistantContext
    from assistant.voice.service import VoiceService
    from rigs.procs import wait_until
    from test_voice_service import DirectKeys, speak

    monkeypatch.setenv("DISPLAY", voice_xserver.display)
    settings = load_settings()
    ctx = AssistantContext(settings=settings, history=HistoryStore(tmp_path / "history.sqlite3"),
                           notifier=lambda title, message: None)
    ctx.injector = Injector(settings)
    service = VoiceService(ctx, engine=base_engine, key_listener_factory=DirectKeys).start()
    try:
        _, audio, text = speech["es"]
        speak(service, pulse_env, trim(audio))
        typed = voice_text_app.wait_text(lambda t: t.rstrip().endswith("."), 60, "the dictation")
        # through the microphone and VAD segments a phrase or two more goes astray than in the
        # batch tests above (0.25 there); this test is about the dictation landing and the
        # history recording model and language
        assert cer(text, typed) <= MICROPHONE_MAX_CER, typed
        wait_until(lambda: ctx.history.list(), 10, message="the history entry")
        row = ctx.history.list()[0]
        assert row["model"] == "whisper:base" and row["note"] == "language: es", row
    finally:
        service.stop()
    time.sleep(0.1)


def test_detection_among_the_users_languages(base_engine, tmp_path):
    """espeak-ng's German is hard for Whisper base: this sentence is detected as Thai when any
    language may win; with detect_languages = ["en", "de"] the likeliest of those two wins."""
    from assistant.voice.engine import WhisperEngine
    from assistant.voice.settings import engine_from_settings
    from assistant.voice.transcriber import load_audio_file, transcribe_audio

    audio = load_audio_file(espeak_wav("Können Sie mir bitte die Unterlagen für die Besprechung am "
                                       "Montag schicken?", tmp_path / "de.wav", voice="de"))
    restricted = WhisperEngine(base_engine.model_path, language="auto", detect_languages=["en", "de"],
                               idle_unload_seconds=0)
    restricted._model = base_engine.load()  # the same loaded model
    assert transcribe_audio(restricted, audio).language == "de"
    restricted.short_window_s = 0  # faster-whisper's own (full window) path honours it too
    assert transcribe_audio(restricted, audio).language == "de"
    assert restricted._pick_language([("th", 0.5), ("de", 0.3), ("en", 0.2)]) == "de"
    assert restricted._pick_language([("th", 0.9)]) == "th"  # none of them: the likeliest
    engine = engine_from_settings({"model": "tiny.en", "language": "auto", "detect_languages": "en, de"})
    assert engine.detect_languages == ("en", "de")
    with pytest.raises(ValueError, match="detect_languages"):
        engine_from_settings({"model": "tiny.en", "detect_languages": 3})

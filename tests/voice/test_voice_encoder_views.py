"""[voice] encoder_views: the short window encoded as shifted copies, outputs averaged.

The pure view building is checked on arrays; the engine part on the real tiny.en model
(CTranslate2, int8 on CPU) and real espeak-ng speech."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.voice import encoder_views as views
from assistant.voice.engine import WhisperEngine
from assistant.voice.settings import engine_from_settings


def test_views_are_centred_half_a_mel_hop_apart():
    assert views.shifts(1) == [0]
    assert views.shifts(3) == [-80, 0, 80]
    assert views.shifts(2) == [-40, 40]
    assert views.shifts(5) == [-160, -80, 0, 80, 160]
    assert views.shifts(0) == [0] and len(views.shifts(99)) == views.MAX_VIEWS


def test_shifted_audio_starts_later_or_earlier():
    audio = np.arange(1, 6, dtype=np.float32)
    assert views.shifted(audio, 0) is not None and np.array_equal(views.shifted(audio, 0), audio)
    assert np.array_equal(views.shifted(audio, 2), [0, 0, 1, 2, 3, 4, 5])
    assert np.array_equal(views.shifted(audio, -2), [3, 4, 5])
    assert views.shifted(audio, 2).dtype == np.float32


def test_fit_frames_cuts_or_pads_with_the_fill():
    features = np.ones((2, 3), dtype=np.float32)
    padded = views.fit_frames(features, 5, -1.5)
    assert padded.shape == (2, 5) and (padded[:, :3] == 1).all() and (padded[:, 3:] == -1.5).all()
    assert views.fit_frames(features, 2, 0.0).shape == (2, 2)


def test_average_is_the_batch_mean_as_a_batch_of_one():
    batch = np.stack([np.full((4, 3), v, dtype=np.float32) for v in (1.0, 2.0, 6.0)])
    mean = views.average(batch)
    assert mean.shape == (1, 4, 3) and mean.flags.c_contiguous and np.allclose(mean, 3.0)


def test_encoder_views_setting_is_parsed_and_checked():
    assert engine_from_settings({}).encoder_views == views.DEFAULT_VIEWS == 3
    assert engine_from_settings({"encoder_views": 1}).encoder_views == 1
    assert engine_from_settings({"encoder_views": 5}).encoder_views == 5
    for bad in (0, 8, 2.5, True, "3"):
        with pytest.raises(ValueError, match="encoder_views"):
            engine_from_settings({"encoder_views": bad})


def test_the_shipped_defaults_encode_three_views():
    from assistant.config import load_settings

    assert load_settings()["voice"]["encoder_views"] == 3


class _CountingEncoder:
    """The real CTranslate2 Whisper model; records the batch size of each encode call."""

    def __init__(self, inner):
        self.inner, self.batches = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, features, **kwargs):
        self.batches.append(features.shape[0])
        return self.inner.encode(features, **kwargs)


def test_engine_encodes_the_views_as_one_batch_and_averages_them(espeak):
    """Three views go to the encoder as one batch of 3; the output is their mean (the same
    as encoding each view alone and averaging, within int8 rounding), and it differs from the
    single view's encoding."""
    from faster_whisper.transcribe import get_ctranslate2_storage

    engine = WhisperEngine("tiny.en", idle_unload_seconds=0, encoder_views=3)
    model = engine.load()
    audio = espeak("The bus stop is just across the street from the bakery.")
    counting = _CountingEncoder(model.model)
    model.model = counting
    try:
        averaged = np.array(engine.encode_window(model, audio))
    finally:
        model.model = counting.inner
    assert counting.batches == [3]
    window = engine.window_features(model, audio)
    singles = []
    for shift in (-80, 0, 80):
        w = engine.window_features(model, views.shifted(audio, shift), window.shape[1])
        singles.append(np.array(model.model.encode(get_ctranslate2_storage(w[None]), to_cpu=True))[0])
    assert averaged.shape == (1,) + singles[1].shape
    scale = np.abs(singles[1]).mean()
    assert np.abs(averaged[0] - np.mean(singles, axis=0)).mean() < 0.05 * scale
    assert np.abs(averaged[0] - singles[1]).mean() > 0.05 * scale  # not just the clip itself


def test_one_view_encodes_the_clip_once(espeak):
    engine = WhisperEngine("tiny.en", idle_unload_seconds=0, encoder_views=1)
    model = engine.load()
    counting = _CountingEncoder(model.model)
    model.model = counting
    try:
        text = engine.transcribe(espeak("Please turn off the lights when you leave."))
    finally:
        model.model = counting.inner
    assert counting.batches == [1]
    assert "lights" in text.lower()


# Dev sentences (benchmarks/voice_dev.py) and leading silences (samples) on which tiny.en,
# encoding the clip once, gets words wrong that the 3 averaged views get right (found with
# ``voice_dev --views``; over all 60 x 3 dev clips the word error rate fell 0.072 -> 0.057).
_ALIGNMENT_SENSITIVE = (
    ("Can you bring a blue blanket and two pillows for the guests?", 480),
    ("The dog barked loudly when the postman rang the bell.", 0),
    ("I will send you the pictures from the birthday party later.", 880),
    ("We ran out of paper, so I ordered a new box online.", 880),
    ("The flowers in the window need water every other day.", 480),
    ("The kids built a snowman in front of the house.", 480),
)


def test_three_views_make_fewer_word_errors_on_real_speech(espeak):
    """The reason the setting exists: where the clip's start falls on the mel frame grid
    changes single-view tiny.en's words; the averaged views do not depend on it as much.
    (Totals with a margin: CTranslate2's int8 kernels may round differently per CPU.)"""
    from assistant.voice.transcriber import transcribe_audio
    from voice_helpers import normalise, wer

    one = WhisperEngine("tiny.en", language="en", idle_unload_seconds=0, encoder_views=1)
    three = WhisperEngine("tiny.en", language="en", idle_unload_seconds=0, encoder_views=3)
    one.load(), three.load()
    errors = {1: 0.0, 3: 0.0}
    for text, offset in _ALIGNMENT_SENSITIVE:
        audio = np.concatenate([np.zeros(4800 + offset, np.float32), espeak(text)])
        words = len(normalise(text).split())
        for n, engine in ((1, one), (3, three)):
            errors[n] += wer(text, transcribe_audio(engine, audio).text) * words
    assert errors[1] >= 4, errors  # the clips are hard for one view ...
    assert errors[3] <= errors[1] / 2, errors  # ... and at most half as hard for three

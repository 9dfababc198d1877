"""Streaming VAD (Silero from faster-whisper) on real speech."""

from __future__ import annotations

import numpy as np

from assistant.voice.vad import WINDOW, SileroStream, SpeechSegmenter, VadConfig, speech_segments
from voice_helpers import SENTENCES, silence


def test_streaming_probabilities_equal_faster_whispers_batch_vad(jfk_audio):
    from faster_whisper.vad import get_vad_model

    n = len(jfk_audio) // WINDOW * WINDOW
    batch = get_vad_model()(jfk_audio[:n]).ravel()
    stream = SileroStream()
    streamed = np.array([stream(jfk_audio[i:i + WINDOW]) for i in range(0, n, WINDOW)])
    assert np.allclose(batch, streamed, atol=1e-5)
    assert batch.max() > 0.9 and batch.min() < 0.1  # the file has speech and pauses


def test_sentences_between_silences_become_one_segment_each(espeak):
    parts, spans = [silence(1.0)], []
    pos = 16000
    for s in SENTENCES[:3]:
        audio = espeak(s)
        parts += [audio, silence(1.2)]
        spans.append((pos, pos + len(audio)))
        pos += len(audio) + int(1.2 * 16000)
    stream = np.concatenate(parts)
    segments = speech_segments(stream)
    assert len(segments) == 3
    for seg, (start, end) in zip(segments, spans):
        # each segment covers its sentence's sound (espeak pads ~50 ms of quiet) ...
        voiced = np.flatnonzero(np.abs(stream[start:end]) > 0.02)
        assert seg.start <= start + voiced[0]
        assert seg.end >= start + voiced[-1]
        # ... and the silence around it is trimmed away
        assert seg.start > start - 0.5 * 16000 and seg.end < end + 0.5 * 16000
    assert sum(s.seconds for s in segments) < len(stream) / 16000 - 2.5


def test_silence_and_faint_noise_give_no_segments():
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(16000 * 3) * 0.003).astype(np.float32)
    assert speech_segments(silence(3.0)) == []
    assert speech_segments(noise) == []


def test_block_size_does_not_change_the_segments(jfk_audio):
    whole = [(s.start, s.end) for s in speech_segments(jfk_audio)]
    seg = SpeechSegmenter()
    blocks = []
    for i in range(0, len(jfk_audio), 480):  # 30 ms capture blocks
        blocks += seg.feed(jfk_audio[i:i + 480])
    blocks += seg.finish()
    assert [(s.start, s.end) for s in blocks] == whole
    assert len(whole) >= 3  # jfk has clear pauses between phrases


def test_segments_close_while_audio_still_arrives(jfk_audio):
    """The first phrase's segment is available long before the end of the recording."""
    seg = SpeechSegmenter()
    closed_at = None
    for i in range(0, len(jfk_audio), 480):
        if seg.feed(jfk_audio[i:i + 480]) and closed_at is None:
            closed_at = i / 16000
    assert closed_at is not None and closed_at < 4.0  # "And so my fellow Americans" + 450 ms


def test_long_speech_is_split_at_a_pause_not_grown_forever(jfk_audio):
    config = VadConfig(hangover_ms=2000, max_segment_s=3.0, split_search_s=1.5)
    segments = speech_segments(jfk_audio, config)
    assert len(segments) >= 3
    assert all(s.seconds <= 3.0 + 0.1 for s in segments)
    # the cuts are contiguous: nothing between the pieces of the running speech is lost
    for a, b in zip(segments, segments[1:]):
        assert b.start >= a.end


def test_short_click_is_not_speech():
    click = np.zeros(16000, dtype=np.float32)
    click[8000:8040] = 0.9  # a 2.5 ms key click
    assert speech_segments(np.concatenate([silence(0.5), click, silence(0.5)])) == []

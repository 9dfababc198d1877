"""The voice dev set (benchmarks/voice_dev.py) is where decoding ideas are tried; it must stay
apart from bench_voice's fixed and held-out English sets, which only report."""

from __future__ import annotations

import re

from benchmarks.bench_voice import JFK_TEXT, SPEECH, SPEECH_EN_HELD_OUT
from benchmarks.voice_dev import DEV_SENTENCES, HALF


def _ngrams(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_dev_sentences_share_no_sentence_or_phrase_with_the_benchmark_sets():
    scored = list(SPEECH["en"][1]) + list(SPEECH_EN_HELD_OUT) + [JFK_TEXT]
    assert not set(DEV_SENTENCES) & set(scored)
    scored_grams = set().union(*(_ngrams(s) for s in scored))
    shared = {s: _ngrams(s) & scored_grams for s in DEV_SENTENCES}
    assert not any(shared.values()), {s: g for s, g in shared.items() if g}


def test_dev_set_has_two_halves_of_distinct_sentences():
    assert len(DEV_SENTENCES) == 2 * HALF == len(set(DEV_SENTENCES))
    assert all(s[0].isupper() and s[-1] in ".?!" for s in DEV_SENTENCES)


def test_rescore_weighs_the_language_model_per_token():
    from benchmarks.voice_dev import rescore

    # (text, Whisper's per-token average log-prob, tokens incl. the end token)
    hyps = [("the shop sells fresh red", -0.30, 6), ("the shop sells fresh bread", -0.35, 6)]
    lm = [-30.0, -24.0]  # the language model prefers "bread" by 6 nats = 1 nat per token
    assert rescore(hyps, lm, 0.0) == "the shop sells fresh red"  # Whisper alone
    assert rescore(hyps, lm, 0.3) == "the shop sells fresh bread"  # -0.30-1.5 < -0.35-1.2
    assert rescore(hyps, lm, 0.01) == "the shop sells fresh red"  # too light to flip 0.05


def test_collect_nbest_lists_the_beam_of_the_real_model(whisper_engine, espeak):
    from faster_whisper.tokenizer import Tokenizer

    from benchmarks.voice_dev import DEV_SENTENCES, collect_nbest

    model = whisper_engine.load()
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    inner = model.model
    calls = collect_nbest(whisper_engine, tokenizer, espeak(DEV_SENTENCES[HALF]))
    assert model.model is inner  # the engine is left as it was
    assert len(calls) == 1 and len(calls[0]) == 5
    texts, scores, lengths = zip(*calls[0])
    assert len(set(texts)) == 5 and list(scores) == sorted(scores, reverse=True)
    assert "usually" in texts[0].lower() and all(n > 5 for n in lengths)

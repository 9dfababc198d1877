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

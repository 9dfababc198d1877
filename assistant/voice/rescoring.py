"""Whisper's n-best list rescored with an English word-bigram model.

tiny.en's beam search ends with several hypotheses; where the sound is ambiguous ("half past
heaven" / "half past seven") the one Whisper scores best is often not the likelier English.
Each hypothesis gets

    value = Whisper's cumulative log-probability + ``WEIGHT`` * bigram log-probability of its words

with symspellpy's English word-bigram counts (Google Books), the lists ``fix:`` uses
(:class:`assistant.commands.fix.scoring.BigramScorer`), and the hypotheses come back best
first. Hypotheses with the same words (they differ in punctuation or casing only) count once,
with the form and the score Whisper gave its best one: punctuation stays Whisper's choice,
and a variant without the full stop gains nothing from being a token shorter. A word missing
from the list counts as the rarest listed word, so a name is not traded for a common word.

The weight and the form of the value were chosen on the dev sentences of
``benchmarks/voice_dev.py`` (run with ``--bigram``), never on bench_voice's report sets.
Scoring takes microseconds; asking the beam for all its hypotheses costs nothing (CTranslate2
finishes ``beam_size`` of them anyway).

Pure scoring (:func:`words`, :func:`order`, :class:`BigramLM`) is separate from
:class:`RescoringWhisper`, the adapter around the CTranslate2 model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

WEIGHT = 0.1
HYPOTHESES = 5  # asked of the beam (at most its width)
MAX_WORDS_APART = 1  # a hypothesis this many more or fewer words than Whisper's best may win

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> tuple[str, ...]:
    """Lower-case words of ``text`` as the bigram list spells them (apostrophes kept inside)."""
    out = []
    for w in _WORD.findall(text.lower().replace("\u2019", "'")):
        w = w.strip("'")
        if w:
            out.append(w)
    return tuple(out)


def order(hypotheses: Sequence[tuple[str, float]], lm: Callable[[Sequence[str]], float],
          weight: float = WEIGHT) -> list[int]:
    """Indices of ``[(text, cumulative Whisper log-prob), ...]`` (Whisper's order) best first
    by Whisper log-prob + ``weight`` * ``lm(words)``. A hypothesis with the same words as an
    earlier one takes that one's value and stays behind it. Only hypotheses about as long as
    Whisper's best (:func:`comparable`) may move ahead of it: a summed log-prob favours a beam
    that ended early ("It" for a whole sentence), which neither score can judge."""
    first: dict[tuple[str, ...], float] = {}
    values = []
    eligible = comparable(hypotheses)
    for i, (text, logprob) in enumerate(hypotheses):
        key = words(text)
        if i not in eligible:
            values.append(float("-inf"))
            continue
        if key not in first:
            first[key] = logprob + weight * lm(key) if key else logprob
        values.append(first[key])
    return sorted(range(len(values)), key=lambda i: -values[i])  # stable: ties keep Whisper's order


def comparable(hypotheses: Sequence[tuple[str, float]], slack: int = MAX_WORDS_APART) -> set[int]:
    """Indices of the hypotheses whose word count is within ``slack`` of Whisper's best (the
    first): the ones a rescoring may choose between."""
    if not hypotheses:
        return set()
    n = len(words(hypotheses[0][0]))
    return {i for i, (text, _) in enumerate(hypotheses) if abs(len(words(text)) - n) <= slack}


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spoken(word: str) -> list[str]:
    """A number Whisper wrote in digits (0-99) as the words said ("20" -> ["twenty"]): the
    bigram list has no digits, so "at 8 in" would score as three words around an unknown one."""
    if not word.isdigit() or len(word) > 2 or (len(word) == 2 and word[0] == "0"):
        return [word]
    n = int(word)
    if n < 20:
        return [_ONES[n]]
    return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])


class BigramLM:
    """log P(words) (nats) under symspellpy's English bigram counts, the dictionary fix: loads
    (shared, loaded once per process). Words missing from the list count as its rarest word;
    numbers 0-99 written in digits are scored as their words."""

    def __init__(self, dictionary=None):
        self._dictionary = dictionary
        self._scorer = None

    def warm_up(self) -> None:
        """Start loading the lists in the background (they take a fraction of a second)."""
        if self._dictionary is None:
            from assistant.commands.fix import spelling

            spelling.warm_up()

    @property
    def scorer(self):
        if self._scorer is None:
            from assistant.commands.fix.scoring import BigramScorer

            if self._dictionary is None:
                from assistant.commands.fix import spelling

                self._dictionary = spelling.dictionary()
            self._scorer = BigramScorer(self._dictionary, unknown_count=min(self._dictionary.words.values()))
        return self._scorer

    def __call__(self, seq: Sequence[str]) -> float:
        return self.scorer.logp([w for word in seq for w in spoken(word)])


@dataclass
class RescoredResult:
    """A CTranslate2 ``WhisperGenerationResult`` with its hypotheses in the rescored order."""

    sequences: list
    sequences_ids: list
    scores: list
    no_speech_prob: float
    moved: bool  # the first hypothesis is not Whisper's own best


class RescoringWhisper:
    """The CTranslate2 Whisper model, whose beam-search results come back rescored.

    ``generate`` asks the beam for ``hypotheses`` results (at most the beam width), orders them
    with :func:`order` and returns as many as the caller asked for; ``scores`` stay Whisper's
    own (faster-whisper's no-speech and fallback rules read them). Greedy and sampled decoding
    pass through untouched. Everything else is the wrapped model's.

    ``pick`` (None = bigrams only): after the bigram order, ``pick([(text, summed log-prob),
    ...])`` in Whisper's order may name the hypothesis to put first
    (:class:`assistant.voice.lm_rescoring.ModelPicker`, the server's language model); None
    keeps the bigram order."""

    def __init__(self, model, decode: Callable[[list[int]], str], lm: Callable[[Sequence[str]], float],
                 *, weight: float = WEIGHT, hypotheses: int = HYPOTHESES):
        self.model, self.decode, self.lm = model, decode, lm
        self.weight, self.hypotheses = weight, hypotheses
        self.pick: Callable[[Sequence[tuple[str, float]]], int | None] | None = None
        self.rescored = 0  # results ordered
        self.moved = 0  # ... whose first hypothesis changed

    def __getattr__(self, name):
        return getattr(self.model, name)

    def generate(self, features, prompts, **kwargs):
        beam = int(kwargs.get("beam_size", 5))
        sampling = kwargs.get("sampling_topk", 1) != 1 or kwargs.get("asynchronous", False)
        wanted = int(kwargs.get("num_hypotheses", 1))
        if beam < 2 or sampling or self.hypotheses < 2:
            return self.model.generate(features, prompts, **kwargs)
        kwargs.update(num_hypotheses=max(wanted, min(self.hypotheses, beam)), return_scores=True)
        results = self.model.generate(features, prompts, **kwargs)
        return [self._reorder(r, wanted, float(kwargs.get("length_penalty", 1.0))) for r in results]

    def _reorder(self, result, wanted: int, length_penalty: float) -> RescoredResult:
        ids, scores = list(result.sequences_ids), list(result.scores)
        # CTranslate2's score is the sum of log-probs over length ** length_penalty
        cumulative = [s * max(len(t), 1) ** length_penalty for t, s in zip(ids, scores)]
        hypotheses = [(self.decode(t), c) for t, c in zip(ids, cumulative)]
        ranked = order(hypotheses, self.lm, self.weight)
        chosen = self.pick(hypotheses) if self.pick is not None and len(hypotheses) > 1 else None
        if chosen is not None:
            ranked = [chosen] + [i for i in ranked if i != chosen]
        self.rescored += 1
        moved = bool(ranked) and ranked[0] != 0
        self.moved += moved
        keep = ranked[:max(1, wanted)]
        return RescoredResult(
            sequences=[result.sequences[i] for i in keep],
            sequences_ids=[ids[i] for i in keep],
            scores=[scores[i] for i in keep],
            no_speech_prob=result.no_speech_prob,
            moved=moved,
        )


def wrap_model(whisper_model, lm=None, **kwargs) -> RescoringWhisper | None:
    """Put a :class:`RescoringWhisper` around a faster-whisper ``WhisperModel``'s CTranslate2
    model if it is an English-only model (the bigram list is English); None otherwise."""
    inner = whisper_model.model
    if isinstance(inner, RescoringWhisper):
        return inner
    if inner.is_multilingual:
        return None
    tokenizer = whisper_model.hf_tokenizer
    eot = tokenizer.token_to_id("<|endoftext|>")

    def decode(ids: list[int]) -> str:
        return tokenizer.decode([t for t in ids if t < eot])

    lm = lm or BigramLM()
    if isinstance(lm, BigramLM):
        lm.warm_up()
    whisper_model.model = RescoringWhisper(inner, decode, lm, **kwargs)
    return whisper_model.model

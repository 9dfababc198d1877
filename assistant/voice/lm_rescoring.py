"""The language model's say between Whisper's closest hypotheses, through the model server.

After the bigram order (:mod:`assistant.voice.rescoring`), the hypotheses of a segment whose
summed Whisper log-probability is within ``MARGIN`` nats of the best (distinct word sequences
only) are scored by the server's language model - the embedded Gemma 3 270M of the bundled
server, ``/v1/completions`` echo scoring, through fix:'s
:class:`~assistant.commands.fix.scoring.LogprobScorer` (its support detection and its pause
after a timeout or a lost server) - and the one with the best

    Whisper's summed log-prob + ``WEIGHT`` * LM log-prob of its differing window

comes first. Only the words where the candidates differ plus ``CONTEXT`` words either side
are scored (:func:`differing_windows`): the shared rest adds the same to each of them.

The step is gated so it costs nothing where Whisper is sure (one candidate within the margin:
no request), and bounded: the requests of a segment go at once and share ``BUDGET_S``; one
that would end past it is cut by its timeout, and a server that is down, slow or cannot score (Ollama
without echo) leaves the bigram order in place. Margin and weight were chosen on the dev
sentences of ``benchmarks/voice_dev.py --gemma-server``, never on bench_voice's report sets.

Pure choice (:func:`candidates`, :func:`differing_windows`, :func:`choose`) is separate from
:class:`ServerLM`, the adapter around a :class:`LogprobScorer`.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from typing import Callable, Sequence

from assistant.voice.rescoring import comparable, words

MARGIN = 3.0    # nats of summed Whisper log-prob behind the best that still get a say
WEIGHT = 0.5    # LM log-prob (nats) against Whisper's summed log-prob
CONTEXT = 3     # shared words kept either side of where the candidates differ
BUDGET_S = 1.0  # all LM requests of one segment ([voice] rescore_budget_ms)
HYPOTHESES_AT_ONCE = 5  # requests in flight at once (the beam's width)
# quiet time after a request ran past the budget or the server was lost: one slow segment
# (four candidates, a busy moment) should not switch the step off for the next minute
REST_S = 5.0
# ... doubled after each further failure in a row, up to this: a server that is always too slow
# (a large default model on a small machine) costs one budget's wait every few minutes, not
# one at every release
MAX_REST_S = 120.0

# score(text, seconds left) -> log-prob of text, or None (cannot / too slow)
Score = Callable[[str, float], "float | None"]


def candidates(hypotheses: Sequence[tuple[str, float]], margin: float = MARGIN) -> list[int]:
    """Indices of ``[(text, summed Whisper log-prob), ...]`` (Whisper's order) with distinct
    (non-empty) word sequences about as long as Whisper's best (``rescoring.comparable``) whose
    log-prob is within ``margin`` of the best one, best first."""
    first: dict[tuple[str, ...], int] = {}
    eligible = comparable(hypotheses)  # not a beam that ended early
    for i, (text, logprob) in enumerate(hypotheses):
        key = words(text)
        if i in eligible and key and (key not in first or logprob > hypotheses[first[key]][1]):
            first[key] = i
    ranked = sorted(first.values(), key=lambda i: -hypotheses[i][1])
    if not ranked:
        return []
    best = hypotheses[ranked[0]][1]
    return [i for i in ranked if hypotheses[i][1] >= best - margin]


def differing_windows(texts: Sequence[str], context: int = CONTEXT) -> list[str]:
    """Each text cut to the words where the texts differ plus ``context`` words either side
    (the shared word prefix and suffix, compared as lower-case words, are cut)."""
    split = [t.split() for t in texts]
    keys = [[words(w) for w in t] for t in split]
    p = 0
    while all(len(k) > p for k in keys) and all(k[p] == keys[0][p] for k in keys):
        p += 1
    s = 0
    while all(len(k) > p + s for k in keys) and all(k[-1 - s] == keys[0][-1 - s] for k in keys):
        s += 1
    return [" ".join(t[max(0, p - context): len(t) - max(0, s - context)]) for t in split]


def choose(hypotheses: Sequence[tuple[str, float]], score: Score, *, margin: float = MARGIN,
           weight: float = WEIGHT, budget_s: float = BUDGET_S,
           clock: Callable[[], float] = time.monotonic, pool: Executor | None = None) -> int | None:
    """Index of the hypothesis the LM step puts first, or None: fewer than two candidates
    within ``margin``, or the scorer failed or ran out of the ``budget_s`` seconds.

    With a ``pool`` the windows are scored at once (the server decodes them side by side:
    two requests take ~0.7x the time of one after the other here); without, in turn."""
    picked = candidates(hypotheses, margin)
    if len(picked) < 2:
        return None
    windows = differing_windows([hypotheses[i][0] for i in picked])
    deadline = clock() + budget_s
    if pool is not None:
        futures = [pool.submit(score, window, budget_s) for window in windows]
        done, pending = wait(futures, timeout=budget_s)
        for f in pending:
            f.cancel()
        lm = [f.result() for f in futures] if not pending else None
        if lm is None or any(v is None for v in lm) or clock() > deadline:
            return None
    else:
        lm = []
        for window in windows:
            left = deadline - clock()
            if left <= 0:
                return None
            value = score(window, left)
            if value is None or clock() > deadline:
                return None
            lm.append(value)
    values = [hypotheses[i][1] + weight * v for i, v in zip(picked, lm)]
    return picked[max(range(len(picked)), key=lambda k: values[k])]


class ServerLM:
    """``score(text, seconds)`` through a :class:`LogprobScorer` for the server and model that
    ``source()`` names now (``(client, model)`` or None: no server configured), so a changed
    client or default model is followed. The scorer is voice's own: a timeout here pauses
    voice's model step (for ``REST_S``), not fix:'s."""

    def __init__(self, source: Callable[[], "tuple | None"]):
        self._source = source
        self._scorer = None
        self._lock = threading.Lock()

    def scorer(self):
        from assistant.commands.fix.scoring import LogprobScorer

        found = self._source()
        if not found:
            return None
        client, model = found
        with self._lock:
            if self._scorer is None or self._scorer.client is not client or self._scorer.model != model:
                self._scorer = LogprobScorer(client, model, rest_s=REST_S, max_rest_s=MAX_REST_S)
            return self._scorer

    @property
    def supported(self) -> bool | None:
        """What the server said (None = not asked yet)."""
        return self._scorer.supported if self._scorer is not None else None

    def __call__(self, text: str, seconds: float) -> float | None:
        scorer = self.scorer()
        if scorer is None:
            return None
        return scorer.score(text, timeout=max(0.01, seconds))


class ModelPicker:
    """What :class:`~assistant.voice.rescoring.RescoringWhisper` asks after its bigram order:
    ``pick([(text, summed log-prob), ...])`` -> the index to put first, or None. Counts its
    work for status and benchmarks (never the text)."""

    def __init__(self, score: Score, *, margin: float = MARGIN, weight: float = WEIGHT,
                 budget_s: float = BUDGET_S):
        self.score, self.margin, self.weight, self.budget_s = score, margin, weight, budget_s
        self._pool = ThreadPoolExecutor(max_workers=HYPOTHESES_AT_ONCE, thread_name_prefix="voice-lm")
        self.asked = 0       # segments with two or more candidates
        self.chosen = 0      # ... where the LM step decided
        self.seconds = 0.0   # time spent in those

    def __call__(self, hypotheses: Sequence[tuple[str, float]]) -> int | None:
        if len(candidates(hypotheses, self.margin)) < 2:
            return None
        t0 = time.perf_counter()
        try:
            found = choose(hypotheses, self.score, margin=self.margin, weight=self.weight,
                           budget_s=self.budget_s, pool=self._pool)
        finally:
            self.asked += 1
            self.seconds += time.perf_counter() - t0
        self.chosen += found is not None
        return found

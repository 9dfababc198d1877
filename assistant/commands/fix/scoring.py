"""Choosing between candidate words in context.

* :class:`BigramScorer`: symspellpy's bigram counts (always available). Contractions are
  scored as their two words ("it's" = "it is"), since the bigram list has no apostrophes.
* :class:`LogprobScorer`: the language model's likelihood of the whole sentence, where the
  server scores text (``/v1/completions`` with ``echo: true, logprobs: 0, max_tokens: 0``
  returns the prompt's per-token log-probabilities). Support is detected on first use; a
  server without it (an older Ollama) leaves the bigram scorer in charge.
"""

from __future__ import annotations

import math
import threading

import time

from assistant.ollama_client import OllamaClient, OllamaError, ServerError

EXPANSIONS = {
    "it's": ["it", "is"], "they're": ["they", "are"], "you're": ["you", "are"],
    "we're": ["we", "are"], "there's": ["there", "is"], "let's": ["let", "us"],
    "don't": ["do", "not"], "doesn't": ["does", "not"], "didn't": ["did", "not"],
    "can't": ["can", "not"], "won't": ["will", "not"], "isn't": ["is", "not"],
    "aren't": ["are", "not"], "wasn't": ["was", "not"], "weren't": ["were", "not"],
    "i'm": ["i", "am"], "i've": ["i", "have"], "who's": ["who", "is"], "that's": ["that", "is"],
    "what's": ["what", "is"], "he's": ["he", "is"], "she's": ["she", "is"],
    "haven't": ["have", "not"], "hasn't": ["has", "not"], "couldn't": ["could", "not"],
    "wouldn't": ["would", "not"], "shouldn't": ["should", "not"], "i'll": ["i", "will"],
}


def expand(words: list[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        out.extend(EXPANSIONS.get(w, [w]) if w else [])
    return out


class BigramScorer:
    """log P(words) under a bigram model with back-off to word frequency (nats).

    ``unknown_count``: the count a word missing from the list is given (0 = none: fix: wants
    non-words to score badly; voice rescoring gives them the rarest word's count, so a name
    Whisper heard is not traded for a common word)."""

    def __init__(self, dictionary, *, unknown_count: int = 0):
        self.d = dictionary
        self.unknown = unknown_count
        self.min_bigram = min(dictionary.bigrams.values()) if dictionary.bigrams else 1
        # the bigram list counts on another scale than the word list: the ratio of the totals
        self.scale = (sum(dictionary.bigrams.values()) / dictionary.total) if dictionary.total else 1.0

    def pair(self, first: str, second: str) -> float:
        """log P(second | first): bigram count over the first word's share of all pairs,
        backing off to word frequency for a pair the list does not have."""
        c_first = self.d.words.get(first, 0)
        p_uni = ((self.d.words.get(second, 0) or self.unknown) + 1) / self.d.total
        if not first or c_first == 0:
            return math.log(p_uni)
        denominator = max(self.d.left_totals.get(first, 0), c_first * self.scale)
        c = self.d.bigram(first, second)
        if c:
            return math.log(c / denominator)
        return math.log(min(0.4 * p_uni, 0.5 * self.min_bigram / denominator))

    def logp(self, words: list[str]) -> float:
        seq = expand(words)
        if not seq:
            return 0.0
        total = math.log(((self.d.words.get(seq[0], 0) or self.unknown) + 1) / self.d.total)
        for a, b in zip(seq, seq[1:]):
            total += self.pair(a, b)
        return total

    def window(self, words: list[str], i: int, option: str, width: int = 2) -> float:
        """Score of the words around position ``i`` with ``option`` there."""
        lo, hi = max(0, i - width), min(len(words), i + width + 1)
        seq = words[lo:i] + [option] + words[i + 1:hi]
        return self.logp(seq) - self.logp([w for w in seq[:1]]) if lo < i else self.logp(seq)


class LogprobScorer:
    """Sentence log-likelihood from the server (``/v1/completions`` echo scoring)."""

    PREFIX = "A sentence in correct English:\n"

    def __init__(self, client: OllamaClient, model: str, *, rest_s: float = 60.0,
                 max_rest_s: float | None = None):
        """``rest_s``: how long the scorer stays quiet after a timeout or a lost server (fix:
        waits a minute; voice, whose per-segment budget is short, only a few seconds);
        ``max_rest_s``: each failure in a row doubles the rest up to this (default: no
        doubling), so a server that is always too slow (a large default model) costs a
        budget's wait now and then, not on every request. A success ends the run."""
        self.client, self.model = client, model
        self.rest_s = rest_s
        self.max_rest_s = rest_s if max_rest_s is None else max(rest_s, max_rest_s)
        self.supported: bool | None = None
        self.requests = 0
        self.failures = 0          # failed rests in a row (requests of one pause count once)
        self._lock = threading.Lock()
        self._paused_until = 0.0   # after a timeout or a lost server: bigrams for a while

    def _rest(self) -> None:
        """A timeout or a lost server: rest, longer after each failure in a row."""
        with self._lock:
            now = time.monotonic()
            if now < self._paused_until:
                return  # a request sent with others before the pause began: the same failure
            self.failures += 1
            self._paused_until = now + min(self.max_rest_s, self.rest_s * 2 ** (self.failures - 1))

    def score(self, text: str, *, timeout: float | None = None) -> float | None:
        """Sum of the log-probabilities of ``text``'s tokens, or None if the server cannot
        (``timeout``: seconds for this request instead of the client's own)."""
        if self.supported is False or time.monotonic() < self._paused_until:
            return None
        body = {"model": self.model, "prompt": self.PREFIX + text, "echo": True, "logprobs": 0,
                "max_tokens": 0, "temperature": 0}
        try:
            self.requests += 1
            resp = self.client._request("POST", "/v1/completions", json_body=body, model=self.model,
                                         timeout=timeout)
            values = resp["choices"][0]["logprobs"]["token_logprobs"]
            total = sum(v for v in values if v is not None)
            if not values or not isinstance(total, (int, float)):
                raise ValueError("no log-probabilities")
        except ServerError as exc:
            if exc.status in (400, 404, 405, 422, 501):  # the server has no such scoring
                with self._lock:
                    self.supported = False
            else:
                self._rest()
            return None
        except OllamaError:   # down or too slow now: try again after a rest
            self._rest()
            return None
        except (KeyError, IndexError, TypeError, ValueError):  # an answer without log-probs
            with self._lock:
                self.supported = False
            return None
        with self._lock:
            self.supported = True
            self.failures = 0
        return float(total)

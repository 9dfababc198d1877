"""The dictionary: symspellpy with its shipped English frequency (82,765 words) and bigram
(242,342 pairs) dictionaries; candidate corrections for a non-word, ranked by a small typing
error model (dropped, doubled and transposed letters and neighbouring keys are the usual
slips) and word frequency. The lists load once per process in under a second (in the
background: :func:`warm_up`); candidates come from a C scan of the list (rapidfuzz), or from
symspellpy's index where something built it (the benchmark does).
"""

from __future__ import annotations

import importlib.resources
import math
import threading
from dataclasses import dataclass

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS = set("aeiouy")
TYPO_WEIGHT = 4.0   # nats per unit of typing cost


def _neighbours() -> dict[str, set[str]]:
    pos = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}
    out: dict[str, set[str]] = {ch: set() for ch in pos}
    for a, (ra, ca) in pos.items():
        for b, (rb, cb) in pos.items():
            if a != b and abs(ra - rb) <= 1 and abs((ca + 0.5 * ra) - (cb + 0.5 * rb)) <= 1.0:
                out[a].add(b)
    return out


_NEAR = _neighbours()


def typo_cost(typed: str, word: str) -> float:
    """Weighted Damerau-Levenshtein distance from the intended ``word`` to what was
    ``typed``: a dropped or doubled letter 0.6, a swapped pair 0.6, a neighbouring key or
    vowel-for-vowel 0.8, any other letter 1.2."""
    a, b = word, typed
    n, m = len(a), len(b)
    d = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        d[i][0] = d[i - 1][0] + 0.9
    for j in range(1, m + 1):
        d[0][j] = d[0][j - 1] + 0.9
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if a[i - 1] == b[j - 1]:
                sub = 0.0
            elif b[j - 1] in _NEAR.get(a[i - 1], ()) or (a[i - 1] in _VOWELS and b[j - 1] in _VOWELS):
                sub = 0.8
            else:
                sub = 1.2
            # a letter of the word missing from what was typed (dropped; 0.5 if it was doubled)
            drop = 0.5 if (i >= 2 and a[i - 1] == a[i - 2]) or (i < n and a[i - 1] == a[i]) else 0.7
            # an extra letter typed (0.5 when it repeats its neighbour)
            extra = 0.5 if (j >= 2 and b[j - 1] == b[j - 2]) else 0.8
            d[i][j] = min(d[i - 1][j - 1] + sub, d[i - 1][j] + drop, d[i][j - 1] + extra)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 0.6)
    return d[n][m]


@dataclass(frozen=True)
class Candidate:
    word: str
    distance: int
    count: int
    cost: float          # typo_cost(typed, word)

    @property
    def prior(self) -> float:
        """log P(word) - typing cost, in nats (the context-free ranking)."""
        return math.log(self.count + 1) - TYPO_WEIGHT * self.cost


class Dictionary:
    """symspellpy's shipped word and bigram lists, with candidate look-ups.

    The lists load in well under a second; symspellpy's ``SymSpell`` index (its precomputed
    deletes make look-ups instant but take seconds of GIL-holding work to build) is built only
    on first use of :attr:`symspell`. Until then, candidates come from a scan of
    the same word list by the same distance (optimal string alignment, at most 2 edits), so
    the answers are the same either way."""

    WORDS = "frequency_dictionary_en_82_765.txt"
    BIGRAMS = "frequency_bigramdictionary_en_243_342.txt"

    def __init__(self):
        files = importlib.resources.files("symspellpy")
        self.words: dict[str, int] = {}
        for line in (files / self.WORDS).read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                self.words[parts[0]] = int(parts[1])
        self.bigrams: dict[str, int] = {}
        for line in (files / self.BIGRAMS).read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                self.bigrams[f"{parts[0]} {parts[1]}"] = int(parts[2])
        self.total = sum(self.words.values())
        left: dict[str, int] = {}
        for pair, count in self.bigrams.items():
            first = pair.split(" ", 1)[0]
            left[first] = left.get(first, 0) + count
        self.left_totals = left
        self._vocab = list(self.words)
        self._symspell = None
        self._build_lock = threading.Lock()

    @property
    def symspell(self):
        """symspellpy's index over the shipped lists (built once, on first use)."""
        if self._symspell is None:
            with self._build_lock:
                if self._symspell is None:
                    from symspellpy import SymSpell

                    files = importlib.resources.files("symspellpy")
                    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
                    with importlib.resources.as_file(files / self.WORDS) as path:
                        sym.load_dictionary(str(path), term_index=0, count_index=1, encoding="utf-8")
                    with importlib.resources.as_file(files / self.BIGRAMS) as path:
                        sym.load_bigram_dictionary(str(path), term_index=0, count_index=2, encoding="utf-8")
                    self._symspell = sym
        return self._symspell

    def _within_two(self, low: str) -> list[tuple[str, int, int]]:
        """(word, distance, count) for every listed word within two edits of ``low``."""
        if self._symspell is not None:
            from symspellpy import Verbosity

            return [(s.term, s.distance, s.count)
                    for s in self._symspell.lookup(low, Verbosity.ALL, max_edit_distance=2)]
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        found = process.extract(low, self._vocab, scorer=OSA.distance, score_cutoff=2, limit=None)
        return [(word, int(dist), self.words[word]) for word, dist, _ in found]

    def count(self, word: str) -> int:
        return self.words.get(word.lower(), 0)

    def knows(self, word: str) -> bool:
        w = word.lower().replace("\u2019", "'")
        if w in self.words:
            return True
        if "'" in w:  # possessives and contractions: "Anna's", "o'clock"
            base = w.split("'", 1)[0]
            return base in self.words or base == "" or w.endswith(("'s", "'d", "'ll", "'re", "'ve"))
        return False

    _SUFFIXES = ("ations", "ation", "ments", "ment", "ness", "ities", "ity", "ably", "able",
                 "ally", "ors", "ers", "or", "er", "ists", "ist", "isms", "ism", "izing", "ized",
                 "izes", "ize", "ising", "ised", "ises", "ise", "ing", "ed", "es", "ly", "s")
    _PREFIXES = ("non", "re", "un", "dis", "pre", "sub", "co", "over", "under", "multi",
                 "inter", "anti", "mis", "post", "semi", "self-", "cross", "counter")

    def derived(self, word: str) -> bool:
        """A regular derivation of a known word ("relicensing", "licensors",
        "noncommercially"): taken as a word the list lacks, not a misspelling."""
        w = word.lower()
        for prefix in self._PREFIXES:
            if w.startswith(prefix) and len(w) - len(prefix) >= 5 and (
                    w[len(prefix):] in self.words or self.derived(w[len(prefix):])):
                return True
        for suffix in self._SUFFIXES:
            stem = w[: -len(suffix)]
            if w.endswith(suffix) and len(stem) >= 4 and (stem in self.words or stem + "e" in self.words):
                return True
        return False

    def bigram(self, first: str, second: str) -> int:
        return self.bigrams.get(f"{first} {second}", 0)

    def candidates(self, typed: str, limit: int = 8) -> list[Candidate]:
        """Dictionary words at the smallest edit distance (at most 2) from ``typed``, best
        first (context-free)."""
        low = typed.lower()
        found = [f for f in self._within_two(low) if f[0] != low]
        if not found:
            return []
        best = min(d for _, d, _ in found)
        cands = [Candidate(w, d, c, typo_cost(low, w)) for w, d, c in found if d == best]
        cands.sort(key=lambda c: (c.prior, c.word), reverse=True)
        return cands[:limit]


_lock = threading.Lock()
_dictionary: Dictionary | None = None
_loader: threading.Thread | None = None


def dictionary() -> Dictionary:
    """The process's dictionary (loaded on first use, or by :func:`warm_up`)."""
    global _dictionary
    if _dictionary is None:
        with _lock:
            if _dictionary is None:
                _dictionary = Dictionary()
    return _dictionary


def warm_up() -> threading.Thread:
    """Load the lists in a background thread (idempotent). symspellpy's index is not built
    here: that is seconds of pure-Python work holding the GIL, and inside `hushtype up` it
    starved the X11 keyboard hook, which must turn each key into a symbol while xdotool's
    temporary key map still holds it (typed é and ï were lost). The rapidfuzz scan gives the
    same candidates meanwhile."""
    global _loader
    with _lock:
        if _loader is None:
            _loader = threading.Thread(target=dictionary, name="fix-dictionary", daemon=True)
            _loader.start()
        return _loader

"""The ``fix:`` flow, transport-free: ``correct(text, rewrite=..., lm=...)``.

1. Non-words: a known one-answer fix ("dont" -> "don't") or the dictionary's candidates,
   chosen in context (bigram counts; the model's likelihood when the server scores text).
   Names (capitalised, not starting a sentence), acronyms, URLs, paths and words glued to
   digits are left alone.
2. Real words in the wrong place: context rules (:func:`confusions.decide`), then the
   confusion sets decided by the scorer with a safety margin.
3. The model's few-shot rewrite of each line (``rewrite(line) -> answer | None``), kept only
   where :mod:`guard` accepts it.

Only words change; everything between them stays byte for byte.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

from assistant.commands.fix import confusions, guard, tokens
from assistant.commands.fix.scoring import BigramScorer, LogprobScorer
from assistant.commands.fix.spelling import Dictionary, dictionary as shared_dictionary

NAME_MIN_COUNT = 5_000_000     # a capitalised unknown word starting a sentence is only
                               # corrected towards a common word (else it may be a name)
BIGRAM_MARGIN = 4.0            # nats a confusion alternative must win by (bigram scorer)
LM_MARGIN = 2.5                # ... by the model's likelihood
RARE_WORD = 2_000_000          # a dictionary word this rare, one letter from a word
RARE_RATIO = 30                # this many times more common, is checked in context


@dataclass
class Change:
    old: str
    new: str
    why: str          # "spelling" | "rule" | "context" | "model"


@dataclass
class FixOutcome:
    text: str
    changes: list[Change] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)   # non-words left as typed
    rewrites_refused: int = 0
    lm_used: bool = False
    model_calls: int = 0
    seconds: dict = field(default_factory=dict)

    @property
    def note(self) -> str | None:
        parts = []
        if self.rewrites_refused:
            parts.append(f"the model rewrote {self.rewrites_refused} line(s); kept the safe "
                         f"corrections there instead")
        small = [r for r in self.refused if len(r[0].split()) <= 3 and len(r[1].split()) <= 3]
        if len(self.refused) > self.rewrites_refused:
            shown = ", ".join(f"{o!r} -> {n!r}" if n else f"{o!r} dropped" for o, n in small[:3])
            parts.append(f"refused {len(self.refused) - self.rewrites_refused} change(s) from the "
                         f"model that would change the meaning" + (f" ({shown})" if shown else ""))
        if self.unknown:
            parts.append(f"{len(self.unknown)} word(s) not in the dictionary left as typed")
        return "partly corrected: " + "; ".join(parts) if parts else None


def _gaps(text: str, toks: list[tokens.Token]) -> list[str]:
    return [text[toks[i].start + len(toks[i].text):toks[i + 1].start] for i in range(len(toks) - 1)] + [""]


class Fixer:
    def __init__(self, dictionary: Dictionary | None = None, lm: LogprobScorer | None = None):
        self.d = dictionary or shared_dictionary()
        self.bigrams = BigramScorer(self.d)
        self.lm = lm

    # ---------------------------------------------------------------- scoring
    def _lm_ok(self) -> bool:
        return self.lm is not None and self.lm.supported is not False

    def _best(self, text: str, toks, i: int, options: list[str], priors: list[float]) -> tuple[str, float, bool]:
        """(best option, its lead over ``options[0]`` — or over the runner-up when it is
        ``options[0]`` — in nats, decided by the model?)."""
        lw = [t.lower for t in toks]
        scores = [self.bigrams.window(lw, i, o) + p for o, p in zip(options, priors)]
        used_lm = False
        if self._lm_ok() and len(options) > 1:
            lm_scores = []
            for o in options:
                s = self.lm.score(tokens.replace_words(text, {toks[i].start: tokens.match_case(o, toks[i].text)}))
                if s is None:
                    break
                lm_scores.append(s)
            if len(lm_scores) == len(options):
                used_lm = True
                scores = [s + 0.5 * p for s, p in zip(lm_scores, priors)]
        order = sorted(range(len(options)), key=lambda k: scores[k], reverse=True)
        if len(order) < 2:
            return options[order[0]], math.inf, used_lm
        lead = scores[order[0]] - (scores[0] if order[0] != 0 else scores[order[1]])
        return options[order[0]], lead, used_lm

    # ---------------------------------------------------------------- passes
    def spelling(self, text: str, out: FixOutcome) -> str:
        toks = tokens.words(text)
        starts = tokens.sentence_starts(text)
        changes: dict[int, str] = {}
        for i, tok in enumerate(toks):
            low = tok.lower
            if tok.protected:
                continue
            if tok.text == "i":
                changes[tok.start] = "I"
                continue
            fixed = confusions.non_word_fix(low)
            if fixed and (not self.d.knows(low) or low in confusions.TYPED_FOR_CONTRACTION):
                changes[tok.start] = tokens.match_case(fixed, tok.text)
                out.changes.append(Change(tok.text, changes[tok.start], "spelling"))
                continue
            if self.d.knows(low) or (tok.text.isupper() and len(tok.text) <= 5 and len(toks) > 1
                                     and not all(t.text.isupper() for t in toks)):
                continue
            if tok.text[:1].isupper() and tok.start not in starts and not tok.text.isupper():
                continue  # a name
            if len(low) <= 2:  # list markers "b)", initials, "ok": too short to guess
                continue
            if not low.isascii():  # the English lists have no accents: "café", "naïve" stay
                continue
            cands = self.d.candidates(low)
            # "defenses" is not "defense" misspelt: never strip a regular ending
            cands = [c for c in cands if low not in (c.word + "s", c.word + "es", c.word + "d",
                                                     c.word + "ed", c.word + "ly")]
            if low.endswith("s") and len(low) > 4 and (low[:-1] in self.d.words or
                                                      (low.endswith("es") and low[:-2] in self.d.words)):
                continue  # the plural of a known word ("defenses")
            if cands and cands[0].distance >= 2 and self.d.derived(low):
                continue  # "relicensing", "licensors": a derived word the list lacks
            if tok.text[:1].isupper() and not tok.text.isupper():
                cands = [c for c in cands if c.count >= NAME_MIN_COUNT]
            if not cands:
                out.unknown.append(tok.text)
                continue
            cands = cands[:5]
            # in context: the words already corrected on the left, the typed ones on the right
            cur = tokens.replace_words(text, changes)
            cur_toks = tokens.words(cur)
            if len(cur_toks) != len(toks):  # an earlier "alot" -> "a lot": judge on the typed text
                cur, cur_toks = text, toks
            best, _, used = self._best(cur, cur_toks, i, [c.word for c in cands],
                                       [c.prior - cands[0].prior for c in cands])
            out.lm_used |= used
            changes[tok.start] = tokens.match_case(best, tok.text)
            out.changes.append(Change(tok.text, changes[tok.start], "spelling"))
        return tokens.replace_words(text, changes)

    def rules(self, text: str, out: FixOutcome) -> str:
        toks = tokens.words(text)
        lw = [t.lower for t in toks]
        decided = confusions.decide(lw, _gaps(text, toks))
        changes = {}
        for i, new in decided.items():
            if toks[i].protected:
                continue
            changes[toks[i].start] = tokens.match_case(new, toks[i].text) if new else ""
            out.changes.append(Change(toks[i].text, changes[toks[i].start], "rule"))
        return tokens.replace_words(text, changes)

    def context(self, text: str, out: FixOutcome, decided: set[str]) -> str:
        """Confusion-set words and rare look-alikes of common words, decided in context."""
        toks = tokens.words(text)
        changes = {}
        for i, tok in enumerate(toks):
            low = tok.lower
            if tok.protected or tok.start in decided:
                continue
            options: list[str] = []
            conf = confusions.confusion_set(low)
            prev = toks[i - 1].lower if i else ""
            gap_after = text[tok.start + len(tok.text): toks[i + 1].start] if i + 1 < len(toks) else ""
            gap_next = (text[toks[i + 1].start + len(toks[i + 1].text): toks[i + 2].start]
                        if i + 2 < len(toks) else ".")
            if conf:
                options = [low] + sorted(conf - {low})
            elif low == "to" and prev in confusions.BE_FORMS and gap_after.strip() == "" and (
                    gap_next.strip() != "" or i + 2 >= len(toks)):
                options = ["to", "too"]   # "was to salty." — too + adjective ending a clause
            elif 0 < self.d.count(low) < RARE_WORD and len(low) > 3:
                options = [low] + [c.word for c in self.d.candidates(low)
                                   if c.distance == 1 and c.count > RARE_RATIO * self.d.count(low)
                                   and c.cost <= 0.5 and "'" not in c.word][:3]
            if len(options) < 2:
                continue
            cur = tokens.replace_words(text, changes)
            cur_toks = tokens.words(cur)
            best, lead, used = self._best(cur, cur_toks, i, options, [0.0] * len(options))
            out.lm_used |= used
            margin = LM_MARGIN if used else BIGRAM_MARGIN
            if best != low and lead >= margin:
                changes[tok.start] = tokens.match_case(best, tok.text)
                out.changes.append(Change(tok.text, changes[tok.start], "context"))
        return tokens.replace_words(text, changes)

    def model(self, text: str, out: FixOutcome, rewrite: Callable[[str], str | None], changed_words: set[str]) -> str:
        lines = text.split("\n")
        fixed = []
        for line in lines:
            if not line.strip():
                fixed.append(line)
                continue
            answer = rewrite(line.strip())
            out.model_calls += 1
            if answer is None:
                fixed.append(line)
                continue
            lead = line[: len(line) - len(line.lstrip())]
            body = line.strip()
            # The model may not undo the rules' fixes, nor touch words with accents (the
            # dictionary cannot judge them: a small model "fixes" café to car, naïve to nave).
            locked = {t.start for t in tokens.words(body) if t.lower in changed_words or not t.lower.isascii()}
            res = guard.check(body, answer, self.d.knows, locked)
            real_word = [(o, n) for o, n in res.accepted if self.d.knows(o) and o.lower() != n.lower()]
            if real_word and self._lm_ok():
                # a real word replaced: the model's own likelihood must not prefer the line as it was
                before, after = self.lm.score(body), self.lm.score(res.text)
                if before is not None and after is not None and after < before - 0.5:
                    out.refused.extend(real_word)
                    res.accepted = [a for a in res.accepted if a not in real_word]
                    res.text = _without(body, answer, real_word, self.d.knows, locked)
            out.rewrites_refused += res.rewrite
            out.refused.extend(r for r in res.refused if not (r[0].lower() in changed_words))
            out.changes.extend(Change(o, n, "model") for o, n in res.accepted if o.lower() != n.lower())
            fixed.append(lead + res.text + line[len(line.rstrip()):])
        return "\n".join(fixed)


def _without(body: str, answer: str, refused: list[tuple[str, str]], knows, locked) -> str:
    """The guarded line without the given (real-word) changes."""
    starts = {t.start for t in tokens.words(body) if any(t.text == o for o, _ in refused)}
    return guard.check(body, answer, knows, set(locked) | starts).text


def correct(text: str, *, rewrite: Callable[[str], str | None] | None = None,
            lm: LogprobScorer | None = None, fixer: Fixer | None = None) -> FixOutcome:
    """Correct ``text``; ``rewrite`` is the model's few-shot rewrite of one line (None: no
    model pass), ``lm`` the server's likelihood scorer (None or unsupported: bigrams only)."""
    fixer = fixer or Fixer(lm=lm)
    if lm is not None:
        fixer.lm = lm
    out = FixOutcome(text=text)
    t0 = time.perf_counter()
    step = fixer.spelling(text, out)
    step = fixer.rules(step, out)
    decided = {t.start for t in tokens.words(step)
               if any(c.new.lower() == t.lower for c in out.changes)}
    step = fixer.context(step, out, decided)
    out.seconds["dictionary"] = round(time.perf_counter() - t0, 4)
    if rewrite is not None:
        t1 = time.perf_counter()
        changed = {c.new.lower() for c in out.changes if c.new}
        step = fixer.model(step, out, rewrite, changed)
        out.seconds["model"] = round(time.perf_counter() - t1, 4)
    out.text = step
    return out

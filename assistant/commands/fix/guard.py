"""The meaning guard for the model's rewrite of a line.

The model's answer is compared word by word with the line it was given. A change is kept
only if it is a small edit of a word the dictionary does not know (a misspelling), or a
known substitution (a confusion pair, an agreement fix, an inflection: see
:func:`confusions.is_known_substitution`), or drops a doubled word. Anything else — a
synonym, another weekday, added or dropped words, a rewritten sentence — is refused and the
line keeps its safe correction. The result is rebuilt from the line itself, so the user's
capitals, punctuation, spacing and line breaks stay whatever the model did with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from rapidfuzz.distance import OSA

from assistant.commands.fix import confusions, tokens

MAX_EDIT = 2            # letters a misspelling may differ by
MAX_CHANGED_SHARE = 0.5  # more than this share of words changed = a rewrite, refused whole


@dataclass
class GuardResult:
    text: str
    accepted: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    rewrite: bool = False      # the answer was a rewrite, refused as a whole


def small_edit(a: str, b: str) -> bool:
    return OSA.distance(a, b) <= min(MAX_EDIT, max(1, len(a) // 3))


def allowed(old: str, new: str, knows) -> bool:
    """May ``old`` (a word of the user's) become ``new`` in a correction?"""
    a, b = old.lower().replace("\u2019", "'"), new.lower().replace("\u2019", "'")
    if a == b or confusions.is_known_substitution(a, b):
        return True
    return not knows(a) and knows(b) and small_edit(a, b)


def check(line: str, answer: str, knows, locked: set[int] = frozenset()) -> GuardResult:
    """Apply the acceptable word changes of ``answer`` to ``line``.

    ``knows(word)`` says whether the dictionary has a word; ``locked`` are start offsets of
    words in ``line`` that earlier passes decided (the model may not undo them)."""
    src = tokens.words(line)
    dst = tokens.words(answer or "")
    a = [t.lower for t in src]
    b = [t.lower for t in dst]
    result = GuardResult(text=line)
    if not b:
        result.rewrite = bool(a)
        return result
    ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")
    if a and changed / len(a) > MAX_CHANGED_SHARE:
        result.rewrite = True
        result.refused.append((line, answer))
        return result
    edits: dict[int, str] = {}
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for k in range(i2 - i1):
                tok, new = src[i1 + k], dst[j1 + k].text
                if tok.protected or tok.start in locked or not allowed(tok.text, new, knows):
                    result.refused.append((tok.text, new))
                else:
                    edits[tok.start] = tokens.match_case(new.lower().replace("\u2019", "'"), tok.text)
                    result.accepted.append((tok.text, new))
        elif tag == "delete" and all(i > 0 and a[i] == a[i - 1] for i in range(i1, i2)):
            for i in range(i1, i2):
                edits[src[i].start] = ""
                result.accepted.append((src[i].text, ""))
        else:
            result.refused.append((" ".join(t.text for t in src[i1:i2]),
                                   " ".join(t.text for t in dst[j1:j2])))
    result.text = tokens.replace_words(line, edits)
    return result

"""Splitting text into words and the exact text between them, and putting it back together.

Everything that is not a word (spaces, punctuation, line breaks, numbers, symbols) is kept
verbatim, so a correction can only ever touch words: the user's capitals, punctuation and
line breaks stay by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_PROTECT_BEFORE = set("@/\\_#$%&*+=~<^|")
_PROTECT_AFTER = set("@/\\_<>|*+=~^&%$#")


@dataclass
class Token:
    text: str
    start: int
    protected: bool = False   # part of a URL, address, path, code-like or digit-bearing run

    @property
    def lower(self) -> str:
        return self.text.lower().replace("\u2019", "'")


def words(text: str) -> list[Token]:
    """The words of ``text`` with their offsets; words inside URLs, e-mail addresses, paths,
    identifiers or glued to digits ("3pm", "v2") are marked protected (never corrected)."""
    out = []
    for m in _WORD.finditer(text):
        s, e = m.start(), m.end()
        prev = text[s - 1] if s else ""
        nxt = text[e] if e < len(text) else ""
        after = text[e + 1] if e + 1 < len(text) else ""
        before = text[s - 2] if s >= 2 else ""
        protected = (
            prev in _PROTECT_BEFORE or nxt in _PROTECT_AFTER or prev.isdigit() or nxt.isdigit()
            or (nxt in ".:" and after != "" and (after.isalnum() or after in "/\\"))
            or (prev in ".:" and before.isalnum())
            or "://" in text[max(0, s - 12):s]
        )
        out.append(Token(m.group(0), s, protected))
    return out


def replace_words(text: str, changes: dict[int, str]) -> str:
    """``text`` with the words starting at the given offsets replaced (offset -> new word);
    an empty replacement deletes the word and the spaces before it."""
    if not changes:
        return text
    parts, pos = [], 0
    for tok in words(text):
        if tok.start in changes:
            new = changes[tok.start]
            cut = tok.start
            if not new:
                while cut > pos and text[cut - 1] in " \t":
                    cut -= 1
                if cut == pos == 0:  # a deleted first word takes the space after it
                    end = tok.start + len(tok.text)
                    while end < len(text) and text[end] in " \t":
                        end += 1
                    parts.append(text[pos:cut])
                    pos = end
                    continue
            parts.append(text[pos:cut])
            parts.append(new)
            pos = tok.start + len(tok.text)
    parts.append(text[pos:])
    return "".join(parts)


def match_case(new: str, like: str) -> str:
    """``new`` in the casing of ``like``: "Teh" -> "The", "TEH" -> "THE", "i" -> "I"."""
    if new in ("i", "i'm", "i've", "i'll", "i'd") or new.startswith("i'"):
        new = "I" + new[1:]
    if len(like) > 1 and like.isupper():
        return new.upper()
    if like[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "etc", "e", "g",
                  "mt", "ft", "approx", "dept", "inc", "ltd", "co"}


def sentence_starts(text: str) -> set[int]:
    """Offsets of words that begin a sentence (start of text, after . ! ? or a line break;
    not after "Mrs." and other abbreviations)."""
    starts = set()
    prev: Token | None = None
    for tok in words(text):
        prev_end = prev.start + len(prev.text) if prev else 0
        gap = text[prev_end:tok.start]
        if prev is None or "\n" in gap or (re.search(r"[.!?]\W*$", gap)
                                          and not (gap.startswith(".") and prev.lower in _ABBREVIATIONS)):
            starts.add(tok.start)
        prev = tok
    return starts

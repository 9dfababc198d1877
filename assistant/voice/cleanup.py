"""Clean up Whisper output before it is typed into an app. Pure.

* whitespace: trimmed, runs collapsed, no space before punctuation;
* filler words ("um", "uh", "erm", ...) removed when asked, with the commas around them;
* capitalisation: the first letter upper-cased, unless the text continues a sentence the user
  was already dictating into the same place (then it starts lower-case, after a space);
* custom vocabulary: words the user listed are written exactly as listed
  ("kubernetes" -> "Kubernetes") - Whisper also gets them as hotwords, this fixes casing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FILLERS = ("um", "umm", "uh", "uhh", "uh-huh", "er", "erm", "ah", "hmm", "mm", "mhm")
_FILLER_RE = re.compile(
    r"(?:(?<=^)|(?<=[\s,.;:!?]))(?:" + "|".join(re.escape(f) for f in FILLERS) + r")(?=$|[\s,.;:!?])[,]?",
    re.IGNORECASE,
)
_SENTENCE_END = (".", "!", "?", ":", "\n")


def remove_fillers(text: str) -> str:
    out = _FILLER_RE.sub("", text)
    out = re.sub(r"\s*,\s*(?=[,.;:!?])", "", out)  # "so, , then" / "well ,." left behind
    out = re.sub(r"^[\s,;]+", "", out)
    return re.sub(r"[ \t]{2,}", " ", out)


def normalise_spaces(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{])\s+", r"\1", text)
    return text


def apply_vocabulary(text: str, vocabulary: Iterable[str]) -> str:
    for word in vocabulary:
        word = word.strip()
        if not word:
            continue
        text = re.sub(r"(?<!\w)" + re.escape(word) + r"(?!\w)", word, text, flags=re.IGNORECASE)
    return text


def _upper_first(text: str) -> str:
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1:]
        if ch.isdigit():
            return text
    return text


def _lower_first(text: str) -> str:
    for i, ch in enumerate(text):
        if ch.isalpha():
            word = re.match(r"[A-Za-z']+", text[i:])
            w = word.group(0) if word else ch
            # keep "I", acronyms ("NASA") and already mixed-case names ("McDonald")
            if w == "I" or w.startswith("I'") or (len(w) > 1 and not w[1:].islower()):
                return text
            return text[:i] + ch.lower() + text[i + 1:]
        if ch.isdigit():
            return text
    return text


def clean_transcript(
    text: str,
    *,
    remove_filler_words: bool = True,
    vocabulary: Iterable[str] = (),
    previous: str | None = None,
) -> str:
    """The text to insert. ``previous`` is what the last dictation into the same place ended
    with (None when this is a fresh start): then the result gets a separating space, and it
    continues the sentence in lower case unless ``previous`` ended one."""
    out = text
    if remove_filler_words:
        out = remove_fillers(out)
    out = normalise_spaces(out)
    out = apply_vocabulary(out, vocabulary)
    if not out or not any(ch.isalnum() for ch in out):
        return ""
    if previous is None or not previous.strip():
        return _upper_first(out)
    prev = previous.rstrip()
    if prev.endswith(_SENTENCE_END):
        out = _upper_first(out)
    else:
        out = _lower_first(out)
    if not previous.endswith((" ", "\n", "\t")):
        out = " " + out
    return out

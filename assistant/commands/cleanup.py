"""Turning a model's raw answer into text that can replace the user's command.

Removes chat preambles ("Sure! Here is the corrected text:"), labels the few-shot pattern
leaks ("Corrected:"), sign-offs ("Let me know if..."), wrapping quotes or code fences, and
special tokens; trims whitespace. ``fix:`` gets a guard: an empty or wildly longer answer is
replaced by the user's original text, with a note saying why.

Pure functions plus :class:`StreamCleaner`, which applies the same rules to a stream so that
what is typed into the app while streaming equals the stored output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

_SPECIAL_TOKENS = re.compile(r"<\|[^|>]{1,40}\|>|<(?:end|start)_of_turn>|</?s>|<eos>|<bos>|<pad>")
_OPENER = r"(?:sure|certainly|of course|okay|ok|absolutely|alright|great|no problem)\b"
_NOUN = (r"(?:correct\w*|fix\w*|revis\w*|improv\w*|edit\w*|polish\w*|summar\w*|version|text|"
         r"sentence|paragraph|translat\w*|response|rewrit\w*|draft|e-?mail|message|note|result|"
         r"answer|output|poem|haiku|story|reply)")
_THINKING = re.compile(r"^\s*<think>.*?(?:</think>|$)", re.DOTALL)  # reasoning of thinking models
_PREAMBLE_LINE = re.compile(
    r"^\s*(?:"
    rf"(?:{_OPENER}|here(?:'s| is| are)\b)[^\n]{{0,120}}?:[ \t]*\n"            # a whole line: "Sure! Here is X:"
    rf"|(?:{_OPENER}[^\n:]{{0,40}}?)?here(?:'s| is| are)\b[^\n:]{{0,80}}?\b{_NOUN}\b[^\n:]{{0,40}}?:[ \t]*"
    r"|(?:the )?(?:corrected|fixed|revised|improved|edited)(?: version| text| sentence)?(?: is)?:[ \t]*\n?"
    r"|(?:summary|response|answer|output|result|correction|translation)[ \t]*:[ \t]*\n?"
    r")",
    re.IGNORECASE,
)
_PREAMBLE_SENTENCE_ONLY = re.compile(
    r"^\s*(?:sure|certainly|of course|okay|absolutely)[!.,]?[ \t]*\n", re.IGNORECASE)
_SIGN_OFF = re.compile(
    r"\n\s*(?:let me know\b|i hope (?:this|that)\b|hope (?:this|that) helps\b|feel free\b|"
    r"if you (?:need|want|have)\b|is there anything else\b)[^\n]*\s*$",
    re.IGNORECASE,
)
_QUOTE_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb", "`": "`"}
_FENCE = re.compile(r"^```[\w-]*\n(.*)\n```$", re.DOTALL)


@dataclass
class Cleaned:
    text: str
    note: str | None = None


def strip_preamble(text: str) -> str:
    for _ in range(3):  # "Sure!\nHere is the corrected text:\n..."
        new = _PREAMBLE_SENTENCE_ONLY.sub("", text, count=1)
        new = _PREAMBLE_LINE.sub("", new, count=1)
        if new == text:
            break
        text = new
    return text


def strip_wrapping(text: str, original: str = "") -> str:
    """Remove quotes or a code fence around the whole answer (unless the input had them)."""
    text = text.strip()
    fence = _FENCE.match(text)
    if fence and not original.strip().startswith("```"):
        text = fence.group(1).strip()
    for _ in range(2):
        if len(text) >= 2 and text[0] in _QUOTE_PAIRS and text[-1] == _QUOTE_PAIRS[text[0]]:
            inner = text[1:-1]
            orig = original.strip()
            if orig[:1] == text[0] or _QUOTE_PAIRS[text[0]] in inner:
                break  # the user's own quotes, or quotes inside: not a wrapper
            text = inner.strip()
        else:
            break
    return text


def clean_text(raw: str, original: str = "") -> str:
    text = _SPECIAL_TOKENS.sub("", _THINKING.sub("", raw))
    text = strip_preamble(text.lstrip())
    text = _SIGN_OFF.sub("", text)
    text = strip_wrapping(text, original)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _first_sentences(text: str, limit: int) -> str:
    sentences = re.findall(r"[^.!?]+[.!?]*", text)
    out = ""
    for sentence in sentences:
        if out and len(out) + len(sentence) > limit:
            break
        out += sentence
    return out.strip()


def kept_word_ratio(original: str, answer: str) -> float:
    """Share of the original's words that are still in the answer, misspellings allowed
    ("teh" ~ "the", "tomorow" ~ "tomorrow"). A correction keeps most words; a translation or a new text does not."""
    words = re.findall(r"\w+", original.casefold())
    if not words:
        return 1.0
    out = set(re.findall(r"\w+", answer.casefold()))
    kept = sum(1 for w in words if w in out or any(
        sorted(w) == sorted(o) or SequenceMatcher(None, w, o).ratio() >= 0.75 for o in out))
    return kept / len(words)


def clean_output(style: str, raw: str, original: str) -> Cleaned:
    """The answer to store and insert, and a note when a guard changed it."""
    text = clean_text(raw, original)
    if style == "fix":
        if not text:
            return Cleaned(original, "the model returned nothing; your text was kept unchanged")
        limit = max(len(original) * 1.6 + 20, len(original) + 40)
        if len(text) > limit:
            return Cleaned(original, "the model's answer was much longer than your text "
                                     "(not a correction); your text was kept unchanged")
        if len(original) >= 24 and len(text) < len(original) * 0.5:
            return Cleaned(original, "the model's answer dropped much of your text; "
                                     "your text was kept unchanged")
        if len(re.findall(r"\w+", original)) >= 4 and kept_word_ratio(original, text) < 0.5:
            return Cleaned(original, "the model's answer was not a correction of your text "
                                     "(another language or other words); your text was kept unchanged")
    if style == "sum" and text and len(text) >= len(original) > 0:
        shorter = _first_sentences(text, int(len(original) * 0.6))
        if shorter and len(shorter) < len(original):
            return Cleaned(shorter, "the summary was not shorter than the text; kept its first sentences")
    return Cleaned(text)


_PREAMBLE_STARTS = ("sure", "certainly", "of course", "okay", "ok", "absolutely", "alright",
                    "great", "no problem", "here", "the corrected", "the fixed", "the revised",
                    "the improved", "the edited", "corrected", "fixed", "revised", "improved",
                    "edited", "summary", "response", "answer", "output", "result", "correction",
                    "translation")


def _could_be_preamble(head: str) -> bool:
    """Whether ``head`` (the start of an answer) may still turn out to be a preamble."""
    low = head.lower()
    return any(low.startswith(w) or w.startswith(low) for w in _PREAMBLE_STARTS)


class StreamCleaner:
    """Applies :func:`clean_text` to a stream of chunks.

    Holds back the start until it can tell whether it is a preamble (a first line or ~120
    characters), holds back trailing whitespace, and buffers everything when the answer opens
    with a quote (it can only be unwrapped at the end). ``emitted`` is exactly what was
    passed on, so the streamed text equals the final output."""

    def __init__(self, original: str = ""):
        self.original = original
        self.raw = ""
        self.emitted = ""
        self._started = False
        self._buffer_all = False

    def _clean_prefix(self, final: bool) -> str | None:
        cleaned = clean_text(self.raw, self.original) if final else None
        if final:
            return cleaned
        text = _SPECIAL_TOKENS.sub("", _THINKING.sub("", self.raw))
        text = strip_preamble(text.lstrip())
        # as clean_text: no trailing spaces on lines; trailing whitespace is held back until
        # more text follows it
        return "\n".join(line.rstrip() for line in text.rstrip().splitlines())

    def feed(self, piece: str) -> str:
        self.raw += piece
        if self._buffer_all:
            return ""
        if not self._started:
            head = _SPECIAL_TOKENS.sub("", _THINKING.sub("", self.raw)).lstrip()
            if not head or self.raw.lstrip().startswith("<think") and "</think>" not in self.raw:
                return ""  # nothing yet, or still reasoning
            if head[0] in _QUOTE_PAIRS or head.startswith("```"):
                self._buffer_all = True
                return ""
            if _could_be_preamble(head) and "\n" not in head and len(head) < 120:
                return ""  # cannot tell yet whether this line is a preamble
            self._started = True
        text = self._clean_prefix(final=False)
        if "<" in text[-40:] and not text.endswith(">"):
            text = text[: text.rfind("<")].rstrip()  # a special token may be arriving
        if text.startswith(self.emitted) and len(text) > len(self.emitted):
            new = text[len(self.emitted):]
            self.emitted = text
            return new
        return ""

    def finish(self) -> str:
        final = self._clean_prefix(final=True) or ""
        if final.startswith(self.emitted):
            new = final[len(self.emitted):]
            self.emitted = final
            return new
        return ""  # the text already typed stays; `emitted` is what was output

"""The opening of a ``gen:`` answer, made of the request's own words (for base models).

A 270M base model left to itself drops half of what a request names: the time of the moved
meeting, the invoice number, the day of the dinner. Started on an opening that already says
it — the greeting and the request's own content ("Hi Priya, the meeting moved to 3 pm."), a
list's heading, a poem's first line on its topic — the model only has to go on, and what the
user asked to be said is there, word for word. :func:`finish` then keeps the form asked for by
cutting what the model added beyond it (never the opening).

Pure: text in, text out. The prompt path puts the opening in the model's mouth (prefill).
"""

from __future__ import annotations

import re

from assistant.commands.checks import _WORD, Constraints, sentences

# What a request's content clause may end with that is about the form, not the content.
_FORM_TAIL = re.compile(
    r"\s*(?:,|\bin\b|\bunder\b|\bat most\b|\bno more than\b|\bwithin\b|\bfewer than\b)\s*"
    r"(?:\w+[- ])?(?:words?|lines?|sentences?)\b.*$|\s*,\s*(?:please|thanks)\b.*$", re.I)
_PRONOUN_OBJ = r"(?:him|her|them|me|us|everyone|everybody|the team|[A-Z][\w'-]+)"
_CONTENT = re.compile(
    rf"\b(?:saying|to say|telling\s+{_PRONOUN_OBJ}|reminding\s+{_PRONOUN_OBJ}|letting\s+{_PRONOUN_OBJ}\s+know|"
    rf"(?<=\s)that)\s+(?:that\s+)?(?P<content>.+)$")
_THANKS = re.compile(r"\bthank(?:-you|s| you)\b.*?\bfor\s+(?P<content>.+)$", re.I)
_INVITE = re.compile(r"\binviting\s+.+?\s+to\s+(?P<content>.+)$")
_TOPIC = re.compile(r"\b(?:haiku|poem|limerick|verse|tweet|post|slogan|toast)\s+(?:about|on|for)\s+(?P<content>.+)$", re.I)
_LIST = re.compile(r"\blist of\s+(?P<content>.+)$", re.I)
_REMINDER = re.compile(r"\breminder\b", re.I)


def _clause(text: str) -> str:
    text = _FORM_TAIL.sub("", text.strip())
    return text.strip().rstrip(".,;:!? ")


def _sentence(text: str, end: str = ".") -> str:
    return text if text[-1:] in ".!?" else text + end


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def opening(request: str, c: Constraints, who: str | None) -> str | None:
    """The start of the answer, or None when the request has no content clause to open on.

    ``who`` is the addressee (checks.addressee); a note to someone opens with "Hi {who}, "."""
    body = request.strip()
    if c.items:
        m = _LIST.search(body)
        if m:
            return _capital(_clause(m.group("content"))) + ": 1."
        return None
    m = _TOPIC.search(body)
    if m and (not who or who in m.group("content")):  # "a poem about the train to Vienna": no addressee
        return _capital(_clause(m.group("content"))) + " /"
    greeting = f"Hi {who}, " if who else ""
    m = _INVITE.search(body)
    if m and who:
        return greeting + f"would you like to come to {_clause(m.group('content'))}?"
    m = _THANKS.search(body)
    if m:
        return greeting + _sentence(f"thank you for {_clause(m.group('content'))}")
    m = _CONTENT.search(body)
    if m:
        content = _clause(m.group("content"))
        if not content:
            return None
        if _REMINDER.search(body[:m.start()]):
            content = f"just a reminder that {content}"
        if not greeting:
            content = _capital(content)
        return greeting + _sentence(content)
    return None


def finish(output: str, start: str, c: Constraints) -> str:
    """``output`` (which begins with ``start``) cut to the form asked for: the lines, items or
    sentences beyond the number asked, and whole sentences beyond a word limit, are dropped —
    only ever text the model added after the opening. A list is set out one item a line
    under its heading."""
    text = output.strip()
    if not text.startswith(start.strip()):
        return text
    if c.items and start.endswith(": 1."):
        heading = start[: -len(" 1.")]
        rest = text[len(heading):].strip()
        items = [p.strip(" -*") for p in re.split(r"\s+/\s+|\s*;\s+|\s+(?=\d+[.)]\s)|\n+", rest) if p.strip(" -*")]
        items = [re.sub(r"^\d+[.)]\s*", "", p) for p in items]
        if len(items) < c.items:  # items written as sentences
            items = [p for p in re.split(r"(?<=[.!?])\s+", " ".join(items)) if p.strip()] or items
        items = items[: c.items]
        return heading + "\n" + "\n".join(f"{i}. {_capital(p)}" for i, p in enumerate(items, 1))
    if c.lines:
        parts = [p.strip() for p in re.split(r"\s+/\s+|\n+", text) if p.strip()]
        if len(parts) >= c.lines:
            kept = "\n".join(parts[: c.lines])
            if len(kept) >= len(start.strip().rstrip("/").strip()):
                text = kept
    if c.sentences:
        found = sentences(text)
        if len(found) > c.sentences:
            cut = _prefix_of_sentences(text, c.sentences)
            if cut and len(cut) >= len(start.strip()):
                text = cut
    if c.max_words:
        while len(_WORD.findall(text)) > c.max_words:  # counted as unmet() counts them
            n = len(sentences(text))
            cut = _prefix_of_sentences(text, n - 1) if n > 1 else ""
            if not cut or len(cut) < len(start.strip()):
                break
            text = cut
    return text


def extended(output: str, start: str, c: Constraints) -> str | None:
    """A longer opening for the next try when ``output`` has fewer lines than asked: its
    lines so far, joined as the prompt writes lines, and the separator of the next one."""
    if not c.lines or c.items:
        return None
    lines = [p.strip() for p in re.split(r"\s+/\s+|\n+", output.strip()) if p.strip()]
    if not lines or len(lines) >= c.lines or not output.strip().startswith(start.rstrip(" /")):
        return None
    return " / ".join(lines) + " /"


def _prefix_of_sentences(text: str, n: int) -> str:
    """The first ``n`` sentences of ``text`` as written (up to the end of the n-th)."""
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", text)]
    return text[: ends[n - 1]].strip() if 0 < n <= len(ends) else ""


__all__ = ["opening", "finish"]

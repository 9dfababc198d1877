"""Checks that make ``sum:`` and ``gen:`` answers trustworthy (pure, no I/O).

* :func:`facts` — the numbers, amounts, dates, times and names a text states.
* :func:`unsupported` — facts of a summary that its source does not state (an invented
  number or name). The summary's budget and the extractive summary are in
  :mod:`assistant.commands.extract`.
* :func:`constraints` / :func:`unmet` / :func:`fix_form` — what a ``gen:`` request asks for
  (names, numbers, a number of lines, list items, sentences or words) and whether an answer
  does it, with the safe repairs (splitting, trimming) applied when it does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
                "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
                "fifty": 50, "hundred": 100, "thousand": 1000, "million": 1000000,
                "dozen": 12, "half": 0.5, "twice": 2, "once": 1, "single": 1, "both": 2,
                "first": 1, "second": 2, "third": 3}
COUNTABLE = {k: v for k, v in NUMBER_WORDS.items() if k not in ("half", "once", "single", "both", "first", "second", "third", "twice")}
MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun",
          "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
# capitalised words that are not names when they start a sentence or stand alone
_NOT_NAMES = {
    "i", "a", "an", "the", "this", "that", "these", "those", "it", "its", "we", "you", "they",
    "he", "she", "our", "your", "their", "his", "her", "my", "there", "here", "and", "but",
    "or", "so", "if", "when", "while", "after", "before", "during", "since", "because",
    "although", "however", "also", "then", "in", "on", "at", "by", "for", "from", "to", "of",
    "with", "as", "all", "some", "most", "many", "each", "every", "both", "no", "not",
    "one", "two", "three", "dear", "hi", "hello", "thanks", "thank", "best", "regards",
    "yes", "ok", "okay", "please", "overall", "meanwhile", "finally", "first", "second",
    "next", "last", "today", "tomorrow", "yesterday", "what", "who", "how", "why", "where",
    "which", "is", "are", "was", "were", "will", "would", "can", "could", "should", "may",
    "let", "let's", "sure", "summary", "note", "update", "reminder", "subject", "team",
    "everyone", "nobody", "someone", "anyone", "instead", "still", "only", "just", "even",
    "sincerely", "cheers", "love", "warm", "kind", "good", "great", "new", "more", "less",
}
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_NUM = re.compile(r"(?<![\w.])[$€£¥]?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|k|m|bn)|p)?(?![\w])", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\d,.])\+?\d{2,5}(?:[ -]\d{3,4}){2,3}(?![\d,.])")
_TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)(?!\w)|\b\d{1,2}:\d{2}\b", re.IGNORECASE)
_CAP_RUN = re.compile(r"\b(?:[A-Z][\w'’-]*\.?)(?:\s+(?:of\s+|de\s+|van\s+|von\s+)?[A-Z][\w'’-]*)*")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_MONTH_NAMES = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
                r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_DATE = re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_NAMES}\b|\b{_MONTH_NAMES}\s+\d{{1,2}}(?:st|nd|rd|th)?\b")


def sentences(text: str) -> list[str]:
    parts = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)", text.strip()):
        parts.extend(s.strip() for s in _SENT_SPLIT.split(block.strip()) if s.strip())
    return parts


def _norm_number(token: str) -> str:
    t = token.lower().replace(",", "").replace(" ", "")
    t = re.sub(r"(percent)$", "%", t)
    t = t.lstrip("$€£¥")
    if re.fullmatch(r"\d+\.0+%?", t):
        t = t.split(".")[0] + ("%" if t.endswith("%") else "")
    return t


def numbers(text: str) -> set[str]:
    """Numbers (digits, amounts, percentages, times, number words) normalised: "4,500" and
    "$4500" are both "4500", "three" is "3"."""
    phones = list(_PHONE.finditer(text))
    out = {re.sub(r"\D", "", m.group(0)) for m in phones}
    for m in reversed(phones):  # a phone number is one fact, not three numbers
        text = text[:m.start()] + " " + text[m.end():]
    out |= {_norm_number(m.group(0)) for m in _NUM.finditer(text)}
    out |= {re.sub(r"\s|\.", "", m.group(0).lower()) for m in _TIME.finditer(text)}
    for w in _WORD.findall(text.lower()):
        if w in COUNTABLE:
            out.add(str(COUNTABLE[w]))
    return {n for n in out if n}


def names(text: str) -> set[str]:
    """Capitalised words that name someone or something (lower-cased), month and weekday
    names included. Mid-sentence every capitalised word but "I" counts; at a sentence's
    start a word counts when it is a month or weekday, is followed by another capitalised
    word ("Ana Ruiz"), or the text also capitalises it mid-sentence."""
    out = set()
    for sent in sentences(text) or [text]:
        found = list(_WORD.finditer(sent))
        for i, m in enumerate(found):
            w = m.group(0)
            low = w.lower().replace("’", "'")
            low = low[:-2] if low.endswith("'s") else low
            if not w[:1].isupper() or len(low) < 2 or low in COUNTABLE:
                continue
            if i > 0 and not ("\n" in sent[found[i - 1].end():m.start()] and low in _NOT_NAMES):
                # (a word that opens a line, "Dear all,\nThe office ...", is read as a start)
                if low not in ("i'm", "i've", "i'll", "i'd"):
                    out.add(low)
                continue
            nxt = found[1].group(0) if len(found) > 1 else ""
            if low in _NOT_NAMES and not (low == "may" and re.match(r"\s+\d", sent[m.end():])):
                continue
            if (low in MONTHS or low in WEEKDAYS or (nxt[:1].isupper() and sent[m.end():found[1].start()].strip() == "")
                    or _looks_like_name(w, text)):
                out.add(low)
    return out


def _looks_like_name(word: str, text: str) -> bool:
    """A sentence-initial capitalised word counts as a name when the text also uses it
    capitalised elsewhere mid-sentence, or it is written all in capitals (an acronym)."""
    if word.isupper() and len(word) > 1:
        return True
    return any(not _LINE_START.search(text[:m.start()]) or _LINE_ALONE.match(text, m.end())
               for m in re.finditer(rf"\b{re.escape(word)}\b", text))


# what precedes a word that starts a sentence: the text's start, a sentence's end, or a line's
# start with its list marker or time stamp ("- Fixed a crash", "08:25 The cause")
_LINE_START = re.compile(r"(?:^|[.!?][\"')\]]*\s+|\n)\s*(?:(?:[-*•·]|\d{1,2}[.)])\s+)?"
                         r"(?:\d{1,2}:\d{2}\s+)?[\"'(\[]?$")
# a word that is its line's only one ("- Tom" in a list of people) is still a name
_LINE_ALONE = re.compile(r"[ \t]*[,.;!?]?[ \t]*(?:\n|$)")


def facts(text: str) -> set[str]:
    return numbers(text) | names(text)


def _source_words(source: str) -> set[str]:
    return {w.lower().rstrip("'’s") for w in _WORD.findall(source)} | {
        w.lower() for w in _WORD.findall(source)}


def unsupported(summary: str, source: str) -> list[str]:
    """Numbers, amounts, dates and names in ``summary`` that ``source`` does not state."""
    src_numbers = numbers(source)
    src_words = _source_words(source)
    bad = sorted(n for n in numbers(summary) if n not in src_numbers)
    for name in sorted(names(summary)):
        parts = name.split()
        if not all(p in src_words for p in parts):
            bad.append(name)
    return bad


# ------------------------------------------------------------------ gen: constraints
_FORM_NOUNS = (r"(?:items?|points?|bullets?|bullet points?|ideas?|tips?|reasons?|ways?|steps?|"
               r"names?|things?|questions?|examples?|options?|suggestions?|facts?|words?|"
               r"lines?|sentences?|paragraphs?|titles?|slogans?|taglines?|headlines?|"
               r"activities|dishes|places|books|songs|games|benefits|features|rules|goals|tasks)")
_COUNT = r"(\d+|" + "|".join(COUNTABLE) + r")"


@dataclass
class Constraints:
    names: list[str] = field(default_factory=list)     # as written in the request
    numbers: list[str] = field(default_factory=list)   # as written in the request
    lines: int | None = None
    items: int | None = None
    sentences: int | None = None
    max_words: int | None = None

    @property
    def empty(self) -> bool:
        return not (self.names or self.numbers or self.lines or self.items or self.sentences
                    or self.max_words)

    def describe(self) -> str:
        parts = []
        if self.names:
            parts.append("mention " + " and ".join(self.names))
        if self.numbers:
            parts.append("include " + " and ".join(self.numbers))
        if self.items:
            parts.append(f"exactly {self.items} items, one per line")
        if self.lines:
            parts.append(f"exactly {self.lines} line{'s' if self.lines > 1 else ''}")
        if self.sentences:
            parts.append(f"exactly {self.sentences} sentence{'s' if self.sentences > 1 else ''}")
        if self.max_words:
            parts.append(f"at most {self.max_words} words")
        return "; ".join(parts)


def _count(token: str) -> int:
    return int(token) if token.isdigit() else int(COUNTABLE[token.lower()])


def constraints(request: str) -> Constraints:
    """What a ``gen:`` request asks for that can be checked in the answer."""
    c = Constraints()
    low = request.lower()
    m = re.search(rf"\b{_COUNT}[- ]line\b|\bin {_COUNT} lines\b|\b{_COUNT} lines? (?:long|note|poem|message)", low)
    if m:
        c.lines = _count(next(g for g in m.groups() if g))
    if re.search(r"\bhaiku\b", low) and c.lines is None:
        c.lines = 3
    m = re.search(rf"\b(?:list of|top)\s+{_COUNT}\b|(?<!the )(?<!my )(?<!our )(?<!your )(?<!his )(?<!her )(?<!their )(?<!these )(?<!those )\b{_COUNT}\s+(?:short\s+|quick\s+|simple\s+|good\s+|fun\s+|"
                  rf"easy\s+|new\s+|key\s+|main\s+|different\s+|creative\s+|healthy\s+|cheap\s+)*"
                  rf"(?!lines?\b|sentences?\b|words?\b|paragraphs?\b){_FORM_NOUNS}\b", low)
    if m:
        c.items = _count(next(g for g in m.groups() if g))
    m = re.search(rf"\b(?:in\s+)?{_COUNT}\s+sentences?\b|\bone[- ]sentence\b", low)
    if m:
        c.sentences = _count(next((g for g in m.groups() if g), "one"))
    m = re.search(rf"\b(?:under|at most|no more than|fewer than|less than|max(?:imum)?(?: of)?|within|in)\s+{_COUNT}\s+words\b", low)
    if m:
        c.max_words = _count(m.group(1))
    seen = set()
    for m in _CAP_RUN.finditer(request):
        run = m.group(0).strip().rstrip(".")
        words = [w for w in run.split() if w.lower().rstrip(".") not in _NOT_NAMES]
        if not words or m.start() == 0 and len(words) == 1 and words[0].lower() in _NOT_NAMES:
            continue
        if m.start() == 0 or re.search(r"[.!?]\s*$", request[:m.start()]):
            if not (len(run.split()) > 1 or words[0].lower() in WEEKDAYS | MONTHS):
                continue
        name = " ".join(words)
        if name.lower() not in seen:
            seen.add(name.lower())
            c.names.append(name)
    skip = set()
    for pattern in (rf"\b{_COUNT}\s+words\b", rf"\b{_COUNT}[- ]lines?\b", rf"\b{_COUNT}\s+sentences?\b"):
        skip |= {m.group(1) for m in re.finditer(pattern, low)}
    for m in list(_DATE.finditer(request)) + list(_TIME.finditer(request)) + list(_NUM.finditer(request)):
        token = m.group(0).strip().rstrip(",.;:")
        if (c.items and token.isdigit() and _count(token) == c.items) or token.lower() in skip:
            continue
        if any(token in n or n in token for n in c.numbers):
            continue
        c.numbers.append(token)
    return c


_TITLE = r"(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+"
_ADDRESSEE = re.compile(
    rf"\b(?:to|for|thanking|inviting|reminding|asking|telling|congratulating|welcoming)\s+"
    rf"((?:{_TITLE})?[A-Z][\w'-]+(?:\s+(?:and\s+)?(?:{_TITLE})?[A-Z][\w'-]+)*)")


def addressee(request: str, c: Constraints) -> str | None:
    """Whom a note, message or email is for ("a note to Priya", "inviting Tom and Lena"),
    when that is one of the names the request gives."""
    for m in _ADDRESSEE.finditer(request):
        who = m.group(1).strip()
        if any(n.lower() in who.lower() for n in c.names) and who.split()[-1].lower() not in WEEKDAYS | MONTHS:
            return who
    return None


def greet(answer: str, who: str) -> str:
    """``answer`` opened with a greeting to ``who`` (the safe repair for a missing addressee)."""
    text = answer.strip()
    if text[:2].lower() in ("hi", "he", "de") and "," in text[:12]:  # "Hi," / "Hello," / "Dear,"
        text = text.split(",", 1)[1].lstrip()
    return f"Hi {who}, {text[:1].lower() + text[1:] if text[:2] != 'I ' and not text[:2].isupper() else text}"


def _has_number(answer: str, token: str) -> bool:
    if _DATE.fullmatch(token):
        day = re.search(r"\d+", token).group(0)
        month = re.search(r"[A-Za-z]{3}", re.sub(r"(?:st|nd|rd|th|of)\b", "", token)).group(0).lower()
        return any(re.search(r"\d+", d.group(0)).group(0) == day and month in d.group(0).lower()
                   for d in _DATE.finditer(answer))
    want = _norm_number(token) if not _TIME.fullmatch(token) else re.sub(r"\s|\.", "", token.lower())
    return want in numbers(answer) or token.lower() in answer.lower()


def list_items(answer: str) -> list[str]:
    lines = [ln.strip() for ln in answer.strip().split("\n") if ln.strip()]
    marked = [ln for ln in lines if re.match(r"^(?:[-*•]|\d+[.)])\s*", ln)]
    return marked if len(marked) >= 2 else lines


def unmet(answer: str, c: Constraints) -> list[str]:
    """The constraints ``answer`` does not meet, each said in a few words."""
    out = []
    low = answer.lower()
    for name in c.names:
        if not all(re.search(rf"\b{re.escape(part.lower().rstrip('.'))}", low) for part in name.split()):
            out.append(f"name {name!r} missing")
    for num in c.numbers:
        if not _has_number(answer, num):
            out.append(f"number {num!r} missing")
    lines = [ln for ln in answer.strip().split("\n") if ln.strip()]
    if c.lines and len(lines) != c.lines:
        out.append(f"{len(lines)} line(s) instead of {c.lines}")
    if c.items and len(list_items(answer)) != c.items:
        out.append(f"{len(list_items(answer))} item(s) instead of {c.items}")
    if c.sentences and len(sentences(answer)) != c.sentences:
        out.append(f"{len(sentences(answer))} sentence(s) instead of {c.sentences}")
    if c.max_words and len(_WORD.findall(answer)) > c.max_words:
        out.append(f"{len(_WORD.findall(answer))} words instead of at most {c.max_words}")
    return out


def fix_form(answer: str, c: Constraints) -> str:
    """Safe repairs of an answer's form: a one-line answer whose parts are separated by " / "
    or sentences is split into the lines asked for; a list with too many items is cut to the
    number asked for. Words are never added or changed."""
    text = answer.strip()
    want_lines = c.items or c.lines
    if want_lines:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        if len(lines) < want_lines:
            for splitter in (r"\s+/\s+", r"\s*;\s+", r"(?<=[.!?])\s+", r"\s+(?=\d+[.)]\s)", r",\s+"):
                parts = [p.strip() for p in re.split(splitter, " ".join(lines)) if p.strip()]
                if len(parts) == want_lines or (c.items and len(parts) > want_lines and splitter != r",\s+"):
                    lines = parts
                    break
        if c.items and len(lines) > c.items:
            items = list_items("\n".join(lines))
            if len(items) > c.items:
                lines = items[: c.items]
        text = "\n".join(lines)
    return text

"""The extractive ``sum:`` summary (pure, no I/O): the text's own words, never new ones.

* :func:`summary_budget` — how long a summary of a text may be: about one sentence per two
  source sentences (compressed ones), never more than 60 % of the source;
  the extract aims at :attr:`Budget.target_chars`, 45-57 % of it by fact density.
* :func:`text_units` — the text's sentences with its lines read as a person reads them
  (list items, chat turns and headers end a sentence; a hard-wrapped line is rejoined; list
  markers, a greeting alone on its line and a closing sign-off block are no sentences).
* :func:`compress` — a sentence without the parts that carry no fact: a greeting, a
  discourse opener ("After a long discussion,", "Unfortunately,", "From now on,"), a
  parenthesis, a "which..." clause inside or at the end, a trailing "because..." or
  "until..." clause. Only whole parts are dropped, and never one that holds a
  number, a name or one of the text's key terms; conditions ("If...", "When...") stay.
* :func:`pieces` — a compressed sentence cut into independent clauses at ";", at ":" and at
  ", and" / ", but" / ", so" before a new subject and at ", then" (steps), so one clause can
  be kept without its neighbour; a clause's tail (:func:`tail`: "..., which costs 45 euros
  each", "..., reviewed after six months", "... and will miss the cup game") is a piece of its
  own that is only ever chosen with its clause, so the clause can be kept without it.
* :func:`extractive_summary` — a greedy weighted set cover: the piece that adds the most
  not-yet-covered facts (numbers, dates, names), key terms (content words the text repeats,
  decision words) per character joins until the budget is spent; what is covered counts no
  more (no redundancy), and pieces come out in the text's order, rejoined as written. A
  date, a time and a name of several words each count as one fact. The room the cover
  leaves under the hard limit (:attr:`Budget.max_chars`) is then filled with the pieces that
  still fit, facts or not (an instruction, a name given once), the most content first.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache

from assistant.commands.concise import concise
from assistant.commands.checks import COUNTABLE, _DATE, _TIME, _WORD, _norm_number, facts, names, sentences

_STOP = {"the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with",
         "is", "are", "was", "were", "be", "been", "it", "this", "that", "as", "by", "from",
         "will", "would", "can", "could", "has", "have", "had", "we", "they", "he", "she",
         "you", "i", "our", "their", "its", "his", "her", "not", "so", "if", "also", "there",
         "which", "who", "all", "about", "into", "than", "then", "more", "very", "just", "me",
         "my", "your", "them", "him", "us", "do", "does", "did", "after", "before", "until",
         "every", "each", "any", "some", "one", "two", "new", "old", "get", "gets", "got",
         "please", "when", "what", "where", "how", "should", "must", "may", "need", "needs",
         "still", "now", "out", "up", "over", "same", "other", "only", "most", "much", "many",
         "been", "being", "no", "too", "again", "per", "last", "next", "first", "second"}
_DECISION = re.compile(r"\b(?:decid\w*|agree\w*|approv\w*|recommend\w*|conclu\w*|deadline|due|"
                       r"vot\w*|chose|choose|select\w*|cancel\w*|postpon\w*|delay\w*|moved?|"
                       r"launch\w*|announc\w*|propos\w*|plan(?:s|ned)?|budget|cost\w*|price|"
                       r"refund\w*|warranty|fix(?:ed)?|cause[ds]?|clos\w*|dropp\w*|worth|choice|"
                       r"(?:would|wouldn't|would not) (?:buy|recommend|choose))\b", re.IGNORECASE)
# list lines of minutes that name who was there, not what was said
_ROLL_CALL = re.compile(r"^(?:present|attendees|attending|absent|apologies|cc|bcc)\s*:", re.IGNORECASE)
_SIGN_OFF = re.compile(r"^(?:thanks|thank you|cheers|best|regards|kind regards|best wishes|"
                       r"many thanks|sincerely|yours(?: sincerely| faithfully)?|love|all the best)"
                       r"\b[,!.]?(?:\s+\S+){0,4}\s*$", re.IGNORECASE)
_GREETING = re.compile(r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^,.!?]{0,40},\s+",
                       re.IGNORECASE)
# openers that frame a sentence without stating a fact or a condition
_OPENER = re.compile(
    r"^(?:(?:after|following|despite|although|though|thanks to|according to|to|as)\s+[^,;:]{1,50}"
    r"|overall|still|unfortunately|fortunately|however|meanwhile|finally|also|luckily|sadly|honestly|"
    r"in the end|in addition|as a result|as expected|all in all|in short|in general|of course|"
    r"from now on|until then|going forward|in the meantime|for now|for the moment|right now|"
    r"a quick update on [^,;:]{1,40})\s*,\s+", re.IGNORECASE)
_BARE_OPENER = re.compile(r"^(?:overall|honestly|unfortunately|fortunately|all in all|in short|in general)\s+(?=[a-z]|I\b)",
                          re.IGNORECASE)
_TRAILING = re.compile(r",\s+(?:because|since|as|while|whereas|so that|until)\s+[^,;:]+(?=[.!?]?$)"
                       r"|(?<!\ba)(?<!\bthe)(?<!\byour)\s+(?:because|while|whereas|so that)\s+[^,;:]+(?=[.!?]?$)"
                       r"|,\s+(?:which|who|whose)\s+[^,;:]+(?=[.!?]?$)", re.IGNORECASE)
# a trailing aside: ", with no change", ", a known issue with...", ", the blue house at..."
_ASIDE = re.compile(r",\s+(?:with|without|a|an|the|mostly|especially|including|apart from|according to|(?!\w*thing\b)[a-z]{3,}ing)\s+[^,;:]+(?=[.!?]?$)",
                    re.IGNORECASE)
# a reporting clause whose subject states no fact: "our supplier has told us that ..."
_REPORTED = re.compile(r"^(?!.*\b(?:no|not|nobody|none|never|neither|nor|no one)\b.*\b(?:said|says|told|tells|"
                       r"reported|reports|writes|wrote|explained|confirmed|added|noted|found)\b)"
                       r"(?:[\w'’-]+\s+){1,4}(?:has |have |had )?(?:said|says|told us|tells us|"
                       r"reported|reports|writes|wrote|explained|confirmed|added|noted|found)"
                       r"(?:\s+that)?\s+(?=\w)", re.IGNORECASE)
# what a reporting verb without "that" introduces is a clause only if a verb follows soon:
# "told us the parts will arrive" (a clause), "found a crack in the wall" (an object)
_CLAUSE_AHEAD = re.compile(r"^(?:[\w'’-]+\s+){1,6}?(?:is|are|was|were|will|would|can|could|cannot|can't|has|"
                           r"have|had|did|didn't|does|doesn't|do|don't|should|must|may|might|won't|"
                           r"isn't|aren't|wasn't|weren't|went|came|got|took|made|left|\w{3,}[^e\W]ed)\b",
                           re.IGNORECASE)
# a letter's or notice's frame around what it says: "I am writing to let you know that ...",
# "Please note that ...", "This is to confirm that ..."
_FRAME = re.compile(r"^(?:(?:I|we)(?: am| are|'m|'re)? (?:writing|wanted|would like|'d like) to (?:let you know|"
                    r"inform you|tell you|remind you|confirm)|this is (?:just )?to (?:let you know|inform you|"
                    r"remind you|confirm)|(?:please )?(?:note|be aware|remember)|(?:just )?a (?:quick |friendly )?"
                    r"reminder|(?:we are|we're|I am|I'm) (?:pleased|happy|sorry) to (?:announce|say|tell you|"
                    r"let you know|inform you))(?:,)?\s+that\s+(?=\w)", re.IGNORECASE)
# a sentence that opens on a subordinate part: what follows its first comma is the main clause
_SUBORDINATE = re.compile(r"^(?:to|after|before|if|when|whenever|while|as|since|because|although|though|"
                          r"once|until|unless|in|on|at|for|with|without|by|during|from|despite)\b[^,]*$",
                          re.IGNORECASE)
# a relative clause or aside between commas inside a sentence: "the plant, which opened in
# spring, will close" (dropped only when it holds no fact or key term)
_PHRASE_OPEN = re.compile(r"^(?:in|on|at|for|with|without|by|during|from|despite)\b", re.IGNORECASE)


def _opens_only(part: str) -> bool:
    """Whether ``part`` may be only a sentence's opening (its main clause after a comma still
    to come): a subordinate clause ("If the light stays red") or a short phrase ("In the event
    of fire"). A long part that opens on a preposition ("During this time residents can use
    the lift in block A") has its main clause already."""
    return bool(_SUBORDINATE.match(part)) and not (_PHRASE_OPEN.match(part) and len(part.split()) > 6)


_INNER = re.compile(r",\s+(?:which|who|whose|where)\s+[^,;:()]{3,80},\s+(?=[a-z])"
                    # an apposition after a name: "Helen Marsh, our head of analytics, and ..."
                    r"|(?<=[a-z]),\s+(?:our|the|a|an|his|her|their|its|my|your)\s+[^,;:()\d]{3,60},\s+(?=[a-z])"
                    # a parenthetical: ", for example," ", however,"
                    r"|,\s+(?:for example|for instance|however|of course|in fact|as usual|as always|by the way)"
                    r",\s+(?=[a-z])")
_DETERMINERS = {"our", "the", "a", "an", "his", "her", "their", "its", "my", "your"}
_PLEASE = re.compile(r"^please\s+(?=[a-z])", re.IGNORECASE)
_PAREN = re.compile(r"\s*\([^()]{0,120}\)")
_CLAUSE_START = (r"(?:the|a|an|this|that|these|those|it|he|she|we|they|i|you|our|his|her|their|its|there|"
                 r"my|your|no|every|each|all|some|most|about|only|[A-Z][\w'-]*|\d[\d,.]*)")
# a finite verb that shows a new clause after ", and" / ", but" whose subject is a noun
# ("..., and flats that cannot be reached will be charged")
_FINITE = (r"(?:is|are|was|were|will|would|can|could|cannot|can't|has|have|had|did|didn't|does|doesn't|"
           r"do|don't|should|must|may|might|said|says)")
_SPLIT = re.compile(rf";\s+|,?\s+and\s+that\s+(?=\w+\s+\w+)|,\s+(?:and|but|so)\s+(?={_CLAUSE_START}\s+\w+)|,\s+so\s+(?=please\s)|,\s+then\s+(?=[a-z]+\s)"
                    rf"|:\s+(?={_CLAUSE_START}\s+\w+)"
                    rf"|,\s+(?:and|but)\s+(?=(?!{_CLAUSE_START}\s)[a-z][\w'-]*\s+(?:[\w'-]+\s+){{0,5}}?{_FINITE}\s)")


@dataclass(frozen=True)
class Budget:
    sentences: int
    max_chars: int
    target_chars: int = 0  # what the extract aims at (0: max_chars)


def _stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    w = w[:-2] if w.endswith("'s") else w
    for suffix in ("ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def key_terms(source: str) -> set[str]:
    """Stems of the content words the text uses more than once (what it is about)."""
    counts = Counter(_stem(w) for w in _WORD.findall(source) if w.lower() not in _STOP and len(w) > 2)
    return {w for w, n in counts.items() if n >= 2}


_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
# a date is one fact: "Friday 14 June", "14 June" and "June 14" are all "@14 jun"
_DATE_UNIT = re.compile(rf"(?:\b{_WEEKDAY},?\s+)?(?:{_DATE.pattern})", re.IGNORECASE)
_PARTICLES = ("de", "van", "von", "der", "da", "di", "del", "la", "le")
_NAME_GAP = re.compile(rf"\s+(?:(?:{'|'.join(_PARTICLES)})\s+)?")


def _date_key(date: str) -> str:
    day = re.search(r"\d+", date).group(0)
    month = re.search(r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", date).group(1)
    return f"@{int(day)} {month.lower()}"


def _units(text: str, terms: set[str], names: frozenset[str] = frozenset()) -> set[str]:
    """What a piece of text covers: its facts (with the ``names`` of the whole text that it
    mentions, "Julia" at a piece's start included), its key terms and decision words. A date
    counts once (not as a day number and a month), so does a time ("02:10" is not 02 and 10)
    and a name of several words ("Priya Nair", "Pieter de Vries"): counted word by word, a
    sentence with a date or a full name outweighed one with an amount and a decision."""
    out = {_date_key(m.group(0)) for m in _DATE_UNIT.finditer(text)}
    bare = _DATE_UNIT.sub(" · ", text) if out else text  # no word: "3 May The" starts a sentence
    times = {"t" + re.sub(r"\s|\.", "", m.group(0).lower()) for m in _TIME.finditer(bare)}
    if times:  # "02:10" is one time, not the numbers 02 and 10 as well
        out |= times
        bare = _TIME.sub(" · ", bare)
    found = facts(bare)
    own = {f for f in found if f.isalpha()}
    out |= found - own
    run: list[str] = []  # the words of the name being read
    end = 0
    for m in _WORD.finditer(bare):
        low = m.group(0).lower().replace("’", "'")
        low = low[:-2] if low.endswith("'s") else low
        if run and not _NAME_GAP.fullmatch(bare[end:m.start()]):
            out.add(" ".join(run))
            run = []
        if (low in names or low in own) and (run or low not in _TITLES):
            particle = _NAME_GAP.fullmatch(bare[end:m.start()]) if run else None
            run += particle.group(0).split() if particle else []
            run.append(low)
            end = m.end()
            continue
        if run and low in _PARTICLES:
            continue
        if run:
            out.add(" ".join(run))
            run = []
        if _stem(m.group(0)) in terms:
            out.add("~" + _stem(m.group(0)))
    if run:
        out.add(" ".join(run))
    out |= {"!" + _stem(m.group(0)) for m in _DECISION.finditer(text)}
    out |= {"=" + _norm_number(m.group(1) or m.group(2)) for m in _AMOUNT.finditer(text)}
    out |= {"=" + str(COUNTABLE[m.group(1).lower()]) for m in _WORD_SHARE.finditer(text)}
    return out


def _carries(part: str, terms: set[str]) -> bool:
    return bool(_units(part, terms))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def compress(sentence: str, source: str, terms: set[str] | None = None) -> str:
    """``sentence`` without its parts that carry no fact or key term of ``source``."""
    terms = key_terms(source) if terms is None else terms
    s = sentence.strip()
    m = _GREETING.match(s)
    if m and len(s) > m.end() + 10:
        s = _capital(s[m.end():])
    for pattern in (_OPENER, _BARE_OPENER):
        m = pattern.match(s)
        if m and not _carries(m.group(0), terms) and len(s) > m.end() + 10:
            s = _capital(s[m.end():])
    for m in reversed(list(_PAREN.finditer(s))):
        if not facts(m.group(0)):
            s = s[:m.start()] + s[m.end():]
    for pattern in (_REPORTED, _FRAME):
        m = pattern.match(s)
        if m and pattern is _REPORTED and not m.group(0).rstrip().lower().endswith("that") \
                and not _CLAUSE_AHEAD.match(s[m.end():]):
            continue  # "We found a crack in the wall": what was found is an object, no clause
        if m and not _carries(m.group(0), terms) and len(s) > m.end() + 20:
            s = _capital(s[m.end():])
    s = concise(s)
    s = _capital(_PLEASE.sub("", s))
    for m in reversed(list(_INNER.finditer(s))):
        word = s[:m.start()].rsplit(" ", 1)[-1]
        if m.group(0).split()[1].lower() in _DETERMINERS and not word[:1].isupper():
            continue  # an apposition only after a name
        if not _carries(m.group(0), terms):
            s = s[:m.start()] + " " + s[m.end():]
    for pattern in (_TRAILING, _ASIDE):
        m = pattern.search(s.rstrip(".!?"))
        before = s[:m.start()] if m else ""
        if (m and not _carries(m.group(0), terms) and len(before.split()) >= 3
                and not re.search(r"(?:^|,)\s*(?:if|when|unless|and|or)\b[^,]*$", before, re.IGNORECASE)
                and not _opens_only(before)):
            end = s[len(s.rstrip(".!?")):] or "."
            s = before.rstrip(" ,") + end
    return s


def pieces(sentence: str) -> list[tuple[str, str]]:
    """``sentence`` cut into independent clauses: ``(clause, separator before it)``."""
    out, start, sep = [], 0, ""
    for m in _SPLIT.finditer(sentence):
        if m.start() - start < 12 or len(sentence) - m.end() < 12:
            continue
        out.append((sentence[start:m.start()], sep))
        start, sep = m.end(), m.group(0)
    out.append((sentence[start:], sep))
    return out


# a trailing part a clause can stand without, though it states a fact: "..., which costs 45
# euros each", "..., reviewed after six months", "..., near the castle", "... because ...",
# "..., in the old bank building", "... with food every morning"
_TAIL = re.compile(_TRAILING.pattern + "|" + _ASIDE.pattern
                   + r"|,\s+(?:although|though|(?:[a-z]{3,}ed)|near|next to|opposite|behind|close to|"
                     r"outside|inside|in front of|just|about|around)\s+[^,;:]+(?=[.!?]?$)"
                   r"|,?\s+(?:instead of|rather than)\s+[^,;:]+(?=[.!?]?$)"
                   # a place or time added after a comma ("..., in the old bank building"), a
                   # manner at the end ("... with food every morning")
                   r"|,\s+(?:in|on|at|from|for|by)\s+[^,;:]+(?=[.!?]?$)|\s+(?:with|without)\s+[^,;:]+(?=[.!?]?$)"
                   r"|\s+and\s+(?:will|would|can|could|must|should|may|might|is|are|was|were|has|have|had)"
                   r"\s+[^,;:]+(?=[.!?]?$)",
                   re.IGNORECASE)


_GERUND_SUBJECT = re.compile(r"^[A-Z][a-z]+ing\b")
# a "with ..." part that holds the sentence's verb is its predicate, not a manner added at the
# end: "Dinner for two with drinks came to 58 pounds" (after "and" a second verb may follow:
# "admitted with a chest infection and treated with ...")
_WITH_PREDICATE = re.compile(rf"^\s+with(?:out)?\b(?:(?!\band\b|\bor\b).)*?\b(?:{_FINITE}|came|went|cost|costs|"
                             r"took|made|ran|gave|paid|sold|brought|bought|told|left|totall?ed|added up)\b",
                             re.IGNORECASE)
_TAILS = 2  # at most this many tails are cut off one clause


def _open_aside(before: str) -> bool:
    """Whether ``before`` ends on a part between commas that the sentence's verb still has to
    follow: a short apposition ("Our assessor, Mr Duval") or a relative clause ("the striker
    Joel Amankwah, who joined in January"); a participle after it is that verb."""
    if not re.search(r",\s", before):
        return False
    last = re.split(r",\s+", before)[-1]
    return len(last.split()) <= 4 or bool(re.match(r"(?:who|whom|whose|which|where)\b", last, re.IGNORECASE))


def tail(piece: str) -> tuple[str, str, str] | None:
    """``(clause, separator, tail)`` when ``piece`` ends on a part it can stand without (an
    aside, a "which..." or "because..." clause, a participle: :data:`_TAIL`), else None; the
    clause keeps at least three words and is no condition or opening part alone."""
    m = _TAIL.search(piece.rstrip(".!?"))
    if not m:
        return None
    before = piece[:m.start()].rstrip(" ,")
    sep = re.match(r",?\s+", m.group(0)).group(0)
    verb = re.match(r",?\s+([a-z]+)", m.group(0), re.IGNORECASE).group(1).lower().endswith(("ed", "ing"))
    if (len(before.split()) < 3 or _opens_only(before)
            or (verb and _open_aside(before))  # "Our assessor, Mr Duval, visited ...": the verb itself
            or ("," not in sep and _GERUND_SUBJECT.match(before))  # "Signing in ... instead of ... avoids"
            or _WITH_PREDICATE.match(m.group(0))  # "Dinner for two with drinks came to ..."
            or re.search(r"(?:^|,)\s*(?:if|when|unless|and|or)\b[^,]*$", before, re.IGNORECASE)):
        return None
    return before, sep, piece[m.start() + len(sep):]


_LIST_MARK = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
_GREETING_ONLY = re.compile(r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^.!?:]{0,40}[,!]?$",
                            re.IGNORECASE)


def text_units(source: str) -> list[str]:
    """The text's sentences, its lines read as a person reads them: a line break ends a
    sentence (a list item, a chat turn, a header, a greeting) unless the next line goes on
    in lower case (a hard-wrapped paragraph, rejoined with a space); list markers ("- ",
    "2. ") are layout, not words of the sentence, and a greeting alone on its line is no
    sentence."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", source.strip()):
        lines: list[str] = []
        for line in block.split("\n"):
            line = line.strip()
            if not line:
                continue
            if lines and line[:1].islower():
                lines[-1] += " " + line
            else:
                lines.append(_LIST_MARK.sub("", line))
        for line in lines:
            out.extend(s for s in sentences(line) if not _GREETING_ONLY.match(s))
    return out


def _fact_density(source: str) -> float:
    return len(facts(source)) / max(1, len(text_units(source)))


def summary_budget(source: str) -> Budget:
    """At most one summary sentence per two source sentences, one more from four on (the
    extract's are compressed), never more than 60 % of the source's length. The extract aims
    at 45 % of the source plus 10 % per fact a sentence states, up to 57 %: a text dense with
    dates, amounts and names needs the room to keep them (at 40-55 % a quarter of the
    development set's key facts did not fit; 57 % leaves the 60 % limit a margin for the
    full stops the join adds)."""
    n = len(_content(source)) or 1
    share = min(0.57, max(0.45, 0.45 + 0.1 * _fact_density(source)))
    max_chars = max(20, int(len(source) * 0.6))
    return Budget(sentences=max(1, math.ceil(n / 2) + (1 if n >= 4 else 0)), max_chars=max_chars,
                  target_chars=min(max_chars, max(20, int(len(source) * share))))


_AMOUNT = re.compile(r"(?<![\w.])[$€£¥]\s?(\d[\d,]*(?:\.\d+)?)|(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?"
                     r"(?:%|percent|per cent|(?:million |billion |thousand )?(?:euros?|dollars?|pounds?|"
                     r"francs?|yen|kr|usd|eur|gbp|pence|cents?)|p)(?!\w)", re.IGNORECASE)
# a share in words: "one percent", "five per cent" (the number word alone is a small count)
_WORD_SHARE = re.compile(rf"\b({'|'.join(COUNTABLE)})\s+(?:percent|per cent)\b", re.IGNORECASE)
_TITLES = {"mr", "mrs", "ms", "dr", "prof", "sir", "madam"}
_SMALL = {str(n) for n in range(0, 11)}


@lru_cache(maxsize=4096)
def _weight(unit: str) -> float:
    """Amounts, percentages, dates and names weigh most; small counts ("two carrots"), the
    text's key terms and decision words less; titles ("Mrs") nothing; a title line's half."""
    if unit.startswith("%"):
        return 0.5 * _weight(unit[1:])
    if unit.startswith("^"):  # a timeline's stamp
        return 0.2 * _weight(unit[1:])
    if unit.startswith("~"):
        return 0.45
    if unit.startswith("!"):
        return 0.25
    if unit.startswith("="):  # an amount or a percentage, on top of its number
        return 0.5
    if unit.startswith("@") or (unit.startswith("t") and unit[1:2].isdigit()):  # a date, a time
        return 1.0
    if unit in _TITLES:
        return 0.0
    if unit.isalpha():
        return 0.8
    if " " in unit and unit.replace(" ", "").isalpha():  # a name of several words
        return 1.0
    return 0.3 if unit in _SMALL else 1.0


def weighted_coverage(summary: str, source: str) -> float:
    """Share of the source's weighted facts, key terms and decision words that ``summary``
    keeps (the measure the extract maximises; 1.0 for a text without any)."""
    terms = key_terms(source)
    known = frozenset(names(source))
    wanted = _units(source, terms, known)
    alias = _aliases(wanted)
    wanted = {alias.get(u, u) for u in wanted}
    total = math.fsum(_weight(u) for u in wanted)
    if not total:
        return 1.0
    have = {alias.get(u, u) for u in _units(summary, terms, known) | {w.lower() for w in _WORD.findall(summary)}}
    return math.fsum(_weight(u) for u in wanted & have) / total


def _content(source: str) -> list[tuple[int, str]]:
    """The sentences that say something: not a closing sign-off, not a roll-call line."""
    sents = text_units(source)
    end = len(sents)
    for i in range(len(sents) - 1, max(0, len(sents) - 4), -1):  # "Kind regards," / "Nadia"
        if _SIGN_OFF.match(sents[i]) and all(len(x.split()) <= 5 for x in sents[i + 1:]):
            end = i
            break
    return [(i, s) for i, s in enumerate(sents[:end]) if not _ROLL_CALL.match(s)]


def _candidates(source: str, terms: set[str]) -> list[tuple]:
    """``(sentence index, piece index, text, separator, units, needs)`` of every compressed
    piece; a piece's optional tail (:func:`tail`) is a piece of its own that ``needs`` the
    ``(sentence index, piece index)`` of its clause (never chosen without it)."""
    known = frozenset(names(source))
    alias = _aliases(_units(source, terms, known))
    timeline = len(_STAMPED.findall(source)) >= 3
    out = []
    for k, (i, s) in enumerate(_content(source)):
        j = 0
        for whole, sep in pieces(compress(s, source, terms)):
            parts = [(whole, sep)]  # the clause, then its tails, each needing the one before
            while len(parts) <= _TAILS and not (k == 0 and _TITLE_LINE.match(whole)) \
                    and (split := tail(parts[0][0])):
                parts[:1] = [(split[0], parts[0][1]), (split[2], split[1])]
            for n, (text, sep) in enumerate(parts):
                needs = (i, j - 1) if n else None
                units = {alias.get(u, u) for u in _units(text, terms, known)}
                if k == 0 and _TITLE_LINE.match(text):
                    units = _header(units)
                elif timeline and j == 0 and (m := _TIME.match(text)):
                    units = _stamp(units, "t" + re.sub(r"\s|\.", "", m.group(0).lower()))
                out.append((i, j, text, sep, units, needs))
                j += 1
    return out


def _aliases(units: set[str]) -> dict[str, str]:
    """A name's part on its own is the same one as the full name the text gives ("Colton"
    after "Colton Rovers", "Novak" after "Peter Novak"): each word that belongs to exactly
    one full name maps to it, so naming it again adds nothing new."""
    owners: dict[str, set[str]] = {}
    for u in units:
        if " " in u and u.replace(" ", "").isalpha():
            for w in u.split():
                if w not in _PARTICLES and w not in _TITLES:
                    owners.setdefault(w, set()).add(u)
    return {w: next(iter(full)) for w, full in owners.items() if len(full) == 1 and w in units}


# a log's or timeline's lines open on their time: "08:10 On-call engineer confirmed ..."
_STAMPED = re.compile(r"^\s*(?:[-*•]\s+)?\d{1,2}:\d{2}\b", re.MULTILINE)


def _stamp(units: set[str], time: str) -> set[str]:
    """In a timeline every line opens on its time: the stamp orders the events rather than
    being one of them, so it counts a fifth (the events' own facts decide what is kept)."""
    return (units - {time}) | {"^" + time} if time in units else units


# a title line that dates the text: "Board meeting, 14 November.", "Outage report, 17 February"
_TITLE_LINE = re.compile(rf"^[A-Z][^,.!?:;]{{0,50}}\b(?:meeting|minutes|notes|report|update|summary|"
                         rf"review|planning|sync|stand-?up|retro\w*|briefing|notice|newsletter|agenda|"
                         rf"call|session|workshop)\b[^,.!?:;]{{0,30}},\s+(?:on\s+)?(?:{_DATE.pattern})\.?$",
                         re.IGNORECASE)


def _header(units: set[str]) -> set[str]:
    """A title line's facts (the minutes' own date, "Outage report, 17 February") frame the
    text rather than state what it says: each counts half."""
    return {"%" + u for u in units}


def _greedy(cands: list[tuple], budget: Budget, limit: int, covered: set[str], used: int,
            exponent: float) -> tuple[list[tuple], float]:
    """Budgeted greedy cover: the piece with the most new weight (less a quarter of what it
    repeats) per length^exponent joins while it fits; returns the pieces and their gain.
    Lazy: a piece's value only falls as more is covered, so a popped value still above the
    next one's stale value is the best (a long text stays fast)."""
    covered = set(covered)
    at = {(c[0], c[1]): c for c in cands}
    keys: set[tuple[int, int]] = set()

    def chain(c: tuple) -> list[tuple]:
        """``c`` with the clause (and tails) before it that are not chosen yet, in order."""
        out = [c]
        while out[0][5] and out[0][5] not in keys:
            out.insert(0, at[out[0][5]])
        return out

    def value(c: tuple) -> tuple[float, float]:
        new = chain(c)  # a tail without its clause: the two together
        units = set().union(*(x[4] for x in new))
        size = sum(len(x[2]) for x in new)
        first = any((x[0], x[1]) == (0, 0) for x in new)
        gain = math.fsum(_weight(u) for u in units - covered) + (0.3 if first else 0)
        repeats = math.fsum(_weight(u) for u in units & covered if not u.startswith("~"))
        return (gain - 0.25 * repeats) / (size + 20) ** exponent, gain

    heap = [(-value(c)[0], k) for k, c in enumerate(cands)]
    heapq.heapify(heap)
    waiting: dict[tuple[int, int], list[int]] = {}  # tails too long with their clause: tried again once it is in
    chosen: list[tuple] = []
    sents: set[int] = set()
    length, total = used, 0.0
    while heap:
        _, k = heapq.heappop(heap)
        c = cands[k]
        if (c[0], c[1]) in keys:
            continue
        new = chain(c)
        size = sum(len(x[2]) + 1 for x in new)
        if length + size > limit or (c[0] not in sents and len(sents) >= budget.sentences):
            if len(new) > 1:
                waiting.setdefault(c[5], []).append(k)
            continue  # it will not fit later either (a tail: unless its clause is chosen)
        now, gain = value(c)
        if gain <= 0 or now <= 0:
            continue
        if heap and now < -heap[0][0]:
            heapq.heappush(heap, (-now, k))
            continue
        for x in new:
            chosen.append(x)
            keys.add((x[0], x[1]))
            covered |= x[4]
            for w in waiting.pop((x[0], x[1]), []):
                heapq.heappush(heap, (-value(cands[w])[0], w))
        sents.add(c[0])
        length += size
        total += gain
    return chosen, total


_EXACT_UP_TO = 18  # pieces: beyond, the greedy cover alone (2^18 subsets are pruned hard)


def _gain(chosen: list[tuple], covered: set[str]) -> float:
    units = set().union(*(c[4] for c in chosen)) - covered if chosen else set()
    return math.fsum(_weight(u) for u in units) + (0.3 if any(c[0] == 0 and c[1] == 0 for c in chosen) else 0)


def _exact(cands: list[tuple], budget: Budget, limit: int, covered: set[str], used: int,
           start: list[tuple]) -> list[tuple]:
    """The set of pieces that covers the most weight within the budget (fewest characters
    on a tie), by depth-first search with a bound; ``start`` (the greedy answer) is the
    first best."""
    at = {(c[0], c[1]): c for c in cands}
    needed: set[tuple[int, int]] = set()  # the clauses (and tails) a useful tail needs
    for c in cands:
        if c[4] - covered:
            while c[5]:
                needed.add(c[5])
                c = at[c[5]]
    useful = [c for c in cands if c[4] - covered or (c[0], c[1]) in needed]
    best = [_gain(start, covered), -(used + sum(len(c[2]) + 1 for c in start)), start]
    rest = [0.0] * (len(useful) + 1)
    for k in range(len(useful) - 1, -1, -1):
        rest[k] = rest[k + 1] + math.fsum(_weight(u) for u in useful[k][4] - covered) + 0.3

    def walk(k: int, chosen: list[tuple], length: int, have: set[str], value: float) -> None:
        if (value, -length) > (best[0], best[1]):
            best[:] = [value, -length, list(chosen)]
        if k == len(useful) or value + rest[k] <= best[0]:
            return
        c = useful[k]
        if (length + len(c[2]) + 1 <= limit and len({x[0] for x in chosen} | {c[0]}) <= budget.sentences
                and (not c[5] or any((x[0], x[1]) == c[5] for x in chosen))):
            new = c[4] - have
            bonus = 0.3 if c[0] == 0 and c[1] == 0 else 0
            chosen.append(c)
            walk(k + 1, chosen, length + len(c[2]) + 1, have | c[4],
                 value + math.fsum(_weight(u) for u in new) + bonus)
            chosen.pop()
        walk(k + 1, chosen, length, have, value)

    walk(0, [], used, set(covered), 0.0)
    return best[2]


def _fill(cands: list[tuple], chosen: list[tuple], budget: Budget, limit: int, used: int) -> list[tuple]:
    """``chosen`` and the pieces that still fit in the room it leaves under the hard limit
    (the cover aims below it), though they may add no counted fact (an instruction, a name
    the text gives once at a sentence's start): the ones with the most content words per
    character first. What was chosen stays, so the summary only gains; the limit is checked
    on the joined text."""
    chosen = list(chosen)
    have = {_stem(w) for x in chosen for w in _WORD.findall(x[2])}

    def content(c: tuple) -> float:
        """Content words the summary does not have yet, per character."""
        words = {_stem(w) for w in _WORD.findall(c[2]) if w.lower() not in _STOP and len(w) > 2}
        return len(words - have) / (len(c[2]) + 20)

    rest = [c for c in cands if c not in chosen]
    while rest:
        sents = {x[0] for x in chosen}
        fits = [c for c in rest if (not c[5] or any((x[0], x[1]) == c[5] for x in chosen))  # a tail only with its clause
                and (c[0] in sents or len(sents) < budget.sentences)
                and used + len(_join(sorted(chosen + [c]))) <= limit]
        if not fits:
            break
        best = max(fits, key=content)
        chosen.append(best)
        rest.remove(best)
        have |= {_stem(w) for w in _WORD.findall(best[2])}
    return chosen


def extractive_summary(source: str, budget: Budget | None = None, lead: str = "") -> str:
    """The source's own words, in their order, within the budget (see the module doc).
    ``lead`` (a faithful summary, e.g. the model's) opens the result; the pieces then add
    what it left out, within what is left of the budget."""
    budget = budget or summary_budget(source)
    limit = budget.target_chars or budget.max_chars
    lead = lead.strip()
    sents = text_units(source)
    if len(sents) <= 1 and not lead:
        return sents[0] if sents else source.strip()
    terms = key_terms(source)
    cands = _candidates(source, terms)
    covered = _units(lead, terms, frozenset(names(source))) if lead else set()
    budget_left = replace(budget, sentences=budget.sentences - len(sentences(lead))) if lead else budget
    chosen, _ = _greedy(cands, budget_left, limit, covered, len(lead), 0.7)
    if len(cands) <= _EXACT_UP_TO:
        chosen = _exact(cands, budget_left, limit, covered, len(lead), chosen)
    chosen = _fill(cands, chosen, budget_left, budget.max_chars, len(lead) + 1 if lead else 0)
    if lead:
        return " ".join(x for x in (lead, _join(sorted(chosen))) if x)
    if not chosen:  # no piece fits: the best one cut at a word
        best = max(cands or [(0, 0, sents[0], "", set(), None)], key=lambda c: len(c[4]))[2]
        cut = best[: budget.max_chars].rsplit(" ", 1)[0].rstrip(",;:")
        return cut + "…"
    return _join(sorted(chosen))


def _join(chosen: list[tuple]) -> str:
    """Pieces back into sentences: neighbours of one sentence with their separator, a piece
    alone capitalised and closed with a full stop."""
    out: list[str] = []
    prev = None
    for i, j, text, sep, *_ in chosen:
        text = text.strip()
        if prev is not None and prev[0] == i and prev[1] == j - 1:
            out[-1] = out[-1].rstrip(".!?") + sep + text
        else:
            if out and not out[-1].endswith((".", "!", "?", "…")):
                out[-1] = out[-1].rstrip(":,;") + "."
            out.append(_capital(text))
        prev = (i, j)
    if out and not out[-1].endswith((".", "!", "?", "…", ")", '"')):
        out[-1] = out[-1].rstrip(":,;") + "."
    return " ".join(out)

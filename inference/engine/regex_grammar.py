"""JSON Schema ``pattern`` (the regular-expression subset llama.cpp's converter supports) ->
a GBNF expression for the *JSON-encoded* content of a string that fully matches it (pure).

Supported: literals and escapes (``\\n \\t \\xHH \\uHHHH``, escaped punctuation), ``.``,
classes ``[...]`` / ``[^...]`` with ranges, ``\\d \\w \\s`` (and their negations), groups
``(...)`` / ``(?:...)`` / ``(?P<name>...)``, ``|``, the quantifiers ``* + ? {m} {m,} {,n}
{m,n}`` (lazy ``?`` allowed), ``^`` at the start and ``$`` at the end. A string in the
grammar's language fully matches the pattern, so ``re.search`` (what JSON Schema validators
use) finds it. Python's ``\\d \\w \\s`` also match non-ASCII digits, letters and spaces; the
grammar uses their ASCII members, and their negations only ASCII non-members, which keeps
every generated string a match. Look-arounds, back-references, word boundaries, inline flags
and possessive quantifiers cannot be expressed: :class:`FormatError`.

Characters that JSON must escape (``"``, ``\\``, control characters) are produced in their
escaped form, so the decoded string is what the pattern sees.
"""

from __future__ import annotations

import json

from inference.engine.format_error import FormatError

MAX_CODEPOINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
Ranges = list  # sorted, non-overlapping [(lo, hi)] inclusive code points

DIGIT = [(0x30, 0x39)]
WORD = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
SPACE = [(0x09, 0x0D), (0x20, 0x20)]
ASCII = [(0x00, 0x7F)]
# Python's \s also matches \x1c-\x1f; keep those out of \S.
SPACE_FOR_NEGATION = [(0x09, 0x0D), (0x1C, 0x20)]


# --------------------------------------------------------------------------- character sets

def normalize(ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def complement(ranges, within: Ranges | None = None) -> Ranges:
    out, start = [], 0
    for lo, hi in normalize(ranges):
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= MAX_CODEPOINT:
        out.append((start, MAX_CODEPOINT))
    return intersect(out, within) if within is not None else out


def intersect(a: Ranges, b: Ranges) -> Ranges:
    out = []
    for lo1, hi1 in normalize(a):
        for lo2, hi2 in normalize(b):
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                out.append((lo, hi))
    return normalize(out)


def subtract(a: Ranges, b: Ranges) -> Ranges:
    return intersect(a, complement(b))


def _class_char(cp: int) -> str:
    c = chr(cp)
    if c.isascii() and c.isalnum():
        return c
    if cp < 0x100:
        return f"\\x{cp:02X}"
    if cp < 0x10000:
        return f"\\u{cp:04X}"
    return f"\\U{cp:08X}"


def gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    out = []
    for c in text:
        cp = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def json_escaped(text: str) -> str:
    """How JSON writes ``text`` inside a string literal (without the quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


# JSON needs these escaped; surrogates cannot appear in UTF-8 text at all.
_MUST_ESCAPE = normalize([(0x00, 0x1F), (0x22, 0x22), (0x5C, 0x5C)])


def charset_json(ranges: Ranges) -> str:
    """GBNF matching the JSON encoding (inside a string) of one character from ``ranges``."""
    ranges = subtract(normalize(ranges), [SURROGATES])
    if not ranges:
        raise FormatError("pattern has a character class that matches nothing")
    raw = subtract(ranges, _MUST_ESCAPE)
    parts = []
    if raw:
        if len(raw) == 1 and raw[0][0] == raw[0][1]:
            parts.append(gbnf_literal(chr(raw[0][0])))
        else:
            body = "".join(_class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}"
                           for lo, hi in raw)
            parts.append(f"[{body}]")
    for lo, hi in intersect(ranges, _MUST_ESCAPE):
        for cp in range(lo, hi + 1):
            parts.append(gbnf_literal(json_escaped(chr(cp))))
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


# --------------------------------------------------------------------------- the parser

class _Parser:
    """Recursive descent over the pattern into a small AST:
    ("alt", [node]), ("seq", [node]), ("set", ranges), ("rep", node, min, max|None)."""

    def __init__(self, pattern: str):
        self.src = pattern
        self.i = 0
        self.depth = 0

    def error(self, what: str) -> FormatError:
        return FormatError(f"pattern {self.src!r}: {what} (at position {self.i}) cannot be "
                           f"expressed as a grammar")

    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.src[j] if j < len(self.src) else ""

    def parse(self):
        node = self.alternation()
        if self.i < len(self.src):
            raise self.error("unbalanced ')'")
        return node

    def alternation(self):
        seqs = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            seqs.append(self.sequence())
        return seqs[0] if len(seqs) == 1 else ("alt", seqs)

    def sequence(self):
        items = []
        while self.i < len(self.src) and self.peek() not in "|)":
            c = self.peek()
            if c == "^":
                if self.depth or items:
                    raise self.error("'^' inside the pattern")
                self.i += 1
                continue
            if c == "$":
                nxt = self.peek(1)
                if self.depth or nxt not in ("", "|"):
                    raise self.error("'$' inside the pattern")
                self.i += 1
                continue
            atom = self.atom()
            items.append(self.quantified(atom))
        return ("seq", items)

    def quantified(self, atom):
        q = self.quantifier()
        if q is None:
            return atom
        lo, hi = q
        if self.peek() == "?":
            self.i += 1  # lazy: same set of full matches
        elif self.peek() == "+":
            raise self.error("possessive quantifier")
        if self.peek() in ("*", "+", "?") or self._brace_quantifier() is not None:
            raise self.error("multiple repeat")
        return ("rep", atom, lo, hi)

    def _brace_quantifier(self):
        """(min, max, length) if a {m}, {m,}, {,n} or {m,n} starts here, else None."""
        if self.peek() != "{":
            return None
        end = self.src.find("}", self.i)
        if end < 0:
            return None
        body = self.src[self.i + 1:end]
        lo_text, comma, hi_text = body.partition(",")
        if not (lo_text.isdigit() or (comma and lo_text == "")):
            return None
        if hi_text and not hi_text.isdigit():
            return None
        if not lo_text and not hi_text:
            return None
        lo = int(lo_text) if lo_text else 0
        hi = (int(hi_text) if hi_text else None) if comma else lo
        if hi is not None and hi < lo:
            raise self.error("min repeat greater than max repeat")
        return lo, hi, end + 1 - self.i

    def quantifier(self):
        c = self.peek()
        if c in ("*", "+", "?"):
            self.i += 1
            return {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        brace = self._brace_quantifier()
        if brace is not None:
            self.i += brace[2]
            return brace[0], brace[1]
        return None

    def atom(self):
        c = self.peek()
        if c == "(":
            self.i += 1
            if self.peek() == "?":
                if self.src.startswith("?:", self.i):
                    self.i += 2
                elif self.src.startswith("?P<", self.i):
                    end = self.src.find(">", self.i)
                    if end < 0:
                        raise self.error("unterminated group name")
                    self.i = end + 1
                else:
                    raise self.error("look-around, inline flag or back-reference group")
            self.depth += 1
            node = self.alternation()
            self.depth -= 1
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.i += 1
            return node
        if c == "[":
            return self.char_class()
        if c == ".":
            self.i += 1
            return ("set", complement([(0x0A, 0x0A)]))
        if c == "\\":
            return ("set", self.escape(in_class=False))
        if c in ("*", "+", "?"):
            raise self.error("nothing to repeat")
        if c == "{" and self._brace_quantifier() is not None:
            raise self.error("nothing to repeat")
        self.i += 1
        return ("set", [(ord(c), ord(c))])

    def escape(self, in_class: bool) -> Ranges:
        self.i += 1  # the backslash
        c = self.peek()
        if not c:
            raise self.error("trailing backslash")
        self.i += 1
        simple = {"n": 0x0A, "t": 0x09, "r": 0x0D, "f": 0x0C, "v": 0x0B, "a": 0x07}
        if c in simple:
            return [(simple[c], simple[c])]
        if c == "d":
            return DIGIT
        if c == "w":
            return WORD
        if c == "s":
            return SPACE
        if c == "D":
            return complement(DIGIT, ASCII)
        if c == "W":
            return complement(WORD, ASCII)
        if c == "S":
            return complement(SPACE_FOR_NEGATION, ASCII)
        if c in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[c]
            digits = self.src[self.i:self.i + width]
            if len(digits) != width or any(ch not in "0123456789abcdefABCDEF" for ch in digits):
                raise self.error(f"bad \\{c} escape")
            self.i += width
            cp = int(digits, 16)
            return [(cp, cp)]
        if c == "0":
            return [(0, 0)]
        if c == "b" and in_class:
            return [(0x08, 0x08)]
        if c.isalnum():
            raise self.error(f"escape \\{c} (back-reference, boundary or unknown class)")
        return [(ord(c), ord(c))]

    def char_class(self):
        self.i += 1  # '['
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        items: list = []
        uses_class_escape = False
        first = True
        while True:
            c = self.peek()
            if not c:
                raise self.error("unterminated character class")
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "\\":
                if self.peek(1) in "dwsDWS":
                    uses_class_escape = True
                lo_set = self.escape(in_class=True)
            else:
                self.i += 1
                lo_set = [(ord(c), ord(c))]
            if (self.peek() == "-" and self.peek(1) not in ("]", "") and len(lo_set) == 1
                    and lo_set[0][0] == lo_set[0][1]):
                self.i += 1
                if self.peek() == "\\":
                    hi_set = self.escape(in_class=True)
                    if len(hi_set) != 1 or hi_set[0][0] != hi_set[0][1]:
                        raise self.error("bad character range")
                else:
                    hi_set = [(ord(self.peek()), ord(self.peek()))]
                    self.i += 1
                lo, hi = lo_set[0][0], hi_set[0][0]
                if hi < lo:
                    raise self.error("bad character range")
                items.append((lo, hi))
            else:
                items.extend(lo_set)
        ranges = normalize(items)
        if negate:
            # [^\d] in Python also excludes non-ASCII digits: stay within ASCII then.
            ranges = complement(ranges, ASCII if uses_class_escape else None)
        return ("set", ranges)


# --------------------------------------------------------------------------- to GBNF

def _single(node) -> int | None:
    if node[0] == "set" and len(node[1]) == 1 and node[1][0][0] == node[1][0][1]:
        return node[1][0][0]
    return None


def _emit(node) -> str:
    kind = node[0]
    if kind == "set":
        return charset_json(node[1])
    if kind == "alt":
        return "(" + " | ".join(_emit(n) for n in node[1]) + ")"
    if kind == "rep":
        _, inner, lo, hi = node
        body = _emit(inner)
        group = f"({body})"
        if (lo, hi) == (0, None):
            return f"{group}*"
        if (lo, hi) == (1, None):
            return f"{group}+"
        if (lo, hi) == (0, 1):
            return f"{group}?"
        if hi is None:
            return f"{group}{{{lo},}}"
        if lo == hi:
            return f"{group}{{{lo}}}" if lo else '""'
        return f"{group}{{{lo},{hi}}}"
    # seq: runs of plain characters become one literal
    parts, run = [], []

    def flush():
        if run:
            text = "".join(run)
            if any(ord(ch) < 0x20 or ch in '"\\' for ch in text) or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
                parts.extend(charset_json([(ord(ch), ord(ch))]) for ch in text)
            else:
                parts.append(gbnf_literal(text))
            run.clear()

    for item in node[1]:
        cp = _single(item)
        if cp is not None and not 0xD800 <= cp <= 0xDFFF:
            run.append(chr(cp))
            continue
        flush()
        parts.append(_emit(item))
    flush()
    if not parts:
        return '""'
    return parts[0] if len(parts) == 1 else "(" + " ".join(parts) + ")"


def _fixed_length(node) -> int | None:
    """The one length every match of ``node`` has, or None if it varies."""
    kind = node[0]
    if kind == "set":
        return 1
    if kind == "rep":
        inner = _fixed_length(node[1])
        return None if inner is None or node[2] != node[3] else inner * node[2]
    if kind == "alt":
        lengths = {_fixed_length(n) for n in node[1]}
        return lengths.pop() if len(lengths) == 1 else None
    total = 0
    for item in node[1]:
        n = _fixed_length(item)
        if n is None:
            return None
        total += n
    return total


def _with_length(node, min_len: int, max_len: int | None, pattern: str):
    """``node`` restricted to matches of min_len..max_len characters, where that stays a
    regular expression of the same shape: the pattern has a fixed length, or exactly one
    part of it repeats a single character (``^[a-z]+$``, ``^id-\\d*$``)."""
    too_hard = FormatError(f"pattern {pattern!r} together with minLength/maxLength: only a "
                           f"pattern with one repeated character class can be combined; put "
                           f"the length into the pattern")
    fixed = _fixed_length(node)
    if fixed is not None:
        if fixed < min_len or (max_len is not None and fixed > max_len):
            raise FormatError(f"pattern {pattern!r} only matches {fixed} characters, outside "
                              f"minLength/maxLength")
        return node
    items = node[1] if node[0] == "seq" else [node]
    variable = [i for i, item in enumerate(items) if _fixed_length(item) is None]
    if len(variable) != 1:
        raise too_hard
    index = variable[0]
    item = items[index]
    if item[0] != "rep" or _fixed_length(item[1]) != 1:
        raise too_hard
    rest = sum(_fixed_length(x) for j, x in enumerate(items) if j != index)
    lo = max(item[2], min_len - rest)
    hi = item[3] if max_len is None else (max_len - rest if item[3] is None else min(item[3], max_len - rest))
    if hi is not None and lo > hi:
        raise FormatError(f"no string matches pattern {pattern!r} within minLength/maxLength")
    items = list(items)
    items[index] = ("rep", item[1], lo, hi)
    return ("seq", items)


def pattern_to_gbnf(pattern: str, min_length: int = 0, max_length: int | None = None) -> str:
    """GBNF for the JSON-escaped content (no quotes) of strings that fully match ``pattern``
    (and have min_length..max_length characters, where that can be expressed)."""
    if not isinstance(pattern, str):
        raise FormatError("pattern must be a string")
    node = _Parser(pattern).parse()
    if min_length > 0 or max_length is not None:
        node = _with_length(node, min_length, max_length, pattern)
    return _emit(node)

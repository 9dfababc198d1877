"""A Go ``text/template`` subset, large enough to render Ollama TEMPLATE layers.

Supported (semantics follow Go's text/template documentation):

* text and ``{{ actions }}`` with ``{{-`` / ``-}}`` whitespace trimming and ``{{/* comments */}}``;
* ``.``, ``.Field``, ``.A.B``, ``$``, ``$.Field``, ``$x.Field``, ``(pipeline).Field``;
* variables: ``$x := pipeline``, ``$x = pipeline``, ``range $i, $e := pipeline``;
* ``if`` / ``else if`` / ``else`` / ``end``, ``range`` (lists, maps in key order, integers)
  with ``else``, ``break``, ``continue``, ``with`` / ``else with``;
* pipelines with ``|`` and parenthesised sub-pipelines;
* functions ``and or not len index slice eq ne lt le gt ge print printf println html js
  urlquery`` plus Ollama's ``json``, ``currentDate``, ``yesterdayDate``, ``toTypeScriptType``;
* literals: interpreted and raw strings, runes, numbers, ``true``/``false``/``nil``.

Data: a dict field lookup is a key lookup and a missing key gives nil (Go maps with
``missingkey=zero``; nil prints as ``<no value>``); other objects are looked up by attribute
(a missing attribute is an error, as for a Go struct). Objects may define
``__go_string__()`` (Go's Stringer, used when printing) and ``__go_json__()`` (their value for
the ``json`` function).

``define``/``template``/``block`` are not supported (Ollama templates do not use them); they
are rejected with a clear error.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import math
import re
import urllib.parse
from dataclasses import dataclass, field

__all__ = [
    "GoTemplateError",
    "Template",
    "parse",
    "render",
    "uses_messages",
    "go_json",
    "go_print",
    "truth",
]


class GoTemplateError(ValueError):
    """A template failed to parse or execute. ``line``/``col`` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        self.message = message
        self.line = line
        self.col = col
        where = f"line {line}, col {col}: " if line is not None else ""
        super().__init__(f"template: {where}{message}")


# ---------------------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------------------


@dataclass
class Text:
    pos: int
    text: str


@dataclass
class Field:  # .A.B
    pos: int
    idents: list


@dataclass
class Variable:  # $x.A.B  ($ is name "$")
    pos: int
    name: str
    idents: list


@dataclass
class Dot:
    pos: int


@dataclass
class Nil:
    pos: int


@dataclass
class Literal:  # bool, number, string
    pos: int
    value: object
    source: str


@dataclass
class Identifier:  # function name
    pos: int
    name: str


@dataclass
class Chain:  # (pipeline).A.B
    pos: int
    node: object
    idents: list


@dataclass
class Command:
    pos: int
    args: list


@dataclass
class Pipe:
    pos: int
    decl: list  # variable names
    is_assign: bool
    cmds: list


@dataclass
class Action:
    pos: int
    pipe: Pipe


@dataclass
class Branch:  # if / range / with
    kind: str
    pos: int
    pipe: Pipe
    body: list
    else_body: list | None


@dataclass
class Break:
    pos: int


@dataclass
class Continue:
    pos: int


# ---------------------------------------------------------------------------------------
# Lexer (per action) and parser
# ---------------------------------------------------------------------------------------

_SPACE = " \t\r\n"
_KEYWORDS = {
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
}
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]+(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?\d+)?|0[bB][01_]+|0[oO][0-7_]+"
    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)"
)
_ALNUM = re.compile(r"[\w]*", re.UNICODE)


@dataclass
class _Tok:
    kind: str  # space ( ) | := = , string number bool nil dot field variable ident keyword end
    value: object
    pos: int
    text: str = ""


def _is_space(ch: str) -> bool:
    return ch in _SPACE and ch != ""


def _unquote(body: str, pos: int, parser: "_Parser") -> str:
    """Unquote the inside of a Go interpreted string literal."""
    out = []
    i = 0
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"'}
    raw_bytes = bytearray()

    def flush_bytes():
        if raw_bytes:
            out.append(raw_bytes.decode("utf-8", errors="replace"))
            raw_bytes.clear()

    while i < len(body):
        ch = body[i]
        if ch != "\\":
            flush_bytes()
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise parser.error(pos, "invalid syntax in quoted string")
        esc = body[i]
        if esc in simple:
            flush_bytes()
            out.append(simple[esc])
            i += 1
        elif esc == "x":
            digits = body[i + 1:i + 3]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", digits):
                raise parser.error(pos, "invalid \\x escape in quoted string")
            raw_bytes.append(int(digits, 16))
            i += 3
        elif esc in "01234567":
            digits = body[i:i + 3]
            if not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise parser.error(pos, "invalid octal escape in quoted string")
            raw_bytes.append(int(digits, 8))
            i += 3
        elif esc in "uU":
            n = 4 if esc == "u" else 8
            digits = body[i + 1:i + 1 + n]
            if not re.fullmatch(r"[0-9a-fA-F]{%d}" % n, digits):
                raise parser.error(pos, f"invalid \\{esc} escape in quoted string")
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise parser.error(pos, f"invalid \\{esc} escape in quoted string")
            flush_bytes()
            out.append(chr(code))
            i += 1 + n
        else:
            raise parser.error(pos, f"unknown escape sequence \\{esc} in quoted string")
    flush_bytes()
    return "".join(out)


def _parse_number(text: str):
    t = text.replace("_", "")
    sign = 1
    if t[:1] in "+-":
        sign = -1 if t[0] == "-" else 1
        t = t[1:]
    low = t.lower()
    if low.startswith("0x"):
        if "." in low or "p" in low:
            return sign * float.fromhex(t)
        return sign * int(t, 16)
    if low.startswith("0b"):
        return sign * int(t, 2)
    if low.startswith("0o"):
        return sign * int(t, 8)
    if "." in t or "e" in low:
        return sign * float(t)
    if len(t) > 1 and t[0] == "0":  # legacy octal 0755
        return sign * int(t, 8)
    return sign * int(t)


class _Parser:
    def __init__(self, src: str):
        self.src = src
        self.i = 0
        self.toks: list[_Tok] = []
        self.k = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.trim_next = False  # the last action ended with " -}}"

    # -- positions and errors --
    def line_col(self, pos: int) -> tuple[int, int]:
        line = self.src.count("\n", 0, pos) + 1
        col = pos - (self.src.rfind("\n", 0, pos) + 1) + 1
        return line, col

    def error(self, pos: int, message: str) -> GoTemplateError:
        line, col = self.line_col(pos)
        return GoTemplateError(message, line, col)

    # -- top level --
    def parse(self) -> list:
        body, end = self.parse_list(top=True)
        assert end is None
        return body

    def parse_list(self, top: bool = False):
        """Parse nodes until {{else}} / {{end}} (returned as the terminator) or EOF."""
        nodes: list = []
        while True:
            start = self.src.find("{{", self.i)
            text_end = len(self.src) if start < 0 else start
            text = self.src[self.i:text_end]
            text_pos = self.i
            if self.trim_next:
                self.trim_next = False
                stripped = text.lstrip(_SPACE)
                text_pos += len(text) - len(stripped)
                text = stripped
            if start < 0:
                if text:
                    nodes.append(Text(text_pos, text))
                self.i = len(self.src)
                if not top:
                    raise self.error(len(self.src), "unexpected EOF")
                return nodes, None
            after = start + 2
            left_trim = (self.src[after:after + 1] == "-"
                         and _is_space(self.src[after + 1:after + 2]))
            if left_trim:
                text = text.rstrip(_SPACE)
                after += 2
            if text:
                nodes.append(Text(text_pos, text))
            # comment
            if self.src.startswith("/*", after):
                close = self.src.find("*/", after + 2)
                if close < 0:
                    raise self.error(start, "unclosed comment")
                j = close + 2
                right_trim = False
                if self.src.startswith("}}", j):
                    self.i = j + 2
                elif (_is_space(self.src[j:j + 1]) and self.src[j + 1:j + 2] == "-"
                      and self.src.startswith("}}", j + 2)):
                    right_trim = True
                    self.i = j + 4
                else:
                    raise self.error(start, "comment ends before closing delimiter")
                self.trim_next = right_trim
                continue
            self.toks, self.i, self.trim_next = self.lex_action(after, start)
            self.k = 0
            node = self.parse_action(start)
            if isinstance(node, tuple):  # ("else"|"end", pos, tokens-after)
                if top:
                    raise self.error(start, f"unexpected {{{{{node[0]}}}}}")
                return nodes, node
            if node is not None:
                nodes.append(node)

    # -- lexer for one action --
    def lex_action(self, i: int, start: int):
        src = self.src
        toks: list[_Tok] = []
        depth = 0
        n = len(src)
        while True:
            if i >= n:
                raise self.error(start, "unclosed action")
            # right delimiter?
            if src.startswith("}}", i):
                if depth:
                    raise self.error(i, "unclosed left paren")
                return toks, i + 2, False
            ch = src[i]
            if _is_space(ch):
                if src[i + 1:i + 2] == "-" and src.startswith("}}", i + 2):
                    if depth:
                        raise self.error(i, "unclosed left paren")
                    return toks, i + 4, True
                j = i
                while j < n and _is_space(src[j]):
                    if src[j + 1:j + 2] == "-" and src.startswith("}}", j + 2):
                        break
                    j += 1
                if j == i:  # the space belongs to " -}}"
                    j = i + 1
                toks.append(_Tok("space", None, i))
                i = j
                continue
            if ch == "(":
                depth += 1
                toks.append(_Tok("(", None, i))
                i += 1
                continue
            if ch == ")":
                depth -= 1
                if depth < 0:
                    raise self.error(i, "unexpected right paren")
                toks.append(_Tok(")", None, i))
                i += 1
                continue
            if ch == "|":
                toks.append(_Tok("|", None, i))
                i += 1
                continue
            if ch == ",":
                toks.append(_Tok(",", None, i))
                i += 1
                continue
            if ch == ":":
                if src[i + 1:i + 2] != "=":
                    raise self.error(i, "expected :=")
                toks.append(_Tok(":=", None, i))
                i += 2
                continue
            if ch == "=":
                toks.append(_Tok("=", None, i))
                i += 1
                continue
            if ch == '"':
                j = i + 1
                while True:
                    if j >= n or src[j] == "\n":
                        raise self.error(i, "unterminated quoted string")
                    if src[j] == "\\":
                        j += 2
                        continue
                    if src[j] == '"':
                        break
                    j += 1
                toks.append(_Tok("string", _unquote(src[i + 1:j], i, self), i, src[i:j + 1]))
                i = j + 1
                continue
            if ch == "`":
                j = src.find("`", i + 1)
                if j < 0:
                    raise self.error(i, "unterminated raw quoted string")
                toks.append(_Tok("string", src[i + 1:j].replace("\r", ""), i, src[i:j + 1]))
                i = j + 1
                continue
            if ch == "'":
                m = re.match(r"'(\\(?:[abfnrtv\\']|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3})|[^\\'\n])'", src[i:])
                if not m:
                    raise self.error(i, "unterminated character constant")
                body = m.group(1)
                if len(body) == 1:
                    value = body
                elif body == "\\'":
                    value = "'"
                else:
                    value = _unquote(body, i, self)
                toks.append(_Tok("number", ord(value[0]) if value else 0, i, m.group(0)))
                i += m.end()
                continue
            if ch in "+-" or ch.isdigit() or (ch == "." and src[i + 1:i + 2].isdigit()):
                m = _NUMBER.match(src, i)
                if not m or m.end() == i or not re.search(r"\d", m.group(0)):
                    raise self.error(i, f"unexpected {ch!r} in command")
                j = m.end()
                if j < n and (src[j].isalnum() or src[j] in "_."):
                    raise self.error(i, f"bad number syntax: {src[i:j + 1]!r}")
                try:
                    value = _parse_number(m.group(0))
                except ValueError:
                    raise self.error(i, f"bad number syntax: {m.group(0)!r}") from None
                toks.append(_Tok("number", value, i, m.group(0)))
                i = j
                continue
            if ch == ".":
                m = _ALNUM.match(src, i + 1)
                name = m.group(0)
                if name:
                    toks.append(_Tok("field", name, i, "." + name))
                    i = m.end()
                else:
                    toks.append(_Tok("dot", None, i, "."))
                    i += 1
                continue
            if ch == "$":
                m = _ALNUM.match(src, i + 1)
                toks.append(_Tok("variable", "$" + m.group(0), i, "$" + m.group(0)))
                i = m.end()
                continue
            if ch.isalpha() or ch == "_":
                m = _ALNUM.match(src, i)
                word = m.group(0)
                if word in ("true", "false"):
                    toks.append(_Tok("bool", word == "true", i, word))
                elif word == "nil":
                    toks.append(_Tok("nil", None, i, word))
                elif word in _KEYWORDS:
                    toks.append(_Tok("keyword", word, i, word))
                else:
                    toks.append(_Tok("ident", word, i, word))
                i = m.end()
                continue
            raise self.error(i, f"unrecognized character in action: {ch!r}")

    # -- token helpers --
    def peek(self) -> _Tok:
        if self.k < len(self.toks):
            return self.toks[self.k]
        return _Tok("end", None, self.i - 2)

    def next(self) -> _Tok:
        tok = self.peek()
        self.k += 1
        return tok

    def skip_space(self) -> None:
        while self.peek().kind == "space":
            self.k += 1

    def peek_non_space(self) -> _Tok:
        self.skip_space()
        return self.peek()

    def expect_end(self, what: str) -> None:
        tok = self.peek_non_space()
        if tok.kind != "end":
            raise self.error(tok.pos, f"unexpected {self._desc(tok)} in {what}")

    @staticmethod
    def _desc(tok: _Tok) -> str:
        if tok.kind == "end":
            return "end of action"
        if tok.text:
            return repr(tok.text)
        return repr(tok.kind)

    # -- actions and control structures --
    def parse_action(self, start: int):
        tok = self.peek_non_space()
        if tok.kind == "keyword":
            word = tok.value
            self.next()
            if word in ("if", "range", "with"):
                return self.parse_branch(word, tok.pos)
            if word in ("else", "end"):
                return (word, tok.pos)
            if word == "break" or word == "continue":
                if self.range_depth == 0:
                    raise self.error(tok.pos, f"{{{{{word}}}}} outside {{{{range}}}}")
                self.expect_end(word)
                return Break(tok.pos) if word == "break" else Continue(tok.pos)
            raise self.error(tok.pos, f"{{{{{word}}}}} is not supported by this template engine")
        if tok.kind == "end":
            raise self.error(start, "missing value for command")
        pipe = self.parse_pipeline("command", allow_decl=True)
        return Action(start, pipe)

    def parse_branch(self, kind: str, pos: int) -> Branch:
        mark = len(self.vars)
        pipe = self.parse_pipeline(kind, allow_decl=True, is_range=(kind == "range"))
        if kind == "range":
            self.range_depth += 1
        body, term = self.parse_list()
        if kind == "range":
            self.range_depth -= 1
        else_body = None
        word, term_pos = term
        if word == "else":
            nxt = self.peek_non_space()
            if kind in ("if", "with") and nxt.kind == "keyword" and nxt.value == kind:
                # {{else if ...}} / {{else with ...}}: a nested branch sharing our {{end}}
                self.next()
                # Variables of the outer branch stay visible, like Go's nested parse.
                else_body = [self.parse_branch(kind, nxt.pos)]
                del self.vars[mark:]
                return Branch(kind, pos, pipe, body, else_body)
            self.expect_end("else")
            else_body, term = self.parse_list()
            word, term_pos = term
            if word != "end":
                raise self.error(term_pos, "expected end; found {{else}}")
        self.expect_end("end")
        del self.vars[mark:]
        return Branch(kind, pos, pipe, body, else_body)

    def parse_pipeline(self, context: str, allow_decl: bool, is_range: bool = False) -> Pipe:
        decl: list[str] = []
        is_assign = False
        start_k = self.k
        tok = self.peek_non_space()
        pos = tok.pos
        if allow_decl and tok.kind == "variable":
            save = self.k
            self.next()
            nxt = self.peek_non_space()
            if nxt.kind in (":=", "="):
                self.next()
                decl = [tok.value]
                is_assign = nxt.kind == "="
            elif nxt.kind == "," and is_range:
                self.next()
                tok2 = self.peek_non_space()
                if tok2.kind != "variable":
                    raise self.error(tok2.pos, "range can only initialize variables")
                self.next()
                op = self.peek_non_space()
                if op.kind not in (":=", "="):
                    raise self.error(op.pos, f"expected := or = after {tok2.value}")
                self.next()
                decl = [tok.value, tok2.value]
                is_assign = op.kind == "="
            elif nxt.kind == ",":
                raise self.error(nxt.pos, f"too many declarations in {context}")
            else:
                self.k = save
            if is_assign:
                for name in decl:
                    if name not in self.vars:
                        raise self.error(tok.pos, f"undefined variable {name!r}".replace("'", '"'))
        cmds = []
        while True:
            tok = self.peek_non_space()
            if tok.kind in ("end", ")"):
                break
            cmds.append(self.parse_command())
            if self.peek().kind == "|":
                self.next()
                if self.peek_non_space().kind in ("end", ")"):
                    raise self.error(self.peek().pos, "missing command after |")
        if not cmds:
            where = self.toks[start_k].pos if start_k < len(self.toks) else pos
            raise self.error(where, f"missing value for {context}")
        if not is_assign:
            self.vars.extend(decl)
        for cmd in cmds[1:]:
            first = cmd.args[0]
            if isinstance(first, (Literal, Nil, Dot)) and not isinstance(first, Identifier):
                raise self.error(first.pos, f"non executable command in pipeline stage {cmds.index(cmd) + 1}")
        return Pipe(pos, decl, is_assign, cmds)

    def parse_command(self) -> Command:
        args: list = []
        pos = self.peek_non_space().pos
        while True:
            self.skip_space()
            operand = self.parse_operand()
            if operand is not None:
                args.append(operand)
            tok = self.peek()
            if tok.kind == "space":
                self.next()
                nxt = self.peek()
                if nxt.kind in ("end", ")", "|"):
                    break
                continue
            if tok.kind in ("end", ")", "|"):
                break
            raise self.error(tok.pos, f"unexpected {self._desc(tok)} in operand")
        if not args:
            raise self.error(pos, "empty command")
        return Command(pos, args)

    def parse_operand(self):
        node = self.parse_term()
        if node is None:
            return None
        if self.peek().kind == "field":
            idents = []
            while self.peek().kind == "field":
                idents.append(self.next().value)
            if isinstance(node, Field):
                node = Field(node.pos, node.idents + idents)
            elif isinstance(node, Variable):
                node = Variable(node.pos, node.name, node.idents + idents)
            elif isinstance(node, (Literal, Nil, Dot)):
                raise self.error(node.pos, "unexpected . after term")
            else:
                node = Chain(node.pos, node, idents)
        return node

    def parse_term(self):
        tok = self.peek()
        kind = tok.kind
        if kind == "ident":
            self.next()
            if tok.value not in FUNCTIONS:
                raise self.error(tok.pos, f'function "{tok.value}" not defined')
            return Identifier(tok.pos, tok.value)
        if kind == "dot":
            self.next()
            return Dot(tok.pos)
        if kind == "nil":
            self.next()
            return Nil(tok.pos)
        if kind == "variable":
            self.next()
            if tok.value not in self.vars:
                raise self.error(tok.pos, f'undefined variable "{tok.value}"')
            return Variable(tok.pos, tok.value, [])
        if kind == "field":
            self.next()
            return Field(tok.pos, [tok.value])
        if kind in ("bool", "number", "string"):
            self.next()
            return Literal(tok.pos, tok.value, tok.text)
        if kind == "(":
            self.next()
            pipe = self.parse_pipeline("parenthesized pipeline", allow_decl=True)
            close = self.next()
            if close.kind != ")":
                raise self.error(close.pos, "unclosed left paren")
            return pipe
        if kind == "keyword":
            raise self.error(tok.pos, f"unexpected {tok.value!r} in operand".replace("'", '"'))
        return None


# ---------------------------------------------------------------------------------------
# Values: printing, truth, JSON
# ---------------------------------------------------------------------------------------

_MISSING = object()


def truth(value) -> bool:
    """Go's notion of truth: false, 0, nil, and empty strings/lists/maps are false."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(value) > 0
    return True


def _shortest_digits(f: float) -> tuple[str, str, int]:
    """(sign, digits, dp): f == sign 0.digits * 10**dp with the shortest round-trip digits."""
    r = repr(f)
    sign = "-" if r.startswith("-") else ""
    r = r.lstrip("-")
    mant, _, exp_s = r.partition("e")
    exp10 = int(exp_s) if exp_s else 0
    int_part, _, frac_part = mant.partition(".")
    all_digits = int_part + frac_part
    stripped = all_digits.lstrip("0")
    lead_zeros = len(all_digits) - len(stripped)
    dp = len(int_part) - lead_zeros + exp10
    return sign, stripped.rstrip("0") or "0", dp


def _positional(sign: str, digits: str, dp: int) -> str:
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return f"{sign}{digits}{'0' * (dp - len(digits))}"
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def _exponential(sign: str, digits: str, dp: int, min_exp_digits: int = 2) -> str:
    exp = dp - 1
    m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{m}e{'-' if exp < 0 else '+'}{abs(exp):0{min_exp_digits}d}"


def _go_float(f: float) -> str:
    """Go's %v for float64: strconv 'g' with the shortest digits (exponent when < -4 or >= 6)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    sign, digits, dp = _shortest_digits(f)
    exp = dp - 1
    if exp < -4 or exp >= 6:
        return _exponential(sign, digits, dp)
    return _positional(sign, digits, dp)


def go_print(value) -> str:
    """Format a value as Go's fmt %v does inside text/template."""
    if value is None:
        return "<no value>"
    return _fmt_v(value, top=True)


def _fmt_v(value, top: bool = False) -> str:
    if value is None:
        return "<nil>" if not top else "<no value>"
    stringer = getattr(value, "__go_string__", None)
    if stringer is not None and not isinstance(value, type):
        return stringer()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_fmt_v(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _sort_key(kv[0]))
        return "map[" + " ".join(f"{_fmt_v(k)}:{_fmt_v(v)}" for k, v in items) + "]"
    if dataclasses.is_dataclass(value):
        return "{" + " ".join(_fmt_v(getattr(value, f.name)) for f in dataclasses.fields(value)) + "}"
    return str(value)


def _sort_key(k):
    if isinstance(k, (int, float)) and not isinstance(k, bool):
        return (0, k, "")
    return (1, 0, str(k))


def _json_float(f: float) -> str:
    """Go's encoding/json float64: positional for 1e-6 <= |f| < 1e21, else exponent ("1e-7")."""
    if math.isnan(f) or math.isinf(f):
        raise GoTemplateError(f"json: unsupported value: {_go_float(f)}")
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    sign, digits, dp = _shortest_digits(f)
    if 1e-6 <= abs(f) < 1e21:
        return _positional(sign, digits, dp)
    return _exponential(sign, digits, dp, min_exp_digits=1)


_JSON_ESCAPES = {
    '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
}


def _json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        esc = _JSON_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(value) -> str:
    """Compact JSON as Go's encoding/json Marshal writes it (HTML-safe escapes, sorted map
    keys, integral floats without a fraction)."""
    if value is None:
        return "null"
    hook = getattr(value, "__go_json__", None)
    if hook is not None and not isinstance(value, type):
        return go_json(hook())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, _OrderedJSON):
        return "{" + ",".join(f"{_json_string(str(k))}:{go_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "{" + ",".join(f"{_json_string(str(k))}:{go_json(v)}" for k, v in items) + "}"
    if dataclasses.is_dataclass(value):
        return go_json(_OrderedJSON((f.name, getattr(value, f.name)) for f in dataclasses.fields(value)))
    raise GoTemplateError(f"json: unsupported type {type(value).__name__}")


class _OrderedJSON(dict):
    """A dict whose JSON keeps insertion order (a Go struct), instead of sorting (a Go map)."""


OrderedJSON = _OrderedJSON


# ---------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------


class _FuncError(Exception):
    pass


def _kind(v) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "slice"
    if isinstance(v, dict):
        return "map"
    return "struct"


def _basic_eq(a, b) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka == "nil" or kb == "nil":
        return a is None and b is None
    if ka in ("int", "float") and kb in ("int", "float"):
        return a == b
    if ka != kb:
        raise _FuncError("incompatible types for comparison")
    if ka in ("slice", "map"):
        raise _FuncError(f"non-comparable type {_go_type_name(a)}")
    return a == b


def _fn_eq(arg1, *args):
    if not args:
        raise _FuncError("missing argument for comparison")
    return any(_basic_eq(arg1, b) for b in args)


def _fn_ne(a, b):
    return not _basic_eq(a, b)


def _ordered(a, b):
    ka, kb = _kind(a), _kind(b)
    if ka in ("int", "float") and kb in ("int", "float"):
        return a, b
    if ka == kb == "string":
        return a, b
    if ka != kb:
        raise _FuncError("incompatible types for comparison")
    raise _FuncError("invalid type for comparison")


def _fn_lt(a, b):
    a, b = _ordered(a, b)
    return a < b


def _fn_le(a, b):
    a, b = _ordered(a, b)
    return a <= b


def _fn_gt(a, b):
    a, b = _ordered(a, b)
    return a > b


def _fn_ge(a, b):
    a, b = _ordered(a, b)
    return a >= b


def _fn_not(a):
    return not truth(a)


def _go_type_name(v) -> str:
    return {
        "nil": "<nil>", "bool": "bool", "int": "int", "float": "float64", "string": "string",
        "slice": "[]interface {}", "map": "map[string]interface {}",
    }.get(_kind(v), type(v).__name__)


def _fn_len(v):
    if v is None:
        raise _FuncError("len of nil pointer")
    if isinstance(v, str):
        return len(v.encode("utf-8"))
    if isinstance(v, (list, tuple, dict)):
        return len(v)
    raise _FuncError(f"len of type {_go_type_name(v)}")


def _as_index(x) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise _FuncError(f"cannot index slice/array with type {_go_type_name(x)}")
    return x


def _fn_index(item, *indexes):
    v = item
    for idx in indexes:
        if v is None:
            raise _FuncError("index of untyped nil")
        if isinstance(v, dict):
            v = v.get(idx)
        elif isinstance(v, (list, tuple)):
            i = _as_index(idx)
            if i < 0 or i >= len(v):
                raise _FuncError(f"index out of range: {i}")
            v = v[i]
        elif isinstance(v, str):
            i = _as_index(idx)
            b = v.encode("utf-8")
            if i < 0 or i >= len(b):
                raise _FuncError(f"index out of range: {i}")
            v = b[i]
        else:
            raise _FuncError(f"can't index item of type {_go_type_name(v)}")
    return v


def _fn_slice(item, *indexes):
    if item is None:
        raise _FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise _FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _FuncError("cannot 3-index slice a string")
        seq = item.encode("utf-8")
    elif isinstance(item, (list, tuple)):
        seq = item
    else:
        raise _FuncError(f"can't slice item of type {_go_type_name(item)}")
    idx = [_as_index(i) for i in indexes]
    cap = len(seq)
    lo = idx[0] if len(idx) > 0 else 0
    hi = idx[1] if len(idx) > 1 else len(seq)
    for i in idx:
        if i < 0 or i > cap:
            raise _FuncError(f"index out of range: {i}")
    if lo > hi:
        raise _FuncError(f"invalid slice index: {lo} > {hi}")
    if len(idx) == 3 and hi > idx[2]:
        raise _FuncError(f"invalid slice index: {hi} > {idx[2]}")
    out = seq[lo:hi]
    if isinstance(item, str):
        return out.decode("utf-8", errors="replace")
    return list(out)


def _fn_print(*args):
    out = []
    prev_string = True
    for i, a in enumerate(args):
        is_string = isinstance(a, str)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(_fmt_v(a))
        prev_string = is_string
    return "".join(out)


def _fn_println(*args):
    return " ".join(_fmt_v(a) for a in args) + "\n"


def _go_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_PRINTF = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _fn_printf(fmt, *args):
    if not isinstance(fmt, str):
        raise _FuncError(f"wrong type for value; expected string; got {_go_type_name(fmt)}")
    out = []
    pos = 0
    argi = 0
    for m in _PRINTF.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[argi]
        argi += 1
        out.append(_format_one(a, flags, width, prec, verb))
    out.append(fmt[pos:])
    if argi < len(args):
        extra = ", ".join(f"{_go_type_name(a)}={_fmt_v(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _format_one(a, flags: str, width, prec, verb: str) -> str:
    kind = _kind(a)
    bad = f"%!{verb}({_go_type_name(a)}={_fmt_v(a)})"
    if verb == "v":
        s = _fmt_v(a) if a is not None else "<nil>"
    elif verb == "s":
        if kind in ("int", "float", "bool") and not hasattr(a, "__go_string__"):
            return bad
        s = _fmt_v(a) if a is not None else "%!s(<nil>)"
        if prec is not None:
            s = s[: int(prec)]
    elif verb == "q":
        if isinstance(a, str):
            s = _go_quote(a)
        elif kind == "int":
            s = "'" + chr(a) + "'"
        else:
            return bad
    elif verb == "d":
        if kind != "int":
            return bad
        s = str(a)
        if "+" in flags and a >= 0:
            s = "+" + s
    elif verb in "fFeEgG":
        if kind not in ("int", "float"):
            return bad
        p = int(prec) if prec is not None else (6 if verb in "fFeE" else None)
        if verb in "gG" and p is None:
            s = _go_float(float(a))
        else:
            s = format(float(a), f".{p}{verb}")
            if verb in "eE":
                s = re.sub(r"e([+-])(\d)$", r"e\g<1>0\2", s)
        if "+" in flags and float(a) >= 0:
            s = "+" + s
    elif verb == "t":
        if kind != "bool":
            return bad
        s = "true" if a else "false"
    elif verb in "xX":
        if kind == "int":
            s = format(a, verb)
        elif kind == "string":
            s = a.encode("utf-8").hex()
            s = s.upper() if verb == "X" else s
        else:
            return bad
    elif verb == "c":
        if kind != "int":
            return bad
        s = chr(a)
    else:
        return f"%!{verb}({_go_type_name(a)}={_fmt_v(a)})"
    if width:
        w = int(width)
        if "-" in flags:
            s = s.ljust(w)
        elif "0" in flags and verb in "dfFeEgGxX":
            sign = s[0] if s[:1] in "+-" else ""
            s = sign + s[len(sign):].rjust(w - len(sign), "0")
        else:
            s = s.rjust(w)
    return s


def _eval_args_text(args) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _fn_print(*args)


def _fn_html(*args):
    s = _eval_args_text(args)
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;").replace("\x00", "\ufffd"))


def _fn_js(*args):
    s = _eval_args_text(args)
    repl = {"\\": "\\\\", "'": "\\'", '"': "\\\"", "<": "\\u003C", ">": "\\u003E",
            "&": "\\u0026", "=": "\\u003D", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return "".join(repl.get(ch, ch if ord(ch) >= 0x20 else f"\\u{ord(ch):04X}") for ch in s)


def _fn_urlquery(*args):
    return urllib.parse.quote_plus(_eval_args_text(args), safe="")


def _fn_json(v):
    return go_json(v)


def _fn_current_date(*_args):
    return _dt.date.today().strftime("%Y-%m-%d")


def _fn_yesterday_date(*_args):
    return (_dt.date.today() - _dt.timedelta(days=1)).strftime("%Y-%m-%d")


def _schema_of(v):
    hook = getattr(v, "__go_json__", None)
    if hook is not None:
        v = hook()
    return v if isinstance(v, dict) else None


def _ts_type(schema) -> str:
    if not isinstance(schema, dict):
        return "any"
    if schema.get("anyOf"):
        return " | ".join(_ts_type(_schema_of(s) or s) for s in schema["anyOf"])
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return " | ".join(go_json(e) if isinstance(e, str) else _fmt_v(e) for e in enum)
    t = schema.get("type")
    types = t if isinstance(t, list) else [t] if t else []
    if not types:
        return "any"
    parts = []
    for one in types:
        if one == "array":
            items = _schema_of(schema.get("items"))
            inner = _ts_type(items) if items else "any"
            parts.append(f"({inner})[]" if " | " in inner else f"{inner}[]")
        elif one in ("integer", "number"):
            parts.append("number")
        elif one == "string":
            parts.append("string")
        elif one == "boolean":
            parts.append("boolean")
        elif one == "null":
            parts.append("null")
        elif one == "object":
            parts.append("object")
        else:
            parts.append("any")
    return " | ".join(parts)


def _fn_to_typescript_type(v):
    schema = _schema_of(v)
    return _ts_type(schema) if schema is not None else "any"


FUNCTIONS = {
    "and": None,  # evaluated lazily by the executor
    "or": None,
    "not": _fn_not,
    "len": _fn_len,
    "index": _fn_index,
    "slice": _fn_slice,
    "eq": _fn_eq,
    "ne": _fn_ne,
    "lt": _fn_lt,
    "le": _fn_le,
    "gt": _fn_gt,
    "ge": _fn_ge,
    "print": _fn_print,
    "printf": _fn_printf,
    "println": _fn_println,
    "html": _fn_html,
    "js": _fn_js,
    "urlquery": _fn_urlquery,
    "json": _fn_json,
    "currentDate": _fn_current_date,
    "yesterdayDate": _fn_yesterday_date,
    "toTypeScriptType": _fn_to_typescript_type,
}

_ARITY = {  # (min, max) argument counts; None = unbounded
    "not": (1, 1), "len": (1, 1), "index": (1, None), "slice": (1, None), "eq": (1, None),
    "ne": (2, 2), "lt": (2, 2), "le": (2, 2), "gt": (2, 2), "ge": (2, 2), "print": (0, None),
    "printf": (1, None), "println": (0, None), "html": (0, None), "js": (0, None),
    "urlquery": (0, None), "json": (1, 1), "currentDate": (0, None),
    "yesterdayDate": (0, None), "toTypeScriptType": (1, 1), "and": (1, None), "or": (1, None),
}


# ---------------------------------------------------------------------------------------
# Executor
# ---------------------------------------------------------------------------------------


# Limits that keep a hostile template (a request's "template") from exhausting the server.
MAX_OUTPUT_CHARS = 32 * 1024 * 1024
MAX_STEPS = 1_000_000


class _BreakLoop(Exception):
    pass


class _ContinueLoop(Exception):
    pass


class _Exec:
    def __init__(self, tmpl: "Template", data):
        self.tmpl = tmpl
        self.out: list[str] = []
        self.size = 0
        self.steps = 0
        self.vars: list[list] = [["$", data]]

    def error(self, node, message: str) -> GoTemplateError:
        pos = getattr(node, "pos", 0)
        line, col = _line_col(self.tmpl.source, pos)
        return GoTemplateError(f"executing: {message}", line, col)

    # variables
    def push(self, name, value):
        self.vars.append([name, value])

    def set_var(self, name, value):
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise GoTemplateError(f"undefined variable: {name}")

    def var(self, node, name):
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise self.error(node, f"undefined variable: {name}")

    # walking
    def walk_list(self, nodes, dot):
        for node in nodes:
            self.walk(node, dot)

    def emit(self, node, text: str):
        self.size += len(text)
        if self.size > MAX_OUTPUT_CHARS:
            raise self.error(node, f"template output exceeds {MAX_OUTPUT_CHARS} characters")
        self.out.append(text)

    def walk(self, node, dot):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise self.error(node, f"template execution exceeds {MAX_STEPS} steps")
        if isinstance(node, Text):
            self.emit(node, node.text)
        elif isinstance(node, Action):
            val = self.eval_pipe(node.pipe, dot)
            if not node.pipe.decl:
                self.emit(node, go_print(val))
        elif isinstance(node, Branch):
            if node.kind == "range":
                self.walk_range(node, dot)
            else:
                mark = len(self.vars)
                val = self.eval_pipe(node.pipe, dot)
                if truth(val):
                    self.walk_list(node.body, val if node.kind == "with" else dot)
                elif node.else_body is not None:
                    self.walk_list(node.else_body, dot)
                del self.vars[mark:]
        elif isinstance(node, Break):
            raise _BreakLoop()
        elif isinstance(node, Continue):
            raise _ContinueLoop()
        else:  # pragma: no cover - parser produces only the nodes above
            raise self.error(node, f"unknown node {type(node).__name__}")

    def walk_range(self, node: Branch, dot):
        mark = len(self.vars)
        pipe = node.pipe
        val = self.eval_pipe(Pipe(pipe.pos, [], False, pipe.cmds), dot)
        if val is None:
            items = []
        elif isinstance(val, dict):
            items = [(k, val[k]) for k in sorted(val, key=_sort_key)]
        elif isinstance(val, (list, tuple)):
            items = list(enumerate(val))
        elif isinstance(val, int) and not isinstance(val, bool):
            if len(pipe.decl) > 1:
                raise self.error(node, "can't use range over integer with two variables")
            items = ((i, i) for i in range(val)) if val > 0 else []
        else:
            raise self.error(node, f"range can't iterate over {go_print(val)}")
        if isinstance(items, list) and not items:
            if node.else_body is not None:
                self.walk_list(node.else_body, dot)
            del self.vars[mark:]
            return
        for key, elem in items:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise self.error(node, f"template execution exceeds {MAX_STEPS} steps")
            if len(pipe.decl) == 1:
                self._bind(pipe, [elem])
            elif len(pipe.decl) == 2:
                self._bind(pipe, [key, elem])
            try:
                self.walk_list(node.body, elem)
            except _ContinueLoop:
                pass
            except _BreakLoop:
                del self.vars[mark:]
                break
            del self.vars[mark:]
        del self.vars[mark:]

    def _bind(self, pipe: Pipe, values):
        for name, value in zip(pipe.decl, values):
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.push(name, value)

    # evaluation
    def eval_pipe(self, pipe: Pipe, dot):
        value = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(cmd, dot, value)
        if pipe.decl:
            self._bind(pipe, [value])
        return value

    def eval_command(self, cmd: Command, dot, final):
        first = cmd.args[0]
        if isinstance(first, Identifier):
            return self.call(first, cmd.args[1:], dot, final)
        if len(cmd.args) > 1 or final is not _MISSING:
            if isinstance(first, (Field, Variable, Chain)):
                raise self.error(first, f"{_node_text(first)} is not a method but has arguments")
            raise self.error(first, f"can't give argument to non-function {_node_text(first)}")
        if isinstance(first, Nil):
            raise self.error(first, "nil is not a command")
        return self.eval_arg(first, dot)

    def eval_arg(self, node, dot):
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Nil):
            return None
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Field):
            return self.field_chain(node, dot, node.idents)
        if isinstance(node, Variable):
            return self.field_chain(node, self.var(node, node.name), node.idents)
        if isinstance(node, Chain):
            base = self.eval_arg(node.node, dot)
            return self.field_chain(node, base, node.idents)
        if isinstance(node, Pipe):
            return self.eval_pipe(node, dot)
        if isinstance(node, Identifier):
            return self.call(node, [], dot, _MISSING)
        raise self.error(node, f"can't evaluate {type(node).__name__}")  # pragma: no cover

    def field_chain(self, node, receiver, idents):
        for name in idents:
            receiver = self.field(node, receiver, name)
        return receiver

    def field(self, node, receiver, name):
        if receiver is None:
            raise self.error(node, f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            return receiver.get(name)
        if isinstance(receiver, (str, int, float, bool, list, tuple)):
            raise self.error(node, f"can't evaluate field {name} in type {_go_type_name(receiver)}")
        if name.startswith("_"):
            raise self.error(node, f"{name} is an unexported field of struct type {type(receiver).__name__}")
        try:
            value = getattr(receiver, name)
        except AttributeError:
            raise self.error(node, f"can't evaluate field {name} in type {type(receiver).__name__}") from None
        if callable(value) and not isinstance(value, type):
            raise self.error(node, f"{name} is a method; methods are not supported")
        return value

    def call(self, ident: Identifier, arg_nodes, dot, final):
        name = ident.name
        n_args = len(arg_nodes) + (0 if final is _MISSING else 1)
        lo, hi = _ARITY[name]
        if n_args < lo or (hi is not None and n_args > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}"
            raise self.error(ident, f"wrong number of args for {name}: want {want} got {n_args}")
        if name in ("and", "or"):
            # Go evaluates and/or lazily, returning the deciding argument.
            values = (self.eval_arg(a, dot) for a in arg_nodes)
            if final is not _MISSING:
                values = _chain_values(values, final)
            last = None
            for v in values:
                last = v
                if (name == "and") != truth(v):
                    return v
            return last
        args = [self.eval_arg(a, dot) for a in arg_nodes]
        if final is not _MISSING:
            args.append(final)
        try:
            return FUNCTIONS[name](*args)
        except _FuncError as err:
            raise self.error(ident, f"error calling {name}: {err}") from None
        except GoTemplateError as err:
            raise self.error(ident, f"error calling {name}: {err.message}") from None


def _chain_values(gen, final):
    yield from gen
    yield final


def _node_text(node) -> str:
    if isinstance(node, Field):
        return "." + ".".join(node.idents)
    if isinstance(node, Variable):
        return node.name + "".join("." + i for i in node.idents)
    if isinstance(node, Literal):
        return node.source
    if isinstance(node, Dot):
        return "."
    if isinstance(node, Nil):
        return "nil"
    return "(pipeline)"


def _line_col(src: str, pos: int) -> tuple[int, int]:
    line = src.count("\n", 0, pos) + 1
    col = pos - (src.rfind("\n", 0, pos) + 1) + 1
    return line, col


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


@dataclass(eq=False)
class Template:
    """A parsed template. Immutable; ``execute`` may be called concurrently."""

    source: str
    nodes: list
    _identifiers: frozenset | None = field(default=None, repr=False)
    derived: dict = field(default_factory=dict, repr=False)  # callers' per-template caches

    def execute(self, data=None) -> str:
        ex = _Exec(self, data)
        try:
            ex.walk_list(self.nodes, data)
        except (_BreakLoop, _ContinueLoop):  # pragma: no cover - rejected at parse time
            raise GoTemplateError("break/continue outside range") from None
        except RecursionError:
            raise GoTemplateError("template nesting too deep") from None
        return "".join(ex.out)

    def identifiers(self) -> frozenset:
        """Lower-cased field and variable names the template references (Ollama's Vars())."""
        if self._identifiers is None:
            names: set[str] = set()
            _collect_identifiers(self.nodes, names)
            self._identifiers = frozenset(names)
        return self._identifiers

    def references(self, name: str) -> bool:
        return name.lower() in self.identifiers()

    def with_nodes(self, nodes: list) -> "Template":
        return Template(self.source, nodes)


def _collect_identifiers(nodes, names: set) -> None:
    for node in nodes:
        _collect_node(node, names)


def _collect_node(node, names: set) -> None:
    if isinstance(node, Action):
        _collect_node(node.pipe, names)
    elif isinstance(node, Branch):
        _collect_node(node.pipe, names)
        _collect_identifiers(node.body, names)
        if node.else_body:
            _collect_identifiers(node.else_body, names)
    elif isinstance(node, Pipe):
        for cmd in node.cmds:
            for arg in cmd.args:
                _collect_node(arg, names)
    elif isinstance(node, Field):
        names.update(i.lower() for i in node.idents)
    elif isinstance(node, Variable):
        names.add(node.name.lower())
        names.update(i.lower() for i in node.idents)


# Templates up to this size are cached by text (model templates are a few KB; a client could
# send huge ones in requests, which are parsed every time instead of filling the cache).
CACHEABLE_TEMPLATE_CHARS = 256 * 1024


def parse(source: str) -> Template:
    """Parse a template (cached by its text). Raises GoTemplateError with line/column."""
    if not isinstance(source, str):
        raise GoTemplateError(f"template must be a string, not {type(source).__name__}")
    if len(source) <= CACHEABLE_TEMPLATE_CHARS:
        return _parse_cached(source)
    return _parse(source)


@functools.lru_cache(maxsize=256)
def _parse_cached(source: str) -> Template:
    return _parse(source)


def _parse(source: str) -> Template:
    parser = _Parser(source)
    try:
        nodes = parser.parse()
    except RecursionError:
        raise GoTemplateError("template nesting too deep") from None
    return Template(source, nodes)


def render(source: str, data=None) -> str:
    return parse(source).execute(data)


def uses_messages(template: str) -> bool:
    """True when the template references ``.Messages`` (Ollama's chat-style templates)."""
    return parse(template).references("messages")

"""Parser for the Modelfile subset hushtype accepts (Ollama's syntax).

    # comment
    FROM gemma3:270m | ./model.gguf | sha256:<hex>
    TEMPLATE \"\"\"{{ .Prompt }}\"\"\"
    SYSTEM "You are terse."
    PARAMETER temperature 0.2
    PARAMETER stop "User:"          (repeatable: stop values accumulate)
    LICENSE \"\"\"...\"\"\"               (repeatable)
    MESSAGE user Hello              (role: system, user, assistant)

Instructions are case-insensitive. A value is the rest of the line, a "double-quoted" string
(backslash escapes \\" and \\\\), or a \"\"\"triple-quoted\"\"\" string that may span lines.
Errors are :class:`ModelfileError` with the 1-based line number of the offending instruction.
This module is pure: it never touches the file system or the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

COMMANDS = ("from", "adapter", "parameter", "template", "system", "license", "message")
ROLES = ("system", "user", "assistant")
BLOB_DIGEST = re.compile(r"^sha256[:-]([0-9a-fA-F]{64})$")

# PARAMETER types come from options.OPTION_TYPES; these legacy keys (still accepted by Ollama
# in Modelfiles, ignored at run time) are typed here so old Modelfiles keep parsing.
_LEGACY_TYPES = {
    "mirostat": int, "mirostat_tau": float, "mirostat_eta": float, "tfs_z": float,
    "penalize_newline": bool, "low_vram": bool, "f16_kv": bool, "vocab_only": bool,
}
_KIND_TYPES = {"int": int, "float": float, "bool": bool, "stop": list}


class ModelfileError(ValueError):
    """A Modelfile that cannot be used; the message names the line."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class Modelfile:
    from_: str
    from_line: int = 1
    template: str | None = None
    system: str | None = None
    parameters: dict = field(default_factory=dict)
    license: list[str] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)

    @property
    def from_kind(self) -> str:
        """``"blob"`` (sha256 digest), ``"path"`` (a file to import) or ``"model"`` (a name)."""
        return from_kind(self.from_)

    def create_fields(self) -> dict:
        """The /api/create JSON fields this Modelfile sets, except ``from``/``files``."""
        out: dict = {}
        if self.template is not None:
            out["template"] = self.template
        if self.system is not None:
            out["system"] = self.system
        if self.parameters:
            out["parameters"] = dict(self.parameters)
        if self.license:
            out["license"] = list(self.license)
        if self.messages:
            out["messages"] = [dict(m) for m in self.messages]
        return out


def from_kind(value: str) -> str:
    if BLOB_DIGEST.match(value):
        return "blob"
    if (
        value.startswith(("/", "./", "../", "~", ".\\"))
        or value.lower().endswith((".gguf", ".bin"))
        or "\\" in value
    ):
        return "path"
    return "model"


def resolve_from_path(value: str, base_dir: Path | None) -> Path:
    """A FROM path relative to the Modelfile's directory (``~`` expanded)."""
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def _option_types() -> dict[str, type]:
    from inference.engine.options import OPTION_TYPES

    types = dict(_LEGACY_TYPES)
    types.update({key: _KIND_TYPES[kind] for key, kind in OPTION_TYPES.items()})
    return types


def convert_parameter(name: str, raw: str, line: int | None = None) -> object:
    """Type one PARAMETER value (``stop`` values come back as a one-item list)."""
    key = name.lower()
    kind = _option_types().get(key)
    if kind is None:
        raise ModelfileError(f"unknown parameter '{name}'", line)
    try:
        if kind is list:
            return [raw]
        if kind is bool:
            low = raw.strip().lower()
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            number = float(raw)
            if number != int(number):
                raise ValueError(raw)
            return int(number)
        return float(raw)
    except ValueError:
        raise ModelfileError(f"invalid {kind.__name__} value for parameter '{name}': {raw!r}", line) from None


def _unquote(text: str, line: int) -> str:
    """A double-quoted single-line value without its quotes, escapes resolved."""
    out, i = [], 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
            continue
        if ch == '"':
            if text[i + 1:].strip():
                raise ModelfileError(f"unexpected text after closing quote: {text[i + 1:].strip()!r}", line)
            return "".join(out)
        out.append(ch)
        i += 1
    raise ModelfileError("unterminated quoted string", line)


def _split_instructions(text: str):
    """Yield (line number, command, raw argument text) with triple quotes joined."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno = i + 1
        stripped = lines[i].strip()
        i += 1
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split(None, 1)
        command = parts[0].lower()
        rest = parts[1] if len(parts) > 1 else ""
        if command not in COMMANDS:
            raise ModelfileError(
                f"unknown instruction {parts[0]!r}; expected one of "
                + ", ".join(c.upper() for c in COMMANDS), lineno)
        # A triple-quoted value may start anywhere in the argument (MESSAGE user """...).
        start = rest.find('"""')
        if start != -1:
            head, body = rest[:start], rest[start + 3:]
            end = body.find('"""')
            if end != -1:
                tail = body[end + 3:]
                if tail.strip():
                    raise ModelfileError(f"unexpected text after closing \"\"\": {tail.strip()!r}", lineno)
                yield lineno, command, head, body[:end], True
                continue
            chunks = [body]
            while True:
                if i >= len(lines):
                    raise ModelfileError('unterminated """ string', lineno)
                current = lines[i]
                i += 1
                end = current.find('"""')
                if end == -1:
                    chunks.append(current)
                    continue
                tail = current[end + 3:]
                if tail.strip():
                    raise ModelfileError(f"unexpected text after closing \"\"\": {tail.strip()!r}", i)
                chunks.append(current[:end])
                break
            yield lineno, command, head, "\n".join(chunks), True
            continue
        yield lineno, command, rest, None, False


def _value(head: str, quoted: str | None, lineno: int) -> str:
    """The value of an instruction: a triple-quoted body, a "quoted" string, or bare text."""
    if quoted is not None:
        if head.strip():
            raise ModelfileError(f"unexpected text before \"\"\": {head.strip()!r}", lineno)
        return quoted
    head = head.strip()
    if head.startswith('"'):
        return _unquote(head, lineno)
    return head


def parse(text: str) -> Modelfile:
    """Parse Modelfile text. Raises :class:`ModelfileError` naming the line."""
    result: Modelfile | None = None
    pending: dict = {"template": None, "system": None, "parameters": {}, "license": [],
                     "messages": [], "adapters": []}
    from_value, from_line = None, 0
    for lineno, command, head, quoted, _ in _split_instructions(text):
        if command in ("parameter", "message"):
            # two-part instructions: a bare first word, then the value
            if quoted is not None:
                first_rest = head.split(None, 1)
                if not first_rest or len(first_rest) > 1:
                    raise ModelfileError(f"{command.upper()} needs a name before its value", lineno)
                first, value = first_rest[0], quoted
            else:
                words = head.strip().split(None, 1)
                if len(words) < 2:
                    what = "a name and a value" if command == "parameter" else "a role and content"
                    raise ModelfileError(f"{command.upper()} needs {what}", lineno)
                first, value = words[0], _value(words[1], None, lineno)
            if command == "parameter":
                converted = convert_parameter(first, value, lineno)
                key = first.lower()
                if isinstance(converted, list):
                    pending["parameters"].setdefault(key, []).extend(converted)
                else:
                    pending["parameters"][key] = converted
            else:
                role = first.lower()
                if role not in ROLES:
                    raise ModelfileError(
                        f"MESSAGE role must be one of system, user, assistant (got {first!r})", lineno)
                pending["messages"].append({"role": role, "content": value})
            continue
        value = _value(head, quoted, lineno)
        if command == "from":
            if not value:
                raise ModelfileError("FROM needs a model name, GGUF path or blob digest", lineno)
            if from_value is not None:
                raise ModelfileError(f"more than one FROM (first on line {from_line})", lineno)
            from_value, from_line = value, lineno
        elif command in ("template", "system"):
            pending[command] = value
        elif command == "license":
            pending["license"].append(value)
        elif command == "adapter":
            if not value:
                raise ModelfileError("ADAPTER needs a path or blob digest", lineno)
            pending["adapters"].append(value)
    if from_value is None:
        raise ModelfileError("no FROM line: a Modelfile must say which model it builds on")
    result = Modelfile(from_=from_value, from_line=from_line, **pending)
    return result

"""Settings: ``config/defaults.toml`` merged with the user's ``<data dir>/config.toml``.

Tables merge key by key; any other value in the user file replaces the default. The user file
is written only through :func:`save_user_settings` (atomically, mode 0600), which keeps every
key the user already had.

A broken user file raises :class:`ConfigError` naming the file and the line; the error carries
the defaults in ``.settings`` so a caller can keep running on them::

    try:
        settings = load_settings()
    except ConfigError as exc:
        notify(str(exc)); settings = exc.settings
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from assistant import paths

STYLES = ("gen", "fix", "sum", "custom")
PROMPT_MODES = ("auto", "chat", "completion")


class ConfigError(ValueError):
    """A settings file or value is wrong. ``settings`` holds what is still usable."""

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None,
                 settings: dict | None = None):
        where = ""
        if path is not None:
            where = f"{path}" + (f", line {line}" if line else "") + ": "
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.settings = settings


@dataclass(frozen=True)
class CommandSpec:
    """One command: the prefix typed or spoken before the text and how the model is asked."""

    name: str
    prefix: str
    style: str = "custom"                # gen | fix | sum | custom
    instruction: str = ""                # chat system prompt / few-shot header for custom
    model: str | None = None             # None = settings server.model
    options: dict = field(default_factory=dict)
    stream: bool = False
    description: str = ""
    prompt_mode: str = "auto"            # auto (ask /api/show) | chat | completion
    examples: tuple = ()                 # ((input, output), ...) few-shot pairs for custom


def defaults_file() -> Path:
    return paths.DEFAULTS_DIR / "defaults.toml"


def _read_toml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8 ({exc.reason})", path=path) from exc
    except OSError as exc:  # a directory in its place, unreadable, an I/O error
        raise ConfigError(f"cannot be read ({exc.strerror or exc})", path=path) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(match.group(1)) if match else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if match:
            reason += f" (column {match.group(2)})"
        raise ConfigError(f"invalid TOML: {reason}", path=path, line=line) from exc


def deep_merge(base: dict, patch: dict) -> dict:
    """A new dict: tables merge recursively, other values replace; ``None`` removes a key."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_defaults() -> dict:
    return _read_toml(defaults_file())


def load_user_file(path: Path | None = None) -> dict:
    """The user's own settings only ({} when there is no file)."""
    path = path or paths.config_file()
    if not path.exists():
        return {}
    return _read_toml(path)


def load_settings(*, validate: bool = True) -> dict:
    """Defaults merged with the user file. Raises ConfigError (with ``.settings`` = defaults)
    when the user file is broken or its commands are invalid."""
    defaults = load_defaults()
    path = paths.config_file()
    try:
        user = load_user_file(path)
    except ConfigError as exc:
        exc.settings = defaults
        raise
    merged = deep_merge(defaults, user)
    if validate:
        try:
            validate_settings(merged)
        except ConfigError as exc:
            raise ConfigError(str(exc), path=path, settings=defaults) from exc
    return merged


def _write_private_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    os.chmod(path, 0o600)


def save_user_settings(patch: dict) -> dict:
    """Deep-merge ``patch`` into the user file (``None`` deletes a key, reverting it to the
    default), validate the result, write it atomically with mode 0600, return the merged
    settings. A broken existing file is never overwritten (ConfigError)."""
    path = paths.config_file()
    user = load_user_file(path)
    new_user = deep_merge(user, patch)
    merged = deep_merge(load_defaults(), new_user)
    validate_settings(merged)
    _write_private_atomically(path, tomli_w.dumps(new_user).encode("utf-8"))
    return merged


# --------------------------------------------------------------------------- validation

def _as_int(settings: dict, table: str, key: str, *, minimum: int = 0) -> None:
    value = settings.get(table, {}).get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError(f"[{table}] {key} must be a number >= {minimum}, got {value!r}")


def validate_settings(settings: dict) -> None:
    """Raise ConfigError for values that would break the assistant."""
    server = settings.get("server", {})
    if not isinstance(server.get("url", ""), str):
        raise ConfigError("[server] url must be a string like \"http://127.0.0.1:11434\"")
    if not isinstance(server.get("model", ""), str) or not server.get("model", "x").strip():
        raise ConfigError("[server] model must name a model, e.g. \"gemma3:270m\"")
    _as_int(settings, "server", "timeout_seconds", minimum=1)
    if str(server.get("api") or "ollama").strip().lower() not in ("ollama", "openai"):
        raise ConfigError(f"[server] api must be \"ollama\" or \"openai\", got {server.get('api')!r}")
    _as_int(settings, "history", "retention_days", minimum=0)
    command_specs(settings)


def _spec_from_table(name: str, table: Any) -> CommandSpec:
    where = f"[commands.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table with at least a prefix")
    prefix = table.get("prefix")
    if not isinstance(prefix, str) or not prefix.strip():
        raise ConfigError(f"{where} needs a non-empty prefix, e.g. prefix = \"{name}:\"")
    prefix = prefix.strip()
    if any(ch.isspace() for ch in prefix):
        raise ConfigError(f"{where} prefix {prefix!r} must not contain spaces")
    style = table.get("style", "custom")
    if style not in STYLES:
        raise ConfigError(f"{where} style must be one of {', '.join(STYLES)}, got {style!r}")
    instruction = table.get("instruction", "")
    if not isinstance(instruction, str):
        raise ConfigError(f"{where} instruction must be a string")
    if style == "custom" and not instruction.strip():
        raise ConfigError(f"{where} is a custom command: give it an instruction, e.g. "
                          f"instruction = \"Translate the text into French.\"")
    model = table.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ConfigError(f"{where} model must be a model name like \"gemma3:270m\"")
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{where} options must be a table, e.g. options = {{ temperature = 0.2 }}")
    stream = table.get("stream", style == "gen")
    if not isinstance(stream, bool):
        raise ConfigError(f"{where} stream must be true or false")
    mode = table.get("prompt_mode", "auto")
    if mode not in PROMPT_MODES:
        raise ConfigError(f"{where} prompt_mode must be one of {', '.join(PROMPT_MODES)}")
    examples = table.get("examples", [])
    pairs = []
    if not isinstance(examples, list):
        raise ConfigError(f"{where} examples must be a list of {{ input = ..., output = ... }}")
    for ex in examples:
        if not (isinstance(ex, dict) and isinstance(ex.get("input"), str) and isinstance(ex.get("output"), str)):
            raise ConfigError(f"{where} each example needs input and output strings")
        pairs.append((ex["input"], ex["output"]))
    description = table.get("description", "")
    return CommandSpec(
        name=name, prefix=prefix, style=style, instruction=instruction.strip(),
        model=model.strip() if model else None, options=dict(options), stream=stream,
        description=str(description), prompt_mode=mode, examples=tuple(pairs),
    )


def command_specs(settings: dict | None = None) -> dict[str, CommandSpec]:
    """Every enabled command by name. Raises ConfigError on an invalid or duplicate prefix."""
    if settings is None:
        settings = load_settings(validate=False)
    tables = settings.get("commands", {})
    if not isinstance(tables, dict):
        raise ConfigError("[commands] must be a table of command tables")
    specs: dict[str, CommandSpec] = {}
    seen: dict[str, str] = {}
    for name, table in tables.items():
        if isinstance(table, dict) and table.get("enabled", True) is False:
            continue
        spec = _spec_from_table(name, table)
        key = spec.prefix.casefold()
        if key in seen:
            raise ConfigError(f"[commands.{name}] prefix {spec.prefix!r} is already used by "
                              f"[commands.{seen[key]}]; give one of them another prefix")
        seen[key] = name
        specs[name] = spec
    return specs

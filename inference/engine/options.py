"""Ollama's generation/load options: defaults, type checks, precedence; keep_alive parsing.

Precedence is ``DEFAULT_OPTIONS < model params layer < request options`` (Ollama's rule).
Unknown keys are ignored (clients such as the ``ollama`` Python package still send legacy
keys like ``mirostat``, ``tfs_z``, ``low_vram``, ``penalize_newline``); a known key with a
value of the wrong type raises :class:`OptionsError` (HTTP 400), naming the option and the
expected type. ``null`` values mean "not set" and fall through to the layer below.

Load-time options are range-checked after merging (:func:`check_load_ranges`), so that a
value llama.cpp cannot build a context from is a 400 naming the option, not a crash or a
hang: ``num_batch`` >= 1 (capped at ``num_ctx``, as Ollama does), ``num_thread`` 0 (auto) to
512 (llama.cpp's thread limit), ``num_ctx`` at most 2**25 after the cap at the model's
trained context (llama.cpp's 32-bit context holds ``num_ctx`` x ``OLLAMA_NUM_PARALLEL``).

Pure logic: reads only the environment (``OLLAMA_CONTEXT_LENGTH``, ``OLLAMA_KEEP_ALIVE``).
"""

from __future__ import annotations

import math
import os
import re

__all__ = [
    "OptionsError",
    "OPTION_TYPES",
    "DEFAULT_OPTIONS",
    "LOAD_OPTIONS",
    "DEFAULT_CONTEXT_LENGTH",
    "DEFAULT_KEEP_ALIVE_SECONDS",
    "merge_options",
    "validate_options",
    "ignored_option_keys",
    "load_options",
    "check_load_ranges",
    "MAX_NUM_CTX",
    "MAX_NUM_THREAD",
    "default_num_ctx",
    "parse_duration",
    "parse_keep_alive",
    "default_keep_alive_seconds",
]


class OptionsError(ValueError):
    """A request option or keep_alive value is invalid; the server answers 400 with str(e)."""


# Option name -> Go type in Ollama's api.Options/api.Runner ("int", "float", "bool", "stop").
OPTION_TYPES: dict[str, str] = {
    # sampling / prediction
    "num_keep": "int",
    "seed": "int",
    "num_predict": "int",
    "top_k": "int",
    "top_p": "float",
    "min_p": "float",
    "typical_p": "float",
    "repeat_last_n": "int",
    "temperature": "float",
    "repeat_penalty": "float",
    "presence_penalty": "float",
    "frequency_penalty": "float",
    "stop": "stop",
    # runner (load time)
    "num_ctx": "int",
    "num_batch": "int",
    "num_gpu": "int",
    "main_gpu": "int",
    "use_mmap": "bool",
    "use_mlock": "bool",
    "num_thread": "int",
    "numa": "bool",
}

DEFAULT_CONTEXT_LENGTH = 4096
# llama.cpp's n_ctx is a uint32 holding num_ctx x OLLAMA_NUM_PARALLEL (at most 64).
MAX_NUM_CTX = 1 << 25
# GGML_MAX_N_THREADS: llama.cpp aborts the process beyond its thread pool's limit.
MAX_NUM_THREAD = 512
DEFAULT_KEEP_ALIVE_SECONDS = 300.0

DEFAULT_OPTIONS: dict = {
    "num_keep": 4,
    "seed": -1,  # -1 = random
    "num_predict": -1,  # -1 = until a stop condition or the context is full
    "top_k": 40,
    "top_p": 0.9,
    "min_p": 0.0,
    "typical_p": 1.0,
    "repeat_last_n": 64,
    "temperature": 0.8,
    "repeat_penalty": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "stop": [],
    "num_ctx": DEFAULT_CONTEXT_LENGTH,  # replaced by default_num_ctx() in merge_options
    "num_batch": 512,
    "num_gpu": -1,  # -1 = auto (CPU-only here)
    "main_gpu": 0,
    "use_mmap": None,  # None = auto: read into huge-page memory when it pays (engine/hugepages.py)
    "use_mlock": False,
    "num_thread": 0,  # 0 = auto (the runtime picks)
    "numa": False,
}

# Options whose change on a loaded model needs a reload (they are llama.cpp context/model
# parameters). Always a subset of DEFAULT_OPTIONS' keys, so ``load_options()`` never misses.
LOAD_OPTIONS: frozenset = frozenset(
    {"num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "use_mlock", "num_thread", "numa"}
)

_TYPE_NAMES = {
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "stop": "string or array of strings",
}


def _describe(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_error(key: str, kind: str, value) -> OptionsError:
    return OptionsError(
        f"invalid option {key!r}: expected {_TYPE_NAMES[kind]}, got {_describe(value)} {value!r}"
    )


def _coerce(key: str, value):
    kind = OPTION_TYPES[key]
    if kind == "int":
        # JSON numbers arrive as int or float; bool is an int subclass in Python, not in JSON.
        if isinstance(value, bool):
            raise _type_error(key, kind, value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise _type_error(key, kind, value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(key, kind, value)
        if not math.isfinite(value):
            raise _type_error(key, kind, value)
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _type_error(key, kind, value)
        return value
    # stop: one string or a list of strings; empty strings would stop at once, so drop them
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            if not isinstance(item, str):
                raise _type_error(key, kind, value)
            if item and item not in out:
                out.append(item)
        return out
    raise _type_error(key, kind, value)


def validate_options(options: dict | None) -> dict:
    """Type-check the known keys of one layer; returns only the known, non-null keys, coerced."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise OptionsError(f"invalid options: expected an object, got {_describe(options)}")
    out = {}
    for key, value in options.items():
        if key not in OPTION_TYPES or value is None:
            continue
        out[key] = _coerce(key, value)
    return out


def ignored_option_keys(options: dict | None) -> list[str]:
    """The keys of ``options`` this server ignores (unknown or legacy), for logging."""
    if not isinstance(options, dict):
        return []
    return sorted(k for k in options if k not in OPTION_TYPES)


def default_num_ctx(trained_ctx: int | None = None) -> int:
    """``OLLAMA_CONTEXT_LENGTH`` (default 4096), capped at the model's trained context."""
    raw = os.environ.get("OLLAMA_CONTEXT_LENGTH", "").strip().strip("\"'")
    n = DEFAULT_CONTEXT_LENGTH
    if raw:
        try:
            parsed = int(raw, 10)
        except ValueError:
            parsed = 0
        if parsed > 0:
            n = parsed
    if trained_ctx and trained_ctx > 0:
        n = min(n, int(trained_ctx))
    return n


def merge_options(
    model_params: dict | None,
    request_options: dict | None,
    *,
    trained_ctx: int | None = None,
) -> dict:
    """Effective options: defaults < model params layer < request options.

    Returns a full dict with every key of DEFAULT_OPTIONS. num_ctx defaults to
    ``default_num_ctx(trained_ctx)``; any num_ctx is capped at ``trained_ctx`` when given (as
    Ollama does) and raised to at least 4. Raises OptionsError for wrong types.
    """
    merged = dict(DEFAULT_OPTIONS)
    merged["stop"] = []
    merged["num_ctx"] = default_num_ctx(trained_ctx)
    merged.update(validate_options(model_params))
    merged.update(validate_options(request_options))
    num_ctx = merged["num_ctx"]
    if trained_ctx and trained_ctx > 0:
        num_ctx = min(num_ctx, int(trained_ctx))
    merged["num_ctx"] = max(num_ctx, 4)
    check_load_ranges(merged)
    merged["num_batch"] = min(merged["num_batch"], merged["num_ctx"])
    return merged


def check_load_ranges(options: dict) -> None:
    """Refuse load-time values llama.cpp cannot run with (OptionsError naming the option)."""
    num_batch = options.get("num_batch", DEFAULT_OPTIONS["num_batch"])
    if num_batch < 1:
        raise OptionsError(f"invalid option 'num_batch': must be at least 1, got {num_batch}")
    num_thread = options.get("num_thread", 0)
    if not 0 <= num_thread <= MAX_NUM_THREAD:
        raise OptionsError(f"invalid option 'num_thread': must be between 0 (automatic) and {MAX_NUM_THREAD}, "
                           f"got {num_thread}")
    num_ctx = options.get("num_ctx", DEFAULT_CONTEXT_LENGTH)
    if num_ctx > MAX_NUM_CTX:
        raise OptionsError(f"invalid option 'num_ctx': must be at most {MAX_NUM_CTX}, got {num_ctx}")


def load_options(options: dict) -> dict:
    """The load-time subset of merged options (the scheduler's reload key)."""
    return {k: options.get(k, DEFAULT_OPTIONS[k]) for k in sorted(LOAD_OPTIONS)}


# --- durations (Go's time.ParseDuration) -------------------------------------------------

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_MAX_NS = 2**63 - 1
_SEGMENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_duration(text: str) -> int:
    """Parse a Go duration string ("5m", "1h30m", "-1.5s", "300ms") into nanoseconds.

    Error messages match Go's: ``time: missing unit in duration "300"``.
    """
    orig = text
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise OptionsError(f"time: invalid duration {_go_quote(orig)}")
    total = 0
    while s:
        m = _SEGMENT.match(s)
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            # no digits, e.g. ".s" or "m"
            raise OptionsError(f"time: invalid duration {_go_quote(orig)}")
        if not unit:
            raise OptionsError(f"time: missing unit in duration {_go_quote(orig)}")
        if unit not in _UNITS_NS:
            raise OptionsError(f"time: unknown unit {_go_quote(unit)} in duration {_go_quote(orig)}")
        scale = _UNITS_NS[unit]
        value = int(whole or "0") * scale
        if frac:
            value += int(frac) * scale // (10 ** len(frac))
        total += value
        if total > _MAX_NS:
            raise OptionsError(f"time: invalid duration {_go_quote(orig)}")
        s = s[m.end():]
    return -total if neg else total


def default_keep_alive_seconds() -> float | None:
    """``OLLAMA_KEEP_ALIVE`` as seconds (Go duration or integer seconds); 5m when unset or
    invalid; None = forever (negative)."""
    raw = os.environ.get("OLLAMA_KEEP_ALIVE", "").strip().strip("\"'")
    seconds = DEFAULT_KEEP_ALIVE_SECONDS
    if raw:
        try:
            seconds = parse_duration(raw) / 1e9
        except OptionsError:
            try:
                seconds = float(int(raw, 10))
            except ValueError:
                pass
    return None if seconds < 0 else seconds


def parse_keep_alive(value, default_seconds: float | None) -> float | None:
    """A request's ``keep_alive`` as seconds: None = keep forever, 0 = unload after the request.

    ``value`` None -> the default; a number -> seconds (negative = forever); a string -> a Go
    duration (negative = forever; a unitless "300" is an error, as in Ollama). Anything else
    (bool, list, object) is an error.
    """
    if value is None:
        if default_seconds is None or default_seconds < 0:
            return None
        return float(default_seconds)
    if isinstance(value, bool):
        raise OptionsError(f"invalid keep_alive: unsupported type {_describe(value)}")
    if isinstance(value, (int, float)):
        if math.isnan(value):
            raise OptionsError("invalid keep_alive: not a number")
        if value < 0:
            return None
        if math.isinf(value) or value * 1e9 > _MAX_NS:
            return None
        return float(value)
    if isinstance(value, str):
        ns = parse_duration(value)
        if ns < 0:
            return None
        return ns / 1e9
    raise OptionsError(f"invalid keep_alive: unsupported type {_describe(value)}")

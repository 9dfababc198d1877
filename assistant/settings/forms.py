"""Turning what the user typed into settings patches, with messages that say what to fix.

Pure functions: a mapping of form fields in, a patch for ``save_user_settings`` out, or
:class:`FormError`. Empty fields mean "use the default" (the key is removed from the user file).
"""

from __future__ import annotations

import re

from assistant.config import STYLES


class FormError(ValueError):
    """A value the user typed that cannot be saved; shown next to the form."""


COMMAND_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
HOTKEY_PART = re.compile(r"^(<[a-z0-9_]+>|[a-z0-9_]+|[^\s+<>])$")
MODIFIERS = {"ctrl", "alt", "shift", "cmd", "super", "ctrl_l", "ctrl_r", "alt_l", "alt_r", "alt_gr",
             "shift_l", "shift_r", "cmd_l", "cmd_r"}

# Options offered per command: name -> (label, kind, help). Empty = the model's default.
COMMAND_OPTIONS = {
    "temperature": ("Temperature", "float", "0 = always the same answer; higher = more varied"),
    "num_predict": ("Max. tokens", "int", "longest answer in tokens (-1 = no limit)"),
    "top_p": ("Top P", "float", "0–1"),
    "top_k": ("Top K", "int", ""),
    "repeat_penalty": ("Repeat penalty", "float", ""),
    "num_ctx": ("Context length", "int", "tokens the model sees"),
    "seed": ("Seed", "int", "fixed seed for repeatable answers"),
    "stop": ("Stop at", "stop", "one text per line; the answer ends there"),
}
RANGES = {"temperature": (0.0, 5.0), "top_p": (0.0, 1.0), "top_k": (0, 1000), "num_predict": (-2, 131072),
          "repeat_penalty": (0.0, 5.0), "num_ctx": (64, 1048576)}


def _text(form, key: str, limit: int = 10000) -> str:
    value = form.get(key)
    value = "" if value is None else str(value)
    if len(value) > limit:
        raise FormError(f"{key.replace('_', ' ').capitalize()} is too long (at most {limit} characters).")
    return value.strip()


def parse_retention_days(raw) -> int:
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise FormError("Enter a number of days (0 keeps nothing).")
    try:
        days = int(text)
    except ValueError:
        raise FormError(f"“{text}” is not a whole number of days.") from None
    if days < 0:
        raise FormError("Days cannot be negative (0 keeps nothing).")
    if days > 36500:
        raise FormError("At most 36500 days (100 years).")
    return days


def parse_hotkey(raw, label: str, *, allow_empty: bool = False) -> str:
    """``<ctrl>+<alt>+space`` style: parts joined by +, at least one key that is not a modifier."""
    text = str(raw or "").strip().lower()
    if not text:
        if allow_empty:
            return ""
        raise FormError(f"{label}: enter a key combination such as <ctrl>+<alt>+space.")
    parts = text.split("+")
    if any(not HOTKEY_PART.match(p) for p in parts):
        raise FormError(f"{label}: “{raw}” is not a key combination. Write keys joined by +, "
                        f"modifiers in angle brackets: <ctrl>+<alt>+space.")
    if all(p.strip("<>") in MODIFIERS for p in parts):
        raise FormError(f"{label}: add a key that is not a modifier, e.g. <ctrl>+<alt>+space.")
    if len(set(parts)) != len(parts):
        raise FormError(f"{label}: a key appears twice in “{raw}”.")
    return text


def parse_option(name: str, raw) -> object | None:
    label, kind, _ = COMMAND_OPTIONS[name]
    text = str(raw or "").strip()
    if not text:
        return None
    if kind == "stop":
        stops = [line for line in str(raw).splitlines() if line.strip()]
        if len(stops) > 8:
            raise FormError(f"{label}: at most 8 stop texts.")
        return stops or None
    try:
        value = int(text) if kind == "int" else float(text)
    except ValueError:
        kind_name = "a whole number" if kind == "int" else "a number"
        raise FormError(f"{label}: “{text}” is not {kind_name}.") from None
    low, high = RANGES.get(name, (None, None))
    if low is not None and not low <= value <= high:
        raise FormError(f"{label} must be between {low:g} and {high:g}.")
    return value


def parse_command(form, *, name: str, is_new: bool, existing: set[str]) -> dict:
    """The ``[commands.<name>]`` table from the command form (None values revert to defaults)."""
    if is_new:
        if not COMMAND_NAME.match(name):
            raise FormError("Name: use 1–32 lower-case letters, digits, - or _, starting with a letter (e.g. translate).")
        if name in existing:
            raise FormError(f"There is already a command called “{name}”.")
    prefix = _text(form, "prefix", 40)
    if not prefix:
        raise FormError("Prefix: enter what you type before the text, e.g. tr:")
    if any(ch.isspace() for ch in prefix):
        raise FormError("Prefix: no spaces, please (e.g. tr:).")
    style = _text(form, "style", 20) or "custom"
    if style not in STYLES:
        raise FormError(f"Kind must be one of {', '.join(STYLES)}.")
    instruction = _text(form, "instruction", 4000)
    if style == "custom" and not instruction:
        raise FormError("Instruction: say what the command should do, e.g. “Translate the text into French.”")
    table: dict = {
        "prefix": prefix,
        "style": style,
        "instruction": instruction or None,
        "description": _text(form, "description", 200) or None,
        "model": _text(form, "model", 200) or None,
        "stream": form.get("stream") in ("on", "true", "yes", "1"),
    }
    if not is_new:
        table["enabled"] = form.get("enabled") in ("on", "true", "yes", "1")
    options = {key: parse_option(key, form.get(f"opt_{key}")) for key in COMMAND_OPTIONS}
    if is_new:
        options = {k: v for k, v in options.items() if v is not None}
    table["options"] = options
    if is_new:
        table = {k: v for k, v in table.items() if v is not None}
    return table


def parse_typing(form) -> dict:
    """The [typing] keys on the Commands page: terminator (text or chord), pause and undo keys."""
    terminator = str(form.get("terminator") or "")
    chord = _text(form, "terminator_chord", 100)
    if chord:
        chord = parse_hotkey(chord, "Terminator key")
    if not terminator.strip() and not chord:
        raise FormError("Terminator: enter the text that ends a command (e.g. ;;) or a key combination.")
    if terminator and (len(terminator) > 10 or any(ch.isspace() for ch in terminator)):
        raise FormError("Terminator: 1–10 characters without spaces, e.g. ;;")
    typing = {"terminator": terminator or None, "terminator_chord": chord}
    for key, label in (("pause_hotkey", "Pause key"), ("undo_hotkey", "Undo key")):
        if key in form:
            typing[key] = parse_hotkey(form.get(key), label)
    keys = [typing.get("pause_hotkey"), typing.get("undo_hotkey"), chord or None]
    keys = [k for k in keys if k]
    if len(set(keys)) != len(keys):
        raise FormError("The terminator, pause and undo keys must all differ.")
    return {"typing": typing}


def parse_lines(raw, label: str, *, limit: int = 200, item_chars: int = 100, lower: bool = False) -> list[str]:
    """One entry per line (blank lines and duplicates dropped)."""
    items: list[str] = []
    for line in str(raw or "").splitlines():
        item = line.strip().lower() if lower else line.strip()
        if not item or item in items:
            continue
        if len(item) > item_chars:
            raise FormError(f"{label}: “{item[:30]}…” is too long (at most {item_chars} characters).")
        items.append(item)
    if len(items) > limit:
        raise FormError(f"{label}: at most {limit} entries.")
    return items


def parse_voice_hotkey(raw, label: str) -> str:
    """Push-to-talk keys follow the voice area's chord syntax (modifier-only chords allowed)."""
    try:
        from assistant.voice.hotkeys import HotkeyError, parse_hotkey as parse_chord
    except ImportError:
        return parse_hotkey(raw, label)
    text = str(raw or "").strip()
    if not text:
        raise FormError(f"{label}: enter a key combination such as <ctrl>+<alt>+space.")
    if len(text) > 100:
        raise FormError(f"{label}: too long.")
    try:
        parse_chord(text)
    except HotkeyError as exc:
        raise FormError(f"{label}: {exc}. Write keys joined by +, e.g. <ctrl>+<alt>+space.") from None
    return text


def parse_voice(form) -> dict:
    voice = {
        "dictate_hotkey": parse_voice_hotkey(form.get("dictate_hotkey"), "Dictation key"),
        "command_hotkey": parse_voice_hotkey(form.get("command_hotkey"), "Command key"),
        "device": _text(form, "device", 300),
        "model_path": _text(form, "model_path", 1000),
        "language": _text(form, "language", 10) or "en",
        "vocabulary": parse_lines(form.get("vocabulary"), "Words to recognise", limit=200, item_chars=60),
        "remove_fillers": form.get("remove_fillers") in ("on", "true", "yes", "1"),
    }
    if voice["dictate_hotkey"] == voice["command_hotkey"]:
        raise FormError("The dictation key and the command key must differ.")
    if not re.match(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$|^auto$", voice["language"]):
        raise FormError("Language: a code such as en, de or fr (or auto).")
    choice = _text(form, "model", 20) or "tiny.en"
    if choice not in ("tiny.en", "base", "folder"):
        raise FormError("Whisper model: choose tiny.en, base or a model folder.")
    if voice["model_path"]:  # a folder given wins, as model_path does in the settings file
        from pathlib import Path

        path = Path(voice["model_path"]).expanduser()
        if not path.is_dir() or not (path / "model.bin").exists():
            raise FormError(f"Whisper model: {path} is not a CTranslate2 Whisper model folder "
                            f"(it needs model.bin). Leave it empty for a built-in model (tiny.en or base).")
        voice["model"], voice["model_path"] = str(path), ""
    elif choice == "folder":
        raise FormError("Whisper model folder: enter the folder of a CTranslate2 Whisper model.")
    else:
        voice["model"] = choice
        if choice == "tiny.en" and voice["language"] not in ("en", "auto") and not voice["language"].startswith("en-"):
            raise FormError(f"Language: tiny.en knows English only; choose the base model for "
                            f"{voice['language']} (or language auto).")
    return {"voice": voice}

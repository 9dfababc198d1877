"""Normalised input events and key chords. Pure: no OS imports.

The listener adapter turns pynput's key objects into :class:`KeyEvent` (the text the app
shows for the key, or a special key's name, plus the modifiers held) so that the trigger
engine and its tests never touch a real keyboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODIFIER_KEYS = frozenset({
    "shift", "shift_r", "ctrl", "ctrl_r", "alt", "alt_r", "alt_gr", "cmd", "cmd_r",
    "caps_lock", "num_lock", "scroll_lock",
})
_MODIFIER_ALIASES = {
    "control": "ctrl", "ctl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl",
    "alt_l": "alt", "alt_r": "alt", "meta": "alt", "option": "alt",
    "shift_l": "shift", "shift_r": "shift",
    "super": "super", "cmd": "super", "cmd_l": "super", "cmd_r": "super", "win": "super",
    "super_l": "super", "super_r": "super",
}
CHORD_MODIFIERS = ("ctrl", "alt", "super", "shift")
_KEY_ALIASES = {
    "return": "enter", "escape": "esc", "ins": "insert", "del": "delete",
    "pgup": "page_up", "prior": "page_up", "pgdn": "page_down", "next": "page_down",
    "spacebar": "space", "kp_enter": "enter",
}


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """One key press as the focused app sees it.

    ``char``: the text the key types ("a", "A", "é", " ", "\\n"), None for non-text keys;
    ``key``: the name of a non-text key ("backspace", "left", "esc", "tab", "insert", "shift" ...);
    ``dead``: a dead key's spacing accent ("´", "`", "^", "~", "¨") - it types nothing by itself.
    """

    char: str | None = None
    key: str | None = None
    dead: str | None = None
    ctrl: bool = False
    alt: bool = False
    super: bool = False
    shift: bool = False
    injected: bool = False
    window_class: str | None = None
    at: float = field(default=0.0, compare=False)   # monotonic time it reached the key source

    @property
    def is_modifier(self) -> bool:
        return self.key in MODIFIER_KEYS

    @property
    def chorded(self) -> bool:
        """Ctrl, Alt or Super held: the key is a command to the app, not text."""
        return self.ctrl or self.alt or self.super


@dataclass(frozen=True, slots=True)
class Click:
    """A mouse button press anywhere: the caret may have moved."""


@dataclass(frozen=True, slots=True)
class FocusChange:
    window_id: int | None
    window_class: str | None


class ChordError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Chord:
    """Modifiers plus one key, e.g. ctrl+shift+v. ``key`` is a lower-case character or name."""

    modifiers: frozenset
    key: str

    def matches(self, event: KeyEvent) -> bool:
        held = {m for m in CHORD_MODIFIERS if getattr(event, m)}
        if held != set(self.modifiers):
            return False
        name = event_key_name(event)
        return name == self.key

    def __str__(self) -> str:
        mods = [m for m in CHORD_MODIFIERS if m in self.modifiers]
        return "+".join(mods + [self.key])


def event_key_name(event: KeyEvent) -> str | None:
    """The lower-case name a chord uses for this key ("v", "insert", "enter", "space")."""
    if event.key is not None:
        return event.key
    if event.char is None:
        return None
    if event.char == " ":
        return "space"
    if event.char == "\n":
        return "enter"
    return event.char.lower()


def parse_chord(text: str) -> Chord:
    """``"<ctrl>+<alt>+p"`` (pynput style) or ``"ctrl+shift+v"`` (xdotool style) -> Chord."""
    if not isinstance(text, str) or not text.strip():
        raise ChordError("empty key chord")
    raw = text.strip()
    parts = raw.split("+")
    if raw.endswith("++"):
        parts = parts[:-2] + ["+"]
    names = []
    for part in parts:
        name = part.strip()
        if not name:
            raise ChordError(f"malformed key chord {text!r}: empty key between '+'")
        if name.startswith("<") and name.endswith(">") and len(name) > 2:
            name = name[1:-1]
        names.append(name if len(name) == 1 else name.lower())
    modifiers, keys = set(), []
    for name in names:
        mod = _MODIFIER_ALIASES.get(name.lower(), name.lower())
        if mod in CHORD_MODIFIERS:
            modifiers.add(mod)
        else:
            keys.append(_KEY_ALIASES.get(name.lower(), name.lower()) if len(name) > 1 else name.lower())
    if len(keys) != 1:
        raise ChordError(f"key chord {text!r} needs exactly one non-modifier key")
    return Chord(frozenset(modifiers), keys[0])


def xdotool_chord(chord: Chord) -> str:
    """The chord in xdotool's key syntax ("ctrl+shift+v", "shift+Insert")."""
    names = {"insert": "Insert", "enter": "Return", "esc": "Escape", "space": "space",
             "backspace": "BackSpace", "delete": "Delete", "tab": "Tab"}
    mods = [m for m in CHORD_MODIFIERS if m in chord.modifiers]
    return "+".join(mods + [names.get(chord.key, chord.key)])

"""Hotkey chords for push-to-talk: parse ``"<ctrl>+<alt>+space"`` and follow key events. Pure.

Keys are canonical lower-case names: modifiers without side (``ctrl``, ``alt``, ``shift``,
``cmd``), named keys as pynput spells them (``space``, ``f9``, ``enter``), printable keys as
their character (``c``). The listener adapter turns pynput keys into these names.
"""

from __future__ import annotations

from dataclasses import dataclass

_ALIASES = {
    "control": "ctrl", "control_l": "ctrl", "control_r": "ctrl", "ctl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl",
    "alt_l": "alt", "alt_r": "alt", "alt_gr": "alt", "option": "alt", "meta": "alt",
    "shift_l": "shift", "shift_r": "shift",
    "super": "cmd", "win": "cmd", "windows": "cmd", "cmd_l": "cmd", "cmd_r": "cmd",
    "super_l": "cmd", "super_r": "cmd",
    "return": "enter", "esc": "escape", "spacebar": "space", " ": "space",
}
MODIFIERS = frozenset({"ctrl", "alt", "shift", "cmd"})


class HotkeyError(ValueError):
    pass


def canonical_key(name: str) -> str:
    key = name.strip().lower()
    if key.startswith("<") and key.endswith(">") and len(key) > 2:
        key = key[1:-1]
    return _ALIASES.get(key, key)


@dataclass(frozen=True)
class Chord:
    keys: frozenset[str]
    text: str

    @property
    def trigger_keys(self) -> frozenset[str]:
        """Non-modifier keys (a chord of modifiers only uses all its keys)."""
        plain = self.keys - MODIFIERS
        return plain or self.keys


def parse_hotkey(text: str) -> Chord:
    """``"<ctrl>+<alt>+space"`` -> Chord; a clear error for anything malformed."""
    if not isinstance(text, str) or not text.strip():
        raise HotkeyError("empty hotkey")
    raw = text.strip()
    parts = raw.split("+")
    # "<ctrl>++" means ctrl and the plus key
    if raw.endswith("++"):
        parts = parts[:-2] + ["+"]
    keys = []
    for part in parts:
        if not part.strip():
            raise HotkeyError(f"malformed hotkey {text!r}: empty key between '+'")
        keys.append(canonical_key(part))
    if len(set(keys)) != len(keys):
        raise HotkeyError(f"malformed hotkey {text!r}: a key appears twice")
    if all(k in MODIFIERS for k in keys) and len(keys) < 2:
        raise HotkeyError(f"hotkey {text!r} is a single modifier; add a key")
    return Chord(frozenset(keys), raw)


class ChordTracker:
    """Turns key down/up events into press/release of named chords.

    ``key_down`` returns the modes whose chord is (still) fully held after a trigger key went
    down - repeats included, the push-to-talk machine sorts those out. ``key_up`` returns the
    modes whose chord was held and is broken by this key going up.
    """

    def __init__(self, chords: dict[str, Chord]) -> None:
        self.chords = dict(chords)
        self._down: set[str] = set()
        self._active: set[str] = set()

    def key_down(self, key: str) -> list[str]:
        key = canonical_key(key)
        self._down.add(key)
        pressed = []
        for mode, chord in self.chords.items():
            if key in chord.trigger_keys and chord.keys <= self._down:
                # the most specific chord wins: ctrl+alt+shift+c over ctrl+alt+c
                if any(other.keys > chord.keys and other.keys <= self._down
                       for other in self.chords.values()):
                    continue
                self._active.add(mode)
                pressed.append(mode)
        return pressed

    def key_up(self, key: str) -> list[str]:
        key = canonical_key(key)
        self._down.discard(key)
        released = []
        for mode in sorted(self._active):
            if key in self.chords[mode].keys:
                self._active.discard(mode)
                released.append(mode)
        return released

    def reset(self) -> None:
        self._down.clear()
        self._active.clear()

"""IBus key events -> :class:`assistant.hooks.keys.KeyEvent`. Pure: no IBus import.

The engine hands over what IBus already worked out for a key (its keyval's name and the
character it types, the layout applied) plus the modifier state; this module names it the
way the trigger engine does. The masks are IBus's (``IBusModifierType``), fixed by its ABI.
"""

from __future__ import annotations

from assistant.hooks.keys import KeyEvent

SHIFT_MASK = 1 << 0
LOCK_MASK = 1 << 1
CONTROL_MASK = 1 << 2
MOD1_MASK = 1 << 3            # Alt
MOD4_MASK = 1 << 6            # Super on most layouts
FORWARD_MASK = 1 << 25        # a key an engine forwarded (ours): never a user's key
SUPER_MASK = 1 << 26
META_MASK = 1 << 28
RELEASE_MASK = 1 << 30

# keyval names (IBus/X keysym names) -> the trigger engine's key names
_NAMES = {
    "BackSpace": "backspace", "Escape": "esc", "Tab": "tab", "ISO_Left_Tab": "tab",
    "Delete": "delete", "KP_Delete": "delete", "Insert": "insert", "KP_Insert": "insert",
    "Left": "left", "Right": "right", "Up": "up", "Down": "down",
    "KP_Left": "left", "KP_Right": "right", "KP_Up": "up", "KP_Down": "down",
    "Home": "home", "End": "end", "KP_Home": "home", "KP_End": "end",
    "Page_Up": "page_up", "Page_Down": "page_down", "Prior": "page_up", "Next": "page_down",
    "KP_Prior": "page_up", "KP_Next": "page_down", "Menu": "menu",
    "Shift_L": "shift", "Shift_R": "shift_r", "Control_L": "ctrl", "Control_R": "ctrl_r",
    "Alt_L": "alt", "Alt_R": "alt_r", "ISO_Level3_Shift": "alt_gr", "Meta_L": "alt",
    "Meta_R": "alt_r", "Super_L": "cmd", "Super_R": "cmd_r", "Caps_Lock": "caps_lock",
    "Num_Lock": "num_lock", "Scroll_Lock": "scroll_lock",
}
# dead keys -> the spacing accent they stand for (what the trigger engine composes with)
DEAD_ACCENTS = {
    "dead_acute": "´", "dead_grave": "`", "dead_circumflex": "^", "dead_tilde": "~",
    "dead_diaeresis": "¨", "dead_cedilla": "¸", "dead_abovering": "˚", "dead_caron": "ˇ",
    "dead_macron": "¯", "dead_breve": "˘", "dead_doubleacute": "˝", "dead_ogonek": "˛",
}


def is_release(state: int) -> bool:
    return bool(state & RELEASE_MASK)


def is_forwarded(state: int) -> bool:
    return bool(state & FORWARD_MASK)


def key_event(name: str | None, char: str, state: int, at: float = 0.0) -> KeyEvent | None:
    """One key press: ``name`` is the keyval's name ("a", "BackSpace", "dead_acute"),
    ``char`` what it types ("" for none), ``at`` when it reached the engine. None for a
    keyval that means nothing here."""
    ctrl = bool(state & CONTROL_MASK)
    alt = bool(state & (MOD1_MASK | META_MASK))
    sup = bool(state & (MOD4_MASK | SUPER_MASK))
    shift = bool(state & SHIFT_MASK)
    mods = {"ctrl": ctrl, "alt": alt, "super": sup, "shift": shift, "at": at}
    if name in DEAD_ACCENTS:
        return KeyEvent(dead=DEAD_ACCENTS[name], **mods)
    if name in ("Return", "KP_Enter", "ISO_Enter"):
        return KeyEvent(char="\n", **mods)
    mapped = _NAMES.get(name or "")
    if mapped is not None:
        return KeyEvent(key=mapped, **mods)
    if name and name.startswith("F") and name[1:].isdigit():
        return KeyEvent(key=name.lower(), **mods)
    if char and (char == " " or char.isprintable()):
        return KeyEvent(char=char, **mods)
    if not name or name == "VoidSymbol":
        return None
    return KeyEvent(key=name.lower(), **mods)

"""Thin python-xlib helpers for injection: server time, held keys, the focused window's class,
and XTEST key taps.

Every function here talks to the X server; nothing is decided here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass

import Xlib.X
import Xlib.XK
import Xlib.Xatom
import Xlib.display
import Xlib.error

log = logging.getLogger("hushtype.injection")


@dataclass(frozen=True)
class WindowInfo:
    id: int | None
    wm_class: str | None    # lower-case class (the second WM_CLASS string), e.g. "xterm"
    wm_instance: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.wm_class, self.wm_instance) if n)


class X11:
    """One X connection, used from one thread at a time (calls are serialised by a lock)."""

    def __init__(self, display_name: str | None = None):
        self.display = Xlib.display.Display(display_name)
        self._lock = threading.RLock()
        self._root = self.display.screen().root
        self._clock_window = self._root.create_window(-10, -10, 1, 1, 0, Xlib.X.CopyFromParent,
                                                      event_mask=Xlib.X.PropertyChangeMask)
        self._clock_atom = self.display.intern_atom("_HUSHTYPE_CLOCK")
        self._active_atom = self.display.intern_atom("_NET_ACTIVE_WINDOW")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.display.close()

    # ------------------------------------------------------------------ time
    def server_time(self) -> int:
        """The X server's clock now (ms), the same clock key events are stamped with."""
        with self._lock:
            self._clock_window.change_property(self._clock_atom, Xlib.Xatom.STRING, 8, b"")
            self.display.flush()
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                event = self.display.next_event()
                if event.type == Xlib.X.PropertyNotify and event.window == self._clock_window:
                    return int(event.time)
                if event.type == Xlib.X.MappingNotify:
                    self.display.refresh_keyboard_mapping(event)
            raise TimeoutError("the X server did not answer")

    # ------------------------------------------------------------------ held keys
    def keys_down(self) -> bool:
        """Whether any key is held (the user's Backspace or a modifier still going down)."""
        with self._lock:
            keymap = self.display.query_keymap()
        return any(keymap)

    def wait_keys_released(self, timeout: float = 3.0) -> bool:
        """Wait until the user let go of every key (Shift/Ctrl/Alt/Super would mix with ours,
        and a key still down would swallow our own press of it)."""
        deadline = time.monotonic() + timeout
        while self.keys_down():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # ------------------------------------------------------------------ synthetic keys
    def tap(self, keysym_name: str, count: int = 1) -> None:
        """Press and release one key ``count`` times through XTEST, in one batch, and wait
        until the server has taken them (no process to start: Backspaces cost microseconds)."""
        from Xlib.ext import xtest

        code = self.display.keysym_to_keycode(Xlib.XK.string_to_keysym(keysym_name))
        if not code:
            raise RuntimeError(f"no key for {keysym_name} in the keyboard map")
        with self._lock:
            for _ in range(count):
                xtest.fake_input(self.display, Xlib.X.KeyPress, code)
                xtest.fake_input(self.display, Xlib.X.KeyRelease, code)
            self.display.sync()

    # ------------------------------------------------------------------ windows
    def active_window(self) -> WindowInfo:
        with self._lock:
            try:
                window = None
                prop = self._root.get_full_property(self._active_atom, Xlib.X.AnyPropertyType)
                if prop is not None and prop.value and prop.value[0]:
                    window = self.display.create_resource_object("window", int(prop.value[0]))
                if window is None:
                    focus = self.display.get_input_focus().focus
                    if isinstance(focus, int) or focus is None:   # PointerRoot / None
                        return WindowInfo(None, None)
                    window = focus
                return self._class_of(window)
            except Xlib.error.XError:
                return WindowInfo(None, None)

    def _class_of(self, window) -> WindowInfo:
        start = window.id
        for _ in range(20):
            wm_class = window.get_wm_class()
            if wm_class:
                instance, klass = wm_class
                return WindowInfo(window.id, (klass or "").lower() or None, (instance or "").lower() or None)
            tree = window.query_tree()
            if not tree.parent or tree.parent.id == tree.root.id:
                break
            window = tree.parent
        return WindowInfo(start, None)


def char_keysym(char: str) -> int:
    """The X keysym of a character (Latin-1 keysyms are the code point, others 0x01000000+)."""
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x01000000 | code


class SpareKeyTyper:
    """Types characters the keyboard layout lacks through XTEST on spare keycodes.

    xdotool maps such a character onto a spare key, presses it and maps the key back at once;
    an app that reads the key map late (Tk does) then sees a key with no symbol and the
    character is lost. Here a spare key keeps its character until it is needed for another
    one (least recently used first), and all are cleared on close.
    """

    def __init__(self, x11: X11):
        self.x11 = x11
        d = x11.display
        first = d.display.info.min_keycode
        count = d.display.info.max_keycode - first + 1
        mapping = d.get_keyboard_mapping(first, count)
        self.spare = [first + i for i, syms in enumerate(mapping) if not any(syms)][-24:]
        self._assigned: dict[int, int] = {}     # keysym -> keycode, in use order

    @property
    def available(self) -> bool:
        return bool(self.spare)

    def layout_has(self, char: str) -> bool:
        with self.x11._lock:
            return bool(self.x11.display.keysym_to_keycode(char_keysym(char)))

    def type(self, text: str, delay_s: float = 0.0) -> None:
        from Xlib.ext import xtest

        d = self.x11.display
        with self.x11._lock:
            for char in text:
                keysym = char_keysym(char)
                code = self._assigned.pop(keysym, None)
                if code is None:
                    used = set(self._assigned.values())
                    free = [c for c in self.spare if c not in used]
                    if free:
                        code = free[0]
                    else:                              # reuse the least recently used key
                        oldest = next(iter(self._assigned))
                        code = self._assigned.pop(oldest)
                    d.change_keyboard_mapping(code, [(keysym, keysym)])
                    d.sync()
                self._assigned[keysym] = code
                xtest.fake_input(d, Xlib.X.KeyPress, code)
                xtest.fake_input(d, Xlib.X.KeyRelease, code)
                d.sync()
                if delay_s:
                    time.sleep(delay_s)

    def clear(self) -> None:
        with self.x11._lock, contextlib.suppress(Exception):
            for code in self._assigned.values():
                self.x11.display.change_keyboard_mapping(code, [(0, 0)])
            self.x11.display.sync()
        self._assigned.clear()

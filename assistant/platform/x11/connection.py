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

    @property
    def app_class(self) -> str | None:      # the platform layer's AppInfo name for it
        return self.wm_class


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

    A spare key (no symbol at all) is given the character, pressed, and - once the app had
    time to read it - put back exactly as it was by :meth:`restore`. The injector calls
    :meth:`restore` at the end of every injection (also when it failed), so the user's key
    map is ours only while we type. It cannot be put back at once after the press as xdotool
    does: an app that reads the key map late (Tk does) would then see a key with no symbol
    and lose the character. A key is checked to be still empty right before it is used
    (another client may have mapped it since), and the modifier map is never touched.
    """

    def __init__(self, x11: X11):
        self.x11 = x11
        d = x11.display
        first = d.display.info.min_keycode
        count = d.display.info.max_keycode - first + 1
        mapping = d.get_keyboard_mapping(first, count)
        self.spare = [first + i for i, syms in enumerate(mapping) if not any(syms)][-24:]
        self._assigned: dict[int, int] = {}     # keysym -> keycode, in use order
        self._original: dict[int, list[int]] = {}   # keycode -> its keysyms before we used it

    @property
    def available(self) -> bool:
        return bool(self.spare)

    @property
    def remapped(self) -> bool:
        """Whether some key still carries one of our characters."""
        return bool(self._original)

    def layout_has(self, char: str) -> bool:
        with self.x11._lock:
            return bool(self.x11.display.keysym_to_keycode(char_keysym(char)))

    def _take_key(self, keysym: int) -> int:
        """A spare key for ``keysym``: a free one that is still empty, else the least recently
        used of ours."""
        d = self.x11.display
        used = set(self._assigned.values())
        for code in self.spare:
            if code in used:
                continue
            if code in self._original:           # ours already (restore() not yet run)
                return code
            current = list(d.get_keyboard_mapping(code, 1)[0])
            if any(current):                     # someone else mapped it meanwhile
                continue
            self._original[code] = current
            return code
        if not self._assigned:
            raise RuntimeError("no spare key left in the keyboard map")
        oldest = next(iter(self._assigned))
        return self._assigned.pop(oldest)

    def type(self, text: str, delay_s: float = 0.0) -> None:
        from Xlib.ext import xtest

        d = self.x11.display
        with self.x11._lock:
            for char in text:
                keysym = char_keysym(char)
                code = self._assigned.pop(keysym, None)
                if code is None:
                    code = self._take_key(keysym)
                    d.change_keyboard_mapping(code, [(keysym, keysym)])
                    d.sync()
                self._assigned[keysym] = code
                xtest.fake_input(d, Xlib.X.KeyPress, code)
                xtest.fake_input(d, Xlib.X.KeyRelease, code)
                d.sync()
                if delay_s:
                    time.sleep(delay_s)

    def restore(self) -> None:
        """Put every key we used back as it was (their symbols before; the modifier map was
        never changed). Safe to call any time, also twice."""
        with self.x11._lock:
            originals, self._original = self._original, {}
            self._assigned.clear()
            if not originals:
                return
            d = self.x11.display
            width = max(len(syms) for syms in originals.values())
            for code, syms in originals.items():
                try:
                    d.change_keyboard_mapping(code, [tuple(syms) + (0,) * (width - len(syms))])
                except Exception as exc:                    # the connection is gone
                    log.debug("could not restore keycode %s: %s", code, exc)
            with contextlib.suppress(Exception):
                d.sync()

    clear = restore

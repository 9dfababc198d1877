"""Thin python-xlib helpers for injection: server time, held modifiers, the focused window's
class, and blocking the physical keyboards while we type.

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
from Xlib.ext import xinput

log = logging.getLogger("hushtype.injection")

_MODIFIER_KEYSYMS = ("Shift_L", "Shift_R", "Control_L", "Control_R", "Alt_L", "Alt_R",
                     "Meta_L", "Meta_R", "Super_L", "Super_R", "Hyper_L", "Hyper_R")


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
        self._modifier_codes = {
            code for name in _MODIFIER_KEYSYMS
            for code, _ in self.display.keysym_to_keycodes(Xlib.XK.string_to_keysym(name))
        }
        self._has_xi2 = bool(self.display.has_extension("XInputExtension"))

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
            raise TimeoutError("the X server did not answer")

    # ------------------------------------------------------------------ modifiers
    def keys_down(self) -> bool:
        """Whether any key is held (the user's Backspace or a modifier still going down)."""
        with self._lock:
            keymap = self.display.query_keymap()
        return any(keymap)

    def modifiers_down(self) -> bool:
        with self._lock:
            keymap = self.display.query_keymap()
        return any(keymap[code // 8] & (1 << (code % 8)) for code in self._modifier_codes)

    def wait_keys_released(self, timeout: float = 3.0) -> bool:
        """Wait until the user let go of every key (Shift/Ctrl/Alt/Super would mix with ours,
        and a key still down would swallow our own press of it)."""
        deadline = time.monotonic() + timeout
        while self.keys_down():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    wait_modifiers_released = wait_keys_released

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

    # ------------------------------------------------------------------ blocking the keyboard
    def physical_keyboards(self) -> list[int]:
        """Slave keyboards except XTEST ones (whose events are ours and the tests')."""
        if not self._has_xi2:
            return []
        with self._lock:
            info = self.display.xinput_query_device(xinput.AllDevices)
        return [d.deviceid for d in info.devices
                if d.use == xinput.SlaveKeyboard and "XTEST" not in d.name and d.enabled]

    @contextlib.contextmanager
    def keyboards_blocked(self):
        """Grab the physical keyboards so the user's keys do not land inside our injection.

        XTEST input (xdotool) is not grabbed, so our own keys still reach the app. A grab ends
        by itself if this process dies: the keyboard can never be left blocked.
        """
        grabbed: list[int] = []
        try:
            with self._lock:
                for device in self.physical_keyboards():
                    try:
                        reply = self._root.xinput_grab_device(
                            device, Xlib.X.CurrentTime, xinput.GrabModeAsync, xinput.GrabModeAsync,
                            True, xinput.KeyPressMask | xinput.KeyReleaseMask)
                        if reply.status == Xlib.X.GrabSuccess:
                            grabbed.append(device)
                    except Xlib.error.XError as exc:
                        log.debug("could not block keyboard %s: %s", device, exc)
                self.display.flush()
            yield grabbed
        finally:
            with self._lock:
                for device in grabbed:
                    with contextlib.suppress(Exception):
                        self.display.xinput_ungrab_device(device, Xlib.X.CurrentTime)
                with contextlib.suppress(Exception):
                    self.display.flush()

"""Keep the push-to-talk hotkeys away from the focused app (X11 passive key grabs).

pynput only listens (X RECORD): without a grab, the app under the cursor also receives
Ctrl+Alt+Space and may type a space or run its own shortcut. A passive grab on the root
window (XGrabKey) makes the X server deliver the chord to us instead; the RECORD-based
listener still sees every press and release. When another program already grabs the chord
(BadAccess), it is left alone and a warning is logged.

While a grabbed key is held the keyboard is ours; ``release_keyboard()`` gives it back
early (a recording that hit its length cap while the key is still down, so that its text can
be typed into the app).
"""

from __future__ import annotations

import logging
import threading

from assistant.voice.hotkeys import MODIFIERS, Chord

log = logging.getLogger("hushtype.voice")

_KEYSYM_NAMES = {
    "enter": "Return", "escape": "Escape", "backspace": "BackSpace", "tab": "Tab",
    "page_up": "Prior", "page_down": "Next", "caps_lock": "Caps_Lock", "delete": "Delete",
    "insert": "Insert", "home": "Home", "end": "End", "up": "Up", "down": "Down",
    "left": "Left", "right": "Right", "menu": "Menu", "pause": "Pause",
    "print_screen": "Print", "scroll_lock": "Scroll_Lock", "num_lock": "Num_Lock",
}


def keysym_name(key: str) -> str:
    if key in _KEYSYM_NAMES:
        return _KEYSYM_NAMES[key]
    if len(key) > 1 and key[0] == "f" and key[1:].isdigit():
        return key.upper()
    return key


class KeyGrabber:
    def __init__(self, display_name: str | None = None) -> None:
        from Xlib import X, XK, display, error

        self._X, self._XK, self._error = X, XK, error
        self.display = display.Display(display_name)
        self.root = self.display.screen().root
        self._grabs: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="voice-keygrab", daemon=True)
        self._thread.start()

    def _modifier_masks(self) -> dict[str, int]:
        X, XK = self._X, self._XK
        masks = {"ctrl": X.ControlMask, "shift": X.ShiftMask}
        mapping = self.display.get_modifier_mapping()
        mod_bits = [X.ShiftMask, X.LockMask, X.ControlMask, X.Mod1Mask, X.Mod2Mask,
                    X.Mod3Mask, X.Mod4Mask, X.Mod5Mask]
        wanted = {"alt": ("Alt_L", "Alt_R", "Meta_L"), "cmd": ("Super_L", "Super_R"),
                  "num_lock": ("Num_Lock",)}
        for name, syms in wanted.items():
            codes = {self.display.keysym_to_keycode(XK.string_to_keysym(s)) for s in syms} - {0}
            for bit, keycodes in zip(mod_bits, mapping):
                if codes & set(keycodes):
                    masks[name] = bit
                    break
        masks.setdefault("alt", X.Mod1Mask)
        masks.setdefault("cmd", X.Mod4Mask)
        return masks

    def grab(self, chords: dict[str, Chord]) -> list[str]:
        """Grab every chord; returns the modes that could not be grabbed."""
        X = self._X
        failed = []
        with self._lock:
            masks = self._modifier_masks()
            ignored = [0, X.LockMask, masks.get("num_lock", X.Mod2Mask),
                       X.LockMask | masks.get("num_lock", X.Mod2Mask)]
            for mode, chord in chords.items():
                triggers = chord.keys - MODIFIERS
                if len(triggers) != 1:
                    continue  # modifier-only chords type nothing: no grab needed
                trigger = next(iter(triggers))
                keysym = self._XK.string_to_keysym(keysym_name(trigger))
                keycode = self.display.keysym_to_keycode(keysym) if keysym else 0
                if not keycode:
                    failed.append(mode)
                    continue
                modifiers = 0
                for key in chord.keys & MODIFIERS:
                    modifiers |= masks[key]
                errors: list = []
                for extra in ignored:
                    self.root.grab_key(keycode, modifiers | extra, True, X.GrabModeAsync,
                                       X.GrabModeAsync, onerror=errors.append)
                    self._grabs.append((keycode, modifiers | extra))
                self.display.sync()
                if errors:
                    failed.append(mode)
                    log.warning("another program already uses %s; the app under the cursor will "
                                "see it too", chord.text)
        return failed

    def release_keyboard(self) -> None:
        with self._lock:
            self.display.ungrab_keyboard(self._X.CurrentTime)
            self.display.sync()

    def _drain(self) -> None:
        """Read (and drop) the grabbed key events so our connection never backs up."""
        while not self._stop.is_set():
            try:
                with self._lock:
                    while self.display.pending_events():
                        self.display.next_event()
            except Exception:
                return
            self._stop.wait(0.1)

    def ungrab_all(self) -> None:
        with self._lock:
            try:
                for keycode, modifiers in self._grabs:
                    self.root.ungrab_key(keycode, modifiers)
                self.display.sync()
            except Exception:
                pass
            self._grabs.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.ungrab_all()
        with self._lock:
            self.display.close()

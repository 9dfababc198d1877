"""Voice hotkeys through the engine (the ``Hotkeys`` protocol): while a text field has the
focus, the chord's press and release reach the engine, which claims them (the app never sees
them) and calls ``on_down``/``on_up`` from a thread of its own (never the GLib thread)."""

from __future__ import annotations

import logging
import queue
import threading

from assistant.hooks.keys import ChordError, parse_chord
from assistant.platform.ibus import keyvals

log = logging.getLogger("hushtype.ibus")
_CHORD_MASK = (keyvals.CONTROL_MASK | keyvals.MOD1_MASK | keyvals.MOD4_MASK | keyvals.SUPER_MASK
               | keyvals.META_MASK)


class IBusHotkeys:
    def __init__(self, session):
        self.session = session
        self._chords: dict = {}
        self._down: dict[int, str] = {}          # keycode held -> chord name
        self._needs_modifier = True
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.on_down = self.on_up = None

    def start(self, chords: dict[str, str], on_down, on_up) -> list[str]:
        bound = {}
        for name, text in chords.items():
            try:
                bound[name] = parse_chord(text)
            except ChordError as exc:
                log.warning("hotkey %s: %s", name, exc)
        self._chords, self.on_down, self.on_up = bound, on_down, on_up
        self._needs_modifier = all(c.modifiers - {"shift"} for c in bound.values())
        if self._thread is None:
            self._thread = threading.Thread(target=self._dispatch, name="hushtype-ibus-hotkeys",
                                            daemon=True)
            self._thread.start()
        self.session.hotkeys = self
        return list(bound)

    def stop(self) -> None:
        if self.session.hotkeys is self:
            self.session.hotkeys = None
        self._chords = {}
        if self._thread is not None:
            self._calls.put(None)
            self._thread.join(timeout=2)
            self._thread = None

    # GLib thread: decide fast, work elsewhere
    def claims(self, session, keyval: int, keycode: int, state: int) -> bool:
        if state & keyvals.RELEASE_MASK:
            name = self._down.pop(keycode, None)
            if name is None:
                return False
            self._calls.put((self.on_up, name))
            return True
        if keycode in self._down:
            return True                          # auto-repeat of a held chord
        if not self._chords or (self._needs_modifier and not state & _CHORD_MASK):
            return False                         # plain typing: no chord can match
        event = keyvals.key_event(*session.describe(keyval), state)
        if event is None or event.is_modifier:
            return False
        for name, chord in self._chords.items():
            if chord.matches(event):
                self._down[keycode] = name
                self._calls.put((self.on_down, name))
                return True
        return False

    def _dispatch(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            callback, name = call
            if callback is None:
                continue
            try:
                callback(name)
            except Exception:
                log.exception("hotkey %s handler failed", name)

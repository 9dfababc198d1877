"""Global hotkeys on X11 (the platform layer's :class:`Hotkeys`): key events from pynput (the
RECORD extension) through a chord tracker, plus passive grabs (:mod:`.keygrab`) so the focused
app does not also get the chord.

Only canonical key names go to the callbacks - never text, never logged."""

from __future__ import annotations

import logging
from collections.abc import Callable

from assistant.voice.hotkeys import ChordTracker, canonical_key, parse_hotkey

log = logging.getLogger("hushtype.voice")


def key_name(key) -> str | None:
    """pynput Key/KeyCode -> canonical name ("ctrl", "space", "c"); None when unknown."""
    name = getattr(key, "name", None)
    if name:  # pynput.keyboard.Key member
        return canonical_key(name)
    char = getattr(key, "char", None)
    if char:
        if len(char) == 1 and ord(char) < 32:  # ctrl+letter delivered as a control character
            char = chr(ord(char) + 96)
        return canonical_key(char)
    vk = getattr(key, "vk", None)
    return f"vk{vk}" if vk is not None else None


class KeyListener:
    def __init__(self, on_down: Callable[[str], None], on_up: Callable[[str], None]) -> None:
        self._on_down = on_down
        self._on_up = on_up
        self._listener = None

    def start(self) -> None:
        from pynput import keyboard

        def press(key):
            name = key_name(key)
            if name:
                self._on_down(name)

        def release(key):
            name = key_name(key)
            if name:
                self._on_up(name)

        self._listener = keyboard.Listener(on_press=press, on_release=release)
        self._listener.start()
        self._listener.wait()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None


class X11Hotkeys:
    """``start(chords, on_down, on_up)``: ``chords`` maps a name ("dictate") to its hotkey text
    ("<ctrl>+<alt>+space"); ``on_down(name)`` / ``on_up(name)`` when the chord is pressed /
    broken. Listening works everywhere on X11; a chord another program grabs is still heard
    (the app under the cursor then sees it too, and a warning is logged)."""

    def __init__(self, *, listener_factory=KeyListener, grabber_factory=None):
        self._listener_factory = listener_factory
        self._grabber_factory = grabber_factory
        self._listener = None
        self._grabber = None
        self._tracker: ChordTracker | None = None

    def start(self, chords: dict[str, str], on_down: Callable[[str], None],
              on_up: Callable[[str], None]) -> list[str]:
        """Bind ``chords``; called again (new settings) it re-binds in place."""
        parsed = {name: parse_hotkey(text) for name, text in chords.items()}
        self._tracker = ChordTracker(parsed)
        self._on_down, self._on_up = on_down, on_up
        self._grab(parsed)
        if self._listener is None:
            self._listener = self._listener_factory(self._key_down, self._key_up)
            self._listener.start()
        return list(parsed)

    def _key_down(self, key: str) -> None:
        for name in self._tracker.key_down(key):
            self._on_down(name)

    def _key_up(self, key: str) -> None:
        for name in self._tracker.key_up(key):
            self._on_up(name)

    def _grab(self, parsed) -> None:
        try:
            if self._grabber is None:
                if self._grabber_factory is not None:
                    self._grabber = self._grabber_factory()
                else:
                    from assistant.platform.x11.keygrab import KeyGrabber

                    self._grabber = KeyGrabber()
            else:
                self._grabber.ungrab_all()
            self._grabber.grab(parsed)
        except Exception as exc:  # no X connection for grabs: listening still works
            log.warning("push-to-talk keys are not grabbed (%s); apps also see them", exc)
            self._grabber = None

    def release_keyboard(self) -> None:
        """A recording hit its cap while the key is still down: let the text through."""
        if self._grabber is not None:
            self._grabber.release_keyboard()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._grabber is not None:
            self._grabber.close()
            self._grabber = None

"""Global key events for the push-to-talk hotkeys (pynput; X11 via the RECORD extension).

Only canonical key names go to the callbacks - never text, never logged."""

from __future__ import annotations

from collections.abc import Callable

from assistant.voice.hotkeys import canonical_key


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

"""The thin OS adapter: pynput keyboard and mouse listeners on X11 (RECORD extension).

The pynput callbacks run on the X hook thread and only put a tuple on a queue; a worker
thread (the typed-command service) turns them into :class:`KeyEvent` with
:class:`KeyConverter` and feeds the trigger engine. Nothing here logs or stores keys.
"""

from __future__ import annotations

import logging
import queue
import time

from assistant.hooks.keys import KeyEvent

log = logging.getLogger("hushtype.hooks")

_MOD_OF = {
    "shift": "shift", "shift_l": "shift", "shift_r": "shift",
    "ctrl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl",
    "alt": "alt", "alt_l": "alt", "alt_r": "alt",
    "cmd": "super", "cmd_l": "super", "cmd_r": "super",
}
_NAME_FIX = {"ctrl_l": "ctrl", "alt_l": "alt", "shift_l": "shift", "cmd_l": "cmd"}

PRESS, RELEASE, CLICK = 1, 2, 3


class KeyConverter:
    """pynput key objects -> :class:`KeyEvent`, tracking which modifiers are held."""

    def __init__(self):
        self.held: set[str] = set()

    def press(self, key, *, injected: bool = False, window_class: str | None = None) -> KeyEvent | None:
        if key is None:
            return None
        name = getattr(key, "name", None)
        if name is not None:                      # a pynput Key (special key)
            mod = _MOD_OF.get(name)
            if mod:
                self.held.add(mod)
            name = _NAME_FIX.get(name, name)
            char = None
            if name == "space":
                char = " "
            elif name == "enter":
                char = "\n"
            return self._event(char=char, key=None if char else name, injected=injected,
                               window_class=window_class)
        if getattr(key, "is_dead", False):
            return self._event(dead=key.char, injected=injected, window_class=window_class)
        char = getattr(key, "char", None)
        if char is None:
            vk = getattr(key, "vk", None)
            if isinstance(vk, int) and 0x01000100 <= vk <= 0x0110FFFF:   # X11 Unicode keysym
                return self._event(char=chr(vk - 0x01000000), injected=injected,
                                   window_class=window_class)
            return self._event(key=f"vk{vk}", injected=injected, window_class=window_class)
        return self._event(char=char, injected=injected, window_class=window_class)

    def release(self, key) -> None:
        mod = _MOD_OF.get(getattr(key, "name", None) or "")
        if mod:
            self.held.discard(mod)

    def reset(self) -> None:
        self.held.clear()

    def _event(self, **kw) -> KeyEvent:
        held = self.held
        return KeyEvent(ctrl="ctrl" in held, alt="alt" in held, super="super" in held,
                        shift="shift" in held, **kw)


def _timed_listener_class():
    """pynput's X11 keyboard listener, remembering each event's X server time and following
    keymap changes (xdotool and layout switches remap keycodes)."""
    import Xlib.X
    from pynput import keyboard

    class TimedListener(keyboard.Listener):
        event_time: int | None = None

        def _handle_message(self, display, event, injected):
            self.event_time = getattr(event, "time", None)
            self._follow_keymap(display)
            super()._handle_message(display, event, injected)

        @staticmethod
        def _follow_keymap(display):
            # Every client is sent MappingNotify when the keymap changes (layout switch,
            # xdotool typing a character the layout lacks); pynput never reads them, so its
            # key -> character table goes stale. Read them here, before translating the key.
            try:
                while display.pending_events():
                    ev = display.next_event()
                    if ev.type == Xlib.X.MappingNotify:
                        display.refresh_keyboard_mapping(ev)
            except Exception:
                pass

    return TimedListener


class KeyHook:
    """Starts the pynput listeners; every callback is one ``queue.put`` and returns."""

    def __init__(self, out: "queue.SimpleQueue", *, mouse: bool = True):
        self.out = out
        self._put = out.put
        self.with_mouse = mouse
        self._keyboard = None
        self._mouse = None

    # The callbacks: one queue.put each, nothing else (they run on the X hook thread).
    def on_press(self, key, injected=False):
        self._put((PRESS, key, injected, self._keyboard.event_time, time.monotonic()))

    def on_release(self, key, injected=False):
        self._put((RELEASE, key, injected, self._keyboard.event_time, 0.0))

    def on_click(self, x, y, button, pressed, injected=False):
        if pressed:
            self._put((CLICK, None, injected, None, time.monotonic()))

    def start(self) -> "KeyHook":
        from pynput import mouse

        self._keyboard = _timed_listener_class()(on_press=self.on_press, on_release=self.on_release)
        self._keyboard.start()
        self._keyboard.wait()
        if self.with_mouse:
            self._mouse = mouse.Listener(on_click=self.on_click)
            self._mouse.start()
            self._mouse.wait()
        return self

    @property
    def running(self) -> bool:
        return bool(self._keyboard is not None and self._keyboard.running)

    def stop(self) -> None:
        listeners = [l for l in (self._keyboard, self._mouse) if l is not None]
        for listener in listeners:
            try:
                listener.stop()
            except Exception as exc:
                log.debug("listener stop: %s", exc)
        # pynput asks the RECORD connection itself to stop, which is busy streaming events once
        # any arrived; a second connection ends the recording at once.
        try:
            import Xlib.display

            display = Xlib.display.Display()
            try:
                for listener in listeners:
                    context = getattr(listener, "_context", None)
                    if context is not None:
                        display.record_disable_context(context)
                display.sync()
            finally:
                display.close()
        except Exception as exc:
            log.debug("record context stop: %s", exc)
        for listener in listeners:
            listener.join(timeout=2)

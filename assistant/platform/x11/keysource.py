"""The X11 key source (the platform layer's :class:`KeySource`): pynput keyboard and mouse
listeners on X11 (RECORD extension).

The pynput callbacks run on the X hook thread and only put a tuple on a queue; the consumer
(the typed-command service's worker thread) calls :meth:`X11KeySource.decode` on each, which
turns it into :class:`KeyEvent` / :class:`Click` with :class:`KeyConverter` and drops our own
injected keys (the injector's :class:`InjectionGuard`). Nothing here logs or stores keys.
"""

from __future__ import annotations

import logging
import queue
import time

from assistant.hooks.keys import Click, KeyEvent

log = logging.getLogger("hushtype.hooks")

_MOD_OF = {
    "shift": "shift", "shift_l": "shift", "shift_r": "shift",
    "ctrl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl",
    "alt": "alt", "alt_l": "alt", "alt_r": "alt",
    "cmd": "super", "cmd_l": "super", "cmd_r": "super",
}
_NAME_FIX = {"ctrl_l": "ctrl", "alt_l": "alt", "shift_l": "shift", "cmd_l": "cmd"}

PRESS, RELEASE, CLICK = 1, 2, 3

# Keys the injector never sends: inside an injection they are the user's (Esc cancels).
NEVER_INJECTED = frozenset({"esc", "left", "right", "up", "down", "home", "end", "page_up",
                            "page_down", "delete", "f1", "f2", "f3", "f4", "f5", "f6", "f7",
                            "f8", "f9", "f10", "f11", "f12"})


class KeyConverter:
    """pynput key objects -> :class:`KeyEvent`, tracking which modifiers are held."""

    def __init__(self):
        self.held: set[str] = set()

    def press(self, key, *, injected: bool = False, window_class: str | None = None,
              at: float = 0.0) -> KeyEvent | None:
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
                               window_class=window_class, at=at)
        if getattr(key, "is_dead", False):
            return self._event(dead=key.char, injected=injected, window_class=window_class, at=at)
        char = getattr(key, "char", None)
        if char is None:
            vk = getattr(key, "vk", None)
            if isinstance(vk, int) and 0x01000100 <= vk <= 0x0110FFFF:   # X11 Unicode keysym
                return self._event(char=chr(vk - 0x01000000), injected=injected,
                                   window_class=window_class, at=at)
            return self._event(key=f"vk{vk}", injected=injected, window_class=window_class, at=at)
        return self._event(char=char, injected=injected, window_class=window_class, at=at)

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


class X11KeySource:
    """:class:`KeySource` on X11: :class:`KeyHook` puts raw tuples on the queue (the hook
    thread does nothing else); :meth:`decode` turns one into events on the consumer's thread.

    ``guard`` is the injector's :class:`InjectionGuard`: key presses inside one of our own
    injections (by X server time) are ours, except keys the injector never sends."""

    def __init__(self, guard=None, *, mouse: bool = True):
        self.guard = guard
        self.with_mouse = mouse
        self.converter = KeyConverter()
        self.hook: KeyHook | None = None

    def start(self, out: "queue.SimpleQueue") -> None:
        if self.hook is None:
            self.hook = KeyHook(out, mouse=self.with_mouse)
        self.hook.start()

    def decode(self, item) -> list:
        kind, key, injected, server_time, at = item
        if kind == RELEASE:
            self.converter.release(key)
            return []
        if injected:
            return []
        if kind == PRESS and self.guard is not None and self.guard.covers(server_time) \
                and getattr(key, "name", None) not in NEVER_INJECTED:
            return []                       # our own key (or one blocked while we typed)
        if kind == CLICK:
            return [Click()]
        event = self.converter.press(key, injected=injected, at=at)
        return [] if event is None else [event]

    @property
    def running(self) -> bool:
        return self.hook is not None and self.hook.running

    def stop(self) -> None:
        hook, self.hook = self.hook, None      # once: a second RECORD disable is an X error
        if hook is not None:
            hook.stop()

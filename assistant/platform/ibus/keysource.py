"""The IBus key source and focused-field identity (the ``KeySource``/``FocusedApp`` protocols).

The engine's GLib thread puts raw tuples on the queue (see :mod:`.session`); :meth:`decode`
turns them into the trigger engine's events on the consumer's thread. In a password or PIN
field the engine puts no keys at all: only a :class:`SecureField`.
"""

from __future__ import annotations

import queue

from assistant.hooks.keys import Click, FocusChange
from assistant.platform.base import AppInfo, SecureField
from assistant.platform.ibus import keyvals
from assistant.platform.ibus.session import FOCUS, PRESS, RESET, SECURE, IBusSession


def decode_item(item: tuple) -> list:
    """One raw engine item -> the events it means (pure)."""
    kind = item[0]
    if kind == PRESS:
        _, name, char, _keycode, state, at = item
        event = keyvals.key_event(name, char, state, at=at)
        return [event] if event is not None else []
    if kind == FOCUS:
        return [FocusChange(item[1], item[2])]
    if kind == RESET:
        return [Click()]              # the caret moved (a click, or the app moved it)
    if kind == SECURE:
        return [SecureField(secure=bool(item[1]))]
    return []                                   # releases: modifiers come with each press


def item_time(item: tuple) -> float | None:
    """When a key press reached the engine (time.monotonic()), for command timings."""
    return item[5] if item[0] == PRESS else (item[1] if item[0] == RESET else None)


class IBusKeySource:
    def __init__(self, session: IBusSession):
        self.session = session

    def start(self, out: "queue.SimpleQueue") -> None:
        self.session.put = out.put

    decode = staticmethod(decode_item)

    def stop(self) -> None:
        self.session.put = None


class IBusFocus:
    """The focused field: the generation bumps on every focus move; the app class is the
    program IBus names for the client (GTK/Qt), where it tells."""

    def __init__(self, session: IBusSession):
        self.session = session

    def current(self) -> tuple[int, AppInfo]:
        session = self.session
        generation = session.generation
        return generation, AppInfo(id=generation, app_class=session.app_class())

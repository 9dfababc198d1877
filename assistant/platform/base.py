"""The platform layer's interfaces: every OS-facing job behind one small protocol.

Nothing here imports an OS library. A backend (``assistant.platform.x11``,
``assistant.platform.ibus``, ``assistant.platform.wayland`` ...) implements the protocols it
can; :class:`Platform` bundles what one session offers, and
``assistant.platform.select.open_platform`` picks it. The trigger engine, the command
pipeline, the voice service and the settings page talk only to these protocols.

Events put on a key source's queue are the pure types of :mod:`assistant.hooks.keys`
(``KeyEvent``, ``Click``, ``FocusChange``) plus :class:`SecureField`; a backend whose hook
thread must not do work may put raw items instead and convert them in :meth:`KeySource.decode`
(called on the consumer's thread).
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class AppInfo:
    """The focused app as far as the backend can tell; ``app_class`` is lower-case
    ("xterm", "gedit", "org.gnome.texteditor", "firefox"); ``id`` changes when focus moves."""

    id: Any = None
    app_class: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class SecureField:
    """The focused field is a password/PIN field (or the app is denylisted): read nothing."""

    secure: bool = True


@runtime_checkable
class KeySource(Protocol):
    """Typed keys, clicks, focus changes and password-field hints of the focused app."""

    def start(self, out: "queue.SimpleQueue") -> None: ...
    def decode(self, item) -> list: ...          # raw queue item -> list of events (may be [])
    def stop(self) -> None: ...


@runtime_checkable
class StreamSession(Protocol):
    def feed(self, chunk: str) -> None: ...
    def finish(self) -> str: ...                  # returns the text inserted
    def abort(self, restore: bool = True) -> None: ...   # restore=True puts the command back
    @property
    def started(self) -> bool: ...


@runtime_checkable
class TextOutput(Protocol):
    """Writes into the focused app: delete N characters before the caret, insert text."""

    def replace(self, delete_chars: int, text: str) -> None: ...
    def insert(self, text: str) -> None: ...
    def stream(self, delete_chars: int, original: str | None = None) -> StreamSession: ...
    def update_settings(self, settings: dict) -> None: ...
    def close(self) -> None: ...


@runtime_checkable
class Clipboard(Protocol):
    def read_text(self) -> str: ...
    def write_text(self, text: str) -> None: ...


@runtime_checkable
class FocusedApp(Protocol):
    def current(self) -> tuple[int, AppInfo]: ...  # (generation, app): generation bumps on moves


@runtime_checkable
class Hotkeys(Protocol):
    """Global (or focused-field) hotkeys with press and release."""

    def start(self, chords: dict[str, str], on_down: Callable[[str], None],
              on_up: Callable[[str], None]) -> list[str]: ...   # returns names it could bind
    def stop(self) -> None: ...


Notifier = Callable[[str, str], Any]


@dataclass
class Platform:
    """What one desktop session offers. ``None`` means the job is not available there."""

    name: str                                     # "x11" | "ibus" | "wayland" | "none"
    reason: str                                   # why this backend was chosen (doctor prints it)
    keys: KeySource | None = None
    output: TextOutput | None = None
    clipboard: Clipboard | None = None
    focus: FocusedApp | None = None
    hotkeys: Hotkeys | None = None
    notify: Notifier | None = None
    sees: str = ""                                # what this backend can see (Privacy tab)
    closers: list = field(default_factory=list)   # extra cleanup callables, run by close()

    def close(self) -> None:
        for part in (self.keys, self.hotkeys, self.output):
            stop = getattr(part, "stop", None) or getattr(part, "close", None)
            if stop is not None:
                try:
                    stop()
                except Exception:
                    pass
        for closer in self.closers:
            try:
                closer()
            except Exception:
                pass


BACKENDS: Iterable[str] = ("auto", "x11", "ibus", "wayland")

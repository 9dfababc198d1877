"""Text output through the engine (the ``TextOutput`` protocol): delete the command, then
commit the answer into the focused field.

Deleting uses ``delete_surrounding_text`` where the app reports surrounding text (GTK, Qt);
elsewhere (Chromium) forwarded BackSpace key events. Forwarded keys and commits can reach the
app out of order (GTK4, some Qt, as ibus-typing-booster warns), so after forwarded keys the
commit waits ``forward_gap_ms``. Every IBus call runs on the GLib thread, in order.
"""

from __future__ import annotations

import logging
import threading
import time

from assistant.platform.ibus import keyvals
from assistant.platform.stream import ChunkStream

log = logging.getLogger("hushtype.ibus")

BACKSPACE_KEYVAL = 0xFF08
BACKSPACE_KEYCODE = 14          # evdev code: IBus key codes are X key codes minus 8
DEFAULTS = {"forward_gap_ms": 60, "forward_key_gap_ms": 8, "quiet_ms": 300, "settle_ms": 80}


class InjectionError(RuntimeError):
    pass


class IBusOutput:
    guard = None                    # our output never comes back as key events
    on_escape = None                # (keys are not held: Esc reaches the key source itself)

    def __init__(self, session, settings: dict | None = None):
        self.session = session
        self._lock = threading.RLock()
        self.last_method: str | None = None      # "surrounding" | "keys": how the last delete went
        self.update_settings(settings or {})

    def update_settings(self, settings: dict) -> None:
        options = dict(DEFAULTS)
        options.update((settings.get("ibus") if "ibus" in settings else settings) or {})
        self.options = {k: options[k] for k in DEFAULTS}

    # ------------------------------------------------------------------ contract
    def replace(self, delete_chars: int, text: str) -> None:
        if delete_chars < 0:
            raise ValueError("delete_chars must be >= 0")
        with self._lock:
            self._settle()
            self._delete(delete_chars)
            if text:
                self._commit(text)

    def insert(self, text: str) -> None:
        self.replace(0, text)

    def stream(self, delete_chars: int, original: str | None = None) -> "IBusStream":
        return IBusStream(self, delete_chars, original)

    def is_terminal(self, window) -> bool:
        return False                # a commit is text, never an Enter key: streaming is safe

    def close(self) -> None:
        pass

    # ------------------------------------------------------------------ steps (GLib thread)
    def _engine(self):
        engine = self.session.engine
        if engine is None:
            raise InjectionError("no text field has the keyboard focus")
        return engine

    def _settle(self) -> None:
        """A key we just passed on may not be in the app yet (it gets the key back from IBus
        and applies it on its own time); our delete must not overtake it (undo right after
        a Backspace, a command fired by its terminator key)."""
        wait = self.options["settle_ms"] / 1000 - (time.monotonic() - self.session.last_pass_at)
        if wait > 0:
            time.sleep(wait)

    def _quiet(self) -> None:
        self.session.quiet_until = time.monotonic() + self.options["quiet_ms"] / 1000

    def _delete(self, count: int) -> None:
        if count <= 0:
            return

        def run():
            engine = self._engine()
            self._quiet()
            if engine.surrounding_text:
                engine.delete_surrounding_text(-count, count)
                return "surrounding"
            gap = self.options["forward_key_gap_ms"]
            if gap <= 0:
                for _ in range(count):
                    self._forward_backspace(engine)
            return "keys"

        method = self.session.call(run)
        if method == "keys":
            gap = self.options["forward_key_gap_ms"] / 1000
            if gap > 0:
                for _ in range(count):
                    self.session.call(lambda: self._forward_backspace(self._engine()))
                    time.sleep(gap)
            time.sleep(self.options["forward_gap_ms"] / 1000)
        self.last_method = method

    @staticmethod
    def _forward_backspace(engine) -> None:
        engine.forward_key_event(BACKSPACE_KEYVAL, BACKSPACE_KEYCODE, 0)
        engine.forward_key_event(BACKSPACE_KEYVAL, BACKSPACE_KEYCODE, keyvals.RELEASE_MASK)

    def _commit(self, text: str) -> None:
        from gi.repository import IBus

        def run():
            engine = self._engine()
            self._quiet()
            engine.commit_text(IBus.Text.new_from_string(text))

        self.session.call(run)


class IBusStream(ChunkStream):
    """Commits chunks as they arrive, from its own thread so the model is never held up."""

    thread_name = "hushtype-ibus-stream"

    def __init__(self, output: IBusOutput, delete_chars: int, original: str | None):
        self.output = output
        super().__init__(delete_chars, original)

    def _write(self, text: str) -> None:
        with self.output._lock:
            if not self._started:
                self.output._settle()
                self.output._delete(self.delete_chars)
                self._started = True
            self.output._commit(text)

    def finish(self) -> str:
        self._drain()
        if self.error is not None:
            raise InjectionError(str(self.error))
        return self.typed

    def abort(self, restore: bool = True) -> None:
        """Stop; with ``restore``, remove what was committed and put the command back."""
        self._drain(discard=True)
        if not self._started or not restore:
            return
        with self.output._lock:
            self.output._settle()
            self.output._delete(len(self.typed))
            if self.original:
                self.output._commit(self.original)
        self.typed = ""

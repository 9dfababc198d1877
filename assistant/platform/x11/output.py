"""Delete-then-insert into the focused X11 app (the DESIGN.md ``Injector`` contract).

* waits until the user released every key, holds the user's keys during the injection (an
  XInput2 grab of the physical keyboards; they are replayed right after, Esc cancels) and
  marks the span in the :class:`InjectionGuard` (so the keyboard hook ignores our own keys);
* deletes exactly ``delete_chars`` characters with Backspace;
* types short ASCII text with xdotool and pastes long or non-ASCII text through the clipboard
  with the app's paste chord (per WM_CLASS), restoring the user's clipboard once the app has
  read the paste and only if nobody else wrote to the clipboard meanwhile;
* streams: :meth:`Injector.stream` types the model's output as it arrives.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from assistant.hooks.keys import parse_chord, xdotool_chord
from assistant.platform.stream import ChunkStream
from assistant.platform.x11 import clipboard
from assistant.platform.x11.guard import InjectionGuard
from assistant.platform.x11.xdotool import Xdotool

log = logging.getLogger("hushtype.injection")

DEFAULTS = {
    "method": "auto", "paste_min_chars": 100, "delay_before_paste_ms": 100,
    "delay_before_restore_ms": 300, "paste_consumed_timeout_ms": 1500,
    "default_paste_chord": "ctrl+v", "fallback_paste_chord": "shift+Insert",
    "type_delay_ms": 2, "key_delay_ms": 0, "paste_chords": {}, "terminal_apps": [],
    # Spare keys carrying characters the layout lacks are put back this long after the
    # injection: time for the app to read the key map (Tk reads it when the key arrives).
    "spare_key_restore_ms": 150,
}


class InjectionError(RuntimeError):
    pass


class Injector:
    def __init__(self, settings: dict | None = None, *, x11=None, keys: Xdotool | None = None,
                 guard: InjectionGuard | None = None):
        self.guard = guard or InjectionGuard()
        self.update_settings(settings or {})
        if x11 is None:
            from assistant.platform.x11.connection import X11

            x11 = X11()
        self.x11 = x11
        self.keys = keys or Xdotool(type_delay_ms=self.options["type_delay_ms"],
                                    key_delay_ms=self.options["key_delay_ms"])
        self._lock = threading.RLock()
        self.last_method: str | None = None     # "type" | "paste": what the last insert used
        self.on_escape = None                   # called when the user presses Esc while held
        self._block = None                      # KeyboardBlock, made on first use
        self._typer = None                      # SpareKeyTyper, made on first use

    def update_settings(self, settings: dict) -> None:
        options = dict(DEFAULTS)
        options.update(settings.get("injection", {}) if "injection" in settings else settings)
        options["paste_chords"] = {k.lower(): v for k, v in (options.get("paste_chords") or {}).items()}
        self.options = options
        keys = getattr(self, "keys", None)
        if keys is not None:
            keys.type_delay_ms = int(options["type_delay_ms"])
            keys.key_delay_ms = int(options["key_delay_ms"])

    # ------------------------------------------------------------------ contract
    def replace(self, delete_chars: int, text: str) -> None:
        """Backspace ``delete_chars`` times, then insert ``text`` (typed or pasted)."""
        if delete_chars < 0:
            raise ValueError("delete_chars must be >= 0")
        window = self.x11.active_window()
        with self._session():
            self._backspace(delete_chars)
            if text:
                self._insert(text, window)

    def insert(self, text: str) -> None:
        self.replace(0, text)

    def stream(self, delete_chars: int, original: str | None = None) -> "StreamSession":
        """Type output as it arrives; ``original`` is typed back if the stream is aborted."""
        return StreamSession(self, delete_chars, original)

    # ------------------------------------------------------------------ helpers
    @contextlib.contextmanager
    def _session(self, *, hold_keys: bool = True, wait_release: bool = True,
                 restore_keys: bool = True):
        with self._lock:
            if wait_release and not self.x11.wait_keys_released():
                log.warning("keys still held after 3 s; injecting anyway")
            block = self.hold_user_keys() if hold_keys else None
            self.guard.begin(self.x11.server_time())
            try:
                yield
            finally:
                try:
                    end = self.x11.server_time()
                except Exception:
                    end = None
                self.guard.end(end)
                try:
                    if restore_keys:
                        self._restore_spare_keys()
                finally:
                    if block is not None:
                        self.replay_user_keys(block.release())

    def _restore_spare_keys(self) -> None:
        """Give the keys we remapped for this injection back to the user's key map."""
        if self._typer and self._typer.remapped:
            time.sleep(float(self.options["spare_key_restore_ms"]) / 1000)
            self._typer.restore()

    def hold_user_keys(self):
        """Start holding the user's keys: the block to release (None if the X server cannot,
        e.g. without XInput2, or holding is off in the settings)."""
        if not self.options.get("hold_user_keys", True):
            return None
        if self._block is None:
            try:
                from assistant.platform.x11.keyblock import KeyboardBlock

                self._block = KeyboardBlock(on_escape=self._escape_pressed)
            except Exception as exc:
                log.info("cannot hold the user's keys while injecting: %s", exc)
                self.options["hold_user_keys"] = False
                return None
        self._block.hold()
        return self._block

    def close(self) -> None:
        try:
            if self._typer:
                self._typer.restore()       # the user's key map first, whatever fails after
        finally:
            try:
                if self._block is not None:
                    self._block.close()
            finally:
                self.x11.close()

    def replay_user_keys(self, keys) -> None:
        """Type the keys the user pressed during the injection, after it, in order."""
        if not keys:
            return
        from assistant.platform.x11.guard import TAIL_MS
        from assistant.platform.x11.keyblock import replay

        time.sleep(TAIL_MS / 1000 + 0.01)        # after the guard span: the hook sees them as the user's
        with self.x11._lock:
            replay(self.x11.display, keys)

    def _escape_pressed(self) -> None:
        callback = self.on_escape
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("Esc handler failed")

    def _backspace(self, count: int) -> None:
        if count <= 0:
            return
        if int(self.options["key_delay_ms"]) <= 0 and hasattr(self.x11, "tap"):
            self.x11.tap("BackSpace", count)          # XTEST from here: no process start
        else:
            self.keys.backspace(count)                 # xdotool, with the configured pauses

    def wants_paste(self, text: str) -> bool:
        """Paste long, non-ASCII or multi-line text (a typed newline is Enter: it would send a
        chat message or run a shell command); type the rest."""
        method = self.options["method"]
        if method == "paste":
            return True
        if method == "type":
            return False
        return (len(text) >= int(self.options["paste_min_chars"]) or not text.isascii()
                or "\n" in text)

    def active_app(self):
        """The focused window (an AppInfo-like WindowInfo: id, app_class)."""
        return self.x11.active_window()

    def is_terminal(self, window) -> bool:
        terminals = {t.lower() for t in self.options.get("terminal_apps", ())}
        return any(name in terminals for name in getattr(window, "names", ()))

    def paste_chord_for(self, window) -> str:
        for name in getattr(window, "names", ()):
            chord = self.options["paste_chords"].get(name)
            if chord:
                return chord
        return self.options["default_paste_chord"]

    def _insert(self, text: str, window) -> None:
        if self.wants_paste(text):
            self.last_method = "paste"
            self._paste(text, window)
        else:
            self.last_method = "type"
            self._type(text)

    def _type(self, text: str) -> None:
        """xdotool for what the keyboard layout can type; characters it lacks on spare keys
        of our own (see SpareKeyTyper), in order."""
        typer = self._spare_typer()
        if typer is None or text.isascii():
            self.keys.type(text)
            return
        run, run_native = "", True
        for char in text:
            native = char.isascii() or typer.layout_has(char)
            if run and native != run_native:
                self.keys.type(run) if run_native else typer.type(run, self.options["type_delay_ms"] / 1000)
                run = ""
            run, run_native = run + char, native
        if run:
            self.keys.type(run) if run_native else typer.type(run, self.options["type_delay_ms"] / 1000)

    def _type_lines(self, text: str) -> None:
        """Streamed text: newlines as Shift+Enter, a new line in editors and chat boxes alike
        (plain Enter would send a chat message)."""
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if i:
                self.keys.key("shift+Return")
            if line:
                self._type(line)

    def _spare_typer(self):
        if self._typer is None:
            from assistant.platform.x11.connection import SpareKeyTyper

            try:
                typer = SpareKeyTyper(self.x11)
                self._typer = typer if typer.available else False
            except Exception as exc:
                log.debug("no spare keys: %s", exc)
                self._typer = False
        return self._typer or None

    def _paste(self, text: str, window) -> None:
        saved = clipboard.save()
        offer = clipboard.ClipboardOffer(text)
        restored = False
        try:
            time.sleep(float(self.options["delay_before_paste_ms"]) / 1000)
            wait = float(self.options["paste_consumed_timeout_ms"]) / 1000
            chords = [self.paste_chord_for(window), self.options["fallback_paste_chord"]]
            for chord in dict.fromkeys(c for c in chords if c):
                self.keys.key(xdotool_chord(parse_chord(chord)))
                if offer.read.wait(wait):
                    break
                log.info("the app did not read the clipboard after %s", chord)
            if not offer.read.is_set():
                # Never lose the text: type it instead.
                log.warning("paste was not taken by the app; typing the text instead")
                self.last_method = "type"
                self._type(text)
            time.sleep(float(self.options["delay_before_restore_ms"]) / 1000)
            restored = offer.handover(saved)
            if not restored:
                log.info("the clipboard changed during the paste; not restoring the old content")
        finally:
            if not restored:
                offer.release()


class StreamSession(ChunkStream):
    """Types chunks as they arrive, from its own thread so the model is never held up."""

    def __init__(self, injector: Injector, delete_chars: int, original: str | None):
        self.injector = injector
        self._block = None
        super().__init__(delete_chars, original)

    def _write(self, text: str) -> None:
        if not self._started:
            with self.injector._lock:
                self.injector.x11.wait_keys_released()
                self._block = self.injector.hold_user_keys()   # until the stream ends
        # spare keys are given back once per stream (in _unblock), not per chunk
        with self.injector._session(hold_keys=False, wait_release=False, restore_keys=False):
            if not self._started:
                self.injector._backspace(self.delete_chars)
                self._started = True
            self.injector._type_lines(text)

    def _unblock(self) -> None:
        block, self._block = self._block, None
        try:
            with self.injector._lock:
                self.injector._restore_spare_keys()
        finally:
            if block is not None:
                self.injector.replay_user_keys(block.release())

    def finish(self) -> str:
        """Wait until everything fed is typed; the text typed into the app."""
        self._drain()
        self._unblock()
        if self.error is not None:
            raise InjectionError(str(self.error))
        return self.typed

    def abort(self, restore: bool = True) -> None:
        """Stop typing; with ``restore``, remove what was streamed and put the original text
        back (without: the caret moved elsewhere, so the partial output is left alone)."""
        self._drain(discard=True)
        try:
            if not self._started or not restore:
                return
            with self.injector._session(hold_keys=False):
                self.injector._backspace(len(self.typed))
                if self.original:
                    self.injector._type_lines(self.original)
            self.typed = ""
        finally:
            self._unblock()

"""Text output on Wayland without an input method.

* :class:`WtypeOutput`: wlroots compositors (sway, Hyprland, river ...) offer the
  virtual-keyboard protocol; ``wtype`` sends Backspace and any Unicode text through it.
* :class:`ClipboardOutput`: elsewhere (GNOME, KDE have no such protocol for ordinary apps)
  the text goes to the clipboard and a notification says "press Ctrl+V"; deleting text
  before the caret is impossible there, so ``replace`` with ``delete_chars > 0`` refuses.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time

log = logging.getLogger("hushtype.wayland")

# Each wtype run brings its own virtual keyboard and keymap. Under load, GTK3 on sway was seen
# dropping the first characters of a run ("nd so my fellow ..."): wtype waits this long after
# announcing its keyboard before the first key.
KEYMAP_SETTLE_MS = 100
# And keys sent back to back were lost or garbled there under CPU load ("america S NOT what"),
# while 8 ms between keys arrived intact every time (a 100-character dictation: ~1 s).
KEY_DELAY_MS = 8
TAIL_SETTLE_MS = 50


class OutputError(RuntimeError):
    pass


class WtypeOutput:
    def __init__(self, settings: dict | None = None, *, env=None, wtype: str | None = None):
        self.wtype = wtype or shutil.which("wtype")
        if not self.wtype:
            raise OutputError("wtype is not installed (apt install wtype)")
        self.env = None if env is None else dict(env)
        self.last_method: str | None = None
        self._lock = threading.Lock()
        self.update_settings(settings or {})

    def update_settings(self, settings: dict) -> None:
        platform = settings.get("platform", {})
        self.key_delay_ms = int(platform.get("wtype_key_delay_ms", KEY_DELAY_MS))

    def _run(self, args: list[str], text: str | None = None) -> None:
        # ... and keeps its keyboard a moment after the last key (the last character of a run
        # was seen lost once: the keyboard goes away as wtype exits).
        cmd = [self.wtype, "-d", str(self.key_delay_ms), "-s", str(KEYMAP_SETTLE_MS)] + args + \
            ["-s", str(TAIL_SETTLE_MS)]
        proc = subprocess.run(cmd, input=None if text is None else text.encode("utf-8"),
                              capture_output=True, timeout=120, env=self.env)
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip() or f"exit {proc.returncode}"
            raise OutputError(f"wtype failed: {message}")

    def replace(self, delete_chars: int, text: str) -> None:
        """Backspace ``delete_chars`` times, then type ``text``: one wtype run (one keymap),
        everything on stdin ("\\b" is BackSpace there), so the text is never read as options.

        Measured under sway with GTK3: key-only runs (Backspaces with no text after them) can
        be dropped by the app, Backspaces followed by text in the same run arrive."""
        payload = "\b" * max(0, delete_chars) + (text or "")
        if not payload:
            return
        with self._lock:
            self._run(["-"], payload)
        self.last_method = "type"

    def insert(self, text: str) -> None:
        self.replace(0, text)

    def stream(self, delete_chars: int, original: str | None = None) -> "SimpleStream":
        return SimpleStream(self, delete_chars, original)

    def close(self) -> None:
        pass


class SimpleStream:
    """Streaming by successive ``replace`` calls: the first chunk also deletes the command;
    ``abort`` takes back what was typed and (by default) types the command again."""

    def __init__(self, output, delete_chars: int, original: str | None):
        self.output = output
        self.delete_chars = delete_chars
        self.original = original
        self.typed = ""
        self.first_char_at: float | None = None

    @property
    def started(self) -> bool:
        return self.first_char_at is not None

    def feed(self, chunk: str) -> None:
        if not chunk:
            return
        delete = 0 if self.started else self.delete_chars
        self.output.replace(delete, chunk)
        if self.first_char_at is None:
            self.first_char_at = time.monotonic()
        self.typed += chunk

    def finish(self) -> str:
        if not self.started and self.delete_chars:
            self.output.replace(self.delete_chars, "")
            self.first_char_at = time.monotonic()
        return self.typed

    def abort(self, restore: bool = True) -> None:
        if not self.started:
            return
        self.output.replace(len(self.typed), self.original if restore and self.original else "")


class ClipboardOutput:
    """No way to type into apps: the text goes to the clipboard, and the user pastes it."""

    def __init__(self, clipboard, notify):
        self.clipboard = clipboard
        self.notify = notify
        self.last_method: str | None = None

    def replace(self, delete_chars: int, text: str) -> None:
        if delete_chars:
            raise OutputError("this desktop lets no program delete text in other apps")
        self.clipboard.write_text(text)
        self.last_method = "clipboard"
        if self.notify is not None:
            self.notify("hushtype", "The text is on the clipboard: press Ctrl+V to insert it")

    def insert(self, text: str) -> None:
        self.replace(0, text)

    def stream(self, delete_chars: int, original: str | None = None) -> "BufferedStream":
        return BufferedStream(self, delete_chars)

    def update_settings(self, settings: dict) -> None:
        pass

    def close(self) -> None:
        pass


class BufferedStream:
    """Streaming onto the clipboard: collect the chunks, hand over the whole text at the end."""

    def __init__(self, output: ClipboardOutput, delete_chars: int):
        self.output, self.delete_chars = output, delete_chars
        self.text = ""
        self.first_char_at: float | None = None

    @property
    def started(self) -> bool:
        return False                       # nothing reaches the app until finish()

    def feed(self, chunk: str) -> None:
        self.text += chunk

    def finish(self) -> str:
        self.output.replace(0, self.text)
        self.first_char_at = time.monotonic()
        return self.text

    def abort(self, restore: bool = True) -> None:
        self.text = ""

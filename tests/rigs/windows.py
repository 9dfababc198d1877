"""The test windows (Tk on X11, GTK3 on X11/Wayland/IBus) save their text to a file on every
change; :class:`SavedText` reads it and waits for it."""

from __future__ import annotations

from pathlib import Path

from rigs.procs import wait_until


class SavedText:
    path: Path

    def text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def wait_text(self, predicate, timeout: float = 60.0, message: str = "the window's text") -> str:
        """Wait until ``predicate(text)`` holds; return the text it held for."""
        found = []

        def check():
            text = self.text()
            if predicate(text):
                found.append(text)
                return True
            return False

        wait_until(check, timeout, message=f"{message} (the window shows {self.text()!r})")
        return found[-1]

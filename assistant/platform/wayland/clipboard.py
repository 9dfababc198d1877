"""The clipboard outside X11: pyperclip (on Wayland it drives wl-clipboard's wl-copy/wl-paste;
on Windows/macOS it uses their own clipboards)."""

from __future__ import annotations


class ClipboardUnavailable(RuntimeError):
    pass


class PyperclipClipboard:
    """The platform layer's :class:`Clipboard` through pyperclip. The mechanism is picked
    when the platform opens, from this session's environment (WAYLAND_DISPLAY -> wl-clipboard)."""

    def __init__(self):
        import pyperclip

        self._error = pyperclip.PyperclipException
        self._copy, self._paste = pyperclip.determine_clipboard()

    def read_text(self) -> str:
        try:
            return self._paste() or ""
        except self._error as exc:
            raise ClipboardUnavailable(f"cannot read the clipboard: {exc}") from exc

    def write_text(self, text: str) -> None:
        try:
            self._copy(text)
        except self._error as exc:
            raise ClipboardUnavailable(f"cannot write the clipboard (install wl-clipboard): {exc}") from exc

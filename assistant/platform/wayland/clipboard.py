"""The clipboard outside X11: pyperclip (on Wayland it drives wl-clipboard's wl-copy/wl-paste;
on Windows/macOS it uses their own clipboards)."""

from __future__ import annotations


class ClipboardUnavailable(RuntimeError):
    pass


class PyperclipClipboard:
    """The platform layer's :class:`Clipboard` through pyperclip."""

    def read_text(self) -> str:
        import pyperclip

        try:
            return pyperclip.paste() or ""
        except pyperclip.PyperclipException as exc:
            raise ClipboardUnavailable(f"cannot read the clipboard: {exc}") from exc

    def write_text(self, text: str) -> None:
        import pyperclip

        try:
            pyperclip.copy(text)
        except pyperclip.PyperclipException as exc:
            raise ClipboardUnavailable(f"cannot write the clipboard (install wl-clipboard): {exc}") from exc

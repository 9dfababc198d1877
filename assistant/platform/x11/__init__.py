"""The X11 backend: pynput RECORD key source, focus probe, xdotool/XTEST output (Injector),
xclip clipboard, key grabs for the voice hotkeys. ``open_x11`` bundles them."""

from __future__ import annotations

from assistant.platform.base import Platform

from assistant.platform.visibility import BACKEND_SEES

SEES = BACKEND_SEES["x11"]


def open_x11(settings: dict, reason: str) -> Platform:
    """Every part of the X11 backend (raises when the X display cannot be opened)."""
    from assistant.platform.notify import desktop_notify
    from assistant.platform.x11.clipboard import XclipClipboard
    from assistant.platform.x11.focus import FocusProbe
    from assistant.platform.x11.hotkeys import X11Hotkeys
    from assistant.platform.x11.keysource import X11KeySource
    from assistant.platform.x11.output import Injector

    output = Injector(settings)
    focus = FocusProbe()
    return Platform(name="x11", reason=reason, keys=X11KeySource(guard=output.guard),
                    output=output, clipboard=XclipClipboard(), focus=focus,
                    hotkeys=X11Hotkeys(), notify=desktop_notify, sees=SEES,
                    closers=[focus.stop])

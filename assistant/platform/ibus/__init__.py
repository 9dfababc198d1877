"""The IBus input-method backend: an engine named "hushtype" inside ``hushtype up``.

It sees the keys typed into the focused text field of every app that uses the input method
(GTK, Qt, Firefox, LibreOffice, Chromium/Electron with their IM flags) on Wayland and X11,
with the layout applied; it never reads password/PIN fields; it writes by deleting around the
caret and committing text. :func:`open_ibus` registers it and returns the :class:`Platform`.
"""

from __future__ import annotations

from assistant.platform.base import Platform

SEES = ("the keys typed into the focused text field of apps that use the input method "
        "(GTK, Qt, Firefox, Chromium with IM flags) - never password or PIN fields; "
        "it keeps only what could become a command and forgets the rest")


def open_ibus(settings: dict | None = None, reason: str = "IBus input method", *,
              notify=None, timeout: float = 15.0, env=None) -> Platform:
    """Register and activate the engine; raises ``IBusUnavailable`` (a ``PlatformError``)
    when IBus cannot."""
    import os

    from assistant.platform.ibus.hotkeys import IBusHotkeys
    from assistant.platform.ibus.keysource import IBusFocus, IBusKeySource
    from assistant.platform.ibus.output import IBusOutput
    from assistant.platform.ibus.session import IBusSession
    from assistant.platform.notify import desktop_notify

    settings = settings or {}
    env = os.environ if env is None else env
    restore = bool(settings.get("ibus", {}).get("restore_previous_engine", True))
    session = IBusSession(restore=restore).start(timeout)
    return Platform(name="ibus", reason=reason, keys=IBusKeySource(session),
                    output=IBusOutput(session, settings), clipboard=_clipboard(env),
                    focus=IBusFocus(session), hotkeys=IBusHotkeys(session),
                    notify=notify or desktop_notify, sees=SEES, closers=[session.stop])


def _clipboard(env):
    """The session's clipboard (paste chords inside a command read it): xclip on X11,
    wl-clipboard/pyperclip on Wayland; None when neither works."""
    try:
        if env.get("WAYLAND_DISPLAY"):
            from assistant.platform.wayland.clipboard import PyperclipClipboard

            return PyperclipClipboard()
        if env.get("DISPLAY"):
            from assistant.platform.x11.clipboard import XclipClipboard

            return XclipClipboard()
    except Exception:
        return None
    return None

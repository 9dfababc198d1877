"""The focused X11 window (the platform layer's :class:`FocusedApp`), kept current from X
focus events so that a key costs no X round trip."""

from __future__ import annotations

import Xlib.X
import Xlib.error

from assistant.platform.x11.connection import X11, WindowInfo


class FocusProbe:
    """We ask the server for FocusOut/DestroyNotify on the focused window; when one arrives the
    focus is queried again (window ids can be reused by a new app, so an id alone is no proof
    that the focus stayed)."""

    def __init__(self, x11: X11 | None = None):
        self._X = Xlib.X
        self.x11 = x11 if x11 is not None else X11()
        self._dirty = True
        self._generation = 0
        self._last = WindowInfo(None, None)
        self._focus_id = None

    def current(self):
        """(generation, WindowInfo): the generation changes whenever the focus may have moved."""
        X = self._X
        display = self.x11.display
        with self.x11._lock:
            try:
                gone = False
                while display.pending_events():
                    event = display.next_event()
                    if event.type == X.FocusOut and event.mode in (X.NotifyNormal, X.NotifyWhileGrabbed):
                        self._dirty = True
                    elif event.type in (X.DestroyNotify, X.UnmapNotify):
                        self._dirty = gone = True
                if self._dirty:
                    self._dirty = False
                    focus = display.get_input_focus().focus
                    if isinstance(focus, int) or focus is None:
                        info = WindowInfo(None, None)
                    else:
                        catch = Xlib.error.CatchError()
                        focus.change_attributes(event_mask=X.FocusChangeMask | X.StructureNotifyMask,
                                                onerror=catch)
                        info = self.x11._class_of(focus) if focus.id != self._focus_id or gone else self._last
                        self._focus_id = focus.id
                    if gone or info.id != self._last.id or info.wm_class != self._last.wm_class:
                        self._generation += 1
                    self._last = info
            except Exception:
                self._dirty = True
                self._generation += 1
                self._last = WindowInfo(None, None)
        return self._generation, self._last

    def stop(self) -> None:
        self.x11.close()

"""The clipboard around a paste: save the user's content (xclip), offer our text ourselves
(python-xlib, so we know when the app has read it and whether anyone else took the clipboard
meanwhile), then put the user's content back (xclip keeps owning it in the background).
"""

from __future__ import annotations

import contextlib
import logging
import select
import shutil
import subprocess
import threading
from dataclasses import dataclass

import Xlib.X
import Xlib.Xatom
import Xlib.display
import Xlib.protocol.event
import Xlib.protocol.request

log = logging.getLogger("hushtype.injection")

# Targets worth saving, best first: text, then rich or binary formats a user may have copied.
_SAVE_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "STRING", "image/png", "text/html",
                 "text/uri-list", "image/jpeg")


class ClipboardError(RuntimeError):
    pass


@dataclass(frozen=True)
class SavedClipboard:
    target: str | None      # None: the clipboard was empty (nobody owned it)
    data: bytes = b""


def xclip_path() -> str:
    path = shutil.which("xclip")
    if not path:
        raise ClipboardError("xclip is not installed (apt install xclip)")
    return path


def read_text(selection: str = "clipboard", timeout: float = 2.0) -> str:
    """The selection's text ('' if empty or not text)."""
    proc = subprocess.run([xclip_path(), "-selection", selection, "-o", "-t", "UTF8_STRING"],
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        return ""
    return proc.stdout.decode("utf-8", errors="replace")


def save(selection: str = "clipboard", timeout: float = 2.0) -> SavedClipboard:
    xclip = xclip_path()
    proc = subprocess.run([xclip, "-selection", selection, "-o", "-t", "TARGETS"],
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        return SavedClipboard(None)
    targets = proc.stdout.decode("utf-8", errors="replace").split()
    for target in _SAVE_TARGETS:
        if target in targets:
            data = subprocess.run([xclip, "-selection", selection, "-o", "-t", target],
                                  capture_output=True, timeout=timeout)
            if data.returncode == 0:
                return SavedClipboard(target, data.stdout)
    return SavedClipboard(None)


def restore(saved: SavedClipboard, selection: str = "clipboard", timeout: float = 2.0) -> None:
    """Give the saved content back to the clipboard (xclip owns it in the background)."""
    if saved.target is None:
        return
    _write(saved.data, selection, saved.target, timeout)


def _write(data: bytes, selection: str, target: str | None, timeout: float) -> None:
    # xclip forks a child that owns the selection: it must not inherit our pipes.
    args = [xclip_path(), "-selection", selection, "-i"] + (["-t", target] if target else [])
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    proc.communicate(data, timeout=timeout)


def write_text(text: str, selection: str = "clipboard", timeout: float = 2.0) -> None:
    _write(text.encode("utf-8"), selection, None, timeout)


class ClipboardOffer:
    """Owns the clipboard with ``text`` until released or another client takes it.

    ``read`` is set once an app fetched the text (the paste was consumed); ``lost`` once any
    other client became the owner (someone else wrote to the clipboard).
    """

    def __init__(self, text: str, selection: str = "CLIPBOARD", display_name: str | None = None):
        self.data = text.encode("utf-8")
        self.read = threading.Event()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self.display = Xlib.display.Display(display_name)
        d = self.display
        self._selection = d.intern_atom(selection)
        self._targets = d.intern_atom("TARGETS")
        self._utf8 = d.intern_atom("UTF8_STRING")
        self._text_types = {self._utf8, Xlib.Xatom.STRING, d.intern_atom("TEXT"),
                            d.intern_atom("text/plain;charset=utf-8"), d.intern_atom("text/plain")}
        self.window = d.screen().root.create_window(-10, -10, 1, 1, 0, Xlib.X.CopyFromParent)
        self.window.set_selection_owner(self._selection, Xlib.X.CurrentTime)
        owner = d.get_selection_owner(self._selection)
        if owner is None or getattr(owner, "id", owner) != self.window.id:
            d.close()
            raise ClipboardError("could not take the clipboard")
        self._thread = threading.Thread(target=self._serve, name="hushtype-clipboard", daemon=True)
        self._thread.start()

    @property
    def owned(self) -> bool:
        return not self.lost.is_set() and not self._stop.is_set()

    def _serve(self) -> None:
        d = self.display
        try:
            while not self._stop.is_set():
                if not d.pending_events():
                    ready, _, _ = select.select([d.fileno()], [], [], 0.05)
                    if not ready:
                        continue
                event = d.next_event()
                if event.type == Xlib.X.SelectionClear:
                    self.lost.set()
                    return
                if event.type == Xlib.X.SelectionRequest:
                    self._answer(event)
        except Exception as exc:  # the X connection went away: nothing to serve any more
            log.debug("clipboard offer ended: %s", exc)
            self.lost.set()

    def _answer(self, req) -> None:
        prop = req.property or req.target
        if req.target == self._targets:
            req.requestor.change_property(prop, Xlib.Xatom.ATOM, 32,
                                          [self._targets, *sorted(self._text_types)])
        elif req.target in self._text_types:
            kind = self._utf8 if req.target != Xlib.Xatom.STRING else Xlib.Xatom.STRING
            req.requestor.change_property(prop, kind, 8, self.data)
            self.read.set()
        else:
            prop = Xlib.X.NONE
        notify = Xlib.protocol.event.SelectionNotify(
            time=req.time, requestor=req.requestor, selection=req.selection,
            target=req.target, property=prop)
        req.requestor.send_event(notify, event_mask=0)
        self.display.flush()

    def release(self) -> None:
        """Stop serving; if we still own the clipboard, leave it empty."""
        self._stop.set()
        self._thread.join(timeout=2)
        with contextlib.suppress(Exception):
            if not self.lost.is_set():
                # Give the selection up: owner None for *our* selection atom (a window's
                # set_selection_owner(NONE, ...) would name atom 0: BadAtom, opcode 22).
                Xlib.protocol.request.SetSelectionOwner(
                    display=self.display.display, window=Xlib.X.NONE,
                    selection=self._selection, time=Xlib.X.CurrentTime)
                self.display.sync()
            self.display.flush()
            self.display.close()

    def handover(self, saved: SavedClipboard) -> bool:
        """Put ``saved`` back if nobody else wrote to the clipboard; True if restored."""
        if self.lost.is_set():
            self.release()
            return False
        if saved.target is None:
            self.release()
            return True
        restore(saved)              # xclip takes ownership -> we get SelectionClear
        self.lost.wait(1.0)
        self.release()
        return True


class XclipClipboard:
    """The platform layer's :class:`Clipboard` on X11 (the CLIPBOARD selection, via xclip)."""

    def read_text(self) -> str:
        return read_text()

    def write_text(self, text: str) -> None:
        write_text(text)

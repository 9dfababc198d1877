"""Hold the user's keys while we inject, then replay them: no key lands inside our text.

An XInput2 grab of the physical keyboards (slave devices, not XTEST, so our own synthetic
keys still reach the app) sends the user's key events to us instead of the app. We keep them
in order and, once the injection is done, replay them through XTEST. Esc is reported at once
(it cancels a running command) and not replayed. A grab ends by itself if this process dies,
so the keyboard can never stay blocked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import threading

import Xlib.X
import Xlib.XK
import Xlib.display
from Xlib.ext import xinput

log = logging.getLogger("hushtype.injection")


def physical_keyboards(display) -> list[int]:
    info = display.xinput_query_device(xinput.AllDevices)
    return [d.deviceid for d in info.devices
            if d.use == xinput.SlaveKeyboard and "XTEST" not in d.name and d.enabled]


class KeyboardBlock:
    """A connection and a thread that own the grab; :meth:`hold` and :meth:`release` are
    handed to that thread, so the X connection is only ever used from one thread."""

    def __init__(self, *, on_escape=None, devices: list[int] | None = None,
                 display_name: str | None = None):
        self.display = Xlib.display.Display(display_name)
        self.display.xinput_query_version()          # announce XI2 so grabbed events come to us
        self._opcode = self.display.query_extension("XInputExtension").major_opcode
        self.on_escape = on_escape
        self._devices_wanted = devices
        self.devices: list[int] = []
        self.held: list[tuple[int, int]] = []        # (xinput.KeyPress|KeyRelease, keycode)
        self._escape = {code for code, _ in self.display.keysym_to_keycodes(
            Xlib.XK.string_to_keysym("Escape"))}
        self._wake_r, self._wake_w = os.pipe()
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="hushtype-keyblock", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public
    def hold(self) -> list[int]:
        """Grab the keyboards; the devices actually held."""
        return self._ask("hold")

    def release(self) -> list[tuple[int, int]]:
        """End the grab; the user's keys held meanwhile, in order (presses with releases)."""
        return self._ask("release")

    def close(self) -> None:
        if not self._closed:
            self._ask("close")
            self._closed = True
            self._thread.join(timeout=2)
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _ask(self, what: str):
        if self._closed or not self._thread.is_alive():
            return [] if what != "close" else None
        done = threading.Event()
        box: list = []
        self._requests.put((what, done, box))
        os.write(self._wake_w, b"x")
        if not done.wait(5):
            log.warning("keyboard hold did not answer (%s)", what)
            return []
        return box[0] if box else []

    # ------------------------------------------------------------------ the owning thread
    def _run(self) -> None:
        d = self.display
        try:
            while True:
                while d.pending_events():
                    self._take(d.next_event())
                ready, _, _ = select.select([d.fileno(), self._wake_r], [], [])
                if self._wake_r in ready:
                    os.read(self._wake_r, 64)
                    while not self._requests.empty():
                        what, done, box = self._requests.get()
                        try:
                            if what == "close":
                                self._ungrab()
                                return
                            box.append(self._grab() if what == "hold" else self._ungrab())
                        finally:
                            done.set()
                if d.fileno() in ready:
                    d.pending_events()           # read what arrived into the event queue
        except Exception as exc:                 # the connection went away: nothing to hold
            log.debug("keyboard hold ended: %s", exc)
        finally:
            with contextlib.suppress(Exception):
                d.close()

    def _grab(self) -> list[int]:
        d = self.display
        root = d.screen().root
        self.held = []
        wanted = physical_keyboards(d) if self._devices_wanted is None else self._devices_wanted
        self.devices = []
        for device in wanted:
            reply = root.xinput_grab_device(device, Xlib.X.CurrentTime, xinput.GrabModeAsync,
                                            xinput.GrabModeAsync, False,
                                            xinput.KeyPressMask | xinput.KeyReleaseMask)
            if reply.status == Xlib.X.GrabSuccess:
                self.devices.append(device)
        return list(self.devices)

    def _ungrab(self) -> list[tuple[int, int]]:
        d = self.display
        for device in self.devices:
            with contextlib.suppress(Exception):
                d.xinput_ungrab_device(device, Xlib.X.CurrentTime)
        self.devices = []
        d.sync()                                 # every event sent before the ungrab is in now
        while d.pending_events():
            self._take(d.next_event())
        held, self.held = self.held, []
        return replayable(held)

    def _take(self, event) -> None:
        if getattr(event, "extension", None) != self._opcode:
            return
        if event.evtype not in (xinput.KeyPress, xinput.KeyRelease):
            return
        code = event.data.detail
        if code in self._escape:
            if event.evtype == xinput.KeyPress and self.on_escape is not None:
                threading.Thread(target=self.on_escape, daemon=True).start()
            return
        self.held.append((event.evtype, code))


def replayable(held: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop releases of keys that went down before the grab (their press reached the app)."""
    down: set[int] = set()
    out = []
    for kind, code in held:
        if kind == xinput.KeyPress:
            down.add(code)
            out.append((kind, code))
        elif code in down:
            down.discard(code)
            out.append((kind, code))
    return out


def replay(display, keys: list[tuple[int, int]]) -> None:
    """Send held keys through XTEST, as the user typed them."""
    from Xlib.ext import xtest

    for kind, code in keys:
        xtest.fake_input(display, Xlib.X.KeyPress if kind == xinput.KeyPress else Xlib.X.KeyRelease, code)
    display.sync()

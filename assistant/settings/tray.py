"""The tray icon (pystray, Xlib backend): pause/resume, settings, wipe history, quit.

The menu and the icon's look are pure functions of the assistant's state (``menu_model``,
``icon_state``, ``draw_icon``) so they are tested directly; :class:`TrayActions` does what the
items say on the AssistantContext; :class:`Tray` is the thin pystray adapter.
"""

from __future__ import annotations

import logging
import os
import threading
import webbrowser
from dataclasses import dataclass
from typing import Callable

from PIL import Image, ImageDraw

log = logging.getLogger(__name__)

STATES = ("listening", "working", "paused")
COLOURS = {"listening": (47, 111, 94), "working": (214, 135, 0), "paused": (120, 124, 122)}
# X11 window names are Latin-1: plain ASCII titles.
TITLES = {
    "listening": "hushtype: listening",
    "working": "hushtype: working",
    "paused": "hushtype: paused",
}


@dataclass(frozen=True)
class MenuEntry:
    label: str
    action: str            # toggle_pause | open_settings | wipe_history | quit
    default: bool = False  # what a left click does


def icon_state(paused: bool, busy: bool) -> str:
    if paused:
        return "paused"
    return "working" if busy else "listening"


def menu_model(paused: bool) -> list[MenuEntry]:
    return [
        MenuEntry("Resume hushtype" if paused else "Pause hushtype", "toggle_pause"),
        MenuEntry("Open settings", "open_settings", default=True),
        MenuEntry("Wipe history…", "wipe_history"),
        MenuEntry("Quit hushtype", "quit"),
    ]


def draw_icon(state: str, size: int = 64) -> Image.Image:
    """A round badge: a microphone while listening, three dots while working, two bars paused."""
    if state not in STATES:
        raise ValueError(f"unknown tray state {state!r}")
    scale = 4  # draw large, then downsample for smooth edges
    s = size * scale
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    d.ellipse((s * 0.03, s * 0.03, s * 0.97, s * 0.97), fill=COLOURS[state] + (255,))
    white = (255, 255, 255, 255)
    if state == "listening":
        d.rounded_rectangle((s * 0.38, s * 0.18, s * 0.62, s * 0.58), radius=s * 0.12, fill=white)
        d.arc((s * 0.28, s * 0.30, s * 0.72, s * 0.70), start=0, end=180, fill=white, width=int(s * 0.06))
        d.rectangle((s * 0.47, s * 0.68, s * 0.53, s * 0.80), fill=white)
    elif state == "working":
        for cx in (0.30, 0.50, 0.70):
            r = s * 0.075
            d.ellipse((s * cx - r, s * 0.5 - r, s * cx + r, s * 0.5 + r), fill=white)
    else:
        d.rectangle((s * 0.34, s * 0.28, s * 0.44, s * 0.72), fill=white)
        d.rectangle((s * 0.56, s * 0.28, s * 0.66, s * 0.72), fill=white)
    return image.resize((size, size), Image.LANCZOS)


def is_busy(ctx) -> bool:
    """Whether the assistant is running a command now (``ctx.busy``: Event, bool or callable)."""
    busy = getattr(ctx, "busy", None)
    if busy is None:
        return False
    if hasattr(busy, "is_set"):
        return busy.is_set()
    if callable(busy):
        return bool(busy())
    return bool(busy)


def is_paused(ctx) -> bool:
    paused = getattr(ctx, "paused", None)
    return bool(paused is not None and paused.is_set())


class TrayActions:
    """What each menu entry does, on the AssistantContext and the settings page."""

    def __init__(self, ctx, page_url: Callable[[str], str], open_url: Callable[[str], object] = webbrowser.open):
        self.ctx = ctx
        self.page_url = page_url     # path -> private URL of that page (with the run's token)
        self.open_url = open_url

    def run(self, action: str) -> None:
        getattr(self, action)()

    def toggle_pause(self) -> None:
        toggle = getattr(self.ctx, "toggle_pause", None)
        if callable(toggle):  # AssistantContext pauses and tells the user itself
            toggle()
            return
        paused = self.ctx.paused
        if paused.is_set():
            paused.clear()
            self._notify("hushtype resumed", "Commands and push-to-talk are on again.")
        else:
            paused.set()
            self._notify("hushtype paused", "hushtype ignores your keys until you resume.")

    def open_settings(self) -> None:
        self.open_url(self.page_url("/history"))

    def wipe_history(self) -> None:
        # Wiping cannot be undone: the page asks for an explicit confirmation first.
        self.open_url(self.page_url("/history/wipe"))

    def quit(self) -> None:
        self.ctx.stop.set()

    def _notify(self, title: str, message: str) -> None:
        notify = getattr(self.ctx, "notify", None)
        if callable(notify):
            try:
                notify(title, message)
            except Exception:
                log.debug("notification failed", exc_info=True)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY"))


class Tray:
    """The pystray icon in its own thread; follows the state every ``poll`` seconds."""

    def __init__(self, ctx, actions: TrayActions, poll: float = 0.3):
        os.environ.setdefault("PYSTRAY_BACKEND", "xorg")
        import pystray

        self._pystray = pystray
        self.ctx = ctx
        self.actions = actions
        self.poll = poll
        self.state = icon_state(is_paused(ctx), is_busy(ctx))
        self._paused = is_paused(ctx)
        self._icons = {state: draw_icon(state) for state in STATES}
        self.icon = pystray.Icon("hushtype", self._icons[self.state], TITLES[self.state], menu=self._menu())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self.ready = threading.Event()

    def _menu(self):
        pystray = self._pystray
        items = []
        for entry in menu_model(self._paused):
            items.append(pystray.MenuItem(entry.label, self._handler(entry.action), default=entry.default))
        return pystray.Menu(*items)

    def _handler(self, action: str):
        def handle(icon=None, item=None):
            try:
                self.actions.run(action)
            except Exception:
                log.exception("tray action %s failed", action)
            self.refresh()
        return handle

    def refresh(self) -> None:
        paused = is_paused(self.ctx)
        state = icon_state(paused, is_busy(self.ctx))
        if state != self.state:
            self.state = state
            self.icon.icon = self._icons[state]
            self.icon.title = TITLES[state]
        if paused != self._paused:
            self._paused = paused
            self.icon.menu = self._menu()
            try:
                self.icon.update_menu()
            except Exception:
                log.debug("menu update failed", exc_info=True)

    def start(self) -> "Tray":
        def setup(icon):
            icon.visible = True
            self.ready.set()

        self._enable_clicks_on_x11()
        self._thread = threading.Thread(target=self.icon.run, kwargs={"setup": setup},
                                        name="hushtype-tray", daemon=True)
        self._thread.start()
        self._watcher = threading.Thread(target=self._watch, name="hushtype-tray-state", daemon=True)
        self._watcher.start()
        return self

    def _enable_clicks_on_x11(self) -> None:
        """pystray's Xlib backend handles ButtonPress but never asks X for it (its window's event
        mask lacks ButtonPressMask), so a click on the docked icon would do nothing. Ask for it."""
        window = getattr(self.icon, "_window", None)
        display = getattr(self.icon, "_display", None)
        if window is None or display is None:
            return
        try:
            from Xlib import X

            window.change_attributes(event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask)
            display.flush()
        except Exception:
            log.debug("could not enable clicks on the tray icon", exc_info=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.refresh()
            except Exception:
                log.debug("tray refresh failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        try:
            self.icon.stop()
        except Exception:
            log.debug("tray stop failed", exc_info=True)
        for thread in (self._thread, self._watcher):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)

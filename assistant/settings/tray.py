"""The tray icon (pystray): pause/resume, settings, wipe history, quit.

pystray's backend is picked by :func:`tray_backend`: AppIndicator (StatusNotifierItem over
D-Bus, a real menu on GNOME/KDE/most panels) or GTK (an XEmbed status icon with a real GTK menu)
when PyGObject can load them, else the plain Xlib icon (left click opens the settings; its
menu cannot be shown). The menu and the icon's look are pure functions of the assistant's
state (``menu_model``, ``icon_state``, ``draw_icon``) so they are tested directly;
:class:`TrayActions` does what the items say on the AssistantContext; :class:`Tray` is the thin
pystray adapter.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import webbrowser
from dataclasses import dataclass
from typing import Callable

from PIL import Image, ImageDraw

log = logging.getLogger(__name__)

STATES = ("listening", "working", "paused")
DOCK_CHECK_SECONDS = 3.0
STOP_TIMEOUT_SECONDS = 3.0
SYSTEM_TRAY_REQUEST_DOCK = 0  # System Tray Protocol opcode
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


def tray_backend(env, *, gtk: bool, appindicator: bool) -> str:
    """pystray backend name: the user's PYSTRAY_BACKEND; AppIndicator when it loads and a
    session bus is there to publish it on; GTK when it loads; else the plain Xlib icon."""
    if env.get("PYSTRAY_BACKEND"):
        return env["PYSTRAY_BACKEND"]
    if appindicator and env.get("DBUS_SESSION_BUS_ADDRESS"):
        return "appindicator"
    if gtk:
        return "gtk"
    return "xorg"


def _gi_loads(namespace: str, version: str) -> bool:
    try:
        import gi

        gi.require_version(namespace, version)
        __import__(f"gi.repository.{namespace}")
        return True
    except (ImportError, ValueError):
        return False


def pick_backend() -> str:
    gtk = bool(os.environ.get("DISPLAY")) and _gi_loads("Gtk", "3.0")
    return tray_backend(os.environ, gtk=gtk,
                        appindicator=gtk and _gi_loads("AyatanaAppIndicator3", "0.1"))


class Tray:
    """The pystray icon in its own thread; follows the state every ``poll`` seconds."""

    def __init__(self, ctx, actions: TrayActions, poll: float = 0.3, backend: str | None = None):
        if "pystray" not in __import__("sys").modules:
            os.environ["PYSTRAY_BACKEND"] = backend or pick_backend()
        import pystray

        self._pystray = pystray
        self.ctx = ctx
        self.actions = actions
        self.poll = poll
        self.state = icon_state(is_paused(ctx), is_busy(ctx))
        self._paused = is_paused(ctx)
        self._icons = {state: draw_icon(state) for state in STATES}
        self.icon = pystray.Icon("hushtype", self._icons[self.state], TITLES[self.state], menu=self._menu())
        # the backend pystray really loaded (once per process): "xorg", "gtk", "appindicator"
        self.backend = type(self.icon).__module__.rsplit("._", 1)[-1]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self.ready = threading.Event()
        self._xconn = None
        self._undocked_checks = 0

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
        if self._thread is not None and not self._thread.is_alive():
            return  # pystray's loop is gone: its calls would wait forever
        if not self.ready.is_set():
            return  # pystray is still showing the icon; the state is picked up right after
        paused = is_paused(self.ctx)
        state = icon_state(paused, is_busy(self.ctx))
        if state != self.state:
            self.state = state
            image, title = self._icons[state], TITLES[state]
            if not self._post_icon_to_x11_loop(image, title):
                self._call_pystray(lambda: (setattr(self.icon, "icon", image), setattr(self.icon, "title", title)))
        if paused != self._paused:
            self._paused = paused
            menu = self._menu()
            self._call_pystray(lambda: (setattr(self.icon, "menu", menu), self.icon.update_menu()))

    def _post_icon_to_x11_loop(self, image, title: str) -> bool:
        """Change the icon from another thread without touching pystray's X connection: store the
        new image and title, then ask pystray's loop (with the ClientMessage its own dispatcher
        uses) to redraw, sent on our own connection. pystray's dispatcher shares one python-xlib
        connection between threads, and its reply sometimes never arrives (a lost wake-up)."""
        window = getattr(self.icon, "_window", None)
        if window is None or threading.current_thread() is self._thread:
            return False
        try:
            from Xlib import X
            from Xlib.display import Display
            from Xlib.protocol import event

            if self._xconn is None:
                self._xconn = Display()
            conn = self._xconn
            self.icon._icon = image
            self.icon._icon_valid = False
            self.icon._title = title
            target = conn.create_resource_object("window", window.id)
            for method in ("_update_icon", "_update_title"):
                message = event.ClientMessage(window=target, client_type=conn.intern_atom(f"_PYSTRAY_{method.upper()}"),
                                              data=(32, [X.CurrentTime, 0, 0, 0, 0]))
                target.send_event(message, event_mask=X.NoEventMask)
            conn.flush()
            self._drain_pystray_results()
            return True
        except Exception:
            log.debug("could not post the icon change", exc_info=True)
            return False

    def _drain_pystray_results(self) -> None:
        """pystray's loop answers every such message on its result queue; nobody waits for these
        answers (no other thread calls into pystray once the icon is shown), so drop them."""
        results = getattr(self.icon, "_queue", None)
        if results is None:
            return
        while True:
            try:
                results.get_nowait()
            except Exception:
                return

    def _call_pystray(self, update) -> None:
        """Run an icon update; from another thread than pystray's loop, in a helper thread with
        a time limit (pystray waits for its loop without one)."""
        if threading.current_thread() is self._thread:
            update()
            return
        done = threading.Event()

        def run():
            try:
                update()
            except Exception:
                log.debug("tray update failed", exc_info=True)
            finally:
                done.set()

        threading.Thread(target=run, name="hushtype-tray-update", daemon=True).start()
        if not done.wait(STOP_TIMEOUT_SECONDS):
            log.debug("a tray update did not finish in time")

    def start(self) -> "Tray":
        def setup(icon):
            # pystray starts this callback before its X backend has recorded its loop thread
            # (Icon._thread); showing the icon before that fails. Wait for it, briefly.
            deadline = time.monotonic() + 10
            xorg = getattr(icon, "_window", None) is not None
            while xorg and getattr(icon, "_thread", None) is None and time.monotonic() < deadline:
                time.sleep(0.01)
            try:
                icon.visible = True
            except Exception:
                log.warning("the tray icon could not be shown", exc_info=True)
                return
            if self.backend == "gtk":
                self._name_gtk_icon()
            self.ready.set()

        self._enable_clicks_on_x11()
        self._thread = threading.Thread(target=self.icon.run, kwargs={"setup": setup},
                                        name="hushtype-tray", daemon=True)
        self._thread.start()
        self._watcher = threading.Thread(target=self._watch, name="hushtype-tray-state", daemon=True)
        self._watcher.start()
        return self

    def _name_gtk_icon(self) -> None:
        """GTK's status icon: give its tray window our name and title (WM_CLASS/WM_NAME, as the
        Xlib icon has), on GTK's loop; and keep pystray's shutdown from failing where no
        notification service runs (it hides a notification it never showed)."""
        status = getattr(self.icon, "_status_icon", None)
        notifier = getattr(self.icon, "_notifier", None)
        if notifier is not None:
            hide = notifier.hide

            def quiet_hide():
                try:
                    hide()
                except Exception:
                    log.debug("no notification service to hide a notification from")

            notifier.hide = quiet_hide
        if status is None:
            return
        from gi.repository import GLib

        title = TITLES[self.state]

        def name():
            status.set_name("hushtype")
            status.set_title(title)
            return False

        GLib.idle_add(name)

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
        next_dock_check = time.monotonic() + DOCK_CHECK_SECONDS
        while not self._stop.wait(self.poll):
            try:
                self.refresh()
            except Exception:
                log.debug("tray refresh failed", exc_info=True)
            if time.monotonic() >= next_dock_check:
                next_dock_check = time.monotonic() + DOCK_CHECK_SECONDS
                self._dock_if_needed()

    def _dock_if_needed(self) -> None:
        """pystray's Xlib backend asks the tray to embed the icon once, at start. When the panel's
        tray is not ready yet (hushtype starts at login, often before the panel) or restarts,
        the icon would stay invisible. While the window is not embedded, send the system tray
        protocol's dock request again, on our own X connection."""
        window = getattr(self.icon, "_window", None)
        if window is None or not self.ready.is_set():
            return
        try:
            from Xlib import X
            from Xlib.display import Display
            from Xlib.protocol import event

            if self._xconn is None:
                self._xconn = Display()
            conn = self._xconn
            mine = conn.create_resource_object("window", window.id)
            if mine.query_tree().parent != conn.screen().root:
                self._undocked_checks = 0
                return  # embedded in a tray
            self._undocked_checks += 1
            if self._undocked_checks < 2:
                return  # a dock request may still be on its way: look again next time
            owner = conn.get_selection_owner(conn.intern_atom(f"_NET_SYSTEM_TRAY_S{conn.get_default_screen()}"))
            if not getattr(owner, "id", owner):
                return  # no system tray (yet)
            request = event.ClientMessage(window=owner, client_type=conn.intern_atom("_NET_SYSTEM_TRAY_OPCODE"),
                                          data=(32, [X.CurrentTime, SYSTEM_TRAY_REQUEST_DOCK, window.id, 0, 0]))
            owner.send_event(request, event_mask=X.NoEventMask)
            conn.flush()
            log.debug("tray icon not embedded yet: asked the system tray again")
        except Exception:
            log.debug("tray dock check failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        # the state watcher first: it must not call into pystray once pystray's loop has ended
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=STOP_TIMEOUT_SECONDS)
        if self._thread is not None and self._thread.is_alive():
            if not self._end_x11_loop():
                # other backends, or no X connection of our own: pystray's own stop, bounded
                # (it waits for its loop without a limit)
                helper = threading.Thread(target=self._stop_icon, name="hushtype-tray-stop", daemon=True)
                helper.start()
                helper.join(timeout=STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                log.warning("the tray icon did not stop in time; leaving it to exit with the process")
        for thread in (self._thread, self._watcher):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=STOP_TIMEOUT_SECONDS)
        if self._xconn is not None:
            try:
                self._xconn.close()
            except Exception:
                pass
            self._xconn = None
        self._close_icon_display()

    def _end_x11_loop(self) -> bool:
        """End pystray's Xlib loop by destroying its window from our own X connection: the loop
        sees the DestroyNotify it waits for and returns. pystray's own stop() sends a message
        across threads on the loop's connection and waits for it without a limit, which
        sometimes never returns (a lost wake-up in python-xlib)."""
        window = getattr(self.icon, "_window", None)
        if window is None:
            return False
        try:
            from Xlib.display import Display

            conn = self._xconn or Display()
            self._xconn = conn
            conn.create_resource_object("window", window.id).destroy()
            conn.sync()
        except Exception:
            log.debug("could not end the tray loop through X", exc_info=True)
            return False
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            return False
        self.icon._running = False  # pystray must not try to stop a loop that has ended
        return True

    def _close_icon_display(self) -> None:
        """Close pystray's X connection now that its loop has ended. Its Icon.__del__ would
        otherwise close it whenever the object is collected, possibly after X has gone."""
        display = getattr(self.icon, "_display", None)
        if display is None or (self._thread is not None and self._thread.is_alive()):
            return
        try:
            display.close()
        except Exception:
            pass
        self.icon._display = _ClosedDisplay()

    def _stop_icon(self) -> None:
        try:
            self.icon.stop()
        except Exception:
            log.debug("tray stop failed", exc_info=True)


class _ClosedDisplay:
    """Stands in for a closed Xlib display so that closing it again does nothing."""

    def close(self) -> None:
        return None

"""The IBus session inside ``hushtype up``: a GLib main-loop thread, the bus connection, the
run-time registration of the "hushtype" engine and the restoring of the previous engine.

Every call into IBus happens on the GLib thread: other threads use :meth:`IBusSession.call`
(``GLib.idle_add`` plus a wait). The engine callbacks only queue raw facts and return, so a
key costs the app a few microseconds. Nothing here logs or keeps keys or text.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from assistant.platform.ibus import keyvals
from assistant.platform.select import PlatformError

log = logging.getLogger("hushtype.ibus")

PRESS, RELEASE, FOCUS, RESET, SECURE = 1, 2, 3, 4, 5
FALLBACK_ENGINE = "xkb:us::eng"
# GTK resets its input method right after some keys it handles itself (Backspace, Enter): a
# reset this soon after a key is that key's doing (the key itself is seen), not a click.
KEY_RESET_S = 0.3
SELF_RESETTING_KEYS = frozenset({"BackSpace", "Delete", "KP_Delete", "Return", "KP_Enter",
                                 "ISO_Enter"})


_DESCRIBED: dict[int, tuple] = {}       # keyval -> (name, char): fixed by IBus, not the layout


class IBusUnavailable(PlatformError):
    """No IBus daemon to talk to (or PyGObject/IBus typelib missing)."""


class IBusSession:
    def __init__(self, *, engine_name: str | None = None, restore: bool = True):
        self.engine_name = engine_name
        self.restore = restore
        self.previous_engine: str | None = None
        self.generation = 0                # bumps on every focus move
        self.engine = None                 # the engine of the focused field (or None)
        self.secure = False                # the focused field is a password/PIN field
        self.context: str | None = None    # IBus's input-context path of the focused field
        self.client: str | None = None     # its client ("gtk3-im:gedit")
        self._secure_contexts: dict[str, bool] = {}
        self.put: Callable[[tuple], None] | None = None     # the key source's queue.put
        self.hotkeys = None                # IBusHotkeys: claims its chords' keys
        self.quiet_until = 0.0             # resets before this (our own output) are ours
        self.output_busy = 0               # output steps running on the GLib thread
        self.last_key_at = 0.0             # when a self-resetting key last passed through
        self.last_pass_at = 0.0            # when any key last passed through to the app
        self._thread: threading.Thread | None = None
        self._loop = None
        self._bus = None
        self._factory = None
        self._engines: list = []
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False

    # ------------------------------------------------------------------ life cycle
    def start(self, timeout: float = 15.0) -> "IBusSession":
        try:
            import gi

            gi.require_version("IBus", "1.0")
            from gi.repository import GLib, IBus  # noqa: F401
        except (ImportError, ValueError) as exc:
            raise IBusUnavailable(f"PyGObject with the IBus typelib is missing ({exc}); "
                                  "install gir1.2-ibus-1.0 and run scripts/setup.sh") from exc
        self._thread = threading.Thread(target=self._main, name="hushtype-ibus", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise IBusUnavailable(f"the IBus daemon did not make hushtype the input method within "
                                  f"{timeout:.0f} s")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        from gi.repository import GLib, IBus

        from assistant.platform.ibus.engine import ENGINE_NAME, make_component

        self.engine_name = self.engine_name or ENGINE_NAME
        self._loop = GLib.MainLoop()
        try:
            IBus.init()
            bus = IBus.Bus()
            if not bus.is_connected():
                # IBus.Bus is one per process: one left from a daemon that went away would
                # never reach the new daemon (whose address may differ); start afresh.
                bus.destroy()
                bus = IBus.Bus()
            if not bus.is_connected():
                raise IBusUnavailable("no IBus daemon answers (is ibus-daemon running in this "
                                      "session? `ibus-daemon --daemonize --xim`)")
            self._bus = bus
            bus.connect("disconnected", lambda *_: self._on_disconnected())
            self._factory = IBus.Factory.new(bus.get_connection())
            self._factory.connect("create-engine", self._create_engine)
            if not bus.register_component(make_component()):
                raise IBusUnavailable("the IBus daemon refused to register the hushtype engine")
            previous = bus.get_global_engine()
            name = previous.get_name() if previous is not None else None
            self.previous_engine = name if name != self.engine_name else None
            # The blocking call deadlocks: the daemon calls back into our factory meanwhile.
            bus.set_global_engine_async(self.engine_name, -1, None, self._engine_set)
        except BaseException as exc:
            self._error = exc if isinstance(exc, IBusUnavailable) else IBusUnavailable(str(exc))
            self._ready.set()
            return
        self._loop.run()

    def _engine_set(self, bus, result) -> None:
        try:
            ok = bus.set_global_engine_async_finish(result)
            if not ok:
                self._error = IBusUnavailable("IBus did not switch to the hushtype engine")
        except Exception as exc:
            self._error = IBusUnavailable(f"IBus did not switch to the hushtype engine: {exc}")
        log.info("IBus: hushtype is the input method (previous: %s)", self.previous_engine or "none")
        self._ready.set()

    def _create_engine(self, factory, name):
        from gi.repository import IBus  # noqa: F401

        from assistant.platform.ibus.engine import HushtypeEngine

        path = f"/org/freedesktop/IBus/Engine/hushtype/{len(self._engines) + 1}"
        engine = HushtypeEngine(engine_name=name, object_path=path,
                                connection=self._bus.get_connection(), has_focus_id=True)
        engine.session = self
        self._engines.append(engine)
        return engine

    def _on_disconnected(self) -> None:
        log.warning("IBus: the daemon went away; typed commands pause until it is back")
        self.engine = None

    def stop(self, timeout: float = 5.0) -> None:
        """Give the previous engine back and end the GLib thread (idempotent)."""
        if self._stopped or self._thread is None:
            return
        self._stopped = True
        done = threading.Event()
        restored_to: dict = {}

        def restore():
            bus = self._bus
            if bus is None or not bus.is_connected() or not self.restore:
                done.set()
                return False
            target = self.previous_engine or self._fallback_engine(bus)
            restored_to["name"] = target

            deadline = time.monotonic() + timeout / 2

            def settled():
                # The daemon switches engines in the background: leave only once it has.
                current = b_engine_name(bus)
                if current == target or time.monotonic() > deadline:
                    if current == target:
                        log.info("IBus: input method %s restored", target)
                    else:
                        log.warning("IBus: the input method is %s, not %s", current, target)
                    done.set()
                    return False
                return True

            def finished(b, result):
                try:
                    b.set_global_engine_async_finish(result)
                except Exception as exc:
                    log.warning("IBus: could not restore the input method %s: %s", target, exc)
                    done.set()
                    return
                from gi.repository import GLib

                if settled():
                    GLib.timeout_add(50, settled)

            bus.set_global_engine_async(target, -1, None, finished)
            return False

        def finish():
            # IBus.Bus is one per process: unexport our factory so a later session can export.
            for engine in list(self._engines):
                try:
                    engine.destroy()
                except Exception:
                    pass
            if self._factory is not None:
                self._factory.destroy()
                self._factory = None
            try:
                self._reassert(restored_to.get("name"))
            finally:
                self._loop.quit()
            return False

        if self._loop is not None and self._thread.is_alive():
            self._idle(restore)
            done.wait(timeout)
            self._idle(finish)
        self._thread.join(timeout)

    def _reassert(self, target: str | None, settle: float = 0.3, tries: int = 10) -> None:
        """Close our connection, then set ``target`` again from a fresh one.

        When a registered component's connection goes, ibus-daemon forgets the global engine
        (whichever it is); so the component's connection is closed first and the engine we
        restored is set once more over a connection that registered nothing."""
        from gi.repository import IBus

        bus, self._bus = self._bus, None
        if bus is None or target is None:
            return
        # Closed for certain before the fresh connection's blocking hello: IBus.Bus.destroy()
        # closes it in the background, and about one stop in four the hello then waited out
        # D-Bus's 25 s timeout (most likely on the daemon's own blocking call into our engine,
        # which this very thread answers); the fresh bus came back unconnected and the
        # daemon, having dropped our component, was left with no global engine.
        connection = bus.get_connection()
        if connection is not None and not connection.is_closed():
            connection.close_sync(None)
        bus.destroy()                           # IBus.Bus is one per process: a new one next
        fresh = IBus.Bus()
        if not fresh.is_connected():
            log.warning("IBus: no connection to restore the input method %s from", target)
        try:
            # First the daemon must have dropped our component (our engine leaves its list);
            # only then is the engine set again, and seen to stay.
            deadline = time.monotonic() + tries * settle
            while time.monotonic() < deadline and fresh.is_connected() and \
                    self.engine_name in _engine_names(fresh):
                time.sleep(0.05)
            steady = 0
            while time.monotonic() < deadline + tries * settle and fresh.is_connected():
                if b_engine_name(fresh) != target:
                    steady = 0
                    fresh.set_global_engine(target)
                else:
                    steady += 1
                    if steady >= 2:
                        return
                time.sleep(settle / 3)
            log.warning("IBus: the input method %s did not stay restored", target)
        finally:
            fresh.destroy()

    def _fallback_engine(self, bus) -> str:
        """The engine to go back to when there was none: the first other preloaded one."""
        try:
            for desc in bus.list_active_engines() or []:
                if desc.get_name() != self.engine_name:
                    return desc.get_name()
        except Exception:
            pass
        return FALLBACK_ENGINE

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopped

    # ------------------------------------------------------------------ GLib-thread calls
    @staticmethod
    def _idle(fn) -> None:
        from gi.repository import GLib

        GLib.idle_add(fn, priority=GLib.PRIORITY_HIGH_IDLE)

    def call(self, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Run ``fn`` on the GLib thread and return its result (its exception re-raised)."""
        if threading.current_thread() is self._thread:
            return fn()
        box: dict = {}
        done = threading.Event()

        def run():
            try:
                box["value"] = fn()
            except BaseException as exc:
                box["error"] = exc
            done.set()
            return False

        self._idle(run)
        if not done.wait(timeout):
            raise TimeoutError("the IBus thread did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    # ------------------------------------------------------------------ engine callbacks
    @staticmethod
    def describe(keyval: int) -> tuple[str | None, str]:
        """(keyval name, the character it types or "") - the layout is already applied.
        Remembered per keyval: a key then costs one dict lookup on the GLib thread."""
        known = _DESCRIBED.get(keyval)
        if known is None:
            from gi.repository import IBus

            known = _DESCRIBED[keyval] = (IBus.keyval_name(keyval), IBus.keyval_to_unicode(keyval))
        return known

    def on_key(self, engine, keyval: int, keycode: int, state: int) -> bool:
        if state & keyvals.FORWARD_MASK:
            return False                       # a key we forwarded ourselves
        hotkeys = self.hotkeys
        if hotkeys is not None and hotkeys.claims(self, keyval, keycode, state):
            return True                        # the voice chord: the app never sees it
        if self.secure:
            return False                       # a password field: nothing is read
        self.last_pass_at = time.monotonic()
        put = self.put
        if put is not None:
            if state & keyvals.RELEASE_MASK:
                put((RELEASE, None, "", keycode, state, 0.0))
            else:
                name, char = self.describe(keyval)
                now = time.monotonic()
                if name in SELF_RESETTING_KEYS:
                    self.last_key_at = now
                put((PRESS, name, char, keycode, state, now))
        return False

    def on_focus_in(self, engine, context: str | None, client: str | None) -> None:
        """A field took the focus. ``context`` is IBus's input-context path (one per field or
        window); IBus's own "fake" context (nothing focused) is not a field."""
        log.debug("IBus: focus in (%s)", client)
        if client == "fake":
            self.engine = None
            return
        self.engine = engine
        if context is not None and context == self.context:
            return                              # the same field again (focus flaps on Wayland)
        self.context, self.client = context, client
        self.generation += 1
        self._emit((FOCUS, self.generation, _app_class(client)))
        # IBus sends a field's content type when it changes, not on every focus in: what we
        # learnt about this field stands; a field we never heard about is an ordinary one.
        secure = self._secure_contexts.get(context, False) if context is not None else self.secure
        if secure != self.secure:
            self.secure = secure
            self._emit((SECURE, secure))

    def on_focus_out(self, engine) -> None:
        log.debug("IBus: focus out")
        if self.engine is engine:
            self.engine = None

    def on_reset(self, engine) -> None:
        now = time.monotonic()
        if self.output_busy or now < self.quiet_until:
            return                             # our own commit made the app reset us
        if now - self.last_key_at < KEY_RESET_S:
            self.last_key_at = 0.0
            return                             # the app resets on its own after Backspace/Enter
        self._emit((RESET, time.monotonic()))

    def on_content_type(self, engine, purpose: int, hints: int) -> None:
        from assistant.platform.ibus.engine import SECURE_PURPOSES

        secure = purpose in SECURE_PURPOSES
        log.debug("IBus: field purpose %d (secure: %s)", purpose, secure)
        if self.context is not None:
            self._secure_contexts[self.context] = secure
        if secure != self.secure:
            self.secure = secure
            self._emit((SECURE, secure))

    def on_destroy(self, engine) -> None:
        if self.engine is engine:
            self.engine = None
        if engine in self._engines:
            self._engines.remove(engine)

    def _emit(self, item: tuple) -> None:
        put = self.put
        if put is not None:
            put(item)

    def app_class(self) -> str | None:
        return _app_class(self.client)


def _engine_names(bus) -> set[str]:
    try:
        return {desc.get_name() for desc in bus.list_engines() or []}
    except Exception:
        return set()


def b_engine_name(bus) -> str | None:
    """The global engine's name (None when none is set)."""
    try:
        desc = bus.get_global_engine()
    except Exception:
        return None
    return desc.get_name() if desc is not None else None


def _app_class(client: str | None) -> str | None:
    """IBus's client id ("gtk3-im:gedit", "gtk4-im:org.gnome.TextEditor", "xim") -> "gedit"."""
    if not client:
        return None
    name = client.split(":", 1)[1] if ":" in client else client
    return name.lower() or None

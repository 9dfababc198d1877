"""Typed commands inside ``hushtype up``: keyboard hook -> trigger engine -> pipeline -> injector.

One worker thread takes the hook's queue in order (so Esc is seen while a command runs); each
fired command runs on its own job thread. Keys are never logged; the log says which command
ran, how long it took and why it failed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from assistant.hooks.keys import Click, FocusChange, parse_chord
from assistant.hooks.listener import CLICK, PRESS, RELEASE, KeyConverter, KeyHook
from assistant.hooks.trigger import Cancel, Fire, PasteWanted, TriggerEngine, Undo

log = logging.getLogger("hushtype.typed")

# Keys the injector never sends: inside an injection they are the user's (Esc cancels).
NEVER_INJECTED = frozenset({"esc", "left", "right", "up", "down", "home", "end", "page_up",
                            "page_down", "delete", "f1", "f2", "f3", "f4", "f5", "f6", "f7",
                            "f8", "f9", "f10", "f11", "f12"})


def build_engine(settings: dict, specs: dict) -> TriggerEngine:
    typing = settings.get("typing", {})
    injection = settings.get("injection", {})
    return TriggerEngine(
        [spec.prefix for spec in specs.values()],
        terminator=typing.get("terminator", ";;"),
        terminator_chord=typing.get("terminator_chord") or None,
        max_command_chars=int(typing.get("max_command_chars", 8000)),
        paste_chords=injection.get("paste_chords", {}),
        default_paste_chords=[c for c in (injection.get("default_paste_chord", "ctrl+v"),
                                          injection.get("fallback_paste_chord", "shift+Insert")) if c],
        enter_submits_in=injection.get("terminal_apps", ()),
    )


@dataclass
class CommandRecord:
    """Timings of one typed command (no text): for the log and the benchmark."""

    prefix: str
    status: str = "running"
    terminator_at: float = 0.0        # monotonic time the terminator key reached the hook
    fired_at: float = 0.0
    first_chunk_at: float | None = None
    first_injected_at: float | None = None
    done_at: float | None = None
    method: str | None = None
    timings: dict = field(default_factory=dict)


class FocusProbe:
    """The focused window, kept current from X focus events: a key costs no X round trip.

    We ask the server for FocusOut/DestroyNotify on the focused window; when one arrives the
    focus is queried again (window ids can be reused by a new app, so an id alone is no proof
    that the focus stayed)."""

    def __init__(self):
        import Xlib.X

        from assistant.injection.x11 import X11, WindowInfo

        self._X = Xlib.X
        self.x11 = X11()
        self._dirty = True
        self._generation = 0
        self._last = WindowInfo(None, None)
        self._focus_id = None

    def current(self):
        """(generation, WindowInfo): the generation changes whenever the focus may have moved."""
        import Xlib.error

        from assistant.injection.x11 import WindowInfo

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


class TypedCommands:
    def __init__(self, ctx, *, hook=None, focus=None):
        self.ctx = ctx
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.hook = hook if hook is not None else KeyHook(self.queue)
        self.focus = focus if focus is not None else FocusProbe()
        self.converter = KeyConverter()
        self.guard = getattr(ctx.injector, "guard", None)
        self._lock = threading.RLock()        # the engine is touched by the worker and jobs
        self._cancel = threading.Event()
        self._job: threading.Thread | None = None
        self._window_id = None
        self._window = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._streaming = threading.Event()   # output is being typed: user keys are blocked
        self._cancel_reason: str | None = None
        self._cancel_restore = True
        # Held while a result goes in and the engine learns about it: the worker waits, so a
        # key right after the injection meets the engine's post-injection state (undo ready).
        self._phase = threading.Lock()
        self.records: deque[CommandRecord] = deque(maxlen=100)   # timings only, no text
        self.apply_settings(ctx.settings)
        ctx.listeners.append(self.apply_settings)
        if ctx.injector is not None:
            ctx.injector.on_escape = self._escape_while_held

    # ------------------------------------------------------------------ set-up
    def apply_settings(self, settings: dict) -> None:
        from assistant.config import command_specs

        specs = command_specs(settings)
        typing = settings.get("typing", {})
        with self._lock:
            self.specs = {spec.prefix: spec for spec in specs.values()}
            self.engine = build_engine(settings, specs)
            self.deny = {a.lower() for a in settings.get("privacy", {}).get("deny_apps", [])}
            self.pause_chord = parse_chord(typing["pause_hotkey"]) if typing.get("pause_hotkey") else None
            self.undo_chord = parse_chord(typing["undo_hotkey"]) if typing.get("undo_hotkey") else None

    def describe(self) -> str:
        typing = self.ctx.settings.get("typing", {})
        end = typing.get("terminator_chord") or repr(typing.get("terminator", ";;"))
        prefixes = ", ".join(sorted(self.specs))
        return (f"typed commands: {prefixes} ... ended with {end}; pause/resume {self.pause_chord}, "
                f"undo {self.undo_chord} (or Backspace right after a result); Esc cancels")

    def start(self) -> "TypedCommands":
        self.hook.start()
        self._thread = threading.Thread(target=self._work, name="hushtype-typed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._cancel.set()
        self.hook.stop()
        if self._thread is not None:
            self._thread.join(timeout=3)
        if self._job is not None:
            self._job.join(timeout=10)

    @property
    def busy(self) -> bool:
        return self._job is not None and self._job.is_alive()

    # ------------------------------------------------------------------ event loop
    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self.process(item)
                if log.isEnabledFor(logging.DEBUG) and item[0] == PRESS:
                    log.debug("key handled: engine %s (word start %s), busy %s, window %s/%s, paused %s",
                              self.engine.state, self.engine._start_boundary, self.busy,
                              self._window_id, getattr(self._window, "wm_class", None),
                              self.ctx.paused.is_set())
            except Exception:
                log.exception("typed commands: an event could not be handled")

    def process(self, item) -> None:
        kind, key, injected, server_time, at = item
        if kind == RELEASE:
            self.converter.release(key)
            return
        with self._phase:
            pass
        if injected:
            return
        if kind == PRESS and self.guard is not None and self.guard.covers(server_time) \
                and getattr(key, "name", None) not in NEVER_INJECTED:
            return                          # our own key (or one blocked while we typed)
        if kind == CLICK:
            with self._lock:
                self._handle(self.engine.feed(Click()), at)
            return
        generation, window = self.focus.current()
        self._window = window
        if generation != self._window_id:
            self._window_id = generation
            with self._lock:
                self._handle(self.engine.feed(FocusChange(window.id, window.wm_class)), at)
        event = self.converter.press(key, injected=injected, window_class=window.wm_class)
        if event is None:
            return
        if self.pause_chord is not None and self.pause_chord.matches(event):
            with self._lock:
                self.engine.reset()
            self.ctx.toggle_pause()
            return
        if self.ctx.paused.is_set():
            return
        if any(name in self.deny for name in window.names):
            with self._lock:
                self.engine.reset(boundary=False)
            return
        with self._lock:
            if self.undo_chord is not None and self.undo_chord.matches(event):
                undo = self.engine.take_undo()
                if undo is not None:
                    self._start_job(self._run_undo, undo)
                return
            self._handle(self.engine.feed_key(event), at)

    def _handle(self, action, at: float) -> None:
        if action is None:
            return
        if isinstance(action, Fire):
            record = CommandRecord(prefix=action.prefix, terminator_at=at, fired_at=time.monotonic())
            self._start_job(self._run_command, action, record)
        elif isinstance(action, PasteWanted):
            from assistant.injection.clipboard import read_text

            try:
                self.engine.pasted(read_text())
            except Exception as exc:
                log.warning("could not read the pasted text: %s", exc)
                self.engine.reset(boundary=False)
        elif isinstance(action, Cancel):
            if self._streaming.is_set() and "typing" in action.reason:
                return          # keys are blocked while output is typed; only Esc cancels
            if self.busy and not self._cancel.is_set():
                log.info("typed command cancelled: %s", action.reason)
                self._cancel_reason = action.reason
                self._cancel_restore = action.restore
                self._cancel.set()
        elif isinstance(action, Undo):
            self._start_job(self._run_undo, action)

    def _escape_while_held(self) -> None:
        """Esc reached us through the key hold of an injection (it never reached the app)."""
        with self._lock:
            if self.busy and not self._cancel.is_set():
                log.info("typed command cancelled: cancelled with Esc")
                self._cancel_reason, self._cancel_restore = "cancelled with Esc", True
                self._cancel.set()

    def _start_job(self, target, *args) -> None:
        self._cancel.clear()
        self._cancel_reason = None
        self._cancel_restore = True
        self.ctx.busy.set()
        self._job = threading.Thread(target=self._guarded, args=(target, *args),
                                     name="hushtype-command", daemon=True)
        self._job.start()

    def _guarded(self, target, *args) -> None:
        try:
            target(*args)
        except Exception:
            log.exception("typed command failed")
            with self._lock:
                self.engine.finished()
        finally:
            self.ctx.busy.clear()

    # ------------------------------------------------------------------ jobs
    def _run_command(self, fire: Fire, record: CommandRecord) -> None:
        spec = self.specs.get(fire.prefix)
        typed_text = None
        self.records.append(record)
        session = None
        injector = self.ctx.injector
        terminator_shown = fire.shown_chars - len(fire.prefix) - len(fire.body)
        typed_text = fire.prefix + fire.body + (self.engine.terminator if terminator_shown else "")
        log.info("typed command %s: running (%d characters)", fire.prefix, len(fire.body))

        def on_chunk(text: str) -> None:
            nonlocal session
            if record.first_chunk_at is None:
                record.first_chunk_at = time.monotonic()
            if self._cancel.is_set():
                return
            if session is None:
                self._streaming.set()
                session = injector.stream(fire.shown_chars, original=typed_text)
            session.feed(text)

        # No streaming into terminals: a streamed newline would run a half-written command;
        # the whole answer is pasted there instead (shells take a paste as text).
        stream = spec.stream and not injector.is_terminal(self._window)
        result = self.ctx.pipeline.run_spec(spec, fire.body, source="typed",
                                            on_chunk=on_chunk if stream else None,
                                            cancel=self._cancel)
        record.timings = dict(result.timings)
        output = None
        error = result.error
        status = result.status
        self._phase.acquire()
        try:
            try:
                if result.ok and not self._cancel.is_set():
                    if session is not None:
                        output = session.finish()
                        record.first_injected_at = session.first_char_at
                        record.method = "stream"
                    else:
                        injector.replace(fire.shown_chars, result.output)
                        record.first_injected_at = time.monotonic()
                        record.method = injector.last_method
                        output = result.output
                else:
                    if result.ok:                      # finished, but Esc came first
                        status, error = "cancelled", self._cancel_reason or "cancelled"
                    if session is not None:
                        session.abort(restore=self._cancel_restore)
            except Exception as exc:
                status, error = "failed", f"could not insert the result: {exc}"
                if session is not None:
                    try:
                        session.abort()
                    except Exception:
                        log.exception("could not put the typed command back")
            finally:
                self._streaming.clear()
            record.status, record.done_at = status, time.monotonic()
            with self._lock:
                if output:
                    self.engine.finished(original=fire.prefix + fire.body, output=output, prefix=fire.prefix)
                else:
                    self.engine.finished()
        finally:
            self._phase.release()
        if status == "ok":
            log.info("typed command %s: done in %.0f ms (%s)", fire.prefix,
                     (record.done_at - record.terminator_at) * 1000, record.method)
        elif status == "cancelled":
            reason = self._cancel_reason or error or "cancelled"
            log.info("typed command %s cancelled (%s); the text stays as typed", fire.prefix, reason)
            if self._cancel_reason and "Esc" not in self._cancel_reason:
                self.ctx.notify(f"hushtype: {fire.prefix} cancelled", f"{reason}; your text is unchanged")
        else:
            self.ctx.notify(f"hushtype: {fire.prefix} failed", f"{error}. Your text is unchanged.")

    def _run_undo(self, undo: Undo) -> None:
        remove = max(0, undo.output_chars - undo.already_deleted)
        with self._phase:
            try:
                self.ctx.injector.replace(remove, undo.original)
            except Exception as exc:
                log.warning("undo failed: %s", exc)
                with self._lock:
                    self.engine.finished()
                return
            with self._lock:
                self.engine.restored(undo.prefix, undo.original[len(undo.prefix):])
        log.info("typed command %s undone", undo.prefix)

"""Typed commands inside ``hushtype up``: the platform's key source -> trigger engine ->
pipeline -> the platform's text output.

Only the platform layer's protocols are used here (``platform.keys``, ``platform.focus``,
``platform.output``, ``platform.clipboard``), so the same service runs on every backend.
One worker thread takes the key source's queue in order (so Esc is seen while a command runs);
each fired command runs on its own job thread. Keys are never logged; the log says which
command ran, how long it took and why it failed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace

from assistant.hooks.keys import Click, FocusChange, KeyEvent, parse_chord
from assistant.hooks.trigger import Cancel, Fire, PasteWanted, TriggerEngine, Undo
from assistant.platform.base import SecureField

log = logging.getLogger("hushtype.typed")


def app_names(app) -> tuple[str, ...]:
    """The names an app goes by (class, instance ...), lower-case, for the deny list."""
    names = getattr(app, "names", None)
    if names is not None:
        return tuple(names)
    return tuple(n for n in (getattr(app, "app_class", None),) if n)


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


class TypedCommands:
    def __init__(self, ctx, *, keys=None, focus=None):
        self.ctx = ctx
        platform = getattr(ctx, "platform", None)
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.keys = keys if keys is not None else getattr(platform, "keys", None)
        self.focus = focus if focus is not None else getattr(platform, "focus", None)
        if self.keys is None:
            raise RuntimeError(f"this session's platform ({getattr(platform, 'name', 'none')}) "
                               "offers no key source for typed commands")
        self._secure = False                  # the key source says the field is a password field
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
        self.keys.start(self.queue)
        self._thread = threading.Thread(target=self._work, name="hushtype-typed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._cancel.set()
        self.keys.stop()
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
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("event handled: engine %s (word start %s), busy %s, window %s/%s, paused %s",
                              self.engine.state, self.engine._start_boundary, self.busy,
                              self._window_id, getattr(self._window, "app_class", None),
                              self.ctx.paused.is_set())
            except Exception:
                log.exception("typed commands: an event could not be handled")

    def process(self, item) -> None:
        """One raw item of the key source's queue (the key source decodes it)."""
        with self._phase:
            pass
        for event in self.keys.decode(item):
            self._event(event)

    def _event(self, event) -> None:
        if isinstance(event, SecureField):
            self._secure = event.secure
            with self._lock:                  # a new (normal) field: a prefix may start at once
                self.engine.reset(boundary=not event.secure)
            return
        at = getattr(event, "at", 0.0) or time.monotonic()
        if isinstance(event, Click):
            with self._lock:
                self._handle(self.engine.feed(Click()), at)
            return
        if isinstance(event, FocusChange):       # a key source that reports focus itself
            self._window_id = ("source", event.window_id)
            with self._lock:
                self._handle(self.engine.feed(event), at)
            return
        if not isinstance(event, KeyEvent):
            return
        if self.focus is not None:
            generation, window = self.focus.current()
            self._window = window
            if generation != self._window_id:
                self._window_id = generation
                with self._lock:
                    self._handle(self.engine.feed(FocusChange(window.id, window.app_class)), at)
            if event.window_class is None and window.app_class is not None:
                event = replace(event, window_class=window.app_class)
        window = self._window
        if self._secure:
            return                          # a password field: nothing typed there is read
        if self.pause_chord is not None and self.pause_chord.matches(event):
            with self._lock:
                self.engine.reset()
            self.ctx.toggle_pause()
            return
        if self.ctx.paused.is_set():
            return
        if window is not None and any(name in self.deny for name in app_names(window)):
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
            clipboard = getattr(getattr(self.ctx, "platform", None), "clipboard", None)
            try:
                if clipboard is None:
                    raise RuntimeError("this platform offers no clipboard")
                self.engine.pasted(clipboard.read_text())
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
        is_terminal = getattr(injector, "is_terminal", None)
        stream = spec.stream and not (is_terminal is not None and is_terminal(self._window))
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
                        record.method = getattr(injector, "last_method", None)
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

"""Push-to-talk inside `hushtype up`: ``start(ctx)`` returns a running :class:`VoiceService`.

Only the platform layer is used: hotkey presses and releases from ``ctx.platform.hotkeys``
(or ``control("start"|"stop"|"toggle")`` from `hushtype voice ...` over the control socket)
-> push-to-talk machine -> for each recording: the
microphone stream feeds an :class:`IncrementalTranscriber`; when the key goes up the tail is
transcribed and the text delivered, in order, by one delivery thread:

* dictate key: cleaned transcript -> ``ctx.injector.insert`` (the platform's text output) and a history entry
  (source "voice", the transcript only - audio is never stored);
* command key: the transcript is parsed as a spoken command and run through
  ``ctx.pipeline.run_spec(..., source="voice")``, whose result is inserted.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from assistant.server_location import remote_host
from assistant.voice.capture import CaptureError, Microphone
from assistant.voice.cleanup import clean_transcript
from assistant.voice.engine import ModelError, WhisperEngine
from assistant.voice.hotkeys import ChordTracker, HotkeyError, parse_hotkey
from assistant.voice.lm_rescoring import ServerLM
from assistant.voice.ptt import Discard, PushToTalk, Start, Stop
from assistant.voice.settings import engine_from_settings, vad_from_settings
from assistant.voice.spoken import parse_spoken_command
from assistant.voice.transcriber import IncrementalTranscriber, Transcript

log = logging.getLogger("hushtype.voice")

DICTATE = "dictate"
COMMAND = "command"
_IDLE_CHECK_S = 30.0  # how often an idle model is checked for unloading
_CONTINUE_S = 30.0  # a dictation within this time into the same window continues the last one
_HELD_KEYS_WAIT_S = 60.0  # a capped recording's text waits this long for the hotkey to go up


def model_label(engine: WhisperEngine) -> str:
    return f"whisper:{getattr(engine, 'model_name', None) or engine.model_path.name}"


class VoiceService:
    def __init__(self, ctx, *, engine: WhisperEngine | None = None, microphone=None,
                 key_listener_factory=None, window_probe=None, clock=time.monotonic) -> None:
        self.ctx = ctx
        self._clock = clock
        self._custom_engine = engine is not None
        self._custom_mic = microphone is not None
        self.engine = engine
        self.mic = microphone
        self.voice: dict = {}
        self._hotkeys = None                  # the platform's Hotkeys, once bound
        self._remote_down = False             # a recording started by control("start")
        self._model_lm = ServerLM(self._scoring_model)  # for [voice] rescore = "model"
        self._apply(ctx.settings)
        self._pending_settings: dict | None = None
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._sessions: dict[int, IncrementalTranscriber] = {}
        self._recording_id: int | None = None
        self._deliver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-deliver")
        self._listener_factory = key_listener_factory
        self._listener = None
        self._window_probe = window_probe or self._active_window
        self._last_insert: tuple[str | None, float, str] | None = None  # (window, time, text)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="voice-ptt", daemon=True)
        # what the last recordings produced (status and tests); bounded, never written anywhere
        self.delivered: deque[dict] = deque(maxlen=20)

    def _apply(self, settings: dict) -> None:
        """Take (new) settings: hotkeys, limits, model, device. ValueError when they are wrong."""
        voice = dict(settings.get("voice", {}))
        try:
            chords = {
                DICTATE: parse_hotkey(voice.get("dictate_hotkey", "<ctrl>+<alt>+space")),
                COMMAND: parse_hotkey(voice.get("command_hotkey", "<ctrl>+<alt>+c")),
            }
        except HotkeyError as exc:
            raise ValueError(f"[voice] {exc}") from exc
        if chords[DICTATE].keys == chords[COMMAND].keys:
            raise ValueError("[voice] dictate_hotkey and command_hotkey must differ")
        vad = vad_from_settings(voice)
        model_keys = ("model", "model_path", "language", "detect_languages", "beam_size", "cpu_threads",
                      "short_window_seconds", "unload_after_idle_seconds", "rescore",
                      "rescore_budget_ms", "encoder_views")
        if not self._custom_engine and (self.engine is None or
                                        any(self.voice.get(k) != voice.get(k) for k in model_keys)):
            engine = engine_from_settings(voice, model_lm=self._model_lm)  # ModelError: bad model path
            if self.engine is not None:
                self.engine.unload()
            self.engine = engine
        if not self._custom_mic:
            self.mic = Microphone(voice.get("device", "") or None)
        self.voice, self.vad = voice, vad
        self._chords = ChordTracker(chords)
        if getattr(self, "_hotkeys", None) is not None:
            self._hotkeys.start({mode: chord.text for mode, chord in chords.items()},
                                self.chord_down, self.chord_up)
        self._chord_map = chords
        self._ptt = PushToTalk(
            release_grace=float(voice.get("release_grace_ms", 50)) / 1000,
            max_seconds=float(voice.get("max_recording_seconds", 120)),
            min_hold=(float(voice.get("drop_first_ms", 150)) + float(voice.get("min_clip_ms", 300))) / 1000,
        )

    def _scoring_model(self):
        """(client, model) of the command pipeline (the server and default model the spoken
        commands go to) for the model step of rescoring; None without a pipeline, and None
        for a server on another machine: dictation is not a command the user sends there, so
        its words stay here (the bigram order decides)."""
        pipeline = getattr(self.ctx, "pipeline", None)
        client = getattr(pipeline, "client", None)
        if client is None or remote_host(str(getattr(client, "base_url", ""))):
            return None
        return client, pipeline.default_model

    def _settings_changed(self, settings: dict) -> None:
        """Called by ``ctx.apply_settings`` (settings page); applied between recordings."""
        self._pending_settings = settings
        self._events.put(("wake", None, self._clock()))

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> "VoiceService":
        if getattr(self.ctx, "injector", None) is None:  # `hushtype up --no-typed`, or alone
            from assistant.platform.select import open_platform

            self.ctx.use_platform(open_platform(self.ctx.settings))
        listeners = getattr(self.ctx, "listeners", None)
        if isinstance(listeners, list):
            listeners.append(self._settings_changed)
        if self.voice.get("load_at_start", False):
            self.engine.preload_async()
        self._thread.start()
        if self._listener_factory is None:
            hotkeys = getattr(getattr(self.ctx, "platform", None), "hotkeys", None)
            if hotkeys is not None:
                hotkeys.start({mode: chord.text for mode, chord in self._chord_map.items()},
                              self.chord_down, self.chord_up)
                self._hotkeys = hotkeys
                log.info("push-to-talk: hold %s to dictate, %s for a voice command",
                         self.voice.get("dictate_hotkey"), self.voice.get("command_hotkey"))
            else:
                log.info("push-to-talk: no global hotkeys here; bind `hushtype voice toggle` "
                         "(or start/stop) to a desktop shortcut")
        else:
            self._listener = self._listener_factory(self.key_down, self.key_up)
            self._listener.start()
            log.info("push-to-talk: hold %s to dictate, %s for a voice command",
                     self.voice.get("dictate_hotkey"), self.voice.get("command_hotkey"))
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        listeners = getattr(self.ctx, "listeners", None)
        if isinstance(listeners, list) and self._settings_changed in listeners:
            listeners.remove(self._settings_changed)
        if self._listener is not None:
            self._listener.stop()
        if self._hotkeys is not None:
            self._hotkeys.stop()
            self._hotkeys = None
        self._events.put(("wake", None, self._clock()))
        self._thread.join(timeout=5)
        self._close_recording()
        for session in list(self._sessions.values()):
            session.cancel()
        self._sessions.clear()
        self._deliver.shutdown(wait=True, cancel_futures=True)
        self.engine.unload()

    # -- key events (listener thread) ----------------------------------------------------
    def key_down(self, name: str) -> None:
        for mode in self._chords.key_down(name):
            log.debug("hotkey %s down", mode)  # which hotkey only; other keys are never logged
            self._events.put(("press", mode, self._clock()))

    def key_up(self, name: str) -> None:
        for mode in self._chords.key_up(name):
            log.debug("hotkey %s up", mode)
            self._events.put(("release", mode, self._clock()))

    def chord_down(self, mode: str) -> None:
        """A hotkey (by name: "dictate" / "command") went down (the platform's Hotkeys)."""
        log.debug("hotkey %s down", mode)
        self._events.put(("press", mode, self._clock()))

    def chord_up(self, mode: str) -> None:
        log.debug("hotkey %s up", mode)
        self._events.put(("release", mode, self._clock()))

    # -- remote control (`hushtype voice start|stop|toggle` over the control socket) -----
    def control(self, action: str, mode: str = DICTATE) -> dict:
        """Start/stop/toggle a recording as if its hotkey went down/up."""
        if mode not in (DICTATE, COMMAND):
            raise ValueError(f"unknown voice mode {mode!r} (dictate or command)")
        if action == "toggle":
            action = "stop" if self._remote_down else "start"
        if action == "start":
            if not self._remote_down:
                self._remote_down, self._remote_mode = True, mode
                self._events.put(("press", mode, self._clock()))
        elif action == "stop":
            if self._remote_down:
                self._remote_down = False
                self._events.put(("release", self._remote_mode, self._clock()))
        else:
            raise ValueError(f"unknown voice action {action!r} (start, stop or toggle)")
        return {"ok": True, "recording": self._remote_down}

    # -- control loop --------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopped.is_set():
            deadline = self._ptt.next_deadline()
            timeout = _IDLE_CHECK_S if deadline is None else max(0.0, min(_IDLE_CHECK_S, deadline - self._clock()))
            try:
                kind, mode, at = self._events.get(timeout=timeout)
            except queue.Empty:
                kind, mode, at = "tick", None, self._clock()
            try:
                actions = []
                paused = getattr(self.ctx, "paused", None)
                if kind == "press" and not (paused is not None and paused.is_set()):
                    actions = self._ptt.press(mode, at)
                elif kind == "release":
                    actions = self._ptt.release(mode, at)
                if paused is not None and paused.is_set():
                    actions += self._ptt.cancel(self._clock())
                actions += self._ptt.tick(self._clock())
                for action in actions:
                    self._handle(action)
                if self._recording_id is None:
                    if self._pending_settings is not None:
                        settings, self._pending_settings = self._pending_settings, None
                        try:
                            self._apply(settings)
                            log.info("push-to-talk: new settings applied")
                        except (ValueError, ModelError) as exc:
                            self._notify(f"Voice settings not applied: {exc}")
                    self.engine.unload_if_idle()
            except Exception:  # never let one bad recording kill push-to-talk
                log.exception("push-to-talk error")

    def _handle(self, action) -> None:
        log.debug("push-to-talk: %s", action)
        if isinstance(action, Start):
            self._start_recording(action)
        elif isinstance(action, Stop):
            release = getattr(self._hotkeys, "release_keyboard", None)
            if action.reason == "max_length" and release is not None:
                release()  # the key is still down: let the text through
            session = self._end_recording(action.recording_id)
            if session is not None:
                self._deliver.submit(self._finish, action, session)
        elif isinstance(action, Discard):
            session = self._end_recording(action.recording_id)
            if session is not None:
                session.cancel()

    def _start_recording(self, action: Start) -> None:
        self.engine.preload_async()  # load while the user speaks
        session = IncrementalTranscriber(
            self.engine, vad=self.vad, vocabulary=self.voice.get("vocabulary", []),
            drop_first_ms=int(self.voice.get("drop_first_ms", 150)),
            min_speech_ms=int(self.voice.get("min_clip_ms", 300)),
        )
        try:
            self.mic.open(session.feed)
        except CaptureError as exc:
            session.cancel()
            self._ptt.cancel(self._clock())
            self._notify(f"Microphone unavailable: {exc}")
            return
        self._sessions[action.recording_id] = session
        self._recording_id = action.recording_id

    def _close_recording(self) -> None:
        if self._recording_id is not None:
            self._recording_id = None
            self.mic.close()

    def _end_recording(self, recording_id: int) -> IncrementalTranscriber | None:
        """Stop exactly this recording (a stale id never closes a newer one)."""
        if self._recording_id == recording_id:
            self._close_recording()
        return self._sessions.pop(recording_id, None)

    # -- delivery (one thread, in order) -------------------------------------------------
    def _finish(self, action: Stop, session: IncrementalTranscriber) -> None:
        try:
            transcript = session.finish()
        except ModelError as exc:
            self._notify(f"Speech recognition unavailable: {exc}")
            return
        except Exception as exc:
            log.exception("transcription failed")
            self._notify(f"Transcription failed: {exc}")
            return
        record = {"mode": action.mode, "reason": action.reason, "transcript": transcript.text,
                  "release_to_text_s": transcript.finish_seconds,
                  "incremental_calls": transcript.incremental_calls}
        # never the words themselves in the log: only counts and timings
        log.info("push-to-talk %s #%d (%s): %.1f s audio, %.1f s speech, %d words, "
                 "release-to-text %.3f s (%d segments done while held)",
                 action.mode, action.recording_id, action.reason, transcript.audio_seconds,
                 transcript.speech_seconds, len(transcript.text.split()), transcript.finish_seconds,
                 transcript.incremental_calls)
        try:
            if not transcript.text.strip():
                record["inserted"] = ""
                return
            if action.reason == "max_length":
                # the hotkey is still held (or its key-up was lost): typing now would mix our
                # keys with the user's Ctrl/Alt; wait for the real keyboard state to clear
                self._wait_keys_released(_HELD_KEYS_WAIT_S)
            if action.mode == DICTATE:
                record["inserted"] = self._dictate(transcript)
            else:
                record.update(self._command(transcript))
        except Exception as exc:
            log.exception("voice delivery failed")
            record["error"] = str(exc)
            self._notify(f"Voice input failed: {exc}")
        finally:
            self.delivered.append(record)

    def _wait_keys_released(self, timeout: float) -> None:
        wait = getattr(getattr(self.ctx, "injector", None), "wait_modifiers_released", None)
        if wait is None:
            return
        try:
            if not wait(timeout=timeout):
                log.warning("push-to-talk: keys still held after %.0f s; typing anyway", timeout)
        except Exception:
            pass

    def _active_window(self):
        """The focused app (as the text output sees it), to tell whether two dictations go to
        the same place; None when unknown."""
        active = getattr(getattr(self.ctx, "injector", None), "active_app", None)
        if active is None:
            return None
        try:
            return active().id
        except Exception:
            return None

    def _dictate(self, transcript: Transcript) -> str:
        window = self._window_probe() if self._window_probe else None
        previous = None
        last = self._last_insert
        if last and window is not None and last[0] == window and self._clock() - last[1] < _CONTINUE_S:
            previous = last[2]
        text = clean_transcript(
            transcript.text,
            remove_filler_words=bool(self.voice.get("remove_fillers", True)),
            vocabulary=self.voice.get("vocabulary", []),
            previous=previous,
        )
        if not text:
            return ""
        self.ctx.injector.insert(text)
        self._last_insert = (window, self._clock(), text)
        history = getattr(self.ctx, "history", None)
        if history is not None:
            try:
                history.add(
                    source="voice", prefix="", command="dictate", input=transcript.text,
                    output=text, model=model_label(self.engine), status="ok",
                    timings={"release_to_text_s": round(transcript.finish_seconds, 3),
                             "speech_s": round(transcript.speech_seconds, 2)},
                    note=f"language: {transcript.language}" if transcript.language else None,
                )
            except Exception:
                log.exception("could not store the dictation in history")
        return text

    def _command(self, transcript: Transcript) -> dict:
        from assistant.config import ConfigError, command_specs

        spoken = clean_transcript(transcript.text, remove_filler_words=True)
        try:
            specs = command_specs(self.ctx.settings)
        except ConfigError as exc:
            self._notify(str(exc))
            return {"error": str(exc)}
        parsed = parse_spoken_command(spoken, specs, self.voice.get("command_words"))
        if parsed is None:
            self._notify("Nothing to do: say a command and its text, e.g. “fix the cat are happy”")
            return {"error": "no command"}
        spec, body = parsed
        injector = self.ctx.injector
        stream = injector.stream(0) if spec.stream and hasattr(injector, "stream") else None
        try:
            result = self.ctx.pipeline.run_spec(spec, body, source="voice",
                                                on_chunk=stream.feed if stream else None)
        except BaseException:
            if stream is not None:
                stream.abort()
            raise
        out = {"command": spec.name, "body": body, "status": result.status}
        if result.status == "ok" and result.output:
            if stream is not None:
                out["inserted"] = stream.finish()
            else:
                injector.insert(result.output)
                out["inserted"] = result.output
        else:
            if stream is not None:
                stream.abort()
            out["error"] = result.error or result.note or result.status
            self._notify(f"{spec.name}: {out['error']}")
        log.info("voice command %s: %s in %.2f s", spec.name, result.status,
                 (result.timings or {}).get("total_ms", 0) / 1000)
        return out

    def _notify(self, message: str) -> None:
        notify = getattr(self.ctx, "notify", None)
        if callable(notify):
            try:
                notify("hushtype voice", message)
                return
            except Exception:
                pass
        log.warning("%s", message)


def start(ctx) -> VoiceService:
    """Start push-to-talk for `hushtype up`; the returned object has ``.stop()``."""
    return VoiceService(ctx).start()

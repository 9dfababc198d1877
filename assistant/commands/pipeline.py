"""The command pipeline: prefix -> prompt -> model -> clean-up -> history -> CommandResult.

Used by typed commands, voice commands, the settings page and ``hushtype do``. It never
raises for a failed command: the result says ``failed`` or ``cancelled`` with a clear error,
and the attempt is recorded in history like a success.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Callable

from assistant.commands.checked import generate_checked, summarise
from assistant.commands.checks import constraints, unmet
from assistant.commands.cleanup import StreamCleaner, clean_output, clean_text
from assistant.commands.model_kind import prompt_mode_from_show
from assistant.commands.prompts import chat_request, completion_request
from assistant.commands.registry import match_command, prefixes
from assistant.config import CommandSpec, command_specs, load_settings
from assistant.ollama_client import Cancelled, Completion, OllamaClient, OllamaError


@dataclass
class CommandResult:
    status: str                 # "ok" | "failed" | "cancelled"
    output: str | None
    error: str | None
    prefix: str
    input: str
    model: str
    timings: dict = field(default_factory=dict)
    history_id: int | None = None
    note: str | None = None
    command: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return asdict(self)


class _Deadline:
    """A cancel flag that is also set once a time budget is spent (``is_set()`` like an
    Event), so a slow model answer is abandoned — the server sees the disconnect."""

    def __init__(self, cancel: threading.Event | None, until: float):
        self.cancel, self.until = cancel, until

    def is_set(self) -> bool:
        return (self.cancel is not None and self.cancel.is_set()) or time.monotonic() > self.until


def _ms(nanoseconds) -> float | None:
    return round(nanoseconds / 1e6, 1) if isinstance(nanoseconds, (int, float)) else None


class CommandPipeline:
    def __init__(self, settings: dict | None = None, client: OllamaClient | None = None,
                 history=None, clock: Callable[[], datetime] | None = None):
        self.settings = settings if settings is not None else load_settings()
        self.specs = command_specs(self.settings)
        self.client = client or OllamaClient.from_settings(self.settings)
        self.clock = clock
        if history is None:
            from assistant.history.store import HistoryStore

            history = HistoryStore(clock=clock, retention_days=self.settings.get("history", {})
                                   .get("retention_days"))
        self.history = history or None  # history=False: do not record
        self._modes: dict[str, str] = {}
        self._scorers: dict = {}
        self._fixer = None
        self._lock = threading.Lock()

    def reload(self, settings: dict) -> None:
        """Use new settings (e.g. saved by the settings page) from the next command on.
        Raises ConfigError, keeping the old settings, if the new commands are invalid."""
        specs = command_specs(settings)
        old_server = self.settings.get("server", {})
        self.settings, self.specs = settings, specs
        new_server = settings.get("server", {})
        if any(old_server.get(k) != new_server.get(k) for k in ("url", "timeout_seconds", "keep_alive")):
            self.client = OllamaClient.from_settings(settings)
            with self._lock:
                self._modes.clear()
        if self.history is not None and hasattr(self.history, "apply_settings"):
            self.history.apply_settings(settings)

    # ------------------------------------------------------------------ helpers
    @property
    def default_model(self) -> str:
        return self.settings.get("server", {}).get("model") or "gemma3:270m"

    def model_for(self, spec: CommandSpec) -> str:
        return spec.model or self.default_model

    def match(self, text: str, *, loose: bool = False) -> tuple[CommandSpec, str] | None:
        return match_command(text, self.specs, loose=loose)

    def _show(self, model: str) -> dict:
        """What /api/show says about ``model`` that matters here (cached per model)."""
        with self._lock:
            if model in self._modes:
                return self._modes[model]
        show = self.client.show(model)
        info = {"mode": prompt_mode_from_show(show),
                "thinking": "thinking" in (show.get("capabilities") or [])}
        with self._lock:
            self._modes[model] = info
        return info

    def prompt_mode(self, spec: CommandSpec, model: str) -> str:
        """"chat" or "completion": the spec's choice, else what /api/show says (cached)."""
        if spec.prompt_mode != "auto":
            return spec.prompt_mode
        return self._show(model)["mode"]

    def preload(self, model: str | None = None) -> None:
        """Load the default model now so the first command is warm (raises OllamaError);
        the ``fix:`` dictionary loads in the background meanwhile."""
        from assistant.commands.fix.spelling import warm_up

        warm_up()
        self.client.preload(model or self.default_model,
                            self.settings.get("server", {}).get("keep_alive"))

    # ------------------------------------------------------------------ running
    def run(self, text: str, *, source: str = "typed", on_chunk=None,
            cancel: threading.Event | None = None) -> CommandResult:
        """Run the command that ``text`` starts with. Spoken text (``source="voice"``) also
        matches "Fix, ..." / "fix ..." for the prefix "fix:"."""
        found = self.match(text, loose=(source == "voice"))
        if found is None:
            known = ", ".join(prefixes(self.specs))
            return CommandResult(status="failed", output=None, prefix="", input=text,
                                 model=self.default_model,
                                 error=f"the text does not start with a command prefix ({known})")
        spec, body = found
        return self.run_spec(spec, body, source=source, on_chunk=on_chunk, cancel=cancel)

    def run_spec(self, spec: CommandSpec, body: str, *, source: str = "typed", on_chunk=None,
                 cancel: threading.Event | None = None, fix_mode: str | None = None,
                 check: bool = True) -> CommandResult:
        """``fix_mode`` (``fix:`` only): "pipeline" (dictionary, rules, scoring, the model's
        rewrite behind the guard), "dictionary" (the same without the model's rewrite) or
        "prompt" (the model's few-shot answer alone, the path before the pipeline); default
        from ``[fix] rewrite``. ``check=False``: ``sum:``/``gen:`` without their checks (the
        path before them, for comparison)."""
        if fix_mode is None:
            fix_mode = "dictionary" if self.settings.get("fix", {}).get("rewrite") == "never" else "pipeline"
        model = self.model_for(spec)
        clock = self.clock or getattr(self.history, "clock", None)
        started_at = clock() if clock else None  # the record's time is when the command began
        t0 = time.monotonic()
        timings: dict = {}
        result = CommandResult(status="failed", output=None, error=None, prefix=spec.prefix,
                               input=body, model=model, command=spec.name)
        try:
            if not body.strip():
                raise ValueError(f"nothing to do: write some text after {spec.prefix}")
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            mode = self.prompt_mode(spec, model)
            timings["mode"] = mode
            c = constraints(body) if spec.style == "gen" and check else None
            if c is not None and (c.names or c.numbers or c.lines or c.items):
                completion, output, note = self._generate_checked(spec, body, model, mode, c,
                                                                  on_chunk, cancel, timings)
            elif spec.style == "sum" and check:
                completion, output, note = self._summarise(spec, body, model, mode, cancel, timings)
            elif spec.stream:
                completion, output = self._streamed(spec, body, model, mode, on_chunk, cancel)
                # only a sentence or word count asked for: streamed as it comes, checked after
                missing = unmet(output, c) if c is not None and not c.empty else []
                note = ("the answer may not follow the request: " + "; ".join(missing)) if missing else None
            elif spec.style == "fix" and fix_mode != "prompt":
                completion, output, note = self._fix(spec, body, model, mode, cancel,
                                                     use_model=(fix_mode == "pipeline"), timings=timings)
            elif spec.style == "fix" and mode == "completion" and "\n" in body.strip():
                completion, output, note = self._fix_lines(spec, body, model, cancel)
            else:
                completion = self._ask(spec, body, model, mode, None, cancel)
                output, note = self._clean(spec, completion, body)
            if not output:
                raise ValueError("the model returned an empty answer")
            result.output, result.note, result.status = output, note, "ok"
            timings.update({
                "first_chunk_ms": round(completion.first_chunk_seconds * 1000, 1)
                if completion.first_chunk_seconds is not None else None,
                "load_ms": _ms(completion.stats.get("load_duration")),
                "prompt_eval_ms": _ms(completion.stats.get("prompt_eval_duration")),
                "eval_ms": _ms(completion.stats.get("eval_duration")),
                "prompt_tokens": completion.stats.get("prompt_eval_count"),
                "output_tokens": completion.stats.get("eval_count"),
                "done_reason": completion.done_reason,
            })
        except Cancelled:
            result.status, result.error = "cancelled", "cancelled"
        except OllamaError as exc:
            result.status, result.error = "failed", str(exc)
        except ValueError as exc:
            result.status, result.error = "failed", str(exc)
        timings["total_ms"] = round((time.monotonic() - t0) * 1000, 1)
        result.timings = {k: v for k, v in timings.items() if v is not None}
        self._record(result, source, started_at)
        return result

    # ------------------------------------------------------------------ model calls
    def _ask(self, spec: CommandSpec, body: str, model: str, mode: str, forward, cancel,
             extra: dict | None = None, prefill: str = "") -> Completion:
        keep_alive = self.settings.get("server", {}).get("keep_alive")
        options = dict(spec.options)
        options.update(extra or {})
        if spec.style == "fix":  # a correction is about as long as its text: never cut it off
            options["num_predict"] = max(int(options.get("num_predict") or 0), len(body) // 2 + 64)
        if mode == "chat":
            req = chat_request(spec, body)
            # a thinking model would spend its time (and our answer) on reasoning text
            think = False if self._show(model)["thinking"] else None
            return self.client.chat(model, req.messages, options=options, keep_alive=keep_alive,
                                    on_chunk=forward, cancel=cancel, think=think)
        req = completion_request(spec, body)
        stops = list(options.get("stop") or [])
        options["stop"] = stops + [s for s in req.stop if s not in stops]
        completion = self.client.generate(model, req.prompt + (" " + prefill if prefill else ""),
                                          raw=True, options=options, keep_alive=keep_alive,
                                          on_chunk=forward, cancel=cancel)
        if prefill:  # the answer starts with what the prompt put in the model's mouth
            gap = " " if prefill[-1:] in ".!?:" and completion.text[:1] not in ("", " ", "\n") else ""
            completion.text = prefill + gap + completion.text
        return completion

    @staticmethod
    def _clean(spec: CommandSpec, completion: Completion, body: str) -> tuple[str, str | None]:
        if spec.style == "fix" and completion.done_reason == "length":
            return body, "the model's answer was cut off; your text was kept unchanged"
        cleaned = clean_output(spec.style, completion.text, body)
        return cleaned.text, cleaned.note

    def _streamed(self, spec, body, model, mode, on_chunk, cancel) -> tuple[Completion, str]:
        """Stream cleaned pieces to ``on_chunk``; the output is exactly what was streamed."""
        cleaner = StreamCleaner(body)

        def forward(piece: str) -> None:
            out = cleaner.feed(piece)
            if out and on_chunk is not None:
                on_chunk(out)

        completion = self._ask(spec, body, model, mode, forward, cancel)
        tail = cleaner.finish()
        if tail and on_chunk is not None:
            on_chunk(tail)
        return completion, cleaner.emitted

    def _summarise(self, spec, body, model, mode, cancel, timings) -> tuple[Completion, str, str | None]:
        """``[sum] model_summary``: "chat" (default) asks only chat models for a summary (a
        base model's never kept more facts than the extract on the development sets: the
        extract alone, at once), "always" every model, "never" none."""
        ask = str(self.settings.get("sum", {}).get("model_summary", "chat")).strip().lower()
        return summarise(
            body, lambda request, extra, prefill: self._ask(spec, request, model, mode, None, cancel, extra),
            lambda completion: self._clean(spec, completion, body)[0],
            num_predict=int(spec.options.get("num_predict") or 160),
            temperature=float(spec.options.get("temperature") or 0.2), timings=timings,
            ask_model=ask == "always" or (ask == "chat" and mode != "completion"))

    def _generate_checked(self, spec, body, model, mode, c, on_chunk, cancel, timings
                          ) -> tuple[Completion, str, str | None]:
        """Not streamed (the answer is checked first): ``on_chunk`` gets it once."""
        completion, output, note = generate_checked(
            body, c, lambda request, extra, prefill: self._ask(spec, request, model, mode, None,
                                                               cancel, extra, prefill=prefill),
            lambda completion: self._clean(spec, completion, body)[0],
            prefill_ok=(mode == "completion"), timings=timings)
        if on_chunk is not None and output:
            on_chunk(output)
        return completion, output, note

    def scorer(self, model: str):
        """The server's likelihood scorer for ``model`` (support detected on first use)."""
        from assistant.commands.fix.scoring import LogprobScorer

        with self._lock:
            found = self._scorers.get(model)
            if found is None or found.client is not self.client:
                found = self._scorers[model] = LogprobScorer(self.client, model)
            return found

    def _fix(self, spec, body, model, mode, cancel, *, use_model: bool, timings: dict
             ) -> tuple[Completion, str, str | None]:
        """``fix:`` as a pipeline (assistant/commands/fix): only words change, and the model's
        rewrite only where the guard accepts it."""
        from assistant.commands.fix.pipeline import Fixer, correct

        total = Completion(text="")
        budget_ms = self.settings.get("fix", {}).get("rewrite_budget_ms", 800)
        deadline = _Deadline(cancel, time.monotonic() + budget_ms / 1000) if budget_ms else cancel

        def rewrite(line: str) -> str | None:
            try:
                part = self._ask(spec, line, model, mode, None, deadline)
            except Cancelled:
                if cancel is not None and cancel.is_set():
                    raise
                timings["rewrite"] = f"skipped: over {budget_ms} ms"
                return None  # over the time budget: the safe correction stands
            if total.first_chunk_seconds is None:
                total.first_chunk_seconds = part.first_chunk_seconds
            total.done_reason = part.done_reason
            for key, value in part.stats.items():
                total.stats[key] = total.stats.get(key, 0) + value
            if part.done_reason == "length":
                return None
            return clean_text(part.text, line)

        if self._fixer is None:
            self._fixer = Fixer()
        outcome = correct(body, rewrite=rewrite if use_model else None, lm=self.scorer(model),
                          fixer=self._fixer)
        timings["dictionary_ms"] = round(outcome.seconds.get("dictionary", 0) * 1000, 1)
        timings["scored_by"] = "model" if outcome.lm_used else "bigrams"
        timings["fix_changes"] = len(outcome.changes)
        return total, outcome.text, outcome.note

    def _fix_lines(self, spec, body, model, cancel) -> tuple[Completion, str, str | None]:
        """A base model corrects one line at a time (its few-shot pattern is one line);
        blank lines and indentation are kept, so the text keeps its shape."""
        lines, kept, total = [], 0, Completion(text="")
        for line in body.strip("\n").split("\n"):
            if not line.strip():
                lines.append("")
                continue
            indent = line[: len(line) - len(line.lstrip())]
            part = self._ask(spec, line.strip(), model, "completion", None, cancel)
            text, note = self._clean(spec, part, line.strip())
            kept += note is not None
            lines.append(indent + text)
            if total.first_chunk_seconds is None:
                total.first_chunk_seconds = part.first_chunk_seconds
            total.done_reason = part.done_reason
            for key, value in part.stats.items():
                total.stats[key] = total.stats.get(key, 0) + value
        note = f"{kept} line(s) kept unchanged (the model's answer was not a correction)" if kept else None
        return total, "\n".join(lines), note

    def _record(self, result: CommandResult, source: str, started_at) -> None:
        if self.history is None:
            return
        try:
            result.history_id = self.history.add(
                created_at=started_at, source=source, prefix=result.prefix, command=result.command,
                input=result.input, output=result.output, model=result.model,
                status=result.status, error=result.error, note=result.note, timings=result.timings,
            )
        except Exception as exc:  # the answer matters more than its record
            extra = f"not saved to history: {exc}"
            result.note = f"{result.note}; {extra}" if result.note else extra

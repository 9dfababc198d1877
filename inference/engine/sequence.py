"""One request inside the batched decode loop: its tokens, sampler, and what it has emitted.

The engine thread (``runtime.ModelRunner``) owns every :class:`Sequence`; it feeds the
sequence's prompt into llama.cpp batches, asks it to take the token sampled for it, and the
sequence turns tokens into text (UTF-8 across token boundaries, stop strings held back,
log-probabilities attached) and hands each item to its ``emit`` callback. The callback runs
on the engine thread and must not block (it puts into a queue).
"""

from __future__ import annotations

import codecs
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from inference.engine.stops import StopMatcher


@dataclass
class GenerationResult:
    """The final event of a generation (statistics in nanoseconds)."""

    done_reason: str  # "stop" | "length" | "cancel"
    context: list[int]
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int
    cached_prompt_tokens: int = 0
    truncated_prompt_tokens: int = 0
    text: str = ""  # everything emitted


class Piece(str):
    """A piece of generated text that also carries ``logprobs``: one entry (Ollama's shape)
    for every token whose text it begins to show. Emitted instead of ``str`` when asked for."""

    logprobs: list


@dataclass(eq=False)
class Sequence:
    tokens: list[int]  # the prompt (after truncation)
    truncated: int
    params: object  # SamplingParams
    sampler: object  # llama_sampler chain pointer
    constrained: object | None  # GrammarSampling or None
    emit: Callable[[object], None]
    cancel: threading.Event
    top_n: int = -1  # -1: no log-probabilities; else alternatives per token
    slot: int = -1
    cached: int = 0  # prompt tokens reused from the slot's cache
    evaluated: int = 0  # prompt tokens in the KV cache so far
    generated: list[int] = field(default_factory=list)
    last: int | None = None  # the token to feed in the next batch (generation phase)
    out_index: int = -1  # row of this step's batch whose logits belong to this sequence
    done: bool = False
    admitted_ns: int = 0
    prompt_done_ns: int = 0

    def __post_init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stopper = StopMatcher(self.params.stop)
        self._emitted: list[str] = []
        self._pending_lp: list[dict] = []
        limit = self.params.num_predict
        self.limit = limit if limit > 0 else None

    # -- phases ------------------------------------------------------------------------------

    @property
    def prompting(self) -> bool:
        return self.evaluated < len(self.tokens)

    # -- tokens to text ----------------------------------------------------------------------

    def take(self, token: int, piece: bytes, eog: bool, logprob: dict | None, n_ctx: int) -> bool:
        """The token sampled for this sequence. Emits its text; returns True when it goes on."""
        if eog:
            return self.finish("stop")
        self.generated.append(token)
        if logprob is not None:
            self._pending_lp.append(logprob)
        text = self._decoder.decode(piece)
        if text:
            out, stopped = self._stopper.feed(text)
            if out:
                self._out(out)
            if stopped:
                return self.finish("stop", stop_hit=True)
        if self.limit is not None and len(self.generated) >= self.limit:
            return self.finish("length")
        if len(self.tokens) + len(self.generated) >= n_ctx:
            return self.finish("length")
        self.last = token
        return True

    def _out(self, text: str) -> None:
        if self.top_n >= 0:
            text = Piece(text)
            text.logprobs, self._pending_lp = self._pending_lp, []
        self._emitted.append(text)
        self.emit(text)

    def finish(self, reason: str, *, stop_hit: bool = False) -> bool:
        """End the sequence: flush held-back text (unless a stop string or a cancel ended it)
        and emit the :class:`GenerationResult`. Returns False (it does not go on)."""
        if self.done:
            return False
        self.done = True
        now = time.perf_counter_ns()
        if not self.prompt_done_ns:
            self.prompt_done_ns = now
        if not stop_hit and reason != "cancel":
            out, stop_hit = self._stopper.feed(self._decoder.decode(b"", final=True))
            rest = out if stop_hit else out + self._stopper.flush()
            if rest or (self.top_n >= 0 and self._pending_lp):
                self._out(rest)
        self.emit(GenerationResult(
            done_reason=reason,
            context=list(self.tokens) + self.generated,
            prompt_eval_count=len(self.tokens),
            prompt_eval_duration=max(self.prompt_done_ns - self.admitted_ns, 1),
            eval_count=len(self.generated),
            eval_duration=max(now - self.prompt_done_ns, 1),
            cached_prompt_tokens=self.cached,
            truncated_prompt_tokens=self.truncated,
            text="".join(self._emitted),
        ))
        return False

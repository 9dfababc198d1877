"""llama-cpp-python wrapper: load a GGUF, tokenize, generate token by token, embed.

One :class:`ModelRunner` owns one ``llama_cpp.Llama`` instance. It is *not* thread-safe: the
scheduler guarantees that a single request uses a runner at a time, in a worker thread.

Generation is our own token loop (not ``create_completion``) so that we know every token id
(``context``), can check a cancellation flag after every token, keep stop strings out of the
output, and measure prompt and decode time separately. Sampling uses llama.cpp's sampler
chain: repetition penalties, optional grammar (``format``), top-k, typical-p, top-p, min-p,
temperature and a seeded distribution (greedy when ``temperature`` is 0).

llama.cpp's own log lines are routed to the ``inference.llama`` logger (debug level for its
chatter), never straight to stderr.
"""

from __future__ import annotations

import codecs
import ctypes
import json
import logging
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

# llama.cpp's OpenMP threads busy-wait between operations by default. On a machine that is
# doing other work (a desktop, a shared box) the spinning threads starve everything else and
# prompt evaluation gets many times slower; sleeping waits cost little. libgomp reads this
# when llama.cpp is loaded, so it must be set before the import below. A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import llama_cpp  # noqa: E402
from llama_cpp import Llama  # noqa: E402
from llama_cpp import llama_grammar  # noqa: E402,F401

from inference.engine.grammar import FormatError, grammar_for_format  # noqa: E402,F401

log = logging.getLogger("inference.runtime")
_llama_log = logging.getLogger("inference.llama")

# Load-time options: a change means a new llama.cpp context (the scheduler reloads).
LOAD_OPTION_KEYS = ("num_ctx", "num_batch", "num_thread", "use_mmap", "use_mlock", "num_gpu", "main_gpu")
DEFAULT_NUM_CTX = 4096
# Cached prompt rows are reused in whole blocks of this many tokens (see _reuse_prefix).
REUSE_ALIGNMENT = 32


class InvalidTokens(ValueError):
    """Token ids outside the model's vocabulary (e.g. a ``context`` from another model): 400."""


# ---------------------------------------------------------------------------------------------
# llama.cpp log bridge

# ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the previous line).
# llama.cpp's warnings are about choices we made on purpose (full SWA cache, mean pooling), so
# they go to INFO; the server shows INFO of this logger only with OLLAMA_DEBUG.
_GGML_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.ERROR}
_log_bridge_installed = False
_last_level = logging.DEBUG


@llama_cpp.llama_log_callback
def _llama_log_callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    global _last_level
    try:
        message = text.decode("utf-8", errors="replace").rstrip("\n")
        py_level = _last_level if level == 5 else _GGML_LEVELS.get(level, logging.DEBUG)
        _last_level = py_level
        if message:
            _llama_log.log(py_level, "%s", message)
    except Exception:  # pragma: no cover - never let a log line crash native code
        return


def install_log_bridge() -> None:
    """Send llama.cpp's log output to the ``inference.llama`` logger (idempotent)."""
    global _log_bridge_installed
    if not _log_bridge_installed:
        llama_cpp.llama_log_set(_llama_log_callback, ctypes.c_void_p(0))
        _log_bridge_installed = True


# ---------------------------------------------------------------------------------------------
# Pure helpers: stop strings, sampling parameters, grammar


class StopMatcher:
    """Holds back text that might be the start of a stop string; cuts output at a stop string.

    ``feed(piece)`` returns ``(text_to_emit, stopped)``. Text after (and including) a stop
    string is never emitted. ``flush()`` returns what was held back when generation ends
    without a stop string.
    """

    def __init__(self, stops: Sequence[str] | None):
        self.stops = [s for s in (stops or []) if s]
        self._held = ""
        self._longest = max((len(s) for s in self.stops), default=0)

    def feed(self, piece: str) -> tuple[str, bool]:
        if not self.stops:
            return piece, False
        text = self._held + piece
        cut = -1
        for stop in self.stops:
            index = text.find(stop)
            if index != -1 and (cut == -1 or index < cut):
                cut = index
        if cut != -1:
            self._held = ""
            return text[:cut], True
        # Hold back the longest suffix of `text` that is a proper prefix of some stop string.
        hold = 0
        for n in range(min(len(text), self._longest - 1), 0, -1):
            tail = text[-n:]
            if any(stop.startswith(tail) for stop in self.stops):
                hold = n
                break
        self._held = text[len(text) - hold:] if hold else ""
        return text[: len(text) - hold], False

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


def _as_stop_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.9
    min_p: float = 0.0
    typical_p: float = 1.0
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int = -1
    num_predict: int = -1
    num_keep: int = 4
    stop: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: dict | None) -> "SamplingParams":
        o = dict(options or {})
        defaults = cls()

        def get(key, cast):
            value = o.get(key)
            return getattr(defaults, key) if value is None else cast(value)

        return cls(
            temperature=get("temperature", float), top_k=get("top_k", int), top_p=get("top_p", float),
            min_p=get("min_p", float), typical_p=get("typical_p", float),
            repeat_penalty=get("repeat_penalty", float), repeat_last_n=get("repeat_last_n", int),
            presence_penalty=get("presence_penalty", float), frequency_penalty=get("frequency_penalty", float),
            seed=get("seed", int), num_predict=get("num_predict", int), num_keep=get("num_keep", int),
            stop=tuple(_as_stop_list(o.get("stop"))),
        )


class GrammarSampling:
    """Constrained sampling that stays fast on large vocabularies (Gemma 3: 262k tokens).

    Applying a grammar to every candidate costs far more than the forward pass of a small
    model. Like llama.cpp's own sampler, we first sample without the grammar and only check
    the chosen token against it; only when the grammar rejects it do we apply the grammar to
    all candidates and sample again. The result obeys the grammar either way.
    """

    def __init__(self, chain, grammar_sampler, n_vocab: int):
        self.chain = chain
        self.grammar = grammar_sampler
        self.n_vocab = n_vocab
        dtype = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
        self.cand = np.zeros(n_vocab, dtype=dtype)
        self.ids = np.arange(n_vocab, dtype=np.intc)
        self.cur = llama_cpp.llama_token_data_array(
            data=self.cand.ctypes.data_as(llama_cpp.llama_token_data_p), size=n_vocab, selected=-1, sorted=False)
        self.one = np.zeros(1, dtype=dtype)
        self.one_arr = llama_cpp.llama_token_data_array(
            data=self.one.ctypes.data_as(llama_cpp.llama_token_data_p), size=1, selected=-1, sorted=False)

    def _fill(self, ctx) -> None:
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(self.n_vocab,))
        self.cand["id"] = self.ids
        self.cand["logit"] = logits
        self.cand["p"] = 0.0
        self.cur.size, self.cur.selected, self.cur.sorted = self.n_vocab, -1, False

    def _allowed(self, token: int) -> bool:
        self.one[0] = (token, 0.0, 0.0)
        self.one_arr.size, self.one_arr.selected, self.one_arr.sorted = 1, -1, False
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self.one_arr))
        return bool(np.isfinite(self.one[0]["logit"]))

    def sample(self, _chain, ctx, _idx) -> int:
        self._fill(ctx)
        llama_cpp.llama_sampler_apply(self.chain, ctypes.byref(self.cur))
        token = int(self.cand[self.cur.selected]["id"])
        if not self._allowed(token):
            self._fill(ctx)
            llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self.cur))
            llama_cpp.llama_sampler_apply(self.chain, ctypes.byref(self.cur))
            token = int(self.cand[self.cur.selected]["id"])
        llama_cpp.llama_sampler_accept(self.grammar, token)
        llama_cpp.llama_sampler_accept(self.chain, token)
        return token

    def close(self) -> None:
        if self.grammar:
            llama_cpp.llama_sampler_free(self.grammar)
            self.grammar = None


# ---------------------------------------------------------------------------------------------
# Log-probabilities

MAX_TOP_LOGPROBS = 20


class Piece(str):
    """A piece of generated text that also carries ``logprobs``: one entry (Ollama's shape)
    for every token whose text it completes. Yielded instead of ``str`` when asked for."""

    logprobs: list


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Natural-log probabilities of raw logits (float64 for the sum over a large vocabulary)."""
    x = logits.astype(np.float64, copy=False)
    peak = float(np.max(x))
    return x - (peak + float(np.log(np.sum(np.exp(x - peak)))))


def _token_entry(token: int, logprob: float, token_bytes) -> dict:
    raw = token_bytes(token)
    return {"token": raw.decode("utf-8", errors="replace"), "logprob": float(logprob), "bytes": list(raw)}


def logprob_entry(logits: np.ndarray, token: int, top_n: int, token_bytes) -> dict:
    """Ollama's ``{"token", "logprob", "bytes", "top_logprobs": [...]}`` for ``token`` chosen
    after ``logits`` (the model's distribution, before any sampler or grammar)."""
    lp = log_softmax(logits)
    entry = _token_entry(token, lp[token], token_bytes)
    top: list[dict] = []
    if top_n > 0:
        n = min(top_n, len(lp))
        best = np.argpartition(-lp, n - 1)[:n]
        best = best[np.argsort(-lp[best], kind="stable")]
        top = [_token_entry(int(t), lp[t], token_bytes) for t in best]
    entry["top_logprobs"] = top
    return entry


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class GenerationResult:
    """The final event of :meth:`ModelRunner.generate` (statistics in nanoseconds)."""

    done_reason: str  # "stop" | "length" | "cancel"
    context: list[int]
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int
    cached_prompt_tokens: int = 0
    truncated_prompt_tokens: int = 0
    text: str = ""  # everything emitted


@dataclass
class LoadOptions:
    num_ctx: int = DEFAULT_NUM_CTX
    num_batch: int = 512
    num_thread: int | None = None
    use_mmap: bool = True
    use_mlock: bool = False
    embedding: bool = False

    @classmethod
    def from_options(cls, options: dict | None, *, embedding: bool = False) -> "LoadOptions":
        o = dict(options or {})
        num_thread = o.get("num_thread")
        return cls(
            num_ctx=int(o.get("num_ctx") or DEFAULT_NUM_CTX),
            num_batch=int(o.get("num_batch") or 512),
            num_thread=int(num_thread) if num_thread and int(num_thread) > 0 else None,
            use_mmap=bool(o.get("use_mmap", True) if o.get("use_mmap") is not None else True),
            use_mlock=bool(o.get("use_mlock") or False),
            embedding=bool(embedding),
        )

    def key(self) -> tuple:
        return (self.num_ctx, self.num_batch, self.num_thread, self.use_mmap, self.use_mlock, self.embedding)


# ---------------------------------------------------------------------------------------------
# The runner


@dataclass
class _Timer:
    start: int = field(default_factory=time.perf_counter_ns)

    def elapsed(self) -> int:
        return time.perf_counter_ns() - self.start


class ModelRunner:
    """One loaded GGUF model (a llama.cpp model + context)."""

    def __init__(self, model_path: str | Path, load: LoadOptions | None = None):
        install_log_bridge()
        self.model_path = Path(model_path)
        self.load_options = load or LoadOptions()
        lo = self.load_options
        timer = _Timer()
        kwargs = dict(
            model_path=str(self.model_path), n_ctx=lo.num_ctx, n_batch=lo.num_batch,
            use_mmap=lo.use_mmap, use_mlock=lo.use_mlock, embedding=lo.embedding,
            verbose=False, n_gpu_layers=0,
            # Keep the whole sliding-window cache so prompt prefixes can be reused safely.
            swa_full=True,
        )
        if lo.num_thread:
            kwargs.update(n_threads=lo.num_thread, n_threads_batch=lo.num_thread)
        else:
            # llama-cpp-python decodes on half the cores by default, which is right for a
            # desktop sharing its CPU; prompt evaluation is batched and scales, so it gets all
            # of them (measured on 2 cores: ~530 -> ~310 ms for a 200-token few-shot prompt).
            kwargs.update(n_threads_batch=os.cpu_count() or 1)
        if lo.embedding:
            # Non-causal pooling needs the whole input in one micro-batch.
            kwargs.update(n_batch=lo.num_ctx, n_ubatch=lo.num_ctx)
            arch = _peek_architecture(self.model_path)
            if arch is None or not _has_pooling_type(self.model_path, arch):
                kwargs["pooling_type"] = llama_cpp.LLAMA_POOLING_TYPE_MEAN
        try:
            self.llm = Llama(**kwargs)
        except ValueError as exc:  # llama-cpp-python raises ValueError("Failed to load model ...")
            raise RuntimeError(f"unable to load model {self.model_path.name}: {exc}") from exc
        self.load_duration = timer.elapsed()
        self.n_ctx = self.llm.n_ctx()
        self._vocab = self.llm._model.vocab
        self._bos = self.llm.token_bos()
        self._add_bos = bool(self.llm._model.add_bos_token())
        self._piece_buffer = ctypes.create_string_buffer(256)
        self._prompt_rows = 0  # leading KV rows computed by a prompt evaluation (reusable)
        self._pieces: dict[int, bytes] = {}
        self._eog: dict[int, bool] = {}
        self._lock = threading.Lock()  # defensive: one generation at a time even if misused
        self.size = self._estimate_size()
        log.debug(
            "loaded %s (n_ctx=%d, threads=%d, embedding=%s) in %.2fs",
            self.model_path.name, self.n_ctx, self.llm.n_threads, lo.embedding, self.load_duration / 1e9,
        )

    # -- sizes -------------------------------------------------------------------------------

    def _estimate_size(self) -> int:
        """Bytes of memory the model uses: weights + KV cache (f16)."""
        weights = int(llama_cpp.llama_model_size(self.llm.model))
        md = self.llm.metadata
        arch = md.get("general.architecture", "")
        try:
            layers = int(md.get(f"{arch}.block_count", 0))
            heads_kv = int(md.get(f"{arch}.attention.head_count_kv", md.get(f"{arch}.attention.head_count", 0)))
            embd = int(md.get(f"{arch}.embedding_length", 0))
            heads = int(md.get(f"{arch}.attention.head_count", 1)) or 1
            k_len = int(md.get(f"{arch}.attention.key_length", embd // heads))
            v_len = int(md.get(f"{arch}.attention.value_length", embd // heads))
            kv = self.n_ctx * layers * heads_kv * (k_len + v_len) * 2
        except (TypeError, ValueError):
            kv = 0
        return weights + kv

    @property
    def n_ctx_train(self) -> int:
        return int(llama_cpp.llama_model_n_ctx_train(self.llm.model))

    # -- tokens ------------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_bos: bool = True, special: bool = True) -> list[int]:
        """Tokens of ``text``; BOS only when the model wants one and the text has none yet."""
        tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos and self._add_bos, special=special)
        # A template that writes "<bos>" itself must not end up with two BOS tokens.
        while len(tokens) >= 2 and tokens[0] == self._bos and tokens[1] == self._bos:
            tokens.pop(0)
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def token_bytes(self, token: int) -> bytes:
        """The bytes a token stands for (cached: no foreign call per generated token)."""
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self._token_bytes(token)
        return piece

    def is_eog(self, token: int) -> bool:
        eog = self._eog.get(token)
        if eog is None:
            eog = self._eog[token] = bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))
        return eog

    def _token_bytes(self, token: int) -> bytes:
        buf = self._piece_buffer
        n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        if n < 0:  # piece longer than the buffer
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return b"".join(self.token_bytes(t) for t in tokens).decode("utf-8", errors="replace")

    # -- generation --------------------------------------------------------------------------

    def _build_sampler(self, p: SamplingParams, grammar, history: Sequence[int]):
        """A llama.cpp sampler chain for ``p`` (the caller frees it) and, with a grammar, the
        :class:`GrammarSampling` that wraps it."""
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = lambda s: llama_cpp.llama_sampler_chain_add(chain, s)  # noqa: E731
        penalty_n = self.n_ctx if p.repeat_last_n < 0 else p.repeat_last_n
        penalties = None
        if penalty_n > 0 and (p.repeat_penalty != 1.0 or p.presence_penalty or p.frequency_penalty):
            penalties = llama_cpp.llama_sampler_init_penalties(
                self.llm.n_vocab(), penalty_n, p.repeat_penalty, p.frequency_penalty, p.presence_penalty
            )
            add(penalties)
        if p.temperature <= 0:
            add(llama_cpp.llama_sampler_init_greedy())
        else:
            if p.top_k > 0:
                add(llama_cpp.llama_sampler_init_top_k(p.top_k))
            if 0 < p.typical_p < 1:
                add(llama_cpp.llama_sampler_init_typical(p.typical_p, 1))
            if 0 < p.top_p < 1:
                add(llama_cpp.llama_sampler_init_top_p(p.top_p, 1))
            if p.min_p > 0:
                add(llama_cpp.llama_sampler_init_min_p(p.min_p, 1))
            add(llama_cpp.llama_sampler_init_temp(p.temperature))
            seed = p.seed if p.seed >= 0 else random.SystemRandom().randrange(0, 2**32 - 1)
            add(llama_cpp.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        if penalties is not None:
            # Penalties look at the prompt too (like Ollama); the grammar must not see it.
            for token in history[-penalty_n:]:
                llama_cpp.llama_sampler_accept(penalties, token)
        if grammar is None:
            return chain, None
        g = llama_cpp.llama_sampler_init_grammar(
            self._vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not g:
            llama_cpp.llama_sampler_free(chain)
            raise FormatError("format could not be compiled into a grammar")
        return chain, GrammarSampling(chain, g, self.llm.n_vocab())

    def _fit_prompt(self, tokens: list[int], p: SamplingParams) -> tuple[list[int], int]:
        """Truncate a prompt that does not fit the context: keep ``num_keep`` leading tokens,
        drop the oldest after them so that half the context stays free for the answer."""
        if len(tokens) < self.n_ctx:
            return tokens, 0
        keep = max(0, min(p.num_keep if p.num_keep >= 0 else len(tokens), self.n_ctx // 4))
        if tokens and tokens[0] == self._bos:
            keep = max(keep, 1)
        target = self.n_ctx // 2
        tail = tokens[len(tokens) - (target - keep):]
        fitted = tokens[:keep] + tail
        dropped = len(tokens) - len(fitted)
        log.warning("prompt of %d tokens exceeds num_ctx=%d: dropped %d tokens", len(tokens), self.n_ctx, dropped)
        return fitted, dropped

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Keep a cached prefix of ``tokens`` in the KV cache; returns its length.

        llama.cpp's results for a token differ in the last bits with the shape of the batch
        it was evaluated in (a lone token, or where it falls in a block of rows), and with a
        small model such a difference can flip even a greedy pick. So that a request gives
        the same answer whether or not its prefix was cached, only cache rows that a fresh
        evaluation would compute the same way are reused: rows evaluated as part of an
        earlier *prompt* (not generated one by one), in whole blocks of
        ``REUSE_ALIGNMENT`` tokens from the start, and never the last prompt token.
        """
        llm = self.llm
        cached = llm.input_ids[: min(llm.n_tokens, self._prompt_rows)]
        n = min(len(cached), len(tokens) - 1)
        prefix = 0
        if n > 0:
            mismatch = np.nonzero(cached[:n] != np.asarray(tokens[:n], dtype=cached.dtype))[0]
            prefix = int(mismatch[0]) if len(mismatch) else n
            prefix -= prefix % REUSE_ALIGNMENT
        if prefix > 0 and llm._ctx.kv_cache_seq_rm(-1, prefix, -1):
            llm.n_tokens = prefix
            return prefix
        self._forget_cache()
        return 0

    def _eval_prompt(self, tokens: list[int], cancel: threading.Event) -> None:
        """Evaluate prompt tokens after the cached ones in ``n_batch`` chunks; only the
        final chunk asks for logits (those of its last token)."""
        llm = self.llm
        batch = llm._batch
        for start in range(0, len(tokens), llm.n_batch):
            if cancel.is_set():
                return
            chunk = tokens[start : start + llm.n_batch]
            if start + len(chunk) >= len(tokens):
                llm.eval(chunk)
                self._prompt_rows = llm.n_tokens
                return
            n_past = llm.n_tokens
            llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
            batch.set_batch(batch=chunk, n_past=n_past, logits_all=False)
            batch.batch.logits[len(chunk) - 1] = False  # no output projection mid-prompt
            llm._ctx.decode(batch)
            llm.input_ids[n_past : n_past + len(chunk)] = chunk
            llm.n_tokens = n_past + len(chunk)

    def _decode_one(self, token: int) -> None:
        """Append one generated token to the context and compute the next logits: a single
        foreign call, during which the GIL is free for the event loop."""
        llm = self.llm
        n_past = llm.n_tokens
        llm._batch.set_batch(batch=(token,), n_past=n_past, logits_all=False)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n_past] = token
        llm.n_tokens = n_past + 1

    def _forget_cache(self) -> None:
        """Empty the KV cache. Only its bookkeeping: zeroing the buffers (tens of MB at a
        4096 context) would add milliseconds to the first token for nothing."""
        mem = llama_cpp.llama_get_memory(self.llm._ctx.ctx)
        if mem is not None:
            llama_cpp.llama_memory_clear(mem, False)
        self.llm.n_tokens = 0
        self._prompt_rows = 0

    def generate(
        self,
        prompt_tokens: Sequence[int],
        options: dict | SamplingParams | None = None,
        *,
        grammar=None,
        cancel: threading.Event | None = None,
        logprobs: bool = False,
        top_logprobs: int = 0,
    ) -> Iterator[str | GenerationResult]:
        """Decode after ``prompt_tokens``: yields text pieces, then one :class:`GenerationResult`.

        The sampler (and grammar) is built before the first ``next()`` returns anything, so
        bad ``format`` input raises before any text. ``cancel`` is checked before every token.
        With ``logprobs`` the pieces are :class:`Piece` objects carrying the log-probability of
        each of their tokens (and the ``top_logprobs`` most likely alternatives).
        """
        p = options if isinstance(options, SamplingParams) else SamplingParams.from_options(options)
        tokens = list(prompt_tokens)
        n_vocab = self.llm.n_vocab()
        bad = next((t for t in tokens if not 0 <= t < n_vocab), None)
        if bad is not None:
            raise InvalidTokens(f"invalid token id {bad} in the prompt or context (this model has {n_vocab} tokens)")
        if not tokens:
            tokens = [self._bos] if self._bos >= 0 else []
        tokens, truncated = self._fit_prompt(tokens, p)
        sampler, constrained = self._build_sampler(p, grammar, tokens)
        top_n = max(0, min(int(top_logprobs or 0), MAX_TOP_LOGPROBS)) if logprobs else -1
        return self._decode(tokens, truncated, p, sampler, constrained, cancel or threading.Event(), top_n)

    def _decode(self, tokens, truncated, p: SamplingParams, sampler, constrained, cancel: threading.Event,
                top_n: int = -1):
        llm = self.llm
        ctx = llm._ctx.ctx
        is_eog = self.is_eog
        token_bytes = self.token_bytes
        decode_one = self._decode_one
        sample = constrained.sample if constrained is not None else llama_cpp.llama_sampler_sample
        with self._lock:
            try:
                prompt_timer = _Timer()
                if p.seed >= 0 and p.temperature > 0:
                    # A fixed seed evaluates from scratch: a prefix cached by some other prompt
                    # was computed in other batches, whose last bits can differ and flip a
                    # sample; the answer must not depend on what ran before.
                    self._forget_cache()
                    cached = 0
                else:
                    cached = self._reuse_prefix(tokens)
                self._eval_prompt(tokens[cached:], cancel)
                prompt_duration = prompt_timer.elapsed()

                decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                stopper = StopMatcher(p.stop)
                generated: list[int] = []
                emitted: list[str] = []
                reason, stop_hit = "stop", False
                eval_timer = _Timer()
                limit = p.num_predict if p.num_predict > 0 else None
                want_lp = top_n >= 0
                pending_lp: list[dict] = []  # entries of tokens whose text is not out yet
                n_vocab = llm.n_vocab()
                while True:
                    if cancel.is_set():
                        reason = "cancel"
                        break
                    token = sample(sampler, ctx, -1)
                    if is_eog(token):
                        reason = "stop"
                        break
                    generated.append(token)
                    if want_lp:
                        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
                        pending_lp.append(logprob_entry(logits, token, top_n, token_bytes))
                    piece = decoder.decode(token_bytes(token))
                    if piece:
                        out, stopped = stopper.feed(piece)
                        if out:
                            if want_lp:
                                out = Piece(out)
                                out.logprobs, pending_lp = pending_lp, []
                            emitted.append(out)
                            yield out
                        if stopped:
                            reason, stop_hit = "stop", True
                            break
                    if limit is not None and len(generated) >= limit:
                        reason = "length"
                        break
                    if llm.n_tokens + 1 >= self.n_ctx:
                        reason = "length"
                        break
                    decode_one(token)
                if not stop_hit and reason != "cancel":
                    # Generation ended without a stop string: what was held back is output.
                    out, stop_hit = stopper.feed(decoder.decode(b"", final=True))
                    rest = out if stop_hit else out + stopper.flush()
                    if want_lp and (rest or pending_lp):
                        rest = Piece(rest)
                        rest.logprobs, pending_lp = pending_lp, []
                    if rest or isinstance(rest, Piece):
                        emitted.append(rest)
                        yield rest
                eval_duration = eval_timer.elapsed()
                if reason == "cancel":
                    log.info("generation cancelled after %d tokens (client gone or request cancelled)", len(generated))
                yield GenerationResult(
                    done_reason=reason,
                    context=list(tokens) + generated,
                    prompt_eval_count=len(tokens),
                    prompt_eval_duration=max(prompt_duration, 1),
                    eval_count=len(generated),
                    eval_duration=max(eval_duration, 1),
                    cached_prompt_tokens=cached,
                    truncated_prompt_tokens=truncated,
                    text="".join(emitted),
                )
            except BaseException:
                # A failed or interrupted evaluation may leave the KV cache half-written.
                if not isinstance(sys.exc_info()[1], GeneratorExit):
                    self._forget_cache()
                raise
            finally:
                llama_cpp.llama_sampler_free(sampler)
                if constrained is not None:
                    constrained.close()

    # -- scoring -----------------------------------------------------------------------------

    def score(self, tokens: Sequence[int], top_n: int = 0,
              cancel: threading.Event | None = None) -> list[dict | None]:
        """Log-probability of each of ``tokens`` given the ones before it (OpenAI's ``echo``).

        Returns one entry per token in :func:`logprob_entry`'s shape; the first is ``None``
        (nothing predicts it). The rows computed stay in the prompt cache.
        """
        tokens = list(tokens)
        n_vocab = self.llm.n_vocab()
        bad = next((t for t in tokens if not 0 <= t < n_vocab), None)
        if bad is not None:
            raise InvalidTokens(f"invalid token id {bad} in the prompt (this model has {n_vocab} tokens)")
        if len(tokens) > self.n_ctx:
            raise ValueError(f"the text to score has {len(tokens)} tokens, more than num_ctx={self.n_ctx}")
        top_n = max(0, min(int(top_n), MAX_TOP_LOGPROBS))
        cancel = cancel or threading.Event()
        llm = self.llm
        ctx = llm._ctx.ctx
        out: list[dict | None] = [None] if tokens else []
        with self._lock:
            try:
                self._forget_cache()
                batch = llm._batch
                for start in range(0, len(tokens), llm.n_batch):
                    if cancel.is_set():
                        break
                    chunk = tokens[start : start + llm.n_batch]
                    batch.set_batch(batch=chunk, n_past=start, logits_all=True)
                    llm._ctx.decode(batch)
                    llm.input_ids[start : start + len(chunk)] = chunk
                    llm.n_tokens = start + len(chunk)
                    for j in range(len(chunk)):
                        following = start + j + 1
                        if following >= len(tokens):
                            break
                        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, j), shape=(n_vocab,))
                        out.append(logprob_entry(logits, tokens[following], top_n, self.token_bytes))
                self._prompt_rows = llm.n_tokens
            except BaseException:
                self._forget_cache()
                raise
        return out

    # -- embeddings --------------------------------------------------------------------------

    def embed(self, texts: Sequence[str], *, truncate: bool = True) -> tuple[list[list[float]], int]:
        """Raw (not normalised) embeddings of ``texts`` and the total number of input tokens.

        Needs an instance loaded with ``LoadOptions(embedding=True)``. With ``truncate=False``
        an input longer than the context raises ``ValueError``.
        """
        if not self.load_options.embedding:
            raise RuntimeError("this model instance was not loaded in embedding mode")
        with self._lock:
            vectors: list[list[float]] = []
            total = 0
            for text in texts:
                tokens = self.tokenize(text)
                if len(tokens) > self.n_ctx:
                    if not truncate:
                        raise ValueError("input length exceeds the context length")
                    tokens = tokens[: self.n_ctx]
                total += len(tokens)
                vectors.append(self._embed_tokens(tokens))
            return vectors, total

    def _embed_tokens(self, tokens: list[int]) -> list[float]:
        llm = self.llm
        self._forget_cache()
        batch = llm._batch
        batch.reset()
        batch.add_sequence(tokens, 0, True)
        llm._ctx.decode(batch)
        batch.reset()
        n_embd = llm.n_embd()
        ptr = llama_cpp.llama_get_embeddings_seq(llm._ctx.ctx, 0)
        if ptr:
            vector = list(ptr[:n_embd])
        else:  # no pooling: mean of the token embeddings
            all_ptr = llama_cpp.llama_get_embeddings(llm._ctx.ctx)
            arr = np.ctypeslib.as_array(all_ptr, shape=(len(tokens) * n_embd,)).reshape(len(tokens), n_embd)
            vector = arr.mean(axis=0).tolist()
        self._forget_cache()
        return vector

    # -- lifetime ----------------------------------------------------------------------------

    def close(self, timeout: float = 30.0) -> None:
        """Free the model once no generation uses it (waits at most ``timeout`` seconds:
        a shutdown must not hang on a generation that never finishes)."""
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        if not self._lock.acquire(timeout=timeout):
            log.error("not freeing %s: a generation still holds it after %.0fs", self.model_path.name, timeout)
            return
        try:
            llm.close()
            self.llm = None
        finally:
            self._lock.release()
        log.debug("unloaded %s", self.model_path.name)


def _peek_architecture(path: Path) -> str | None:
    try:
        from inference.models import gguf_info

        return gguf_info.read_metadata(path).get("general.architecture")
    except Exception:
        return None


def _has_pooling_type(path: Path, arch: str) -> bool:
    try:
        from inference.models import gguf_info

        return f"{arch}.pooling_type" in gguf_info.read_metadata(path)
    except Exception:
        return False


def default_threads() -> int:
    return max(1, (os.cpu_count() or 2) // 2)

"""llama.cpp through llama-cpp-python's low-level API: one engine per loaded model.

A :class:`ModelRunner` owns a llama.cpp model and context with ``n_seq_max =
OLLAMA_NUM_PARALLEL`` sequences, each with its own ``num_ctx`` rows of KV cache (Ollama's
meaning: the context holds ``num_ctx x parallel`` rows; the cache is not unified, so a
sequence's attention never depends on what else is in the cache). One engine thread runs
the batched decode loop: it admits requests into free slots, and each step builds one
``llama_batch`` of prompt chunks of newly admitted sequences plus one token for every
generating sequence, calls ``llama_decode`` once, and samples each sequence with its own
llama.cpp sampler chain (``llama_sampler_sample(chain, ctx, row)``, in C).

Per slot the engine keeps the tokens in its cache, so a request whose prompt starts like
the previous one on that slot reuses the prefix (the rest is removed with
``llama_memory_seq_rm``). Scoring (``score``) and embeddings (``embed``) run on the engine
thread between steps, on a free slot.

Requests are :class:`Generation` objects: ``generate()`` validates and builds the sampler
(bad ``format`` input raises before any text), then iterating it (or ``async for``) submits
it and yields text pieces and finally one :class:`GenerationResult`. ``cancel`` is checked
before every step.

llama.cpp's own log lines are routed to the ``inference.llama`` logger (debug level for its
chatter), never straight to stderr.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import ctypes
import logging
import os
import queue
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence as Seq

import numpy as np

import inference.engine  # noqa: F401  (sets the OpenMP environment before llama.cpp loads)
import llama_cpp  # noqa: E402

from inference.engine.grammar import FormatError, grammar_for_format  # noqa: E402,F401
from inference.engine.sequence import GenerationResult, Piece, Sequence  # noqa: E402,F401
from inference.engine.stops import StopMatcher  # noqa: E402,F401
from inference.engine.cpu_share import CpuMeter, choose_threads  # noqa: E402
from inference.engine.threads import adaptive_threads, thread_counts  # noqa: E402
from inference.engine import hugepages  # noqa: E402
from inference.engine.memory import available_bytes  # noqa: E402

log = logging.getLogger("inference.runtime")
_llama_log = logging.getLogger("inference.llama")

# Load-time options: a change means a new llama.cpp context (the scheduler reloads).
LOAD_OPTION_KEYS = ("num_ctx", "num_batch", "num_thread", "use_mmap", "use_mlock", "num_gpu", "main_gpu")
DEFAULT_NUM_CTX = 4096
# Cached prompt rows are reused in whole blocks of this many tokens (see _reusable_prefix).
REUSE_ALIGNMENT = 32
# Scoring asks llama.cpp for the logits of every token; its output buffer grows to hold a
# batch's worth (n_vocab floats per row: 1 MiB for Gemma 3) and stays resident, so score in
# small batches.
SCORE_CHUNK = 8
MAX_UBATCH = 256
# OLLAMA_NUM_PARALLEL when unset (chosen by `python -m benchmarks server`, see the README).
DEFAULT_NUM_PARALLEL = 1
MAX_NUM_PARALLEL = 64


def num_parallel_from_env() -> int:
    raw = os.environ.get("OLLAMA_NUM_PARALLEL", "").strip()
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_NUM_PARALLEL
    return min(value, MAX_NUM_PARALLEL) if value > 0 else DEFAULT_NUM_PARALLEL


class InvalidTokens(ValueError):
    """Token ids outside the model's vocabulary (e.g. a ``context`` from another model): 400."""


class EmbeddingCancelled(Exception):
    """The caller cancelled an embedding request (its client went away)."""


class ContextError(RuntimeError):
    """llama.cpp could not create a context of this size (memory for the KV cache and the
    compute buffers); the weights themselves loaded."""



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
# Sampling parameters, grammar, log-probabilities


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

    def _fill(self, ctx, idx: int) -> None:
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, idx), shape=(self.n_vocab,))
        self.cand["id"] = self.ids
        self.cand["logit"] = logits
        self.cand["p"] = 0.0
        self.cur.size, self.cur.selected, self.cur.sorted = self.n_vocab, -1, False

    def _allowed(self, token: int) -> bool:
        self.one[0] = (token, 0.0, 0.0)
        self.one_arr.size, self.one_arr.selected, self.one_arr.sorted = 1, -1, False
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self.one_arr))
        return bool(np.isfinite(self.one[0]["logit"]))

    def sample(self, _chain, ctx, idx) -> int:
        self._fill(ctx, idx)
        llama_cpp.llama_sampler_apply(self.chain, ctypes.byref(self.cur))
        token = int(self.cand[self.cur.selected]["id"])
        if not self._allowed(token):
            self._fill(ctx, idx)
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



MAX_TOP_LOGPROBS = 20


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



@dataclass
class LoadOptions:
    num_ctx: int = DEFAULT_NUM_CTX
    num_batch: int = 512
    num_thread: int | None = None
    use_mmap: bool | None = None   # None: the engine decides (engine/hugepages.py)
    use_mlock: bool = False
    embedding: bool = False
    num_parallel: int = 1  # OLLAMA_NUM_PARALLEL: requests decoded at once, each with num_ctx
    num_gpu: int = -1      # layers offloaded to a GPU: -1 all that fit (Ollama), 0 none

    @classmethod
    def from_options(cls, options: dict | None, *, embedding: bool = False) -> "LoadOptions":
        o = dict(options or {})
        num_thread = o.get("num_thread")
        return cls(
            num_ctx=int(o.get("num_ctx") or DEFAULT_NUM_CTX),
            num_batch=int(o.get("num_batch") or 512),
            num_thread=int(num_thread) if num_thread and int(num_thread) > 0 else None,
            use_mmap=None if o.get("use_mmap") is None else bool(o["use_mmap"]),
            use_mlock=bool(o.get("use_mlock") or False),
            embedding=bool(embedding),
            num_parallel=1 if embedding else num_parallel_from_env(),
            num_gpu=int(o["num_gpu"]) if o.get("num_gpu") is not None else -1,
        )

    def key(self) -> tuple:
        # The embedding flag stays last: the scheduler looks for it there.
        return (self.num_ctx, self.num_batch, self.num_thread, self.use_mmap, self.use_mlock, self.num_parallel,
                self.num_gpu, self.embedding)



# ---------------------------------------------------------------------------------------------
# The batch


class _Batch:
    """A ``llama_batch`` over numpy arrays, filled a slice at a time (no per-token ctypes)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.token = np.zeros(capacity, dtype=np.int32)
        self.pos = np.zeros(capacity, dtype=np.int32)
        self.n_seq_id = np.ones(capacity, dtype=np.int32)
        self.seq = np.zeros((capacity, 1), dtype=np.int32)
        self.logits = np.zeros(capacity, dtype=np.int8)
        seq_p = ctypes.POINTER(llama_cpp.llama_seq_id)
        base = self.seq.ctypes.data
        self._seq_ptrs = (seq_p * capacity)(*[ctypes.cast(base + 4 * i, seq_p) for i in range(capacity)])
        self.struct = llama_cpp.llama_batch(
            n_tokens=0,
            token=self.token.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token)),
            embd=None,
            pos=self.pos.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_pos)),
            n_seq_id=self.n_seq_id.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
            seq_id=self._seq_ptrs,
            logits=self.logits.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)),
        )
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    @property
    def free(self) -> int:
        return self.capacity - self.n

    def add(self, tokens: Seq[int], pos0: int, seq: int, outputs: str = "last") -> int:
        """Append ``tokens`` of sequence ``seq`` at positions ``pos0...``; ``outputs`` is
        "last", "all" or "none". Returns the row of the last token."""
        k = len(tokens)
        a, b = self.n, self.n + k
        self.token[a:b] = tokens
        self.pos[a:b] = np.arange(pos0, pos0 + k, dtype=np.int32)
        self.seq[a:b, 0] = seq
        self.logits[a:b] = 1 if outputs == "all" else 0
        if outputs == "last" and k:
            self.logits[b - 1] = 1
        self.n = b
        return b - 1

    def add_one(self, token: int, pos: int, seq: int) -> int:
        """Append one token whose logits are wanted (a generating sequence's step)."""
        a = self.n
        self.token[a] = token
        self.pos[a] = pos
        self.seq[a, 0] = seq
        self.logits[a] = 1
        self.n = a + 1
        return a

    def decode(self, ctx) -> int:
        self.struct.n_tokens = self.n
        return int(llama_cpp.llama_decode(ctx, self.struct))


_backend_ready = False


def _backend_init() -> None:
    global _backend_ready
    if not _backend_ready:
        llama_cpp.llama_backend_init()
        _backend_ready = True


# ---------------------------------------------------------------------------------------------
# Requests


class Generation:
    """One request's output. Iterate it (blocking) or ``async for`` it (on an event loop);
    either submits it to the engine. Leaving early cancels it; ``finished`` is set once the
    engine has dropped the sequence (its sampler freed, its slot free)."""

    def __init__(self, runner: "ModelRunner", seq: Sequence):
        self.runner = runner
        self.seq = seq
        self.cancel = seq.cancel
        self.finished = threading.Event()
        self.on_finished: Callable[[], None] | None = None
        self._submitted = False

    def _submit(self, emit: Callable[[object], None]) -> None:
        if self._submitted:
            raise RuntimeError("a generation can be iterated only once")
        self._submitted = True
        self.seq.emit = emit
        self.runner._submit(self)

    def _dropped(self) -> None:  # engine thread
        self.finished.set()
        callback = self.on_finished
        if callback is not None:
            callback()

    def __iter__(self) -> Iterator:
        items: queue.SimpleQueue = queue.SimpleQueue()
        self._submit(items.put)
        try:
            while True:
                item = items.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, GenerationResult):
                    return
        finally:
            self.cancel.set()
            self.finished.wait(60)

    async def __aiter__(self):
        # The engine thread appends to ``items`` and wakes the event loop only when the
        # consumer is waiting for more: one wake-up per batch of pieces, however many the
        # engine produced meanwhile (an asyncio.Queue costs a thread-safe callback, a future
        # and a task switch per piece, on the core the decode threads need).
        loop = asyncio.get_running_loop()
        items: collections.deque = collections.deque()
        waiter: list = [None]

        def wake(future):
            if not future.done():
                future.set_result(None)

        def emit(item):  # engine thread
            items.append(item)
            future = waiter[0]
            if future is not None:
                waiter[0] = None
                try:
                    loop.call_soon_threadsafe(wake, future)
                except RuntimeError:  # the event loop is closed (shutdown)
                    self.cancel.set()

        self._submit(emit)
        try:
            while True:
                if not items:
                    future = loop.create_future()
                    waiter[0] = future
                    if not items:  # nothing arrived between the check and the waiter
                        await future
                    waiter[0] = None
                    continue
                item = items.popleft()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, GenerationResult):
                    return
        finally:
            self.cancel.set()

    def close(self) -> None:
        """Cancel a generation that is not iterated any more (or was never started)."""
        self.cancel.set()
        if not self._submitted:
            self.runner._free_sampler(self.seq)
            self._dropped()


@dataclass
class _Job:
    fn: Callable[[int], object]  # runs on the engine thread with a free slot
    done: threading.Event
    result: object = None
    error: BaseException | None = None
    tokens: Seq[int] | None = None  # a scoring job's text: the slot that scored most of it is chosen


# ---------------------------------------------------------------------------------------------
# The runner


class ModelRunner:
    """One loaded GGUF model: a llama.cpp model + context, and the engine thread that owns it."""

    def __init__(self, model_path: str | Path, load: LoadOptions | None = None):
        install_log_bridge()
        _backend_init()
        self.model_path = Path(model_path)
        self.load_options = lo = load or LoadOptions()
        started = time.perf_counter_ns()
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = _gpu_layers(self.model_path, lo)   # 0 on a CPU-only build
        # llama.cpp's load modes: mmap (pages shared with the file cache) or read into memory,
        # which is faster when malloc gets huge pages (see hugepages.py); mlock keeps either
        # resident.
        try:
            size = self.model_path.stat().st_size
        except OSError:
            size = None
        self.weights_in_memory = hugepages.weights_in_memory(lo.use_mmap, size=size, available=available_bytes())
        if not self.weights_in_memory:
            mparams.load_mode = llama_cpp.LLAMA_LOAD_MODE_MMAP_MLOCK if lo.use_mlock else llama_cpp.LLAMA_LOAD_MODE_MMAP
        else:
            mparams.load_mode = llama_cpp.LLAMA_LOAD_MODE_MLOCK if lo.use_mlock else llama_cpp.LLAMA_LOAD_MODE_NONE
        self.model = llama_cpp.llama_model_load_from_file(str(self.model_path).encode("utf-8"), mparams)
        if not self.model:
            raise RuntimeError(f"unable to load model {self.model_path.name}: llama.cpp could not read it")
        self.parallel = 1 if lo.embedding else max(1, lo.num_parallel)
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = lo.num_ctx * self.parallel
        # llama.cpp caps the batch at the context itself; capping here too keeps our own batch
        # buffers (sized from it) small whatever num_batch a request asks for.
        cparams.n_batch = max(1, min(lo.num_batch, cparams.n_ctx))
        # Micro-batches of at most 256 rows: the compute buffer that prompt evaluation touches
        # shrinks by ~10 MB against 512 for the embedded model, at no measurable cost in
        # prompt speed for models this small.
        cparams.n_ubatch = min(cparams.n_batch, MAX_UBATCH)
        cparams.n_seq_max = self.parallel
        cparams.kv_unified = False
        # Sliding-window layers keep only their window (as llama-server does): a full-size
        # cache for them would cost ~50 MB at num_ctx 4096 for the embedded model. A cached
        # prefix is then reused only while the window before its end is still there.
        cparams.swa_full = False
        cparams.no_perf = True
        self.decode_threads, self.batch_threads = thread_counts(lo.num_thread)
        cparams.n_threads = self.decode_threads
        cparams.n_threads_batch = self.batch_threads
        # Fewer threads while other programs keep cores busy (see cpu_share); a thread count
        # the user chose (num_thread, HUSHTYPE_DECODE_THREADS) stays as set.
        self._meter = CpuMeter() if adaptive_threads(lo.num_thread) else None
        self.threads_now = max(self.decode_threads, self.batch_threads)
        if lo.embedding:
            cparams.embeddings = True
            # Non-causal pooling needs the whole input in one micro-batch.
            cparams.n_batch = cparams.n_ubatch = lo.num_ctx
            arch = _peek_architecture(self.model_path)
            if arch is None or not _has_pooling_type(self.model_path, arch):
                cparams.pooling_type = llama_cpp.LLAMA_POOLING_TYPE_MEAN
        try:
            _check_memory(self.model_path, int(cparams.n_ctx), lo)
        except ContextError:
            llama_cpp.llama_model_free(self.model)
            self.model = None
            raise
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            llama_cpp.llama_model_free(self.model)
            self.model = None
            raise ContextError(f"llama.cpp could not create a context of {cparams.n_ctx} tokens "
                               f"(num_ctx={lo.num_ctx} x {self.parallel} parallel, num_batch={cparams.n_batch}): "
                               "not enough memory for its cache and compute buffers")
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.n_swa = int(llama_cpp.llama_model_n_swa(self.model))
        self.n_batch = int(llama_cpp.llama_n_batch(self.ctx)) or int(cparams.n_batch)
        self.n_ctx = min(lo.num_ctx, int(llama_cpp.llama_n_ctx_seq(self.ctx)) or lo.num_ctx)
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self._bos = int(llama_cpp.llama_vocab_bos(self.vocab))
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        self._piece_buffer = ctypes.create_string_buffer(256)
        self._pieces: dict[int, bytes] = {}
        self._eog: dict[int, bool] = {}
        self._batch = _Batch(max(self.n_batch, self.parallel))
        # Per slot: the tokens whose rows are in its KV cache, how many of the leading ones
        # were computed by a prompt evaluation (reusable), and the sequence using it.
        self._slot_tokens: list[list[int]] = [[] for _ in range(self.parallel)]
        self._slot_rows = [0] * self.parallel
        self._slot_seq: list[Sequence | None] = [None] * self.parallel
        self._slot_used = [0.0] * self.parallel
        # Per slot, after a scoring: (the tokens scored, top_n, their entries). Valid while the
        # slot's cache still holds exactly those tokens (see _scored_prefix).
        self._slot_scores: list[tuple[tuple[int, ...], int, list] | None] = [None] * self.parallel
        self._active: list[tuple[Sequence, Generation]] = []
        self._inbox: collections.deque = collections.deque()
        self._jobs: collections.deque = collections.deque()
        self._cv = threading.Condition()
        self._closing = False
        self.load_duration = time.perf_counter_ns() - started
        self.size = self._estimate_size()
        self._thread = threading.Thread(target=self._run, name=f"engine-{self.model_path.name[:16]}", daemon=True)
        self._thread.start()
        log.debug("loaded %s (n_ctx=%d x %d, threads=%d/%d, embedding=%s) in %.2fs", self.model_path.name,
                  self.n_ctx, self.parallel, self.decode_threads, self.batch_threads, lo.embedding,
                  self.load_duration / 1e9)

    # -- threads -----------------------------------------------------------------------------

    def _fit_threads(self) -> None:
        """Before a decode: the thread count that suits the cores free right now."""
        if self._meter is None:
            return
        free = self._meter.free_cores()
        wanted = choose_threads(self.threads_now, max(self.decode_threads, self.batch_threads), free)
        if wanted != self.threads_now:
            log.debug("decoding with %d thread(s): %.1f core(s) free", wanted, free)
            self.threads_now = wanted
            llama_cpp.llama_set_n_threads(self.ctx, min(wanted, self.decode_threads),
                                          min(wanted, self.batch_threads))

    def _decode(self, batch: "_Batch") -> int:
        self._fit_threads()
        return batch.decode(self.ctx)

    # -- sizes -------------------------------------------------------------------------------

    def _estimate_size(self) -> int:
        """Bytes of memory the model uses: weights + KV cache (f16) of every slot."""
        weights = int(llama_cpp.llama_model_size(self.model))
        try:
            from inference.models import gguf_info

            md = gguf_info.read_metadata(self.model_path)
            arch = md.get("general.architecture", "")
            layers = int(md.get(f"{arch}.block_count", 0))
            heads_kv = int(md.get(f"{arch}.attention.head_count_kv", md.get(f"{arch}.attention.head_count", 0)))
            embd = int(md.get(f"{arch}.embedding_length", 0))
            heads = int(md.get(f"{arch}.attention.head_count", 1)) or 1
            k_len = int(md.get(f"{arch}.attention.key_length", embd // heads))
            v_len = int(md.get(f"{arch}.attention.value_length", embd // heads))
            kv = self.n_ctx * self.parallel * layers * heads_kv * (k_len + v_len) * 2
        except Exception:  # noqa: BLE001 - an estimate only
            kv = 0
        return weights + kv

    @property
    def n_ctx_train(self) -> int:
        return int(llama_cpp.llama_model_n_ctx_train(self.model))

    # -- tokens (the vocabulary is read-only: any thread) -------------------------------------

    def tokenize(self, text: str, *, add_bos: bool = True, special: bool = True) -> list[int]:
        """Tokens of ``text``; BOS only when the model wants one and the text has none yet."""
        data = text.encode("utf-8")
        n_max = len(data) + 8
        buf = (llama_cpp.llama_token * n_max)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, n_max, add_bos and self._add_bos, special)
        if n < 0:
            n_max = -n
            buf = (llama_cpp.llama_token * n_max)()
            n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, n_max, add_bos and self._add_bos, special)
        tokens = list(buf[:n])
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
            eog = self._eog[token] = bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))
        return eog

    def _token_bytes(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        if n < 0:  # piece longer than the buffer
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def detokenize(self, tokens: Seq[int]) -> str:
        return b"".join(self.token_bytes(t) for t in tokens).decode("utf-8", errors="replace")

    # -- requests ----------------------------------------------------------------------------

    def _build_sampler(self, p: SamplingParams, grammar, history: Seq[int]):
        """A llama.cpp sampler chain for ``p`` (the caller frees it) and, with a grammar, the
        :class:`GrammarSampling` that wraps it."""
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = lambda s: llama_cpp.llama_sampler_chain_add(chain, s)  # noqa: E731
        penalty_n = self.n_ctx if p.repeat_last_n < 0 else p.repeat_last_n
        penalties = None
        if penalty_n > 0 and (p.repeat_penalty != 1.0 or p.presence_penalty or p.frequency_penalty):
            penalties = llama_cpp.llama_sampler_init_penalties(
                self.n_vocab, penalty_n, p.repeat_penalty, p.frequency_penalty, p.presence_penalty
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
            self.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not g:
            llama_cpp.llama_sampler_free(chain)
            raise FormatError("format could not be compiled into a grammar")
        return chain, GrammarSampling(chain, g, self.n_vocab)

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

    def _check_tokens(self, tokens: Seq[int], what: str = "the prompt or context") -> None:
        bad = next((t for t in tokens if not 0 <= t < self.n_vocab), None)
        if bad is not None:
            raise InvalidTokens(f"invalid token id {bad} in {what} (this model has {self.n_vocab} tokens)")

    def generate(
        self,
        prompt_tokens: Seq[int],
        options: dict | SamplingParams | None = None,
        *,
        grammar=None,
        cancel: threading.Event | None = None,
        logprobs: bool = False,
        top_logprobs: int = 0,
    ) -> Generation:
        """A :class:`Generation` after ``prompt_tokens``: iterating it yields text pieces, then
        one :class:`GenerationResult`. The sampler (and grammar) is built here, so bad
        ``format`` input raises before any text. With ``logprobs`` the pieces are
        :class:`Piece` objects carrying each token's log-probability (and ``top_logprobs``
        alternatives)."""
        if self.embedding_only:
            raise RuntimeError("this model instance was loaded in embedding mode")
        p = options if isinstance(options, SamplingParams) else SamplingParams.from_options(options)
        tokens = list(prompt_tokens)
        self._check_tokens(tokens)
        if not tokens:
            tokens = [self._bos] if self._bos >= 0 else []
        tokens, truncated = self._fit_prompt(tokens, p)
        sampler, constrained = self._build_sampler(p, grammar, tokens)
        top_n = max(0, min(int(top_logprobs or 0), MAX_TOP_LOGPROBS)) if logprobs else -1
        seq = Sequence(tokens=tokens, truncated=truncated, params=p, sampler=sampler, constrained=constrained,
                       emit=lambda item: None, cancel=cancel or threading.Event(), top_n=top_n)
        return Generation(self, seq)

    @property
    def embedding_only(self) -> bool:
        return self.load_options.embedding

    def _submit(self, gen: Generation) -> None:
        with self._cv:
            if self._closing:
                raise RuntimeError("the model is being unloaded")
            self._inbox.append(gen)
            self._cv.notify()

    def _call(self, fn: Callable[[int], object], tokens: Seq[int] | None = None):
        """Run ``fn(slot)`` on the engine thread with a free slot; returns its result."""
        job = _Job(fn, threading.Event(), tokens=tokens)
        with self._cv:
            if self._closing:
                raise RuntimeError("the model is being unloaded")
            self._jobs.append(job)
            self._cv.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    # -- the engine thread -------------------------------------------------------------------

    def _free_slot(self, tokens: Seq[int] | None = None, reuse: bool = False) -> tuple[int, int]:
        """A free slot for a request and how many leading ``tokens`` its cache can give;
        (-1, 0) when all are busy. Prefers the longest reusable prefix, then the slot idle longest."""
        best, best_prefix = -1, -1
        for slot in range(self.parallel):
            if self._slot_seq[slot] is not None:
                continue
            prefix = self._reusable_prefix(slot, tokens) if (reuse and tokens) else 0
            if prefix > best_prefix or (prefix == best_prefix and self._slot_used[slot] < self._slot_used[best]):
                best, best_prefix = slot, prefix
        return best, max(best_prefix, 0)

    def _reusable_prefix(self, slot: int, tokens: Seq[int]) -> int:
        """How many leading ``tokens`` the slot's cache holds in reusable form.

        llama.cpp's results for a token differ in the last bits with the shape of the batch
        it was evaluated in (a lone token, or where it falls in a block of rows), and with a
        small model such a difference can flip even a greedy pick. So that a request gives
        the same answer whether or not its prefix was cached, only rows that a fresh
        evaluation would compute the same way are reused: rows evaluated as part of an
        earlier *prompt* (not generated one by one), in whole blocks of ``REUSE_ALIGNMENT``
        tokens from the start, and never the last prompt token.
        """
        cached = self._slot_tokens[slot][: self._slot_rows[slot]]
        n = min(len(cached), len(tokens) - 1)
        if n <= 0:
            return 0
        mismatch = np.nonzero(np.asarray(cached[:n], dtype=np.int64) != np.asarray(tokens[:n], dtype=np.int64))[0]
        prefix = int(mismatch[0]) if len(mismatch) else n
        prefix -= prefix % REUSE_ALIGNMENT
        if prefix > 0 and self.n_swa > 0:
            # A sliding-window layer needs the window before the first new token.
            oldest = int(llama_cpp.llama_memory_seq_pos_min(self.mem, slot))
            if oldest > max(0, prefix - self.n_swa):
                return 0
        return prefix

    def _clear_slot(self, slot: int, keep: int = 0) -> int:
        """Drop the slot's cached rows from position ``keep`` on; returns what was kept."""
        if keep > 0 and llama_cpp.llama_memory_seq_rm(self.mem, slot, keep, -1):
            del self._slot_tokens[slot][keep:]
            self._slot_rows[slot] = min(self._slot_rows[slot], keep)
            return keep
        llama_cpp.llama_memory_seq_rm(self.mem, slot, -1, -1)
        self._slot_tokens[slot] = []
        self._slot_rows[slot] = 0
        return 0

    def _admit(self) -> None:
        while self._inbox:
            gen: Generation = self._inbox[0]
            seq = gen.seq
            if seq.cancel.is_set():
                self._inbox.popleft()
                seq.admitted_ns = time.perf_counter_ns()
                seq.finish("cancel")
                self._drop(seq, gen)
                continue
            p = seq.params
            # A fixed seed evaluates from scratch: a prefix cached by some other prompt was
            # computed in other batches, whose last bits can differ and flip a sample.
            reuse = not (p.seed >= 0 and p.temperature > 0)
            slot, prefix = self._free_slot(seq.tokens, reuse)
            if slot < 0:
                return
            self._inbox.popleft()
            seq.slot = slot
            seq.cached = seq.evaluated = self._clear_slot(slot, prefix)
            seq.admitted_ns = time.perf_counter_ns()
            self._slot_seq[slot] = seq
            # Kept in slot order: a batch whose sequences come in the same order step after
            # step lets llama.cpp reuse its compute graph (4 sequences out of order: 62 of 65
            # graphs rebuilt, a 4-token step 58-69 ms instead of 43-47 ms).
            bisect.insort(self._active, (seq, gen), key=lambda member: member[0].slot)

    def _run(self) -> None:
        try:
            while True:
                with self._cv:
                    while not (self._closing or self._inbox or self._active or self._jobs):
                        self._cv.wait()
                    if self._closing:
                        break
                    self._admit()
                    jobs = []
                    while self._jobs and (self._free_slot()[0] >= 0):
                        jobs.append(self._jobs.popleft())
                        break  # one job per step keeps generations flowing
                for job in jobs:
                    self._run_job(job)
                if self._active:
                    self._step()
        except BaseException as exc:  # noqa: BLE001 - the engine must never die silently
            log.exception("engine thread failed")
            self._fail_all(RuntimeError(f"engine failed: {exc}"))
        finally:
            with self._cv:
                self._closing = True
            self._fail_all(RuntimeError("the model was unloaded"), cancelled=True)

    def _run_job(self, job: _Job) -> None:
        slot, _ = self._free_slot()
        if job.tokens is not None:  # a free slot that scored the same text's start, if any
            reuse = {s: self._scored_prefix(s, job.tokens)[0] for s in range(self.parallel)
                     if self._slot_seq[s] is None}
            if reuse and max(reuse.values()) > reuse.get(slot, 0):
                slot = max(reuse, key=reuse.get)
        try:
            job.result = job.fn(slot)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            job.error = exc
        finally:
            self._slot_used[slot] = time.monotonic()
            job.done.set()

    def _fail_all(self, exc: BaseException, cancelled: bool = False) -> None:
        with self._cv:
            pending = list(self._inbox)
            self._inbox.clear()
            jobs = list(self._jobs)
            self._jobs.clear()
        for seq, gen in list(self._active):
            if cancelled:
                seq.finish("cancel")
            else:
                seq.emit(exc)
            self._drop(seq, gen)
        for gen in pending:
            gen.seq.emit(exc)
            self._free_sampler(gen.seq)
            gen._dropped()
        for job in jobs:
            job.error = exc
            job.done.set()

    def _free_sampler(self, seq: Sequence) -> None:
        if seq.sampler:
            llama_cpp.llama_sampler_free(seq.sampler)
            seq.sampler = None
        if seq.constrained is not None:
            seq.constrained.close()
            seq.constrained = None

    def _drop(self, seq: Sequence, gen: Generation) -> None:
        """The sequence is over: free its sampler and its slot (its cache stays for reuse)."""
        self._free_sampler(seq)
        if seq.slot >= 0 and self._slot_seq[seq.slot] is seq:
            self._slot_seq[seq.slot] = None
            self._slot_used[seq.slot] = time.monotonic()
        try:
            self._active.remove((seq, gen))
        except ValueError:
            pass
        gen._dropped()

    def _step(self) -> None:
        """One ``llama_decode``: a token for every generating sequence, prompt chunks for the
        others (oldest first) in what is left of ``n_batch``; then sample each."""
        batch = self._batch
        batch.clear()
        members: list[tuple[Sequence, Generation]] = []
        for seq, gen in list(self._active):
            if seq.cancel.is_set():
                log.info("generation cancelled after %d tokens (client gone or request cancelled)", len(seq.generated))
                seq.finish("cancel")
                self._drop(seq, gen)
        for seq, gen in self._active:
            if not seq.prompting:
                pos = len(seq.tokens) + len(seq.generated) - 1
                seq.out_index = batch.add_one(seq.last, pos, seq.slot)
                self._slot_tokens[seq.slot].append(seq.last)
                members.append((seq, gen))
        prompting = [member for member in self._active if member[0].prompting]
        if len(prompting) > 1:  # prompt chunks: the oldest request first
            prompting.sort(key=lambda member: member[0].admitted_ns)
        for seq, gen in prompting:
            if batch.free > 0:
                chunk = seq.tokens[seq.evaluated: seq.evaluated + batch.free]
                last = seq.evaluated + len(chunk) == len(seq.tokens)
                row = batch.add(chunk, seq.evaluated, seq.slot, "last" if last else "none")
                seq.out_index = row if last else -1
                seq.evaluated += len(chunk)
                self._slot_tokens[seq.slot].extend(chunk)
                members.append((seq, gen))
        if not batch.n:
            return
        rc = self._decode(batch)
        if rc != 0:
            error = RuntimeError(f"llama_decode failed with status {rc}")
            log.error("%s (%d sequences in the batch)", error, len(members))
            for seq, gen in members:
                self._clear_slot(seq.slot)
                seq.emit(error)
                self._drop(seq, gen)
            return
        now = time.perf_counter_ns()
        ctx = self.ctx
        for seq, gen in members:
            row = seq.out_index
            if row < 0:
                continue
            if not seq.prompt_done_ns:
                seq.prompt_done_ns = now
                self._slot_rows[seq.slot] = len(seq.tokens)
            if seq.constrained is not None:
                token = seq.constrained.sample(seq.sampler, ctx, row)
            else:
                token = int(llama_cpp.llama_sampler_sample(seq.sampler, ctx, row))
            entry = None
            if seq.top_n >= 0:
                logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, row), shape=(self.n_vocab,))
                entry = logprob_entry(logits, token, seq.top_n, self.token_bytes)
            if not seq.take(token, self.token_bytes(token), self.is_eog(token), entry, self.n_ctx):
                self._drop(seq, gen)

    # -- scoring -----------------------------------------------------------------------------

    def score(self, tokens: Seq[int], top_n: int = 0,
              cancel: threading.Event | None = None) -> list[dict | None]:
        """Log-probability of each of ``tokens`` given the ones before it (OpenAI's ``echo``).

        Returns one entry per token in :func:`logprob_entry`'s shape; the first is ``None``
        (nothing predicts it). The rows computed stay in a slot's cache for reuse.
        """
        tokens = list(tokens)
        self._check_tokens(tokens, "the prompt")
        if len(tokens) > self.n_ctx:
            raise ValueError(f"the text to score has {len(tokens)} tokens, more than num_ctx={self.n_ctx}")
        top_n = max(0, min(int(top_n), MAX_TOP_LOGPROBS))
        cancel = cancel or threading.Event()
        return self._call(lambda slot: self._score_on(slot, tokens, top_n, cancel), tokens)

    def _scored_prefix(self, slot: int, tokens: Seq[int]) -> tuple[int, int, list]:
        """How many leading ``tokens`` the slot's last scoring can give: (cache rows to keep,
        top_n of its entries, its entries). Rows are kept in whole ``SCORE_CHUNK`` blocks, so
        what follows is evaluated in the same chunks as a fresh scoring would evaluate it; the
        entry of the first new row's token comes from the kept block's last row, so a kept
        prefix stops at least one token short of where the texts part."""
        record = self._slot_scores[slot]
        if record is None:
            return 0, 0, []
        scored, top_n, entries = record
        cached = self._slot_tokens[slot]
        if len(cached) != len(scored) or self._slot_rows[slot] != len(scored) or tuple(cached) != scored:
            return 0, 0, []  # the slot has been used for something else since
        n = min(len(scored), len(tokens))
        if n <= 0:
            return 0, 0, []
        mismatch = np.nonzero(np.asarray(scored[:n], dtype=np.int64) != np.asarray(tokens[:n], dtype=np.int64))[0]
        common = int(mismatch[0]) if len(mismatch) else n
        keep = ((common - 1) // SCORE_CHUNK) * SCORE_CHUNK if common > 0 else 0
        if keep > 0 and self.n_swa > 0:
            oldest = int(llama_cpp.llama_memory_seq_pos_min(self.mem, slot))
            if oldest > max(0, keep - self.n_swa):
                return 0, 0, []
        return keep, top_n, entries

    def _score_on(self, slot: int, tokens: list[int], top_n: int, cancel: threading.Event) -> list[dict | None]:
        keep, cached_top, cached = self._scored_prefix(slot, tokens)
        if keep and cached_top != top_n:
            keep = 0
        self._slot_scores[slot] = None
        out: list[dict | None] = [dict(e) if e else None for e in cached[:keep + 1]] if keep else []
        keep = self._clear_slot(slot, keep)
        if not keep:
            out = [None] if tokens else []
        batch, ctx = self._batch, self.ctx
        try:
            for start in range(keep, len(tokens), SCORE_CHUNK):
                if cancel.is_set():
                    break
                chunk = tokens[start: start + SCORE_CHUNK]
                batch.clear()
                batch.add(chunk, start, slot, "all")
                rc = self._decode(batch)
                if rc != 0:
                    raise RuntimeError(f"llama_decode failed with status {rc}")
                self._slot_tokens[slot].extend(chunk)
                for j in range(len(chunk)):
                    following = start + j + 1
                    if following >= len(tokens):
                        break
                    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, j), shape=(self.n_vocab,))
                    out.append(logprob_entry(logits, tokens[following], top_n, self.token_bytes))
            self._slot_rows[slot] = len(self._slot_tokens[slot])
        except BaseException:
            self._clear_slot(slot)
            raise
        if not cancel.is_set() and len(out) == len(tokens) == len(self._slot_tokens[slot]):
            self._slot_scores[slot] = (tuple(tokens), top_n, [dict(e) if e else None for e in out])
        return out

    # -- embeddings --------------------------------------------------------------------------

    def embed(self, texts: Seq[str], *, truncate: bool = True,
              cancel: threading.Event | None = None) -> tuple[list[list[float]], int]:
        """Raw (not normalised) embeddings of ``texts`` and the total number of input tokens.

        Needs an instance loaded with ``LoadOptions(embedding=True)``. With ``truncate=False``
        an input longer than the context raises ``ValueError``. ``cancel`` (the client went
        away) is checked before each input: :class:`EmbeddingCancelled` frees the model.
        """
        if not self.load_options.embedding:
            raise RuntimeError("this model instance was not loaded in embedding mode")
        inputs = []
        for text in texts:
            tokens = self.tokenize(text)
            if len(tokens) > self.n_ctx:
                if not truncate:
                    raise ValueError("input length exceeds the context length")
                tokens = tokens[: self.n_ctx]
            inputs.append(tokens)
        def run(slot):
            out = []
            for tokens in inputs:
                if cancel is not None and cancel.is_set():
                    raise EmbeddingCancelled(f"embedding cancelled after {len(out)} of {len(inputs)} inputs")
                out.append(self._embed_on(slot, tokens))
            return out

        vectors = self._call(run)
        return vectors, sum(len(t) for t in inputs)

    def _embed_on(self, slot: int, tokens: list[int]) -> list[float]:
        self._clear_slot(slot)
        batch = self._batch
        batch.clear()
        batch.add(tokens, 0, slot, "all")
        try:
            rc = self._decode(batch)
            if rc != 0:
                raise RuntimeError(f"llama_decode failed with status {rc}")
            n_embd = int(llama_cpp.llama_model_n_embd(self.model))
            ptr = llama_cpp.llama_get_embeddings_seq(self.ctx, slot)
            if ptr:
                return list(ptr[:n_embd])
            all_ptr = llama_cpp.llama_get_embeddings(self.ctx)  # no pooling: mean of the tokens
            arr = np.ctypeslib.as_array(all_ptr, shape=(len(tokens) * n_embd,)).reshape(len(tokens), n_embd)
            return arr.mean(axis=0).tolist()
        finally:
            self._clear_slot(slot)

    # -- lifetime ----------------------------------------------------------------------------

    def close(self, timeout: float = 30.0) -> None:
        """Stop the engine (active generations end as cancelled) and free the model. Waits at
        most ``timeout`` seconds for the engine's current step: a shutdown must not hang."""
        if self.model is None:
            return
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("not freeing %s: its engine is still decoding after %.0fs", self.model_path.name, timeout)
            return
        if self.ctx:
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
        llama_cpp.llama_model_free(self.model)
        self.model = None
        log.debug("unloaded %s", self.model_path.name)

    @property
    def closed(self) -> bool:
        return self.model is None



def _gpu_layers(path: Path, lo: "LoadOptions") -> int:
    """``num_gpu`` -> llama.cpp's ``n_gpu_layers`` (inference.engine.gpu decides what fits)."""
    from inference.engine import gpu

    if lo.num_gpu == 0 or not gpu.supports_gpu_offload():
        return 0
    from inference.models import gguf_info

    md = gguf_info.read_metadata(path)
    layers = int(md.get(f"{md.get('general.architecture', '')}.block_count", 0) or 0)
    return gpu.offload_layers(lo.num_gpu, layers, path.stat().st_size) if layers else 0


def _check_memory(path: Path, n_ctx_total: int, lo: "LoadOptions") -> None:
    """Refuse a context whose cache cannot fit in the available memory before llama.cpp
    allocates it (an allocation that merely exceeds free memory ends in the OOM killer)."""
    from inference.engine.memory import available_bytes, kv_cache_floor_bytes
    from inference.models import gguf_info

    try:
        need = kv_cache_floor_bytes(gguf_info.read_metadata(path), n_ctx_total)
    except Exception:  # noqa: BLE001 - unreadable metadata: llama.cpp decides
        return
    have = available_bytes()
    if have is not None and need > have:
        raise ContextError(f"a context of {n_ctx_total} tokens (num_ctx={lo.num_ctx} x "
                           f"{n_ctx_total // max(lo.num_ctx, 1)} parallel) needs at least {need / 2**30:.1f} GiB "
                           f"for its cache but {have / 2**30:.1f} GiB of memory is available")


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

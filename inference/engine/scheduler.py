"""Loaded models, keep_alive, LRU eviction and the bounded FIFO request queue.

``Scheduler.use(record, options, keep_alive, request=...)`` is the one way routes reach a
model. It is an async context manager that

1. admits the request or refuses it with 503 when ``OLLAMA_MAX_QUEUE`` requests already wait;
2. waits, first come first served, until the model has a free slot (``OLLAMA_NUM_PARALLEL``
   requests decode at once per loaded model, batched by its engine; the rest queue),
   dropping the request if its client goes away;
3. loads the model for ``(record.digest, load options)`` when needed, evicting the least
   recently used idle model beyond ``OLLAMA_MAX_LOADED_MODELS``; a change of a load-time
   option (``num_ctx`` ...) loads a new instance and retires the old one;
4. yields a :class:`ModelHandle`; generation runs on the model's engine thread and reaches
   the event loop through a queue (:meth:`ModelHandle.stream_generation`), so the server
   keeps answering;
5. on exit arms the keep_alive timer (``None`` = forever, ``0`` = unload now). The model is
   released only when its worker thread has really stopped decoding.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Callable, Iterator

from inference.api.errors import ApiError

log = logging.getLogger("inference.scheduler")

QUEUE_FULL_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
FOREVER = None  # keep_alive value meaning "never unload"
DISCONNECT_POLL_SECONDS = 0.1


class ClientDisconnected(Exception):
    """The client went away while its request waited for a model."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class SchedulerConfig:
    max_loaded_models: int = 3
    max_queue: int = 512
    default_keep_alive: float | None = 300.0  # seconds; None = forever

    @classmethod
    def from_env(cls) -> "SchedulerConfig":
        from inference.engine.options import default_keep_alive_seconds

        return cls(
            max_loaded_models=_env_int("OLLAMA_MAX_LOADED_MODELS", 3),
            max_queue=_env_int("OLLAMA_MAX_QUEUE", 512),
            default_keep_alive=default_keep_alive_seconds(),
        )


def _requested(record, load_options) -> bool:
    """Whether a request's options changed the load options from the model's own (its
    Modelfile parameters and the server's defaults): a context that cannot be built is then
    the request's doing (400), otherwise the server's (500)."""
    from inference.engine.options import OptionsError, merge_options
    from inference.engine.runtime import LoadOptions
    from inference.models import gguf_info

    try:
        trained = gguf_info.context_length(gguf_info.read_metadata(record.model_path))
        own = LoadOptions.from_options(merge_options(record.params, None, trained_ctx=trained),
                                       embedding=load_options.embedding)
    except (OptionsError, OSError, ValueError):
        return False
    return own.key() != load_options.key()


def _default_loader(record, load_options):
    from inference.engine.runtime import ContextError, ModelRunner

    name = record.name.display
    if record.model_path is None:
        raise ApiError(400, f"model '{name}' has no model weights (GGUF) to run")
    if not record.model_path.is_file():
        raise ApiError(500, f"model '{name}' is damaged: its weights ({record.model_path.name}) are missing "
                            "from the store; pull or import it again")
    try:
        return ModelRunner(record.model_path, load_options)
    except ContextError as exc:  # the weights loaded; the context asked for does not fit
        log.error("cannot load %s: %s", name, exc)
        status = 400 if _requested(record, load_options) else 500
        raise ApiError(status, f"unable to load model '{name}': {exc}; lower num_ctx (or "
                               "OLLAMA_NUM_PARALLEL)") from exc
    except Exception as exc:  # llama.cpp refuses the file (not a GGUF, unknown architecture ...)
        log.error("cannot load %s: %s", name, exc)
        raise ApiError(500, f"unable to load model '{name}': llama.cpp could not load its weights "
                            f"({exc.__class__.__name__}: {exc})") from exc


@dataclass(eq=False)
class LoadedModel:
    """A model resident in memory, with its queue position lock and keep_alive state."""

    key: tuple
    record: Any
    runner: Any
    # Free slots of the model's engine (OLLAMA_NUM_PARALLEL); a FIFO for the requests beyond.
    lock: asyncio.Semaphore = field(default_factory=asyncio.Semaphore)
    refs: int = 0  # requests waiting for or using the model
    keep_alive: float | None = 300.0
    expires_at: float | None = None  # monotonic seconds; None while busy or forever
    expires_wall: datetime | None = None
    last_used: float = field(default_factory=time.monotonic)
    timer: asyncio.TimerHandle | None = None
    retired: bool = False  # replaced by a reload (e.g. num_ctx change): unload when idle
    unloading: bool = False
    # All work on this model runs on one long-lived thread: llama.cpp's OpenMP thread team
    # belongs to the calling thread, and a fresh thread per request would rebuild it (and
    # start cold) for every prompt.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="model"))

    async def close_runner(self) -> None:
        """Close the runner on its own thread (after any work still queued there)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self.runner.close)
        finally:
            self.executor.shutdown(wait=False)

    @property
    def busy(self) -> bool:
        return self.refs > 0 or self.lock.locked()

    def expires_at_datetime(self) -> datetime:
        """When the model will be unloaded, for ``/api/ps``."""
        now = datetime.now(timezone.utc)
        if self.keep_alive is None:
            # Ollama shows "forever" as a date centuries away.
            return now + timedelta(days=365 * 290)
        if self.busy or self.expires_wall is None:
            return now + timedelta(seconds=self.keep_alive)
        return self.expires_wall


class ModelHandle:
    """What ``Scheduler.use`` yields: the runner plus thread-safe ways to drive it."""

    def __init__(self, loaded: LoadedModel, load_duration: int, loop: asyncio.AbstractEventLoop):
        self.loaded = loaded
        self.record = loaded.record
        self.runner = loaded.runner
        self.load_duration = load_duration  # ns spent loading for this request (0 if warm)
        self._loop = loop
        self._workers = 0
        self._on_idle: Callable[[], None] | None = None

    # -- synchronous passthroughs (fast calls, fine on the event loop) ------------------------

    def tokenize(self, text: str, **kwargs) -> list[int]:
        return self.runner.tokenize(text, **kwargs)

    def count_tokens(self, text: str) -> int:
        return len(self.runner.tokenize(text))

    def generate(self, *args, **kwargs):
        """The runner's synchronous generator (blocks; prefer :meth:`stream` in async code)."""
        return self.runner.generate(*args, **kwargs)

    def embed(self, texts, **kwargs):
        """Synchronous embeddings (blocks; in async code use ``await handle.aembed(...)``)."""
        return self.runner.embed(texts, **kwargs)

    @property
    def n_ctx(self) -> int:
        return self.runner.n_ctx

    # -- work in a worker thread -------------------------------------------------------------

    def _worker_started(self) -> None:
        self._workers += 1

    def _worker_finished(self) -> None:  # on the event loop
        self._workers -= 1
        if self._workers == 0 and self._on_idle is not None:
            callback, self._on_idle = self._on_idle, None
            callback()

    def _notify_finished(self) -> None:  # from the worker thread
        try:
            self._loop.call_soon_threadsafe(self._worker_finished)
        except RuntimeError:  # event loop closed (server shutting down)
            pass

    async def run(self, fn: Callable, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` in a worker thread; the model stays held until it ends."""
        future = self._loop.create_future()

        def work():
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                self._loop.call_soon_threadsafe(_set_exception, future, exc)
            else:
                self._loop.call_soon_threadsafe(_set_result, future, result)
            finally:
                self._notify_finished()

        self._worker_started()
        self.loaded.executor.submit(work)
        return await future

    async def aembed(self, texts, **kwargs):
        return await self.run(self.runner.embed, texts, **kwargs)

    async def stream_generation(self, generation, cancel: threading.Event) -> AsyncIterator:
        """Iterate a runtime ``Generation`` (decoded on the model's engine thread) on the
        event loop. Leaving early sets ``cancel``; the model is released only once the engine
        has dropped the sequence."""
        self._worker_started()
        generation.on_finished = self._notify_finished
        try:
            async for item in generation:
                yield item
        finally:
            cancel.set()
            generation.close()

    async def stream(self, make_iterator: Callable[[], Iterator], cancel: threading.Event) -> AsyncIterator:
        """Iterate ``make_iterator()`` in a worker thread, yielding its items on the event loop.

        Leaving the ``async for`` early (client gone, task cancelled) sets ``cancel``; the
        worker stops at its next check and only then is the model released.
        """
        queue: asyncio.Queue = asyncio.Queue()
        loop = self._loop
        put = queue.put_nowait

        def work():
            iterator = None
            try:
                iterator = make_iterator()
                for item in iterator:  # the iterator itself checks `cancel` (every token)
                    loop.call_soon_threadsafe(put, (0, item))
            except BaseException as exc:  # noqa: BLE001 - re-raised on the event loop
                try:
                    loop.call_soon_threadsafe(put, (2, exc))
                except RuntimeError:
                    pass
            else:
                try:
                    loop.call_soon_threadsafe(put, (1, None))
                except RuntimeError:
                    pass
            finally:
                # Close it here, in this thread: a generator left to the garbage collector
                # would keep the runner's lock (and its sampler) until some later collection.
                close = getattr(iterator, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:  # noqa: BLE001
                        log.exception("error while closing a generation")
                self._notify_finished()

        self._worker_started()
        self.loaded.executor.submit(work)
        try:
            while True:
                kind, item = await queue.get()
                if kind == 0:
                    yield item
                elif kind == 1:
                    return
                else:
                    raise item
        finally:
            cancel.set()


def _set_result(future: asyncio.Future, value) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class Scheduler:
    def __init__(self, config: SchedulerConfig | None = None, *, loader: Callable | None = None):
        self.config = config or SchedulerConfig()
        self._loader = loader or _default_loader
        self._models: dict[tuple, LoadedModel] = {}
        self._pending = 0
        self._load_lock: asyncio.Lock | None = None
        self._changed: asyncio.Event | None = None
        self._loading: dict[tuple, asyncio.Task] = {}

    # -- introspection -----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Requests admitted but not yet holding their model."""
        return self._pending

    def loaded(self) -> list[LoadedModel]:
        """Resident models, most recently used first."""
        return sorted(self._models.values(), key=lambda m: m.last_used, reverse=True)

    # -- helpers -----------------------------------------------------------------------------

    def _sync_primitives(self) -> None:
        if self._load_lock is None:
            self._load_lock = asyncio.Lock()
            self._changed = asyncio.Event()

    @staticmethod
    def model_key(record, options: dict, embedding: bool) -> tuple:
        from inference.engine.runtime import LoadOptions

        return (record.digest, LoadOptions.from_options(options, embedding=embedding).key())

    async def _wait(self, awaitable, request) -> Any:
        """Await ``awaitable``; give up with ClientDisconnected if the client leaves."""
        if request is None or not hasattr(request, "is_disconnected"):
            return await awaitable
        task = asyncio.ensure_future(awaitable)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_SECONDS)
                if done:
                    return task.result()
                if await request.is_disconnected():
                    raise ClientDisconnected()
        finally:
            if not task.done():
                task.cancel()
                try:
                    await task
                except BaseException:  # noqa: BLE001
                    pass

    def _cancel_timer(self, lm: LoadedModel) -> None:
        if lm.timer is not None:
            lm.timer.cancel()
            lm.timer = None
        lm.expires_at = None
        lm.expires_wall = None

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _detach(self, lm: LoadedModel, reason: str) -> bool:
        """Take an idle model out of service at once (synchronously, so that no request can
        pick it up between this decision and the close); False if it is busy or gone."""
        if lm.unloading or lm.busy:
            return False
        lm.unloading = True
        self._cancel_timer(lm)
        if self._models.get(lm.key) is lm:
            del self._models[lm.key]
        log.info("unloading %s (%s)", lm.record.name.display, reason)
        return True

    async def _close(self, lm: LoadedModel) -> None:
        try:
            await lm.close_runner()
        finally:
            self._notify()

    async def _unload(self, lm: LoadedModel, reason: str) -> None:
        if self._detach(lm, reason):
            await self._close(lm)

    def _schedule_unload(self, lm: LoadedModel, reason: str) -> None:
        if self._detach(lm, reason):
            asyncio.get_running_loop().create_task(self._close(lm))

    async def _make_room(self, request) -> None:
        """Evict idle models (LRU first) until a new one fits; waits while all are busy."""
        while len(self._models) >= self.config.max_loaded_models:
            idle = [m for m in self._models.values() if not m.busy]
            if idle:
                victim = min(idle, key=lambda m: m.last_used)
                await self._unload(victim, "evicted: OLLAMA_MAX_LOADED_MODELS reached")
                continue
            self._changed.clear()
            await self._wait(self._changed.wait(), request)

    async def _get_or_load(self, record, options: dict, embedding: bool, request) -> tuple[LoadedModel, int]:
        from inference.engine.runtime import LoadOptions

        load = LoadOptions.from_options(options, embedding=embedding)
        key = (record.digest, load.key())
        lm = self._take_loaded(record, options, embedding)
        if lm is not None:  # loaded: no need to wait behind another model's load
            return lm, 0
        async with self._load_lock:
            lm = self._models.get(key)
            if lm is not None and not lm.unloading:
                lm.refs += 1
                self._cancel_timer(lm)
                return lm, 0
            task = self._loading.get(key)
            if task is None:
                # Other instances of the same model with other load options are retired.
                for other in list(self._models.values()):
                    if other.record.digest == record.digest and other.key[1][-1] == embedding:
                        if other.busy:
                            other.retired = True
                        else:
                            await self._unload(other, "reloading with new load options")
                await self._make_room(request)
                task = asyncio.get_running_loop().create_task(self._load(record, load, key))
                self._loading[key] = task
            # A client that leaves during the load does not waste it: the model stays loaded.
            lm, load_duration = await asyncio.shield(task)
            lm.refs += 1
            self._cancel_timer(lm)
            return lm, load_duration

    def _take_loaded(self, record, options: dict, embedding: bool) -> LoadedModel | None:
        """The resident instance for this request, counted as in use; None if not loaded."""
        lm = self._models.get(self.model_key(record, options, embedding))
        if lm is None or lm.unloading:
            return None
        lm.refs += 1
        self._cancel_timer(lm)
        return lm

    async def _load(self, record, load, key) -> tuple[LoadedModel, int]:
        try:
            started = time.perf_counter_ns()
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
            try:
                runner = await asyncio.get_running_loop().run_in_executor(executor, self._loader, record, load)
            except BaseException:
                executor.shutdown(wait=False)
                raise
            load_duration = time.perf_counter_ns() - started
            slots = int(getattr(runner, "parallel", load.num_parallel) or 1)
            lm = LoadedModel(key=key, record=record, runner=runner, keep_alive=self.config.default_keep_alive,
                             executor=executor, lock=asyncio.Semaphore(slots))
            log.info("loaded %s (num_ctx=%s%s) in %.2fs", record.name.display, getattr(runner, "n_ctx", "?"),
                     ", embedding mode" if load.embedding else "", load_duration / 1e9)
            self._models[key] = lm
            self._arm_timer(lm)  # disarmed by the request that takes it
            return lm, load_duration
        finally:
            self._loading.pop(key, None)

    def _release(self, lm: LoadedModel, keep_alive: float | None) -> None:
        """The request is over and its worker stopped: free the model, arm keep_alive."""
        lm.lock.release()
        lm.refs -= 1
        lm.last_used = time.monotonic()
        lm.keep_alive = keep_alive
        self._notify()
        if lm.busy:
            return  # the next queued request takes over; it arms the timer when done
        if lm.retired or keep_alive == 0:
            self._schedule_unload(lm, "keep_alive 0" if keep_alive == 0 else "retired")
            return
        self._arm_timer(lm)

    def _arm_timer(self, lm: LoadedModel) -> None:
        self._cancel_timer(lm)
        if lm.keep_alive is None:
            return
        loop = asyncio.get_running_loop()
        lm.expires_at = time.monotonic() + lm.keep_alive
        lm.expires_wall = datetime.now(timezone.utc) + timedelta(seconds=lm.keep_alive)
        lm.timer = loop.call_later(lm.keep_alive, self._expired, lm)

    def _expired(self, lm: LoadedModel) -> None:
        lm.timer = None
        if not lm.busy and self._models.get(lm.key) is lm:
            self._schedule_unload(lm, "keep_alive expired")

    # -- the API -----------------------------------------------------------------------------

    @asynccontextmanager
    async def use(self, record, options: dict, keep_alive: float | None, *, embedding: bool = False, request=None):
        """Queue for, load and hold a model; see the module docstring."""
        self._sync_primitives()
        if self._pending >= self.config.max_queue:
            raise ApiError(503, QUEUE_FULL_MESSAGE)
        self._pending += 1
        lm: LoadedModel | None = None
        acquired = False
        try:
            lm, load_duration = self._take_loaded(record, options, embedding), 0
            if lm is None:
                lm, load_duration = await self._wait(self._get_or_load(record, options, embedding, request), request)
            try:
                if lm.lock.locked():
                    await self._wait(lm.lock.acquire(), request)
                else:
                    await lm.lock.acquire()  # free: returns at once, no polling task needed
                acquired = True
            finally:
                if not acquired:
                    lm.refs -= 1
                    self._notify()
                    if not lm.busy:
                        self._arm_timer(lm)
        except ClientDisconnected:
            log.info("client disconnected while queued for %s; request dropped", record.name.display)
            raise
        finally:
            self._pending -= 1
        self._cancel_timer(lm)
        handle = ModelHandle(lm, load_duration, asyncio.get_running_loop())
        try:
            yield handle
        finally:
            if handle._workers:
                handle._on_idle = lambda: self._release(lm, keep_alive)
            else:
                self._release(lm, keep_alive)

    async def unload(self, digest: str) -> bool:
        """Unload every instance of the model with ``digest`` now (busy ones when they finish).

        Returns whether anything was loaded.
        """
        self._sync_primitives()
        found = False
        for lm in list(self._models.values()):
            if lm.record.digest != digest:
                continue
            found = True
            lm.keep_alive = 0
            if lm.busy:
                lm.retired = True
            else:
                await self._unload(lm, "keep_alive 0")
        return found

    def touch(self, digest: str, keep_alive: float | None) -> None:
        """Reset the keep_alive of a loaded, idle model (a load-only request)."""
        for lm in self._models.values():
            if lm.record.digest == digest and not lm.busy:
                lm.keep_alive = keep_alive
                lm.last_used = time.monotonic()
                self._arm_timer(lm)

    async def close(self, timeout: float = 10.0) -> None:
        """Unload everything (server shutdown); gives up on a model after ``timeout``."""
        for lm in list(self._models.values()):
            self._cancel_timer(lm)
            self._models.pop(lm.key, None)
            try:
                await asyncio.wait_for(lm.close_runner(), timeout)
            except asyncio.TimeoutError:
                log.error("gave up unloading %s after %.0fs", lm.record.name.display, timeout)
            except Exception:  # noqa: BLE001 - shutting down anyway
                log.exception("error while unloading %s", lm.record.name.display)

"""Scheduler logic without a model: FIFO queue bound (503), one request at a time per model,
LRU eviction, keep_alive timers, reload on a load-option change, dropped queued requests,
and the model staying held until its worker thread has stopped.

The runner here is a stand-in object (not llama.cpp) on purpose: these tests exercise the
pure scheduling rules quickly and deterministically. The same behaviour with the real model
is covered by the live-server tests (test_server_queue.py, test_server_ollama_conformance.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import pytest

from inference.api.errors import ApiError
from inference.engine.scheduler import QUEUE_FULL_MESSAGE, ClientDisconnected, Scheduler, SchedulerConfig


@dataclass
class Name:
    display: str


@dataclass
class Record:
    digest: str
    name: Name = field(default_factory=lambda: Name("m"))
    model_path: str = "/nonexistent.gguf"


class StandInRunner:
    """Records load/close calls; ``generate`` yields tokens slowly until cancelled."""

    def __init__(self, record, load):
        self.record, self.load = record, load
        self.closed = False
        self.n_ctx = load.num_ctx
        self.size = 1000

    def close(self):
        self.closed = True


class Loader:
    def __init__(self):
        self.loaded: list[StandInRunner] = []

    def __call__(self, record, load):
        runner = StandInRunner(record, load)
        self.loaded.append(runner)
        return runner


def make(max_loaded=3, max_queue=512, keep_alive=300.0):
    loader = Loader()
    sched = Scheduler(SchedulerConfig(max_loaded, max_queue, keep_alive), loader=loader)
    return sched, loader


def rec(n: int) -> Record:
    return Record(digest=f"{n:064x}", name=Name(f"model{n}"))


def run(coro):
    return asyncio.run(coro)


def test_reuses_a_loaded_model_and_reports_load_time_once():
    async def main():
        sched, loader = make()
        async with sched.use(rec(1), {}, 300) as h1:
            first = h1.load_duration
        async with sched.use(rec(1), {}, 300) as h2:
            second = h2.load_duration
        return loader, first, second

    loader, first, second = run(main())
    assert len(loader.loaded) == 1
    assert first > 0 and second == 0


def test_num_ctx_change_reloads_and_retires_the_old_instance():
    async def main():
        sched, loader = make()
        async with sched.use(rec(1), {"num_ctx": 2048}, 300):
            pass
        async with sched.use(rec(1), {"num_ctx": 1024}, 300) as h:
            n_ctx = h.runner.n_ctx
        await asyncio.sleep(0.05)
        return sched, loader, n_ctx

    sched, loader, n_ctx = run(main())
    assert [r.load.num_ctx for r in loader.loaded] == [2048, 1024]
    assert loader.loaded[0].closed and not loader.loaded[1].closed
    assert n_ctx == 1024 and len(sched.loaded()) == 1


def test_lru_eviction_beyond_max_loaded_models():
    async def main():
        sched, loader = make(max_loaded=2)
        for n in (1, 2):
            async with sched.use(rec(n), {}, 300):
                pass
        async with sched.use(rec(1), {}, 300):  # 1 is now the most recently used
            pass
        async with sched.use(rec(3), {}, 300):
            pass
        return sched, loader

    sched, loader = run(main())
    closed = [r.record.digest for r in loader.loaded if r.closed]
    assert closed == [rec(2).digest]
    assert {m.record.digest for m in sched.loaded()} == {rec(1).digest, rec(3).digest}


def test_keep_alive_zero_unloads_after_the_request():
    async def main():
        sched, loader = make()
        async with sched.use(rec(1), {}, 0):
            assert len(sched.loaded()) == 1
        await asyncio.sleep(0.05)
        return sched, loader

    sched, loader = run(main())
    assert sched.loaded() == [] and loader.loaded[0].closed


def test_keep_alive_timer_expires_and_forever_never_does():
    async def main():
        sched, loader = make()
        async with sched.use(rec(1), {}, 0.1):
            pass
        async with sched.use(rec(2), {}, None):
            pass
        assert len(sched.loaded()) == 2
        await asyncio.sleep(0.3)
        return sched

    sched = run(main())
    assert [m.record.digest for m in sched.loaded()] == [rec(2).digest]
    assert sched.loaded()[0].expires_at_datetime().year > 2200


def test_one_request_at_a_time_in_fifo_order():
    async def main():
        sched, _ = make()
        order: list[str] = []
        active = 0
        peak = 0
        release = asyncio.Event()

        async def job(tag: str):
            nonlocal active, peak
            async with sched.use(rec(1), {}, 300):
                active += 1
                peak = max(peak, active)
                order.append(tag)
                if tag == "0":
                    await release.wait()  # the others queue behind the first
                await asyncio.sleep(0.02)
                active -= 1

        tasks = [asyncio.create_task(job("0"))]
        while order != ["0"]:
            await asyncio.sleep(0.001)
        for i in range(1, 5):
            tasks.append(asyncio.create_task(job(str(i))))
            while sched.pending < i:  # request i is queued before request i + 1 arrives
                await asyncio.sleep(0.001)
        release.set()
        await asyncio.gather(*tasks)
        return order, peak

    order, peak = run(main())
    assert order == ["0", "1", "2", "3", "4"]
    assert peak == 1


def test_queue_bound_answers_503_with_ollamas_message():
    async def main():
        sched, _ = make(max_queue=1)
        release = asyncio.Event()
        entered = asyncio.Event()

        async def holder():
            async with sched.use(rec(1), {}, 300):
                entered.set()
                await release.wait()

        async def waiter():
            async with sched.use(rec(1), {}, 300):
                pass

        t1 = asyncio.create_task(holder())
        await entered.wait()
        t2 = asyncio.create_task(waiter())  # queued: pending == 1
        await asyncio.sleep(0.02)
        assert sched.pending == 1
        with pytest.raises(ApiError) as info:
            async with sched.use(rec(1), {}, 300):
                pass
        release.set()
        await asyncio.gather(t1, t2)
        return info.value, sched.pending

    err, pending = run(main())
    assert err.status == 503 and err.message == QUEUE_FULL_MESSAGE
    assert "  maximum pending" in err.message
    assert pending == 0


class FakeRequest:
    def __init__(self):
        self.gone = False

    async def is_disconnected(self):
        return self.gone


def test_queued_request_whose_client_left_is_dropped():
    async def main():
        sched, _ = make()
        release = asyncio.Event()
        entered = asyncio.Event()
        served = []

        async def holder():
            async with sched.use(rec(1), {}, 300):
                entered.set()
                await release.wait()

        async def queued(req):
            async with sched.use(rec(1), {}, 300, request=req):
                served.append(req)

        t1 = asyncio.create_task(holder())
        await entered.wait()
        gone = FakeRequest()
        t2 = asyncio.create_task(queued(gone))
        await asyncio.sleep(0.05)
        gone.gone = True
        await asyncio.sleep(0.3)
        dropped = t2.done() and isinstance(t2.exception(), ClientDisconnected)
        pending_after_drop = sched.pending
        release.set()
        await t1
        # The model is free again for the next client.
        async with sched.use(rec(1), {}, 300):
            pass
        return dropped, pending_after_drop, served

    dropped, pending_after_drop, served = run(main())
    assert dropped and pending_after_drop == 0 and served == []


def test_model_is_held_until_the_worker_thread_stops():
    """Leaving the context while a decode thread runs must not let the next request in
    before that thread noticed the cancellation."""

    async def main():
        sched, _ = make()
        cancel = threading.Event()
        stopped_at: list[float] = []

        def slow_tokens():
            try:
                for i in range(1000):
                    if cancel.is_set():
                        break
                    time.sleep(0.01)
                    yield i
            finally:
                stopped_at.append(time.monotonic())

        async with sched.use(rec(1), {}, 300) as h:
            got = []
            async for item in h.stream(slow_tokens, cancel):
                got.append(item)
                if len(got) == 3:
                    break  # like a client disconnect: leaves the stream early
        async with sched.use(rec(1), {}, 300):
            entered_at = time.monotonic()
        return got, stopped_at, entered_at

    got, stopped_at, entered_at = run(main())
    assert got == [0, 1, 2]
    assert stopped_at and stopped_at[0] <= entered_at


def test_a_request_arriving_as_keep_alive_expires_never_gets_a_closed_model():
    async def main():
        sched, loader = make()
        async with sched.use(rec(1), {}, 300):
            pass
        sched._expired(sched.loaded()[0])  # the keep_alive timer fires ...
        async with sched.use(rec(1), {}, 300) as h:  # ... and a request comes in the same tick
            await asyncio.sleep(0.05)  # the unload task runs meanwhile
            closed_while_used = h.runner.closed
        return closed_while_used, loader

    closed_while_used, loader = run(main())
    assert not closed_while_used
    assert len(loader.loaded) == 2 and loader.loaded[0].closed and not loader.loaded[1].closed


def test_a_loaded_model_is_served_while_another_model_loads():
    async def main():
        release = threading.Event()

        class SlowLoader(Loader):
            def __call__(self, record, load):
                if record.digest == rec(2).digest:
                    release.wait(5)  # a big model taking its time to load
                return super().__call__(record, load)

        loader = SlowLoader()
        sched = Scheduler(SchedulerConfig(3, 512, 300), loader=loader)
        async with sched.use(rec(1), {}, 300):
            pass

        async def load_big():
            async with sched.use(rec(2), {}, 300):
                pass

        big = asyncio.create_task(load_big())
        await asyncio.sleep(0.05)
        started = time.monotonic()
        async with sched.use(rec(1), {}, 300):
            waited = time.monotonic() - started
        release.set()
        await big
        return waited

    assert run(main()) < 0.5

"""A busy machine on demand: ``with busy_cores(n):`` keeps ``n`` processes spinning (what a
compile, a browser or a video call does to a desktop) so a benchmark can print its loaded
figures beside its quiet ones in the same run. ``BENCH_LOAD`` (default 2 = every core of this
project's machines) sets how many."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time


def _spin(stop) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(20000):
            x += 1


def load_processes() -> int:
    raw = os.environ.get("BENCH_LOAD", "").strip()
    if raw.isdigit():
        return int(raw)
    from inference.engine.threads import allowed_cpus

    return len(allowed_cpus())


@contextlib.contextmanager
def busy_cores(n: int):
    """``n`` spinning processes for the duration of the block (0: none)."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = [ctx.Process(target=_spin, args=(stop,), daemon=True) for _ in range(max(0, n))]
    for p in procs:
        p.start()
    try:
        time.sleep(1.0 if procs else 0)  # running, and seen by the engine's CPU meter
        yield
    finally:
        stop.set()
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
        time.sleep(1.0 if procs else 0)

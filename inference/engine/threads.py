"""How many threads llama.cpp decodes with, and OpenMP's idle policy (pure but for /sys).

llama-cpp-python's default is half the logical CPUs (1 on a 2-core machine), which left
single-stream decode at 0.79-0.93x llama-server; llama-server uses the physical cores for
both generation and prompt evaluation, and so do we. ``num_thread`` (an Ollama option)
overrides both. ``HUSHTYPE_DECODE_THREADS`` sets the generation threads alone.
"""

from __future__ import annotations

import os
from pathlib import Path


def allowed_cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def physical_cores(sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """Physical cores among the CPUs this process may run on (SMT siblings counted once)."""
    cpus = allowed_cpus()
    cores = set()
    for cpu in cpus:
        siblings = sysfs / f"cpu{cpu}" / "topology" / "thread_siblings_list"
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def thread_counts(num_thread: int | None, env: dict | None = None) -> tuple[int, int]:
    """(generation threads, prompt-evaluation threads)."""
    if num_thread and num_thread > 0:
        return num_thread, num_thread
    env = os.environ if env is None else env
    cores = physical_cores()
    decode = cores
    raw = str(env.get("HUSHTYPE_DECODE_THREADS", "")).strip()
    if raw.isdigit() and int(raw) > 0:
        decode = int(raw)
    return decode, cores


def adaptive_threads(num_thread: int | None, env: dict | None = None) -> bool:
    """Whether the engine may lower its thread count while the machine is busy: not when the
    user set one (``num_thread``, ``HUSHTYPE_DECODE_THREADS``) or ``HUSHTYPE_ADAPTIVE_THREADS=0``."""
    env = os.environ if env is None else env
    if num_thread and num_thread > 0:
        return False
    if str(env.get("HUSHTYPE_DECODE_THREADS", "")).strip():
        return False
    return str(env.get("HUSHTYPE_ADAPTIVE_THREADS", "1")).strip().lower() not in ("0", "false", "no", "off")

"""Model weights on transparent huge pages (THP): decode reads every weight once per token.

Measured on this kind of machine (2 cores, Gemma 3 270M Q4_K_M): a decode step takes about
8 % less time with the weights read into memory that the kernel backs with 2 MB pages than with
the weights mmap'd from the file in 4 KB pages (fewer TLB misses; the hardware prefetcher
does not stop at every 4 KB boundary). ``llama-server`` mmaps by default and gets 4 KB pages.

llama.cpp allocates its buffers with ``malloc``; glibc asks for huge pages on those only when
the process starts with ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (read once, by the dynamic
loader), and the kernel grants them when THP is ``always`` or ``madvise``. So ``serve``
re-executes itself once with that tunable (:func:`reexec_with_hugepages`), and the engine then
reads weights into memory instead of mmapping them (:func:`weights_in_memory`) unless the
user chose ``use_mmap`` themselves. ``HUSHTYPE_HUGEPAGES=0`` turns all of it off.

Pure functions of their arguments, except the two that read ``/sys`` and exec.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

TUNABLE = "glibc.malloc.hugetlb=1"
THP_ENABLED = Path("/sys/kernel/mm/transparent_hugepage/enabled")
_REEXEC_MARK = "HUSHTYPE_HUGEPAGES_REEXEC"   # set in the re-executed process: never loop


def thp_mode(path: Path = THP_ENABLED) -> str | None:
    """The kernel's THP setting (``always``, ``madvise``, ``never``), None if it has none."""
    try:
        text = path.read_text()
    except OSError:
        return None
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return None


def malloc_uses_thp(env) -> bool:
    """Whether ``GLIBC_TUNABLES`` in ``env`` makes glibc's malloc ask for huge pages."""
    for item in str(env.get("GLIBC_TUNABLES", "")).split(":"):
        name, _, value = item.partition("=")
        if name.strip() == "glibc.malloc.hugetlb" and value.strip() in ("1", "2"):
            return True
    return False


def enabled_by_user(env) -> bool:
    return str(env.get("HUSHTYPE_HUGEPAGES", "1")).strip().lower() not in ("0", "false", "no", "off")


def wanted(env, thp: str | None, libc: str) -> bool:
    """Whether to ask for huge pages: the user did not turn it off, the kernel offers THP and
    the C library is glibc (the tunable is glibc's)."""
    return enabled_by_user(env) and thp in ("always", "madvise") and libc == "glibc"


def env_with_tunable(env) -> dict:
    """A copy of ``env`` whose ``GLIBC_TUNABLES`` also holds :data:`TUNABLE`."""
    out = dict(env)
    if not malloc_uses_thp(out):
        current = out.get("GLIBC_TUNABLES", "").strip(":")
        out["GLIBC_TUNABLES"] = f"{current}:{TUNABLE}" if current else TUNABLE
    return out


# Weights read into memory cannot be dropped and re-read under memory pressure as mmapped
# pages can: only a model that leaves room to spare is read in (a large one a user pulls is
# mmapped as before).
MAX_SHARE_OF_AVAILABLE = 0.5


def weights_in_memory(use_mmap: bool | None, env=None, thp: str | None = None, *,
                      size: int | None = None, available: int | None = None) -> bool:
    """Read the weights into (huge-page) memory rather than mmap them? ``use_mmap`` set by the
    user wins; by default only when this process's malloc gets huge pages (else mmap, which
    shares the file cache and is as fast on 4 KB pages) and the file (``size`` bytes) takes at
    most half of the ``available`` memory (either unknown: no limit)."""
    if use_mmap is not None:
        return not use_mmap
    env = os.environ if env is None else env
    thp = thp_mode() if thp is None else thp
    if size is not None and available is not None and size > available * MAX_SHARE_OF_AVAILABLE:
        return False
    return enabled_by_user(env) and malloc_uses_thp(env) and thp in ("always", "madvise")


def reexec_with_hugepages() -> None:
    """Replace this process with itself (same PID, arguments, open files) started with the
    tunable, when huge pages are wanted and the process did not start with it. Returns when
    nothing is to be done (or the exec fails: then it runs on 4 KB pages)."""
    env = os.environ
    if malloc_uses_thp(env) or env.get(_REEXEC_MARK) or not wanted(env, thp_mode(), platform.libc_ver()[0]):
        return
    argv = list(getattr(sys, "orig_argv", []) or [])
    if not argv or not sys.executable:
        return
    new_env = env_with_tunable(env)
    new_env[_REEXEC_MARK] = "1"
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, *argv[1:]], new_env)
    except OSError:
        return

"""Model weights on transparent huge pages (inference/engine/hugepages.py).

The pure rules on fixed inputs, then real servers: ``serve`` re-executes itself (same PID)
with glibc's huge-page tunable and reads the weights into huge-page memory instead of mmapping
the blob; ``HUSHTYPE_HUGEPAGES=0`` and an explicit ``use_mmap`` keep the mmap.
"""

from __future__ import annotations

import platform
from pathlib import Path

import httpx
import pytest

from inference.engine import hugepages
from inference.engine.runtime import LoadOptions
from tests.conftest import DEFAULT_MODEL, start_server, stop_server


# -- pure rules ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, mode", [
    ("always [madvise] never\n", "madvise"),
    ("[always] madvise never\n", "always"),
    ("always madvise [never]\n", "never"),
    ("", None),
])
def test_thp_mode_reads_the_bracketed_setting(tmp_path, text, mode):
    f = tmp_path / "enabled"
    f.write_text(text)
    assert hugepages.thp_mode(f) == mode


def test_thp_mode_is_none_without_the_sysfs_file(tmp_path):
    assert hugepages.thp_mode(tmp_path / "missing") is None


@pytest.mark.parametrize("value, uses", [
    ("glibc.malloc.hugetlb=1", True),
    ("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1", True),
    ("glibc.malloc.hugetlb=2", True),
    ("glibc.malloc.hugetlb=0", False),
    ("glibc.malloc.arena_max=2", False),
    ("", False),
])
def test_malloc_uses_thp_parses_glibc_tunables(value, uses):
    assert hugepages.malloc_uses_thp({"GLIBC_TUNABLES": value}) is uses


def test_env_with_tunable_keeps_the_users_tunables_and_is_idempotent():
    env = hugepages.env_with_tunable({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2", "X": "1"})
    assert env["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"
    assert env["X"] == "1"
    assert hugepages.env_with_tunable(env)["GLIBC_TUNABLES"] == env["GLIBC_TUNABLES"]
    assert hugepages.env_with_tunable({})["GLIBC_TUNABLES"] == "glibc.malloc.hugetlb=1"


@pytest.mark.parametrize("env, thp, libc, want", [
    ({}, "madvise", "glibc", True),
    ({}, "always", "glibc", True),
    ({}, "never", "glibc", False),
    ({}, None, "glibc", False),
    ({}, "madvise", "", False),                          # musl and others: no such tunable
    ({"HUSHTYPE_HUGEPAGES": "0"}, "madvise", "glibc", False),
    ({"HUSHTYPE_HUGEPAGES": "off"}, "always", "glibc", False),
])
def test_huge_pages_are_wanted_only_where_they_can_be_had(env, thp, libc, want):
    assert hugepages.wanted(env, thp, libc) is want


def test_an_explicit_use_mmap_always_wins():
    on = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
    assert hugepages.weights_in_memory(True, on, "madvise") is False
    assert hugepages.weights_in_memory(False, {}, "never") is True


@pytest.mark.parametrize("env, thp, in_memory", [
    ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}, "madvise", True),
    ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}, "never", False),   # no huge pages: mmap
    ({}, "madvise", False),                                            # malloc would not ask
    ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1", "HUSHTYPE_HUGEPAGES": "0"}, "always", False),
])
def test_by_default_weights_are_read_into_memory_only_on_huge_pages(env, thp, in_memory):
    assert hugepages.weights_in_memory(None, env, thp) is in_memory


def test_use_mmap_left_unset_reaches_the_engine_as_auto():
    assert LoadOptions.from_options({}).use_mmap is None
    assert LoadOptions.from_options({"use_mmap": None}).use_mmap is None
    assert LoadOptions.from_options({"use_mmap": False}).use_mmap is False
    assert LoadOptions.from_options({"use_mmap": True}).use_mmap is True


# -- real servers ----------------------------------------------------------------------------

needs_thp = pytest.mark.skipif(
    hugepages.thp_mode() not in ("always", "madvise") or platform.libc_ver()[0] != "glibc",
    reason="the kernel offers no transparent huge pages (THP 'never' or absent) or libc is not glibc",
)


def _environ(pid: int) -> dict:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw if item)


def _blob_mapped(pid: int, models_dir: Path) -> bool:
    blobs = str(models_dir / "blobs")
    return any(blobs in line for line in Path(f"/proc/{pid}/maps").read_text().splitlines())


def _anon_huge_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


def _generate(server, **options) -> None:
    r = httpx.post(server.base_url + "/api/generate", timeout=120, json={
        "model": DEFAULT_MODEL, "prompt": "The sky is", "stream": False,
        "options": dict(options, num_predict=2, temperature=0)})
    r.raise_for_status()


@pytest.fixture
def clean_env(monkeypatch):
    """The servers below start from an environment without any huge-page settings, whatever
    the test run inherited."""
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.delenv("HUSHTYPE_HUGEPAGES", raising=False)
    monkeypatch.delenv("HUSHTYPE_HUGEPAGES_REEXEC", raising=False)


@needs_thp
def test_serve_reexecutes_itself_and_loads_weights_on_huge_pages(tmp_path, clean_env):
    server = start_server(tmp_path)
    try:
        pid = server.process.pid          # the process we started: exec keeps the PID
        assert hugepages.malloc_uses_thp(_environ(pid))
        _generate(server)
        assert not _blob_mapped(pid, server.models_dir), "the weights should be read, not mmapped"
        assert _anon_huge_kb(pid) >= 100 * 1024, "the weights should sit on huge pages"
        # A user's use_mmap: true is honoured: the model reloads from an mmap of its blob.
        _generate(server, use_mmap=True)
        assert _blob_mapped(pid, server.models_dir)
    finally:
        stop_server(server)


def test_hushtype_hugepages_0_keeps_the_mmapped_weights(tmp_path, clean_env):
    server = start_server(tmp_path, {"HUSHTYPE_HUGEPAGES": "0"})
    try:
        pid = server.process.pid
        assert not hugepages.malloc_uses_thp(_environ(pid))
        _generate(server)
        assert _blob_mapped(pid, server.models_dir)
    finally:
        stop_server(server)


def test_a_model_taking_more_than_half_the_free_memory_stays_mmapped():
    on = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
    gib = 1 << 30
    assert hugepages.weights_in_memory(None, on, "madvise", size=gib, available=4 * gib) is True
    assert hugepages.weights_in_memory(None, on, "madvise", size=3 * gib, available=4 * gib) is False
    assert hugepages.weights_in_memory(None, on, "madvise", size=3 * gib, available=None) is True
    assert hugepages.weights_in_memory(False, on, "madvise", size=3 * gib, available=4 * gib) is True  # asked for

"""Fixtures for the fault tests (Ctrl+C, damaged files, full disks, API fuzzing): the loopback
OCI registry and small GGUF files of tests/inference_models, shared here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "inference_models"))

from oci_registry import LoopbackRegistry, make_gguf  # noqa: E402


@pytest.fixture(scope="session")
def small_gguf_bytes(tmp_path_factory) -> bytes:
    """A ~1 MiB real GGUF (llama metadata + one random tensor; not runnable)."""
    return make_gguf(tmp_path_factory.mktemp("gguf") / "small.gguf", payload_bytes=1 << 20, seed=3).read_bytes()


@pytest.fixture(scope="session")
def big_gguf_bytes(tmp_path_factory) -> bytes:
    """An ~8 MiB GGUF: a throttled pull of it lasts long enough to interrupt."""
    return make_gguf(tmp_path_factory.mktemp("gguf-big") / "big.gguf", payload_bytes=8 << 20, seed=4).read_bytes()


@pytest.fixture
def registry():
    reg = LoopbackRegistry().start()
    yield reg
    reg.stop()

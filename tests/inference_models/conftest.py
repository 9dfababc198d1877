"""Fixtures for the model-management tests: a loopback OCI registry and tiny real GGUF files."""

from __future__ import annotations

import pytest

from oci_registry import LoopbackRegistry, make_gguf


@pytest.fixture(scope="session")
def tiny_gguf_bytes(tmp_path_factory) -> bytes:
    """A ~3 MiB GGUF (llama metadata + one random tensor): big enough for several parts."""
    path = make_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", payload_bytes=3 << 20, seed=1)
    return path.read_bytes()


@pytest.fixture(scope="session")
def other_gguf_bytes(tmp_path_factory) -> bytes:
    path = make_gguf(tmp_path_factory.mktemp("gguf2") / "other.gguf", name="Other Model",
                     payload_bytes=1 << 20, seed=2)
    return path.read_bytes()


@pytest.fixture
def registry():
    reg = LoopbackRegistry().start()
    yield reg
    reg.stop()

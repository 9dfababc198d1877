"""Fixtures for the model-store tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from store_fixtures import write_tiny_gguf


@pytest.fixture
def tiny_gguf(tmp_path) -> tuple[Path, dict]:
    path = tmp_path / "tiny.gguf"
    info = write_tiny_gguf(path)
    return path, info


@pytest.fixture(scope="session")
def installed_embedded(tmp_path_factory):
    """A store with the embedded model installed once for the session: (store, record)."""
    from inference.models.embedded import ensure_embedded
    from inference.models.store import ModelStore

    store = ModelStore(tmp_path_factory.mktemp("embedded-store") / "models")
    return store, ensure_embedded(store)


@pytest.fixture(scope="session")
def embedded_gguf(installed_embedded) -> Path:
    """The real embedded GGUF, as a blob of a store."""
    return installed_embedded[1].model_path

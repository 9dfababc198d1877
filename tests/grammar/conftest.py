"""Fixtures for the grammar tests: llama.cpp's grammar engine on the embedded model's vocabulary."""

from __future__ import annotations


import pytest


from grammar_checker import GrammarChecker


@pytest.fixture(scope="session")
def checker(tmp_path_factory):
    from inference.models.embedded import ensure_embedded
    from inference.models.store import ModelStore

    store = ModelStore(tmp_path_factory.mktemp("grammar-store"))
    record = ensure_embedded(store)
    c = GrammarChecker(record.model_path)
    yield c
    c.close()


@pytest.fixture(scope="session")
def warm_server(live_server):
    """The shared live server with the embedded model loaded (an empty prompt only loads it)."""
    import httpx

    r = httpx.post(live_server.base_url + "/api/generate", json={"model": "gemma3:270m", "keep_alive": -1},
                   timeout=120)
    r.raise_for_status()
    return live_server

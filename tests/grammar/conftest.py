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

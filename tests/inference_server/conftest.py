"""Fixtures for the inference-server tests: clients for the shared live server."""

from __future__ import annotations

import httpx
import pytest

from server_helpers import MODEL


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    return live_server.base_url


@pytest.fixture(scope="session")
def warm(live_server) -> None:
    """Load the model once for the session (an empty prompt only loads it)."""
    r = httpx.post(live_server.base_url + "/api/generate", json={"model": MODEL, "keep_alive": -1}, timeout=120)
    r.raise_for_status()


@pytest.fixture
def client(live_server, warm):
    import ollama

    return ollama.Client(host=live_server.base_url, timeout=120)


@pytest.fixture
def http(live_server, warm):
    with httpx.Client(base_url=live_server.base_url, timeout=60) as c:
        yield c

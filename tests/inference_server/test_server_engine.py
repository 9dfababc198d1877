"""``run_generate``/``run_chat`` as the OpenAI layer uses them, in-process on the real model: a
consumer that closes the iterator early stops decoding at once and frees the model."""

from __future__ import annotations

import asyncio
import time

import pytest

from inference.app import create_app
from inference.scheduler import SchedulerConfig
from inference.store import ModelStore
from server_helpers import MODEL

pytestmark = pytest.mark.live


class ConnectedRequest:
    """What the engine needs from a Starlette request: the app, and a client that stays."""

    def __init__(self, app):
        self.app = app

    async def is_disconnected(self) -> bool:
        return False


@pytest.fixture
def app(live_server):
    # The live server's store already holds the embedded model; only read from it here.
    return create_app(ModelStore(live_server.models_dir), SchedulerConfig(max_loaded_models=1, max_queue=8,
                                                                          default_keep_alive=60))


@pytest.mark.parametrize("engine, body", [
    ("run_generate", {"model": MODEL, "prompt": "Write a very long story.", "options": {"num_predict": 2000}}),
    ("run_chat", {"model": MODEL, "messages": [{"role": "user", "content": "Tell me a very long story."}],
                  "options": {"num_predict": 2000}}),
])
def test_closing_the_iterator_early_stops_decoding(app, engine, body):
    from inference import routes_core

    async def main():
        request = ConnectedRequest(app)
        chunks = getattr(routes_core, engine)(request, body)
        got = [await chunks.__anext__() for _ in range(3)]
        await chunks.aclose()  # the consumer is done (e.g. an OpenAI client went away)
        started = time.monotonic()
        async with app.state.scheduler.use(app.state.store.get(MODEL), {}, 60):
            waited = time.monotonic() - started
        await app.state.scheduler.close()
        return got, waited

    got, waited = asyncio.run(main())
    assert all(not c["done"] for c in got)
    assert waited < 2.0, waited  # 2000 tokens would take over a minute

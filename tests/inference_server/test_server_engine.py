"""``run_generate``/``run_chat`` as the OpenAI layer uses them, in-process on the real model: a
consumer that closes the iterator early stops decoding at once and frees the model."""

from __future__ import annotations

import asyncio
import time

import pytest

from inference.api.app import create_app
from inference.engine.scheduler import SchedulerConfig
from inference.models.store import ModelStore
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


# Greedy with a fixed seed, and no stop string: the 270M base model otherwise may end its
# chat turn within a few tokens (checked: these run to num_predict), and the test is about
# a consumer leaving while decoding still has far to go.
LONG = {"num_predict": 2000, "temperature": 0, "seed": 7, "stop": ["<never-produced>"]}


@pytest.mark.parametrize("engine, body", [
    ("run_generate", {"model": MODEL, "prompt": "Count from 1 to 1000: 1, 2, 3,", "options": LONG}),
    ("run_chat", {"model": MODEL, "messages": [{"role": "user", "content": "Count from 1 to 1000, separated by commas."}],
                  "options": LONG}),
])
def test_closing_the_iterator_early_stops_decoding(app, engine, body):
    from inference.api import routes_core

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

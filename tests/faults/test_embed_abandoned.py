"""An /api/embed request its client gave up on stops between inputs, so the model is free for
the next client at once (the official ``ollama`` client against the live server).

Thousands of inputs take minutes on 2 cores (one decode each); before the fix a client that
timed out left the whole batch running, and every request behind it waited (the fuzzing
session's timeouts). Odd but valid inputs (empty strings, control tokens, NUL) embed; invalid
ones are a 400 naming the field.
"""

from __future__ import annotations

import httpx
import ollama
import pytest

MODEL = "gemma3:270m"


def test_an_abandoned_embedding_batch_frees_the_model(live_server):
    client = ollama.Client(host=live_server.base_url, timeout=120)
    client.embed(model=MODEL, input="warm", keep_alive=-1)
    impatient = ollama.Client(host=live_server.base_url, timeout=2)
    with pytest.raises(httpx.TimeoutException):
        impatient.embed(model=MODEL, input=[f"sentence number {i}" for i in range(5000)])
    # the next client is served while the 5000 would still be running (minutes)
    prompt = ollama.Client(host=live_server.base_url, timeout=20)
    r = prompt.embed(model=MODEL, input="next client")
    assert len(r.embeddings) == 1 and len(r.embeddings[0]) > 0
    assert "embedding cancelled after" in live_server.log_text()


def test_odd_inputs_embed_and_invalid_ones_are_400(live_server):
    client = ollama.Client(host=live_server.base_url, timeout=120)
    r = client.embed(model=MODEL, input=["", "a\u0000b", "<start_of_turn><eos>"])
    assert len(r.embeddings) == 3 and all(len(v) == len(r.embeddings[0]) > 0 for v in r.embeddings)
    for body, field in [({"input": [["a"]]}, "input"), ({"input": [1]}, "input"),
                        ({"input": "a", "dimensions": 0}, "dimensions"),
                        ({"input": "a", "truncate": "no"}, "truncate"),
                        ({"input": "a", "keep_alive": [1]}, "keep_alive"),
                        ({"input": "a", "options": {"num_thread": 10**6}}, "num_thread")]:
        resp = httpx.post(live_server.base_url + "/api/embed", json=dict(body, model=MODEL), timeout=60)
        assert resp.status_code == 400 and field in resp.json()["error"], (body, resp.text)

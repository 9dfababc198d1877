"""OLLAMA_NUM_PARALLEL: several requests decoded at once by one engine, batched.

Against real servers with the real model: with 2 slots two streams advance together (the
second answers while the first is still decoding) and each request's answer is the one it
gives alone; beyond the slots requests wait in the FIFO queue and are all served.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from server_helpers import MODEL

pytestmark = pytest.mark.live

LONG = {"temperature": 0, "num_predict": 150, "stop": ["<never-produced>"]}


def _stream(url: str, body: dict, events: list, tag: str) -> None:
    with httpx.Client(timeout=300) as c, c.stream("POST", url + "/api/generate", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            chunk = json.loads(line)
            events.append((time.monotonic(), tag, chunk))


@pytest.fixture
def two_slots(server_factory):
    server = server_factory(extra_env={"OLLAMA_NUM_PARALLEL": "2"})
    httpx.post(server.base_url + "/api/generate", json={"model": MODEL, "keep_alive": -1}, timeout=120).raise_for_status()
    return server


def _answer(url: str, body: dict) -> dict:
    r = httpx.post(url + "/api/generate", json=dict(body, stream=False), timeout=300)
    r.raise_for_status()
    return r.json()


def test_two_streams_advance_together(two_slots):
    events: list = []
    bodies = {
        "a": {"model": MODEL, "prompt": "Count from 1 to 100: 1, 2, 3,", "raw": True, "options": LONG},
        "b": {"model": MODEL, "prompt": "The alphabet: A, B, C,", "raw": True, "options": LONG},
    }
    threads = [threading.Thread(target=_stream, args=(two_slots.base_url, bodies[t], events, t)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    texts = {t: [e for e in events if e[1] == t] for t in "ab"}
    assert all(texts[t] and texts[t][-1][2]["done"] for t in "ab")
    # Interleaved: each stream produced text while the other was still producing text.
    first = {t: texts[t][0][0] for t in "ab"}
    last = {t: texts[t][-2][0] for t in "ab"}
    assert first["b"] < last["a"] and first["a"] < last["b"]
    switches = sum(1 for x, y in zip(events, events[1:]) if x[1] != y[1])
    assert switches > 10, switches


@pytest.mark.parametrize("options", [
    {"temperature": 0, "num_predict": 40},
    {"temperature": 0.9, "seed": 1234, "num_predict": 40},
], ids=["greedy", "seeded"])
def test_an_answer_is_the_same_alone_or_batched(two_slots, options):
    url = two_slots.base_url
    body = {"model": MODEL, "prompt": "Write a short poem about the sea.\n", "raw": True, "options": options}
    alone = _answer(url, body)["response"]
    other = {"model": MODEL, "prompt": "List some fruits: apple,", "raw": True,
             "options": {"temperature": 0.7, "num_predict": 60, "stop": ["<never-produced>"]}}
    results: dict = {}

    def run(tag, b):
        results[tag] = _answer(url, b)["response"]

    threads = [threading.Thread(target=run, args=("other", other)), threading.Thread(target=run, args=("ours", body))]
    threads[0].start()
    time.sleep(0.3)  # ours joins while the other is decoding: its prompt shares a batch
    threads[1].start()
    for t in threads:
        t.join(300)
    assert results["ours"] == alone


def test_requests_beyond_the_slots_queue_and_are_all_served(two_slots):
    url = two_slots.base_url
    results: dict = {}

    def run(i):
        results[i] = _answer(url, {"model": MODEL, "prompt": f"Say the number {i}.", "raw": True,
                                   "options": {"temperature": 0, "num_predict": 8}})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sorted(results) == list(range(5))
    assert all(r["done"] and r["eval_count"] > 0 for r in results.values())
    ps = httpx.get(url + "/api/ps", timeout=30).json()["models"]
    assert ps and ps[0]["context_length"] == 4096  # num_ctx per request, not divided by the slots

"""/api/embed, /api/embeddings and /v1/embeddings (the openai client's default base64 encoding).

These run on a server of their own (one per module): the embedding-mode model instance is
a second copy of the model in memory, and an embedding failure must not take the shared live
server down with it.
"""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import openai
import pytest

MODEL = "gemma3:270m"

pytestmark = pytest.mark.live


def shared_conftest(config):
    """tests/conftest.py as loaded by pytest (its start_server/stop_server helpers)."""
    want = Path(__file__).resolve().parents[1] / "conftest.py"
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) and Path(plugin.__file__).resolve() == want:
            return plugin
    raise RuntimeError("tests/conftest.py is not loaded")


@pytest.fixture(scope="module")
def embed_server(request, tmp_path_factory):
    shared = shared_conftest(request.config)
    server = shared.start_server(tmp_path_factory.mktemp("embed-home"))
    yield server
    shared.stop_server(server)


@pytest.fixture(scope="module")
def http(embed_server):
    with httpx.Client(base_url=embed_server.base_url, timeout=120) as c:
        yield c


def norm(v):
    return math.sqrt(sum(x * x for x in v))


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


def test_embed_is_normalised_and_batched(http):
    r = http.post("/api/embed", json={"model": MODEL, "input": ["The cat sat on the mat.", "A cat was sitting on a mat.",
                                                                "Quarterly revenue rose by 4 percent."]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == MODEL and len(body["embeddings"]) == 3
    assert {len(v) for v in body["embeddings"]} == {640}
    assert all(abs(norm(v) - 1) < 1e-4 for v in body["embeddings"])
    assert body["prompt_eval_count"] > 10 and body["total_duration"] > 0
    cat1, cat2, money = body["embeddings"]
    assert cosine(cat1, cat2) > cosine(cat1, money), "similar sentences are closer"

    single = http.post("/api/embed", json={"model": MODEL, "input": "The cat sat on the mat."}).json()
    assert len(single["embeddings"]) == 1
    assert max(abs(a - b) for a, b in zip(single["embeddings"][0], cat1)) < 1e-4, "same text, same vector"


def test_dimensions_truncate_and_renormalise(http):
    full = http.post("/api/embed", json={"model": MODEL, "input": "hello"}).json()["embeddings"][0]
    short = http.post("/api/embed", json={"model": MODEL, "input": "hello", "dimensions": 64}).json()["embeddings"][0]
    assert len(short) == 64 and abs(norm(short) - 1) < 1e-4
    head = [x / norm(full[:64]) for x in full[:64]]
    assert max(abs(a - b) for a, b in zip(short, head)) < 1e-4
    empty = http.post("/api/embed", json={"model": MODEL, "input": []}).json()
    assert empty["embeddings"] == [] and empty["prompt_eval_count"] == 0
    r = http.post("/api/embed", json={"model": MODEL, "input": "hello", "dimensions": 5000})
    assert r.status_code == 400 and "embedding size" in r.json()["error"]


def test_over_long_input_is_truncated_or_refused(http):
    text = "lorem ipsum " * 400
    ok = http.post("/api/embed", json={"model": MODEL, "input": text, "options": {"num_ctx": 256}})
    assert ok.status_code == 200 and ok.json()["prompt_eval_count"] <= 256
    r = http.post("/api/embed", json={"model": MODEL, "input": text, "truncate": False, "options": {"num_ctx": 256}})
    assert r.status_code == 400 and "context length" in r.json()["error"]


def test_legacy_embeddings_is_not_normalised(http):
    legacy = http.post("/api/embeddings", json={"model": MODEL, "prompt": "hello"}).json()["embedding"]
    normed = http.post("/api/embed", json={"model": MODEL, "input": "hello"}).json()["embeddings"][0]
    assert len(legacy) == 640 and abs(norm(legacy) - 1) > 1e-3
    assert max(abs(a / norm(legacy) - b) for a, b in zip(legacy, normed)) < 1e-4
    assert http.post("/api/embeddings", json={"model": MODEL, "prompt": ""}).json() == {"embedding": []}


@pytest.mark.parametrize("body, status, fragment", [
    ({"model": MODEL, "input": 5}, 400, "input"),
    ({"model": MODEL, "input": "x", "truncate": "no"}, 400, "truncate"),
    ({"model": MODEL, "input": "x", "dimensions": 0}, 400, "dimensions"),
    ({"model": "missing:1b", "input": "x"}, 404, "not found"),
    ({"input": "x"}, 400, "model is required"),
])
def test_embed_errors(http, body, status, fragment):
    r = http.post("/api/embed", json=body)
    assert r.status_code == status and fragment in r.json()["error"], r.text


def test_openai_embeddings_default_base64_and_float(embed_server, http):
    client = openai.OpenAI(base_url=embed_server.base_url + "/v1", api_key="unused", timeout=120, max_retries=0)
    try:
        r = client.embeddings.create(model=MODEL, input=["hello", "world"])  # the client asks for base64
        assert [d.index for d in r.data] == [0, 1] and len(r.data[0].embedding) == 640
        ref = http.post("/api/embed", json={"model": MODEL, "input": ["hello", "world"]}).json()["embeddings"]
        assert max(abs(a - b) for a, b in zip(r.data[1].embedding, ref[1])) < 1e-5
        assert r.usage.prompt_tokens > 0 and r.model == MODEL
        f = client.embeddings.create(model=MODEL, input="hello", encoding_format="float", dimensions=32)
        assert len(f.data[0].embedding) == 32
        with pytest.raises(openai.BadRequestError):
            client.embeddings.create(model=MODEL, input=[])
    finally:
        client.close()
    raw = httpx.post(embed_server.base_url + "/v1/embeddings", json={"model": MODEL, "input": "hi",
                                                                     "encoding_format": "base64"}).json()
    assert isinstance(raw["data"][0]["embedding"], str)

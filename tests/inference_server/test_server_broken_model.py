"""A model whose weights llama.cpp cannot load, or whose blob is gone, is a clear JSON error
and the server keeps serving; no model needed (the broken weights are a few bytes)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from inference.api.app import create_app
from inference.models.store import MEDIA_MODEL, ModelStore


def broken_store(tmp_path) -> ModelStore:
    store = ModelStore(tmp_path / "models")
    weights = store.add_blob_bytes(b"GGUF but not really a model file", MEDIA_MODEL)
    store.write_manifest("broken:1", store.build_manifest([weights], {"model_format": "gguf"}))
    return store


def test_unloadable_weights_are_a_json_error_and_the_server_goes_on(tmp_path):
    store = broken_store(tmp_path)
    with TestClient(create_app(store), base_url="http://127.0.0.1:11434") as client:
        r = client.post("/api/generate", json={"model": "broken:1", "prompt": "hi", "stream": False})
        assert r.status_code == 500
        assert "unable to load model 'broken:1'" in r.json()["error"]
        r = client.post("/api/chat", json={"model": "broken:1", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 500 and "unable to load" in r.json()["error"]
        assert client.get("/api/ps").json() == {"models": []}
        assert client.get("/api/tags").status_code == 200


def test_missing_weights_blob_is_reported_as_damage(tmp_path):
    store = broken_store(tmp_path)
    store.get("broken:1").model_path.unlink()
    with TestClient(create_app(store), base_url="http://127.0.0.1:11434") as client:
        r = client.post("/api/generate", json={"model": "broken:1", "prompt": "hi"})
        assert r.status_code == 500 and "missing" in r.json()["error"]
        # show still answers (model_info empty, not an error)
        info = client.post("/api/show", json={"model": "broken:1"}).json()
        assert info["model_info"] == {}

"""A model blob that is truncated, or whose bytes no longer match its digest, is a clear error
when the model is loaded (the server goes on serving), `hushtype doctor` names it, and `pull`,
`import` and a blob upload (`ollama create`) repair it instead of trusting the damaged file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inference.api.app import create_app
from inference.models.store import ModelStore

REPO = Path(__file__).resolve().parents[2]


def _store_with(tmp_path: Path, gguf: bytes, name: str = "victim:1") -> tuple[ModelStore, Path]:
    source = tmp_path / "source.gguf"
    source.write_bytes(gguf)
    store = ModelStore(tmp_path / "models")
    store.create_model(name, gguf=source)
    blob = store.get(name).model_path
    # break any hard link to the source first, so damaging the blob leaves the source whole
    data = blob.read_bytes()
    blob.unlink()
    blob.write_bytes(data)
    return store, blob


def _truncate(blob: Path) -> None:
    data = blob.read_bytes()
    blob.write_bytes(data[: len(data) // 2])


def _flip_a_byte(blob: Path) -> None:
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, words", [(_truncate, "truncated"),
                                           (_flip_a_byte, "no longer matches its digest")])
def test_loading_a_damaged_blob_is_a_clear_error_and_the_server_goes_on(tmp_path, small_gguf_bytes, damage, words):
    store, blob = _store_with(tmp_path, small_gguf_bytes)
    damage(blob)
    with TestClient(create_app(store), base_url="http://127.0.0.1:11434") as client:
        for path, body in (("/api/generate", {"model": "victim:1", "prompt": "hi", "stream": False}),
                           ("/api/chat", {"model": "victim:1", "messages": [{"role": "user", "content": "hi"}]}),
                           ("/api/embed", {"model": "victim:1", "input": "hi"}),
                           ("/v1/chat/completions", {"model": "victim:1",
                                                     "messages": [{"role": "user", "content": "hi"}]})):
            r = client.post(path, json=body)
            error = r.json()["error"]
            error = error if isinstance(error, str) else error["message"]
            assert r.status_code == 500 and "model 'victim:1' is damaged" in error, (path, r.text)
            assert words in error and "hushtype pull victim:1" in error and blob.name in error
        assert client.get("/api/tags").status_code == 200
        assert client.get("/api/ps").json() == {"models": []}


def test_doctor_names_the_damaged_model(tmp_path, small_gguf_bytes, hushtype_home):
    store, blob = _store_with(tmp_path, small_gguf_bytes)
    _truncate(blob)
    env = dict(os.environ, OLLAMA_MODELS=str(store.root), OLLAMA_HOST="127.0.0.1:9")
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert "model files: victim:1: its file is truncated" in r.stdout, r.stdout
    assert "fix: hushtype pull victim:1" in r.stdout
    blob.write_bytes(small_gguf_bytes)
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert "[  ok] model files: every model's weights" in r.stdout, r.stdout


def _cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, HUSHTYPE_HOME=str(home), OLLAMA_HOST="127.0.0.1:9", COLUMNS="100")
    env.pop("OLLAMA_MODELS", None)
    return subprocess.run([sys.executable, "-m", "inference", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_pull_repairs_a_damaged_blob(tmp_path, registry, small_gguf_bytes):
    manifest = registry.add_model("library/small", "latest", small_gguf_bytes)
    digest = next(layer["digest"] for layer in manifest["layers"] if layer["mediaType"].endswith(".model"))
    home = tmp_path / "home"
    name = f"{registry.host}/library/small"
    first = _cli(home, "pull", name, "--insecure")
    assert first.returncode == 0, first.stderr
    blob = home / "models" / "blobs" / f"sha256-{digest[7:]}"
    for damage in (_truncate, _flip_a_byte):
        damage(blob)
        registry.reset_counters()
        again = _cli(home, "pull", name, "--insecure")
        assert again.returncode == 0, again.stderr
        assert blob.read_bytes() == small_gguf_bytes, f"pull left the blob damaged ({damage.__name__})"
        assert registry.served.get(digest, 0) == len(small_gguf_bytes)
    registry.reset_counters()
    assert _cli(home, "pull", name, "--insecure").returncode == 0
    assert registry.served.get(digest, 0) == 0, "a whole blob is not downloaded again"


def test_import_repairs_a_damaged_blob(tmp_path, small_gguf_bytes):
    home = tmp_path / "home"
    source = tmp_path / "model.gguf"
    source.write_bytes(small_gguf_bytes)
    assert _cli(home, "import", str(source), "--name", "mine:1").returncode == 0
    digest = hashlib.sha256(small_gguf_bytes).hexdigest()
    blob = home / "models" / "blobs" / f"sha256-{digest}"
    blob.unlink()  # it is a hard link to the source: damage a copy of its own
    blob.write_bytes(small_gguf_bytes[:1000])
    r = _cli(home, "import", str(source), "--name", "mine:1", "--force")
    assert r.returncode == 0 and "damaged copy was replaced" in r.stdout, r.stdout + r.stderr
    assert blob.read_bytes() == small_gguf_bytes and source.read_bytes() == small_gguf_bytes


def test_a_blob_upload_replaces_a_damaged_blob(tmp_path, small_gguf_bytes):
    store, blob = _store_with(tmp_path, small_gguf_bytes)
    digest = "sha256:" + hashlib.sha256(small_gguf_bytes).hexdigest()
    with TestClient(create_app(store), base_url="http://127.0.0.1:11434") as client:
        assert client.head(f"/api/blobs/{digest}").status_code == 200
        _flip_a_byte(blob)
        assert client.head(f"/api/blobs/{digest}").status_code == 404, "a damaged blob must be uploaded again"
        assert client.post(f"/api/blobs/{digest}", content=small_gguf_bytes).status_code == 201
        assert blob.read_bytes() == small_gguf_bytes
        assert client.head(f"/api/blobs/{digest}").status_code == 200

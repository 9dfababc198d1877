"""Blobs, create, copy/delete and import against the live server and the real CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from oci_registry import make_gguf

MODEL = "gemma3:270m"
REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def http(live_server):
    with httpx.Client(base_url=live_server.base_url, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory) -> Path:
    return make_gguf(tmp_path_factory.mktemp("create") / "tiny-create.gguf", name="Tiny Create",
                     payload_bytes=256 * 1024, seed=7)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def cli(server, *args, home: Path | None = None, timeout=180, cwd=None):
    env = dict(os.environ, OLLAMA_HOST=server.host, HUSHTYPE_HOME=str(home or server.home))
    env.pop("OLLAMA_MODELS", None)
    return subprocess.run([sys.executable, "-m", "inference", *args], cwd=cwd or REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def tags(http) -> dict:
    return {m["name"]: m for m in http.get("/api/tags").json()["models"]}


def test_blob_upload_checks_the_digest(http, live_server):
    data = os.urandom(100_000)
    digest = sha(data)
    assert http.head(f"/api/blobs/{digest}").status_code == 404
    r = http.post(f"/api/blobs/{sha(b'something else')}", content=data)
    assert r.status_code == 400 and r.json()["error"].startswith("digest mismatch")
    assert http.head(f"/api/blobs/{digest}").status_code == 404, "nothing stored on mismatch"
    assert http.post(f"/api/blobs/{digest}", content=data).status_code == 201
    assert http.head(f"/api/blobs/{digest}").status_code == 200
    assert http.post(f"/api/blobs/{digest}", content=data).status_code == 200
    assert (live_server.models_dir / "blobs" / f"sha256-{digest[7:]}").read_bytes() == data
    for bad in ("sha256:xyz", "md5:" + "0" * 32, "sha256:" + "0" * 63):
        assert http.head(f"/api/blobs/{bad}").status_code == 400
        r = http.post(f"/api/blobs/{bad}", content=b"x")
        assert r.status_code == 400 and "invalid digest" in r.json()["error"]
    leftovers = [p for p in (live_server.models_dir / "blobs").iterdir() if "upload" in p.name]
    assert not leftovers
    (live_server.models_dir / "blobs" / f"sha256-{digest[7:]}").unlink()  # no API removes a loose blob


def test_create_from_uploaded_gguf_then_copy_and_delete(http, tiny_gguf, live_server):
    data = tiny_gguf.read_bytes()
    digest = sha(data)
    assert http.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    lines = http.post("/api/create", json={
        "model": "models-test/tiny:v1", "files": {"tiny.gguf": digest}, "template": "{{ .Prompt }}",
        "system": "terse", "parameters": {"temperature": 0.5, "stop": ["A:", "B:"]},
        "license": "MIT", "messages": [{"role": "user", "content": "hi"}]}).text.splitlines()
    assert lines[-1] == '{"status":"success"}'
    assert any(f"layer {digest}" in line for line in lines)

    show = http.post("/api/show", json={"model": "models-test/tiny:v1"}).json()
    assert show["system"] == "terse" and show["template"] == "{{ .Prompt }}"
    assert show["details"]["family"] == "llama" and show["license"].strip() == "MIT"
    assert "temperature" in show["parameters"] and '"A:"' in show["parameters"]
    assert "models-test/tiny:v1" in tags(http)

    # a second model from the first shares its layers (deduplicated by digest)
    r = http.post("/api/create", json={"model": "models-test/tiny:v2", "from": "models-test/tiny:v1",
                                       "system": "verbose", "stream": False})
    assert r.status_code == 200 and r.json() == {"status": "success"}
    assert http.post("/api/show", json={"model": "models-test/tiny:v2"}).json()["system"] == "verbose"
    blob = live_server.models_dir / "blobs" / f"sha256-{digest[7:]}"
    assert http.post("/api/copy", json={"source": "models-test/tiny:v2", "destination": "models-test/tiny:v3"}).status_code == 200
    for name in ("models-test/tiny:v1", "models-test/tiny:v2"):
        assert http.request("DELETE", "/api/delete", json={"model": name}).status_code == 200
        assert blob.exists(), "the weights are still used by another model"
    assert http.request("DELETE", "/api/delete", json={"model": "models-test/tiny:v3"}).status_code == 200
    assert not blob.exists(), "the last user of the weights is gone, and so is the blob"
    assert not any(n.startswith("models-test/") for n in tags(http))


def test_create_with_a_modelfile_field(http):
    r = http.post("/api/create", json={"model": "models-test/mf", "stream": False, "modelfile":
                                       f'FROM {MODEL}\nSYSTEM """Answer in French."""\nPARAMETER top_k 7\n'})
    assert r.status_code == 200, r.text
    show = http.post("/api/show", json={"model": "models-test/mf"}).json()
    assert show["system"] == "Answer in French." and "top_k" in show["parameters"]
    r = http.post("/api/generate", json={"model": "models-test/mf", "prompt": "Bonjour", "stream": False,
                                         "options": {"num_predict": 3}})
    assert r.status_code == 200 and r.json()["done"] is True
    http.request("DELETE", "/api/delete", json={"model": "models-test/mf"})


@pytest.mark.parametrize("body, status, fragment", [
    ({"model": "x"}, 400, "neither 'from' nor 'files'"),
    ({"model": "x", "from": "no-such-base:1"}, 404, "not found"),
    ({"model": "x", "from": MODEL, "parameters": {"bogus": 1}}, 400, "unknown parameter 'bogus'"),
    ({"model": "x", "from": MODEL, "parameters": {"temperature": "hot"}}, 400, "temperature"),
    ({"model": "x", "from": MODEL, "quantize": "q4_K_M"}, 400, "quantization is not supported"),
    ({"model": "x", "files": {"m.gguf": "sha256:" + "1" * 64}}, 400, "upload it first"),
    ({"model": "x", "from": "relative/model.gguf"}, 400, "relative path"),
    ({"model": "x", "modelfile": "FROM a\nPARAMETER temperature hot\n"}, 400, "line 2"),
    ({"model": "bad name!", "from": MODEL}, 400, "invalid model name"),
    ({"model": "x", "from": MODEL, "messages": [{"role": "robot", "content": "x"}]}, 400, "invalid message 0"),
])
def test_create_errors(http, body, status, fragment):
    r = http.post("/api/create", json=body)
    assert r.status_code == status and fragment in r.json()["error"], r.text


def test_create_refuses_a_blob_that_is_not_gguf(http, live_server):
    data = b"not a model at all" * 100
    http.post(f"/api/blobs/{sha(data)}", content=data)
    r = http.post("/api/create", json={"model": "x", "files": {"model.safetensors": sha(data)}})
    assert r.status_code == 400 and "not a GGUF file" in r.json()["error"]
    (live_server.models_dir / "blobs" / f"sha256-{sha(data)[7:]}").unlink()


def test_cli_create_uploads_the_from_file(live_server, http, tiny_gguf, tmp_path):
    (tmp_path / "Modelfile").write_text(f"# my model\nFROM ./{tiny_gguf.name}\nSYSTEM be brief\n"
                                        "PARAMETER stop END\n")
    (tmp_path / tiny_gguf.name).write_bytes(tiny_gguf.read_bytes())
    r = cli(live_server, "create", "models-test/cli-made", "-f", str(tmp_path / "Modelfile"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "success"
    show = http.post("/api/show", json={"model": "models-test/cli-made"}).json()
    assert show["system"] == "be brief" and show["details"]["family"] == "llama"

    (tmp_path / "Bad").write_text("FROM ./x.gguf\nMESSAGE robot hi\n")
    r = cli(live_server, "create", "models-test/bad", "-f", str(tmp_path / "Bad"))
    assert r.returncode == 1 and "line 2" in r.stderr and "role" in r.stderr
    http.request("DELETE", "/api/delete", json={"model": "models-test/cli-made"})


def test_import_the_embedded_gguf_under_a_new_name_generates(live_server, http):
    from inference.models.store import ModelStore

    gemma = ModelStore(live_server.models_dir).get(MODEL).model_path
    r = cli(live_server, "import", str(gemma), "--name", "imported-gemma:v1")
    assert r.returncode == 0, r.stderr
    assert "imported imported-gemma:v1" in r.stdout and "already in the store" in r.stdout
    assert "imported-gemma:v1" in tags(http), "the running server sees the model at once"
    out = http.post("/api/generate", json={"model": "imported-gemma:v1", "prompt": "The sky is",
                                           "stream": False, "options": {"num_predict": 5, "temperature": 0}})
    assert out.status_code == 200 and out.json()["response"].strip()
    r = cli(live_server, "import", str(gemma), "--name", "imported-gemma:v1")
    assert r.returncode == 1 and "already exists" in r.stderr
    assert http.request("DELETE", "/api/delete", json={"model": "imported-gemma:v1"}).status_code == 200
    assert gemma.exists() and MODEL in tags(http), "the shared weights stay for gemma3:270m"


def test_import_names_the_model_from_metadata_and_copies_across_filesystems(live_server, http, tmp_path):
    # /dev/shm is a tmpfs, another filesystem than the store: no hard link possible, so a copy
    shm = Path(tempfile.mkdtemp(dir="/dev/shm")) if os.access("/dev/shm", os.W_OK) else tmp_path
    try:
        src = make_gguf(shm / "whatever.gguf", name="Tiny Test Model", payload_bytes=64 * 1024)
        r = cli(live_server, "import", str(src))
        assert r.returncode == 0, r.stderr
        assert "imported tiny-test-model:latest" in r.stdout
        if shm != tmp_path:
            assert "copied into the store" in r.stdout
        assert "tiny-test-model:latest" in tags(http)
        http.request("DELETE", "/api/delete", json={"model": "tiny-test-model:latest"})
    finally:
        if shm != tmp_path:
            shutil.rmtree(shm, ignore_errors=True)
    # on the store's filesystem: a hard link, the same inode
    src = make_gguf(tmp_path / "linked.gguf", name="Linked Model", payload_bytes=64 * 1024, seed=3)
    r = cli(live_server, "import", str(src), "--name", "models-test/linked")
    assert r.returncode == 0 and "hard link" in r.stdout, r.stdout + r.stderr
    from inference.models.store import ModelStore

    record = ModelStore(live_server.models_dir).get("models-test/linked")
    assert record.model_path.stat().st_ino == src.stat().st_ino
    http.request("DELETE", "/api/delete", json={"model": "models-test/linked"})
    (tmp_path / "notes.gguf").write_text("hello")
    r = cli(live_server, "import", str(tmp_path / "notes.gguf"))
    assert r.returncode == 1 and "not a readable GGUF" in r.stderr


def test_push_is_refused_clearly(http):
    r = http.post("/api/push", json={"model": MODEL})
    assert r.status_code == 403 and "never uploads" in r.json()["error"]

"""`pull` and `create` with no server running: they work on the local store directly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from inference.models.store import ModelStore
from oci_registry import make_gguf

REPO_ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: nothing listens there


def cli(home: Path, *args, cwd=None):
    env = dict(os.environ, HUSHTYPE_HOME=str(home), OLLAMA_HOST=f"127.0.0.1:{closed_port()}")
    env.pop("OLLAMA_MODELS", None)
    return subprocess.run([sys.executable, "-m", "inference", *args], env=env, cwd=cwd or REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_pull_without_a_server_goes_into_the_local_store(registry, tiny_gguf_bytes, tmp_path):
    registry.add_model("library/tiny", "q4", tiny_gguf_bytes, template="{{ .Prompt }}")
    r = cli(tmp_path, "pull", f"{registry.host}/library/tiny:q4", "--insecure")
    assert r.returncode == 0, r.stderr
    assert "no server at" in r.stdout + r.stderr and "success" in r.stdout + r.stderr
    record = ModelStore(tmp_path / "models").get(f"{registry.host}/library/tiny:q4")
    assert record.model_path.read_bytes() == tiny_gguf_bytes and record.template == "{{ .Prompt }}"

    r = cli(tmp_path, "pull", f"{registry.host}/library/absent", "--insecure")
    assert r.returncode == 1 and "file does not exist" in r.stderr


def test_create_without_a_server_uses_the_local_store(tmp_path):
    make_gguf(tmp_path / "w.gguf", name="Offline Model", payload_bytes=64 * 1024)
    (tmp_path / "Modelfile").write_text('FROM ./w.gguf\nSYSTEM """be kind"""\nPARAMETER temperature 0.3\n')
    r = cli(tmp_path / "home", "create", "offline:v1", "-f", str(tmp_path / "Modelfile"))
    assert r.returncode == 0, r.stderr
    assert "no server at" in r.stderr and r.stdout.strip().endswith("success")
    store = ModelStore(tmp_path / "home" / "models")
    record = store.get("offline:v1")
    assert record.system == "be kind" and record.params["temperature"] == 0.3
    assert record.model_path.stat().st_ino == (tmp_path / "w.gguf").stat().st_ino, "hard-linked, not copied"

    (tmp_path / "Derived").write_text("FROM offline:v1\nSYSTEM be terse\n")
    r = cli(tmp_path / "home", "create", "offline:v2", "-f", str(tmp_path / "Derived"))
    assert r.returncode == 0, r.stderr
    assert store.get("offline:v2").system == "be terse"
    assert store.get("offline:v2").model_path == record.model_path

    (tmp_path / "Missing").write_text("FROM nowhere:1b\n")
    r = cli(tmp_path / "home", "create", "offline:v3", "-f", str(tmp_path / "Missing"))
    assert r.returncode == 1 and "not found" in r.stderr


def test_create_and_import_through_a_symlink_store_the_file_itself(tmp_path):
    real = make_gguf(tmp_path / "real.gguf", name="Linked Target", payload_bytes=32 * 1024)
    (tmp_path / "alias.gguf").symlink_to("real.gguf")  # relative: would dangle inside blobs/
    (tmp_path / "Modelfile").write_text("FROM ./alias.gguf\n")
    assert cli(tmp_path / "home", "create", "via-link:1", "-f", str(tmp_path / "Modelfile")).returncode == 0
    r = cli(tmp_path / "home", "import", str(tmp_path / "alias.gguf"), "--name", "via-link:2")
    assert r.returncode == 0, r.stderr
    store = ModelStore(tmp_path / "home" / "models")
    for name in ("via-link:1", "via-link:2"):
        blob = store.get(name).model_path
        assert not blob.is_symlink() and blob.read_bytes() == real.read_bytes()

"""A full disk during a pull or an import, simulated with a file-size limit (RLIMIT_FSIZE) in
the child process: a clear error (never a traceback or a 500), the bytes written so far kept
for a resume, nothing half-written in the store's manifests, and the same command finishes the
job once there is room (a pull downloads only what is missing)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _limit_file_size(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _env(home: Path, host: str = "127.0.0.1:9") -> dict:
    env = dict(os.environ, HUSHTYPE_HOME=str(home), OLLAMA_HOST=host, COLUMNS="100", PYTHONDONTWRITEBYTECODE="1")
    env.pop("OLLAMA_MODELS", None)
    return env


def _manifests(models: Path) -> list[Path]:
    root = models / "manifests"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _saved(state: Path) -> int:
    return sum(p["completed"] for p in json.loads(state.read_text())["parts"])


def test_local_pull_on_a_full_disk_keeps_the_partial_and_resumes(tmp_path, registry, big_gguf_bytes):
    manifest = registry.add_model("library/big", "latest", big_gguf_bytes)
    digest, size = manifest["layers"][0]["digest"], len(big_gguf_bytes)
    home = tmp_path / "home"
    name = f"{registry.host}/library/big"
    r = subprocess.run([sys.executable, "-m", "inference", "pull", name, "--insecure"], cwd=REPO,
                       env=_env(home), capture_output=True, text=True, timeout=120,
                       preexec_fn=_limit_file_size(size // 2))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "a file-size limit was reached" in r.stderr and "pull again to resume" in r.stderr
    blobs = home / "models" / "blobs"
    state = blobs / f"sha256-{digest[7:]}-partial.json"
    saved = _saved(state)
    assert 0 < saved <= size // 2
    assert not (blobs / f"sha256-{digest[7:]}").exists()
    assert not any("library/big" in str(p) for p in _manifests(home / "models")), "no half-written manifest"

    registry.reset_counters()
    again = subprocess.run([sys.executable, "-m", "inference", "pull", name, "--insecure"], cwd=REPO,
                           env=_env(home), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert registry.served.get(digest, 0) == size - saved, "only the missing bytes were downloaded"
    assert (blobs / f"sha256-{digest[7:]}").read_bytes() == big_gguf_bytes
    assert not state.exists()


def test_server_pull_on_a_full_disk_is_a_clear_error_and_the_server_goes_on(tmp_path, registry, big_gguf_bytes):
    manifest = registry.add_model("library/big", "latest", big_gguf_bytes)
    digest, size = manifest["layers"][0]["digest"], len(big_gguf_bytes)
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    log = open(home / "server.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "inference", "serve"], cwd=REPO, env=_env(home, f"127.0.0.1:{port}"),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_limit_file_size(size // 2))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(base + "/", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, (home / "server.log").read_text()
                time.sleep(0.2)
        body = {"model": f"{registry.host}/library/big", "insecure": True}
        r = httpx.post(base + "/api/pull", json={**body, "stream": False}, timeout=120)
        assert r.status_code == 507 and "a file-size limit was reached" in r.json()["error"], r.text
        lines = [json.loads(x) for x in httpx.post(base + "/api/pull", json=body, timeout=120).text.splitlines()]
        assert "a file-size limit was reached" in lines[-1]["error"] and "resume" in lines[-1]["error"]
        assert httpx.get(base + "/api/tags", timeout=10).status_code == 200
        state = home / "models" / "blobs" / f"sha256-{digest[7:]}-partial.json"
        assert 0 < _saved(state) <= size // 2
        assert not any("library/big" in str(p) for p in _manifests(home / "models"))
        assert "Traceback" not in (home / "server.log").read_text()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()


@pytest.fixture
def other_filesystem_dir():
    """A directory on another filesystem than the store (tmpfs), so import copies, not links."""
    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat(tempfile.gettempdir()).st_dev:
        pytest.skip("no second filesystem (/dev/shm) to import from: import would hard-link, not copy")
    path = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="hushtype-import-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_import_on_a_full_disk_keeps_the_partial_and_resumes(tmp_path, big_gguf_bytes, other_filesystem_dir):
    source = other_filesystem_dir / "model.gguf"
    source.write_bytes(big_gguf_bytes)
    home = tmp_path / "home"
    size = len(big_gguf_bytes)
    cmd = [sys.executable, "-m", "inference", "import", str(source), "--name", "mine:1"]
    r = subprocess.run(cmd, cwd=REPO, env=_env(home), capture_output=True, text=True, timeout=120,
                       preexec_fn=_limit_file_size(size // 2))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "import failed: a file-size limit was reached" in r.stderr and "to resume" in r.stderr
    blobs = home / "models" / "blobs"
    [partial] = list(blobs.glob(".tmp-import-*-partial"))
    assert 0 < partial.stat().st_size <= size // 2
    assert big_gguf_bytes.startswith(partial.read_bytes())
    assert _manifests(home / "models") == [], "no half-written manifest"

    again = subprocess.run(cmd, cwd=REPO, env=_env(home), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "copied into the store" in again.stdout, again.stdout + again.stderr
    assert not list(blobs.glob(".tmp-import-*")), "the partial was used up"
    import hashlib

    digest = hashlib.sha256(big_gguf_bytes).hexdigest()
    assert (blobs / f"sha256-{digest}").read_bytes() == big_gguf_bytes
    assert len(_manifests(home / "models")) == 1

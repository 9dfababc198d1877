"""/api/pull and `pull` through a running server, against the loopback OCI registry.

Covers the HTTP shapes (NDJSON status lines, stream:false, error statuses), the CLI's
progress output, and the two interruptions users hit: Ctrl+C in the CLI and a killed server.
Both must resume without downloading again what was already on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from child_signals import SIGINT_IGNORED
from oci_registry import make_gguf

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def big_gguf_bytes(tmp_path_factory) -> bytes:
    return make_gguf(tmp_path_factory.mktemp("big") / "big.gguf", name="Big Test", payload_bytes=8 << 20,
                     seed=11).read_bytes()


def wait_until(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_stable(value, pause=0.5, timeout=30.0, what="a value to settle"):
    """Wait until ``value()`` stops changing for ``pause`` seconds."""
    deadline = time.monotonic() + timeout
    last = value()
    while time.monotonic() < deadline:
        time.sleep(pause)
        now = value()
        if now == last:
            return now
        last = now
    raise AssertionError(f"timed out waiting for {what}")


def ndjson(response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines()]


def delete(base_url, name):
    httpx.request("DELETE", base_url + "/api/delete", json={"model": name}, timeout=60)


def test_pull_route_streams_status_lines(live_server, registry, tiny_gguf_bytes):
    manifest = registry.add_model("library/tiny", "latest", tiny_gguf_bytes, template="{{ .Prompt }}")
    name = f"{registry.host}/library/tiny:latest"
    r = httpx.post(live_server.base_url + "/api/pull", json={"model": name, "insecure": True}, timeout=120)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = ndjson(r)
    assert lines[0] == {"status": "pulling manifest"}
    assert [x["status"] for x in lines[-3:]] == ["verifying sha256 digest", "writing manifest", "success"]
    model = manifest["layers"][0]
    progress = [x for x in lines if x.get("digest") == model["digest"]]
    assert progress[-1] == {"status": f"pulling {model['digest'][7:19]}", "digest": model["digest"],
                            "total": model["size"], "completed": model["size"]}
    listed = {m["name"]: m for m in httpx.get(live_server.base_url + "/api/tags").json()["models"]}
    assert name in listed and listed[name]["details"]["family"] == "llama"

    # pulling again is a no-op download; stream:false gives one object
    registry.reset_counters()
    r = httpx.post(live_server.base_url + "/api/pull", json={"name": name, "insecure": True, "stream": False},
                   timeout=120)
    assert r.status_code == 200 and r.json() == {"status": "success"}
    assert registry.served_total() == 0
    delete(live_server.base_url, name)


def test_pull_route_errors(live_server, registry, tiny_gguf_bytes):
    url = live_server.base_url + "/api/pull"
    r = httpx.post(url, json={"model": f"{registry.host}/library/missing:7b", "insecure": True}, timeout=60)
    assert r.status_code == 404 and r.json() == {"error": "pull model manifest: file does not exist"}
    registry.add_model("library/tiny", "latest", tiny_gguf_bytes)
    r = httpx.post(url, json={"model": f"{registry.host}/library/tiny"}, timeout=60)
    assert r.status_code == 502 and "insecure" in r.json()["error"]
    for body, fragment in (({}, "model is required"), ({"model": "a/b/c/d"}, "invalid model name"),
                           ({"model": "x", "insecure": "yes"}, "insecure"),
                           ({"model": "gpt-oss:120b-cloud"}, "cloud")):
        r = httpx.post(url, json=body, timeout=60)
        assert r.status_code == 400 and fragment in r.json()["error"], r.text

    # a corrupt blob: the stream started, so the error is the last NDJSON line
    digest = registry.add_model("library/corrupt", "latest", tiny_gguf_bytes[:-1] + b"\x00")["layers"][0]["digest"]
    registry.corrupt = {digest}
    r = httpx.post(url, json={"model": f"{registry.host}/library/corrupt", "insecure": True}, timeout=60)
    last = ndjson(r)[-1]
    assert r.status_code == 200 and last["error"].startswith("digest mismatch")
    assert not (live_server.models_dir / "blobs" / f"sha256-{digest[7:]}").exists()
    r = httpx.post(url, json={"model": f"{registry.host}/library/corrupt", "insecure": True, "stream": False},
                   timeout=60)
    assert r.status_code == 502 and r.json()["error"].startswith("digest mismatch")


def run_cli(server, *args, **kw):
    env = dict(os.environ, OLLAMA_HOST=server.host, HUSHTYPE_HOME=str(server.home), COLUMNS="100")
    return subprocess.Popen([sys.executable, "-m", "inference", *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_cli_pull_ctrl_c_then_resume(live_server, registry, big_gguf_bytes):
    manifest = registry.add_model("library/big", "latest", big_gguf_bytes)
    digest, size = manifest["layers"][0]["digest"], len(big_gguf_bytes)
    name = f"{registry.host}/library/big"
    registry.bytes_per_second = 4 << 20  # ~2 s for the model blob

    proc = run_cli(live_server, "pull", name, "--insecure", **SIGINT_IGNORED)  # Ctrl+C must still stop it
    try:
        wait_until(lambda: registry.served.get(digest, 0) > size // 3, what="a third of the blob")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    state = live_server.models_dir / "blobs" / f"sha256-{digest[7:]}-partial.json"
    wait_until(lambda: state.exists() and sum(p["completed"] for p in json.loads(state.read_text())["parts"]) > 0,
               what="the saved progress")
    wait_stable(lambda: registry.served.get(digest, 0), what="the server to stop downloading")
    saved = sum(p["completed"] for p in json.loads(state.read_text())["parts"])
    assert 0 < saved < size  # (the registry counts bytes still in socket buffers as sent)

    registry.bytes_per_second = None
    registry.reset_counters()
    proc = run_cli(live_server, "pull", name, "--insecure")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "success" in out + err and "pulling manifest" in out + err
    assert registry.served.get(digest, 0) == size - saved, "only the missing bytes were downloaded"
    assert (live_server.models_dir / "blobs" / f"sha256-{digest[7:]}").read_bytes() == big_gguf_bytes
    delete(live_server.base_url, name)


def test_killed_server_resumes_the_pull(server_factory, registry, big_gguf_bytes, tmp_path_factory):
    manifest = registry.add_model("library/big", "latest", big_gguf_bytes)
    digest, size = manifest["layers"][0]["digest"], len(big_gguf_bytes)
    name = f"{registry.host}/library/big"
    home = tmp_path_factory.mktemp("kill-home")
    server = server_factory(home=home)
    registry.bytes_per_second = 4 << 20

    def pull_until_dropped():
        try:
            with httpx.stream("POST", server.base_url + "/api/pull", json={"model": name, "insecure": True},
                              timeout=60) as r:
                for _ in r.iter_lines():
                    pass
        except httpx.HTTPError:
            pass  # the server died under us: expected

    thread = threading.Thread(target=pull_until_dropped, daemon=True)
    thread.start()
    wait_until(lambda: registry.served.get(digest, 0) > size // 2, what="half of the blob")
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    thread.join(timeout=30)
    state = server.models_dir / "blobs" / f"sha256-{digest[7:]}-partial.json"
    saved = sum(p["completed"] for p in json.loads(state.read_text())["parts"])
    assert saved > size // 4, "progress was on disk when the server died"

    registry.bytes_per_second = None
    registry.reset_counters()
    again = server_factory(home=home)  # a new server on the same store
    r = httpx.post(again.base_url + "/api/pull", json={"model": name, "insecure": True, "stream": False},
                   timeout=120)
    assert r.status_code == 200 and r.json() == {"status": "success"}
    refetched = registry.served.get(digest, 0)
    assert refetched == size - saved, "only the bytes not yet saved were downloaded again"
    assert (again.models_dir / "blobs" / f"sha256-{digest[7:]}").read_bytes() == big_gguf_bytes
    assert name + ":latest" in [m["name"] for m in httpx.get(again.base_url + "/api/tags").json()["models"]]

"""The OCI pull client against a real HTTP registry on loopback (tests/.../oci_registry.py).

These call inference.models.registry directly with a real ModelStore in a temp dir; the HTTP route
and the CLI are tested against a running server in test_models_pull_live.py.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import time

import pytest

from inference.models import registry as reg_mod
from inference.models.registry import PullError, PullSettings, start_pull
from inference.models.store import ModelStore

SMALL_PARTS = PullSettings(min_part_size=512 * 1024, max_parts=4, stall_timeout=5.0,
                           connect_timeout=5.0, max_retries=2, backoff_base=0.01,
                           progress_interval=0.02, state_interval=0.0)


def pull(store, name, settings=SMALL_PARTS, insecure=True):
    """Run one pull to the end; returns (status lines, bytes received)."""
    async def go():
        p = await start_pull(store, name, insecure=insecure, settings=settings)
        lines = [line async for line in p.run()]
        return lines, p.bytes_received
    return asyncio.run(go())


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


def publish(registry, gguf, repo="library/tiny", tag="latest", **kw):
    kw.setdefault("template", "{{ .Prompt }}")
    kw.setdefault("params", {"temperature": 0.1, "stop": ["</s>"]})
    return registry.add_model(repo, tag, gguf, **kw)


def model_digest(manifest):
    return manifest["layers"][0]["digest"]


def test_full_pull_writes_verified_blobs_and_the_manifest_byte_for_byte(registry, store, tiny_gguf_bytes):
    manifest = publish(registry, tiny_gguf_bytes)
    name = f"{registry.host}/library/tiny:latest"
    lines, received = pull(store, name)

    statuses = [line["status"] for line in lines]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    digest = model_digest(manifest)
    model_lines = [line for line in lines if line.get("digest") == digest]
    assert model_lines[0]["status"] == f"pulling {digest[7:19]}"
    assert all(line["total"] == len(tiny_gguf_bytes) for line in model_lines)
    completed = [line["completed"] for line in model_lines]
    assert completed == sorted(completed) and completed[-1] == len(tiny_gguf_bytes)

    # parallel ranged downloads: the 3 MiB blob came in several Range requests
    ranges = [r for (m, path, r) in registry.requests if m == "GET" and digest in path and r]
    assert len({r for r in ranges}) >= 4
    assert received == registry.served_total() == sum(len(registry.blobs[d]) for d in registry.blobs)

    assert store.manifest_bytes(name) == registry.manifests[("library/tiny", "latest")]
    assert store.blob_path(digest).read_bytes() == tiny_gguf_bytes
    record = store.get(name)
    assert record.model_path == store.blob_path(digest)
    assert record.template == "{{ .Prompt }}" and record.params["stop"] == ["</s>"]
    assert record.details["family"] == "llama"
    assert not list(store.blobs_dir.glob("*partial*")), "no partial files left behind"

    # a second pull finds every blob present and downloads nothing
    registry.reset_counters()
    lines, received = pull(store, name)
    assert lines[-1] == {"status": "success"} and received == 0 and registry.served_total() == 0


def test_flaky_link_is_retried_within_one_pull(registry, store, tiny_gguf_bytes):
    manifest = publish(registry, tiny_gguf_bytes)
    registry.cut_each_response_after = 300 * 1024  # every response dies after 300 KiB
    lines, received = pull(store, f"{registry.host}/library/tiny")
    assert lines[-1]["status"] == "success"
    assert store.blob_path(model_digest(manifest)).read_bytes() == tiny_gguf_bytes
    assert received == sum(len(b) for b in registry.blobs.values())


def test_interrupted_pull_resumes_without_downloading_again(registry, store, tiny_gguf_bytes):
    manifest = publish(registry, tiny_gguf_bytes)
    digest = model_digest(manifest)
    size = len(tiny_gguf_bytes)
    name = f"{registry.host}/library/tiny"
    registry.drop_after_total = size // 2  # the network goes down half-way through the model

    with pytest.raises(PullError) as err:
        pull(store, name)
    assert "pull again to resume" in str(err.value)
    assert not store.exists(name) and not store.has_blob(digest)
    state = json.loads(store.blob_path(digest).with_name(f"sha256-{digest[7:]}-partial.json").read_text())
    saved = sum(p["completed"] for p in state["parts"])
    assert size // 4 < saved <= size // 2

    registry.drop_after_total = None
    registry.reset_counters()
    lines, received = pull(store, name)
    assert lines[-1]["status"] == "success"
    assert store.blob_path(digest).read_bytes() == tiny_gguf_bytes
    # only the missing part came again (what was in flight when the link died may repeat)
    again = registry.served.get(digest, 0)
    assert again == size - saved, (again, size, saved)
    first_line = next(line for line in lines if line.get("digest") == digest)
    assert first_line["completed"] == saved, "progress starts where the last pull stopped"


def test_corrupt_blob_is_rejected_and_deleted(registry, store, tiny_gguf_bytes):
    manifest = publish(registry, tiny_gguf_bytes)
    digest = model_digest(manifest)
    name = f"{registry.host}/library/tiny"
    registry.corrupt = {digest}
    with pytest.raises(PullError) as err:
        pull(store, name)
    assert str(err.value).startswith(f"digest mismatch, file must be downloaded again: want {digest}, got sha256:")
    assert not store.has_blob(digest)
    assert not list(store.blobs_dir.glob(f"sha256-{digest[7:]}*")), "corrupt data deleted"
    assert not store.exists(name), "no manifest for a failed pull"

    registry.corrupt = set()
    assert pull(store, name)[0][-1]["status"] == "success"


def test_missing_model_is_a_404_before_any_progress(registry, store):
    with pytest.raises(PullError) as err:
        asyncio.run(start_pull(store, f"{registry.host}/library/nope:1b", insecure=True))
    assert err.value.status == 404
    assert str(err.value) == "pull model manifest: file does not exist"


def test_plain_http_registry_needs_insecure(registry, store, tiny_gguf_bytes):
    publish(registry, tiny_gguf_bytes)
    with pytest.raises(PullError) as err:
        pull(store, f"{registry.host}/library/tiny", insecure=False)
    assert err.value.status == 502 and "insecure" in str(err.value)


@pytest.mark.parametrize("bad", ["", "a/b/c/d", "bad name!", "x:cloud"])
def test_bad_names_are_400(store, bad):
    with pytest.raises(PullError) as err:
        asyncio.run(start_pull(store, bad))
    assert err.value.status == 400


def test_anonymous_bearer_token_flow(registry, store, tiny_gguf_bytes):
    publish(registry, tiny_gguf_bytes)
    registry.require_token = True
    lines, _ = pull(store, f"{registry.host}/library/tiny")
    assert lines[-1]["status"] == "success"
    assert any(path.startswith("/token?") for (_, path, _) in registry.requests)
    assert "scope=repository" in next(p for (_, p, _) in registry.requests if p.startswith("/token"))


def test_manifest_with_bad_digest_is_refused(registry, store):
    registry.manifests[("library/evil", "latest")] = json.dumps({
        "schemaVersion": 2, "layers": [{"digest": "sha256:../../etc/passwd", "size": 1}]}).encode()
    with pytest.raises(PullError) as err:
        pull(store, f"{registry.host}/library/evil")
    assert "invalid layer entry" in str(err.value)


def test_pull_prunes_layers_the_new_manifest_no_longer_uses(registry, store, tiny_gguf_bytes,
                                                            other_gguf_bytes, monkeypatch):
    name = f"{registry.host}/library/tiny"
    old = publish(registry, tiny_gguf_bytes)
    pull(store, name)
    store.copy(name, "keeper")  # shares the template/params layers, and the old weights
    new = publish(registry, other_gguf_bytes)
    pull(store, name)
    assert store.has_blob(model_digest(old)), "still used by 'keeper'"
    store.delete("keeper")
    assert not store.has_blob(model_digest(old))

    # a newer version again: the previous weights go, unless OLLAMA_NOPRUNE
    monkeypatch.setenv("OLLAMA_NOPRUNE", "1")
    publish(registry, tiny_gguf_bytes)
    pull(store, name)
    assert store.has_blob(model_digest(new))
    monkeypatch.delenv("OLLAMA_NOPRUNE")
    publish(registry, other_gguf_bytes)
    pull(store, name)
    assert store.has_blob(model_digest(new)) and store.blob_path(model_digest(new)).read_bytes() == other_gguf_bytes
    assert not store.has_blob(model_digest(old))


def test_part_plan_covers_the_blob_exactly(tmp_path):
    for total in (0, 1, 511, 512 * 1024, 3 * 1024 * 1024 + 17):
        blob = reg_mod.BlobDownload("sha256:" + "0" * 64, total, tmp_path / f"b{total}")
        blob.plan(SMALL_PARTS)
        assert sum(p.size for p in blob.parts) == total
        assert len(blob.parts) <= SMALL_PARTS.max_parts
        assert all(a.offset + a.size == b.offset for a, b in zip(blob.parts, blob.parts[1:]))


def test_stalled_part_is_abandoned_and_retried(registry, store, tiny_gguf_bytes):
    manifest = publish(registry, tiny_gguf_bytes)
    registry.stall_responses, registry.stall_after, registry.stall_seconds = 2, 100 * 1024, 5.0
    settings = PullSettings(min_part_size=512 * 1024, max_parts=4, stall_timeout=0.5, max_retries=3,
                            backoff_base=0.05, progress_interval=0.02)
    start = time.monotonic()
    lines, received = pull(store, f"{registry.host}/library/tiny", settings=settings)
    assert lines[-1]["status"] == "success" and time.monotonic() - start < 4.0, "did not wait out the stall"
    assert store.blob_path(model_digest(manifest)).read_bytes() == tiny_gguf_bytes
    assert received == sum(len(b) for b in registry.blobs.values()), "the stalled parts resumed, not restarted"


def test_concurrent_pulls_of_one_model_download_it_once(registry, store, tiny_gguf_bytes):
    manifest = publish(registry, tiny_gguf_bytes)
    digest, size = model_digest(manifest), len(tiny_gguf_bytes)
    name = f"{registry.host}/library/tiny"
    registry.bytes_per_second = 6 << 20  # ~0.5 s, so the second request sees the first one's progress

    async def both():
        async def one():
            p = await start_pull(store, name, insecure=True, settings=SMALL_PARTS)
            return [line async for line in p.run()]
        return await asyncio.gather(one(), one())

    first, second = asyncio.run(both())
    assert first[-1] == second[-1] == {"status": "success"}
    assert registry.served_total() == sum(len(b) for b in registry.blobs.values()), "downloaded once"
    for lines in (first, second):
        seen = [x["completed"] for x in lines if x.get("digest") == digest]
        assert seen[-1] == size and any(0 < c < size for c in seen), "both requests showed progress"


def test_blobs_already_in_an_ollama_store_are_reused(registry, tmp_path, tiny_gguf_bytes):
    """A store written by Ollama, with a legacy ``sha256:<hex>`` blob name, needs no download."""
    manifest = publish(registry, tiny_gguf_bytes)
    root = tmp_path / "ollama-models"
    (root / "blobs").mkdir(parents=True)
    digest = model_digest(manifest)
    (root / "blobs" / f"sha256:{digest[7:]}").write_bytes(tiny_gguf_bytes)
    store = ModelStore(root)
    lines, received = pull(store, f"{registry.host}/library/tiny")
    assert lines[-1]["status"] == "success"
    assert registry.served.get(digest, 0) == 0 and received < 4096
    assert store.get(f"{registry.host}/library/tiny").model_path.name == f"sha256:{digest[7:]}"


@pytest.mark.parametrize("value, prunes", [("", True), ("0", True), ("false", True), ("1", False), ("true", False)])
def test_noprune_flag_values(monkeypatch, value, prunes):
    monkeypatch.setenv("OLLAMA_NOPRUNE", value)
    assert reg_mod._env_flag("OLLAMA_NOPRUNE") is not prunes


def test_a_full_disk_is_a_clear_error_before_downloading(registry, store, tiny_gguf_bytes, monkeypatch):
    # Filling the real disk is not an option in a test: the free-space figure is faked here.
    publish(registry, tiny_gguf_bytes)
    real = shutil.disk_usage
    monkeypatch.setattr(reg_mod.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=len(tiny_gguf_bytes) // 2))
    with pytest.raises(PullError) as err:
        pull(store, f"{registry.host}/library/tiny")
    assert err.value.status == 507 and "not enough disk space" in str(err.value)
    assert registry.served_total() < 4096, "nothing big was downloaded"


def test_a_token_that_expires_mid_pull_is_renewed(registry, store, tiny_gguf_bytes):
    manifest = publish(registry, tiny_gguf_bytes)
    registry.require_token = True
    registry.cut_each_response_after = 256 * 1024  # reconnects, so later requests need the new token
    registry.expire_token_after = 1 << 20
    lines, _ = pull(store, f"{registry.host}/library/tiny")
    assert lines[-1]["status"] == "success" and registry.tokens_issued >= 2
    assert store.blob_path(model_digest(manifest)).read_bytes() == tiny_gguf_bytes


def test_a_blob_another_process_is_downloading_is_not_touched(registry, store, tiny_gguf_bytes):
    manifest = publish(registry, tiny_gguf_bytes)
    digest = model_digest(manifest)
    lock = store.blobs_dir / f"sha256-{digest[7:]}-partial.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)  # a real lock, as another process would hold it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(PullError) as err:
            pull(store, f"{registry.host}/library/tiny")
        assert err.value.status == 409 and "another process" in str(err.value)
        assert registry.served.get(digest, 0) == 0
    finally:
        os.close(fd)
    assert pull(store, f"{registry.host}/library/tiny")[0][-1]["status"] == "success"
    assert not lock.exists()

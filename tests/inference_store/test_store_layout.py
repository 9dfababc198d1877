"""The on-disk model store (inference/models/store.py) against stores laid out exactly as Ollama does."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest

from store_fixtures import OllamaLayout, write_tiny_gguf
from inference.models.names import InvalidModelName
from inference.models.store import (
    MEDIA_LICENSE, MEDIA_MODEL, MEDIA_PARAMS, MEDIA_SYSTEM, MEDIA_TEMPLATE, DamagedModel, DigestMismatch,
    InvalidDigest, MissingBlob, ModelNotFound, ModelStore,
)

TEMPLATE = "{{ if .System }}<|system|>{{ .System }}{{ end }}<|user|>{{ .Prompt }}<|assistant|>"
CONFIG = {"model_format": "gguf", "model_family": "llama", "model_families": ["llama"],
          "model_type": "8.0B", "file_type": "Q4_0", "renderer": "", "parser": "",
          "architecture": "amd64", "os": "linux"}


def blob_names(store: ModelStore) -> set[str]:
    return {p.name for p in store.blobs_dir.iterdir()}


@pytest.fixture
def ollama_store(tmp_path):
    """A store written as Ollama writes it: two hosts, legacy blob names, a config-less model."""
    root = tmp_path / "models"
    layout = OllamaLayout(root)
    gguf = tmp_path / "a.gguf"
    write_tiny_gguf(gguf, arch="llama", seed=1)
    other = tmp_path / "b.gguf"
    write_tiny_gguf(other, arch="qwen2", context=4096, seed=2)
    raw_a = layout.model("registry.ollama.ai", "library", "tiny", "latest", [
        ("model", gguf.read_bytes()),
        ("template", TEMPLATE.encode()),
        ("system", b"You are terse."),
        ("params", json.dumps({"stop": ["<|user|>"], "temperature": 0.3}).encode()),
        ("license", b"MIT license text"),
        ("messages", json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]).encode()),
    ], CONFIG)
    # A private registry with a port, old-style "sha256:" blob names and no details in its config.
    raw_b = layout.model("myreg.example:5000", "Team", "Other", "V2", [
        ("model", other.read_bytes()),
        ("license", b"Apache-2.0"),
        ("license", b"Extra terms"),
    ], {"architecture": "amd64", "os": "linux"}, legacy=True)
    now = time.time()
    os.utime(root / "manifests/registry.ollama.ai/library/tiny/latest", (now - 100, now - 100))
    os.utime(root / "manifests/myreg.example:5000/Team/Other/V2", (now - 10, now - 10))
    return ModelStore(root), raw_a, raw_b, gguf, other


def test_reads_a_store_written_by_ollama(ollama_store):
    store, raw_a, raw_b, gguf, other = ollama_store
    records = store.list()
    assert [r.name.display for r in records] == ["myreg.example:5000/Team/Other:V2", "tiny:latest"]  # newest first

    a = store.get("tiny")
    assert a.digest == hashlib.sha256(raw_a).hexdigest()
    manifest = json.loads(raw_a)
    assert a.size == sum(l["size"] for l in manifest["layers"]) + manifest["config"]["size"]
    assert a.model_path.read_bytes() == gguf.read_bytes()
    assert a.template == TEMPLATE
    assert a.system == "You are terse."
    assert a.params == {"stop": ["<|user|>"], "temperature": 0.3}
    assert a.license == ["MIT license text"]
    assert a.messages == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    assert a.adapters == [] and a.projector is None
    # details come from the config blob as Ollama wrote it
    assert a.details == {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                         "parameter_size": "8.0B", "quantization_level": "Q4_0"}
    assert a.config["rootfs"]["diff_ids"] == [l["digest"] for l in manifest["layers"]]


def test_legacy_blob_names_and_gguf_fallback_details(ollama_store):
    store, _, raw_b, _, other = ollama_store
    b = store.get("myreg.example:5000/Team/Other:V2")
    assert b.digest == hashlib.sha256(raw_b).hexdigest()
    assert b.model_path.name.startswith("sha256:")  # legacy name read as is
    assert b.model_path.read_bytes() == other.read_bytes()
    assert b.license == ["Apache-2.0", "Extra terms"]
    assert b.template is None and b.system is None and b.params == {} and b.messages == []
    # the config has no details: they come from the GGUF's metadata
    assert b.details["family"] == "qwen2"
    assert b.details["families"] == ["qwen2"]
    assert b.details["quantization_level"] == "F32"
    assert b.details["parameter_size"] == "2K"
    assert b.details["format"] == "gguf"
    digest = json.loads(raw_b)["layers"][0]["digest"]
    assert store.has_blob(digest)
    assert store.blob_path(digest.replace("sha256:", "sha256-")) == b.model_path


def test_lookup_is_case_insensitive(ollama_store):
    store, *_ = ollama_store
    assert store.get("TINY:Latest").name.display == "tiny:latest"
    assert store.get("MyReg.Example:5000/team/other:v2").name.display == "myreg.example:5000/Team/Other:V2"
    assert store.exists("Registry.Ollama.AI/Library/Tiny")


def test_missing_and_malformed_names(ollama_store):
    store, *_ = ollama_store
    with pytest.raises(ModelNotFound) as err:
        store.get("nope:1b")
    assert str(err.value) == "model 'nope:1b' not found"
    with pytest.raises(InvalidModelName):
        store.get("bad name")
    with pytest.raises(ModelNotFound):
        store.delete("nope")


def test_unreadable_manifests_are_skipped_not_fatal(ollama_store):
    store, *_ = ollama_store
    broken = store.manifests_dir / "registry.ollama.ai/library/broken/latest"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    (store.manifests_dir / "registry.ollama.ai/library/tiny/.tmp-abc-partial").write_text("{}")
    assert [r.name.display for r in store.list()] == ["myreg.example:5000/Team/Other:V2", "tiny:latest"]
    with pytest.raises(ModelNotFound) as err:  # a 404 with the reason, not a crash
        store.get("broken")
    assert isinstance(err.value, DamagedModel)
    assert "model 'broken' is damaged" in str(err.value) and "not JSON" in str(err.value)
    store.delete("broken")  # and it can still be removed
    assert not broken.exists()


@pytest.mark.parametrize("manifest", [
    b"[]", b'{"layers": {}}', b'{"layers": [{"size": 3}]}',
    b'{"layers": [{"digest": "sha256:nothex", "size": 1}]}',
    b'{"config": "x", "layers": []}',
    b'{"layers": [{"digest": "sha256:' + b"0" * 64 + b'", "size": -1}]}',
])
def test_malformed_manifests_are_refused_on_write_and_read(tmp_path, manifest):
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ValueError) as err:
        store.write_manifest("m", manifest)
    assert "invalid manifest" in str(err.value) or "invalid digest" in str(err.value)
    path = store.manifests_dir / "registry.ollama.ai/library/m/latest"
    path.parent.mkdir(parents=True)
    path.write_bytes(manifest)
    assert store.list() == []
    with pytest.raises(DamagedModel):
        store.get("m")


def test_blob_digests_are_validated(ollama_store):
    store, *_ = ollama_store
    for bad in ("sha256:xyz", "md5:" + "0" * 32, "sha256:" + "0" * 63, "", "../../etc/passwd"):
        with pytest.raises(InvalidDigest):
            store.blob_path(bad)
    upper = "sha256:" + "A" * 64
    assert store.blob_path(upper).name == "sha256-" + "a" * 64
    assert not store.has_blob(upper)


def test_copy_shares_blobs_and_delete_keeps_the_ones_still_used(ollama_store):
    store, raw_a, *_ = ollama_store
    before = blob_names(store)
    store.copy("tiny", "friend/tiny-copy:v1")
    copy = store.get("friend/tiny-copy:v1")
    original = store.get("tiny")
    assert copy.digest == original.digest  # same manifest bytes
    assert copy.model_path == original.model_path
    assert blob_names(store) == before  # no new blobs

    store.delete("tiny:latest")
    assert blob_names(store) == before  # every blob still used by the copy
    assert not (store.manifests_dir / "registry.ollama.ai/library/tiny").exists()  # empty dirs removed
    assert store.get("friend/tiny-copy:v1").model_path.is_file()

    store.delete("friend/tiny-copy:v1")
    orphans = {"sha256-" + l["digest"][7:] for l in json.loads(raw_a)["layers"]}
    assert not (orphans & blob_names(store))
    assert not (store.manifests_dir / "registry.ollama.ai/friend").exists()
    assert not (store.manifests_dir / "registry.ollama.ai").exists()
    assert [r.name.display for r in store.list()] == ["myreg.example:5000/Team/Other:V2"]


def test_delete_removes_legacy_named_orphans(ollama_store):
    store, _, raw_b, *_ = ollama_store
    store.delete("myreg.example:5000/team/other:v2")
    assert not any(n.startswith("sha256:") for n in blob_names(store))
    assert not (store.manifests_dir / "myreg.example:5000").exists()


def test_delete_of_a_base_model_keeps_the_weights_of_a_derived_one(ollama_store):
    store, *_ = ollama_store
    derived = store.create_model("tiny-helper", from_model="tiny", system="Answer in French.")
    base = store.get("tiny")
    assert derived.model_path == base.model_path
    assert derived.details["parent_model"] == "tiny:latest"
    store.delete("tiny")
    again = store.get("tiny-helper")
    assert again.model_path.is_file()
    assert again.template == TEMPLATE and again.system == "Answer in French."
    system_blob = store.blob_path(next(l.digest for l in base.layers if l.media_type == MEDIA_SYSTEM))
    assert not system_blob.exists()  # the base's system prompt was used by nobody else


def test_create_from_gguf_dedups_layers(tmp_path, tiny_gguf):
    gguf, info = tiny_gguf
    store = ModelStore(tmp_path / "models")
    a = store.create_model("a", gguf=gguf, template=TEMPLATE, system="S", params={"temperature": 0.1},
                           license=["L", "L"], messages=[{"role": "user", "content": "x"}])
    seen: list[tuple[int, int]] = []
    b = store.create_model("b", gguf=gguf, template=TEMPLATE, system="S", params={"temperature": 0.1},
                           progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (gguf.stat().st_size, gguf.stat().st_size)
    digests = [l.digest for l in a.layers]
    assert len(digests) == len(set(digests))  # the two identical licenses are one layer
    assert [l.media_type for l in a.layers][:2] == [MEDIA_MODEL, MEDIA_TEMPLATE]
    assert a.license == ["L"]
    assert a.model_path == b.model_path
    model_blobs = [p for p in store.blobs_dir.iterdir() if p.stat().st_size == gguf.stat().st_size]
    assert len(model_blobs) == 1
    assert a.details == {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                         "parameter_size": "2K", "quantization_level": "F32"}
    assert a.config["model_type"] == "2K" and a.config["os"] == "linux"
    # same content, same blobs: only the config and manifest differ between a and b (messages/license)
    shared = {l.digest for l in a.layers} & {l.digest for l in b.layers}
    assert {l.media_type for l in b.layers if l.digest in shared} == {MEDIA_MODEL, MEDIA_TEMPLATE, MEDIA_SYSTEM, MEDIA_PARAMS}


def test_create_from_model_overrides_and_merges(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    store.create_model("base", gguf=gguf, template="T1", system="S1", params={"temperature": 0.1, "top_k": 5},
                       license="base license")
    child = store.create_model("child", from_model="BASE", template="T2", system="",
                               params={"temperature": 0.9}, license="child license")
    assert child.template == "T2"
    assert child.system is None  # "" removes the inherited system prompt
    assert child.params == {"temperature": 0.9, "top_k": 5}
    assert child.license == ["base license", "child license"]
    assert MEDIA_LICENSE in {l.media_type for l in child.layers}
    with pytest.raises(ModelNotFound):
        store.create_model("x", from_model="missing")
    with pytest.raises(ValueError):
        store.create_model("x")


def test_recreating_a_model_prunes_its_old_layers(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    first = store.create_model("m", gguf=gguf, system="old system")
    old_system = store.blob_path(next(l.digest for l in first.layers if l.media_type == MEDIA_SYSTEM))
    second = store.create_model("m", from_model="m", system="new system")
    assert second.system == "new system"
    assert not old_system.exists()
    assert second.model_path.is_file()


def test_add_blob_file_hard_links_on_the_same_filesystem(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    layer = store.add_blob_file(gguf)
    blob = store.blob_path(layer.digest)
    assert layer.digest == "sha256:" + hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert os.stat(blob).st_ino == os.stat(gguf).st_ino
    assert os.stat(gguf).st_nlink == 2
    assert blob_names(store) == {blob.name}  # no temp file left behind

    copied = ModelStore(tmp_path / "copies")
    layer2 = copied.add_blob_file(gguf, link=False)
    assert layer2 == layer
    assert os.stat(copied.blob_path(layer2.digest)).st_ino != os.stat(gguf).st_ino


def test_add_blob_file_copies_across_filesystems(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs a second filesystem (/dev/shm tmpfs) to test the copy fallback")
    import tempfile
    with tempfile.TemporaryDirectory(dir=shm) as d:
        store = ModelStore(Path(d) / "models")
        layer = store.add_blob_file(gguf)
        blob = store.blob_path(layer.digest)
        assert blob.read_bytes() == gguf.read_bytes()
        assert os.stat(gguf).st_nlink == 1


def test_add_blob_verifies_the_expected_digest(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestMismatch):
        store.add_blob_file(gguf, expected=wrong)
    with pytest.raises(DigestMismatch):
        store.add_blob_stream([b"abc", b"def"], expected=wrong)
    assert blob_names(store) == set()  # nothing stored, no temp files
    assert os.stat(gguf).st_nlink == 1
    good = "sha256:" + hashlib.sha256(b"abcdef").hexdigest()
    layer = store.add_blob_stream([b"abc", b"def"], expected=good.replace(":", "-"))
    assert layer.digest == good and store.blob_path(good).read_bytes() == b"abcdef"


def test_write_manifest_requires_its_blobs_and_keeps_bytes(tmp_path):
    store = ModelStore(tmp_path / "models")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "digest": "sha256:" + "1" * 64, "size": 2}, "layers": []}
    with pytest.raises(MissingBlob):
        store.write_manifest("m", manifest)
    cfg = store.add_blob_bytes(b"{}", "application/vnd.docker.container.image.v1+json")
    manifest["config"]["digest"] = cfg.digest
    raw = json.dumps(manifest, indent=3).encode()  # e.g. a registry's formatting: kept byte for byte
    rec = store.write_manifest("m", raw)
    assert rec.name.manifest_path(store.root).read_bytes() == raw
    assert rec.digest == hashlib.sha256(raw).hexdigest()


def test_names_differing_only_in_case_are_one_model(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    store.create_model("Foo:Bar", gguf=gguf)
    store.copy("foo:bar", "FOO:BAR")
    assert [r.name.display for r in store.list()] == ["FOO:BAR"]


def test_prune_partials_by_age(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    kept_blob = store.add_blob_file(gguf)
    old = store.blobs_dir / ("sha256-" + "a" * 64 + "-partial")
    old_part = store.blobs_dir / ("sha256-" + "a" * 64 + "-partial-0")
    fresh = store.blobs_dir / ("sha256-" + "b" * 64 + "-partial")
    old_tmp_manifest = store.manifests_dir / "registry.ollama.ai/library/x/.tmp-1-partial"
    old_tmp_manifest.parent.mkdir(parents=True)
    for p in (old, old_part, fresh, old_tmp_manifest):
        p.write_bytes(b"x" * 10)
    two_hours_ago = time.time() - 7200
    for p in (old, old_part, old_tmp_manifest):
        os.utime(p, (two_hours_ago, two_hours_ago))
    os.utime(store.blob_path(kept_blob.digest), (two_hours_ago, two_hours_ago))
    assert store.prune_partials(3600) == 3
    assert fresh.exists() and not old.exists() and not old_part.exists() and not old_tmp_manifest.exists()
    assert store.has_blob(kept_blob.digest)  # complete blobs are never touched
    assert store.prune_partials(0) == 1  # age 0: every partial goes


def test_prune_blobs_removes_only_unreferenced(ollama_store):
    store, *_ = ollama_store
    stray = store.add_blob_bytes(b"nobody uses me", MEDIA_TEMPLATE)
    before = blob_names(store)
    assert store.prune_blobs() == 1
    assert blob_names(store) == before - {"sha256-" + stray.digest[7:]}
    assert store.get("tiny").model_path.is_file()


def test_concurrent_writers_do_not_corrupt_the_store(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    store.create_model("base", gguf=gguf, system="s")
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            store.copy("base", f"copy{i}")
            store.create_model(f"derived{i}", from_model="base", system=f"system {i}")
            store.delete(f"copy{i}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    names = sorted(r.name.display for r in store.list())
    assert names == sorted(["base:latest"] + [f"derived{i}:latest" for i in range(8)])
    for i in range(8):
        assert store.get(f"derived{i}").system == f"system {i}"
    assert not [n for n in blob_names(store) if "partial" in n]


def test_blob_writer_for_uploads(tmp_path):
    store = ModelStore(tmp_path / "models")
    data = [b"GGUF", b"\x00" * 1000, b"tail"]
    digest = "sha256:" + hashlib.sha256(b"".join(data)).hexdigest()
    with store.blob_writer(expected=digest) as writer:
        for piece in data:
            writer.write(piece)
        assert not store.has_blob(digest)  # invisible until verified
        layer = writer.commit()
    assert layer.digest == digest and layer.size == sum(map(len, data))
    assert store.blob_path(digest).read_bytes() == b"".join(data)

    with pytest.raises(DigestMismatch) as err:
        with store.blob_writer(expected="sha256:" + "f" * 64) as writer:
            writer.write(b"other bytes")
            writer.commit()
    assert "digest mismatch" in str(err.value)
    with pytest.raises(RuntimeError):
        with store.blob_writer() as writer:
            writer.write(b"half an upload")
            raise RuntimeError("client went away")
    assert blob_names(store) == {"sha256-" + digest[7:]}  # no temp files, nothing else stored


def test_a_damaged_blob_is_replaced_by_verified_content(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    digest = "sha256:" + hashlib.sha256(gguf.read_bytes()).hexdigest()
    legacy = store.blobs_dir / f"sha256:{digest[7:]}"
    legacy.write_bytes(b"\xff" * gguf.stat().st_size)  # same size, wrong bytes
    assert store.blob_path(digest) == legacy
    done: list[tuple[int, int]] = []
    store.add_blob_file(gguf, link=False, progress=lambda n, total: done.append((n, total)))
    assert store.blob_path(digest).read_bytes() == gguf.read_bytes()
    assert not legacy.exists()  # no duplicate left
    assert done[-1] == (gguf.stat().st_size, gguf.stat().st_size)
    store.add_blob_bytes(b"config", "x")
    path = store.blob_path("sha256:" + hashlib.sha256(b"config").hexdigest())
    path.write_bytes(b"CONFIG")
    store.add_blob_bytes(b"config", "x")
    assert path.read_bytes() == b"config"


def test_case_insensitive_lookup_tries_every_match(tmp_path, tiny_gguf):
    gguf, _ = tiny_gguf
    store = ModelStore(tmp_path / "models")
    store.create_model("Foo:one", gguf=gguf)
    # a second directory differing only in case, as Ollama can leave on a case-sensitive disk
    store.create_model("foo:other", gguf=gguf)
    other = store.manifests_dir / "registry.ollama.ai/library/foo/other"
    if not (store.manifests_dir / "registry.ollama.ai/library/Foo/one").exists():
        pytest.skip("case-insensitive filesystem")
    assert store.get("FOO:OTHER").manifest_path == other
    assert store.get("foo:ONE").name.display == "Foo:one"


def test_check_reports_missing_truncated_and_corrupt_blobs(ollama_store):
    store, *_ = ollama_store
    assert store.check("tiny", rehash=True) == []
    record = store.get("tiny")
    data = record.model_path.read_bytes()
    record.model_path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
    assert store.check("tiny") == []  # cheap check: sizes only
    (problem,) = store.check("tiny", rehash=True)
    assert "does not match its sha256" in problem
    record.model_path.write_bytes(data[:100])
    assert "has 100 bytes" in store.check("tiny")[0]
    store.blob_path(next(l.digest for l in record.layers if l.media_type == MEDIA_TEMPLATE)).unlink()
    assert any("template blob" in p and "missing" in p for p in store.check("tiny"))

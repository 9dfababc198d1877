"""GGUF metadata (inference/models/gguf_info.py): a tiny GGUF written here, and the real embedded model."""

from __future__ import annotations

import os

import pytest
from gguf import GGUFReader

from inference.models import gguf_info
from store_fixtures import write_tiny_gguf


def test_model_info_of_a_tiny_gguf(tmp_path):
    path = tmp_path / "t.gguf"
    info = write_tiny_gguf(path, arch="llama", context=1234, vocab=100)
    md = gguf_info.read_metadata(path)
    assert md["general.architecture"] == "llama"
    assert md["general.name"] == "Tiny Test"
    assert md["llama.context_length"] == 1234
    assert md["llama.attention.layer_norm_rms_epsilon"] == 1e-06  # float32 shown in shortest form
    assert md["general.file_type"] == 0
    # arrays longer than 64 entries are left out (None), short ones kept
    assert md["tokenizer.ggml.tokens"] is None
    assert md["tokenizer.ggml.scores"] is None
    assert md["tokenizer.ggml.token_type"] is None
    assert md["general.tags"] == ["tiny", "test"]
    assert md["general.parameter_count"] == info["n_params"]
    assert not any(k.startswith("GGUF.") for k in md)
    assert gguf_info.context_length(md) == 1234
    assert gguf_info.chat_template(md) == "{% for m in messages %}{{ m.content }}{% endfor %}"
    assert gguf_info.details_from_metadata(md) == {
        "parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
        "parameter_size": gguf_info.human_number(info["n_params"]), "quantization_level": "F32"}
    assert gguf_info.default_model_name(md) == "tiny-test:1k"


def test_small_vocabulary_and_verbose_mode_keep_arrays(tmp_path):
    path = tmp_path / "small.gguf"
    write_tiny_gguf(path, vocab=10, chat_template=None)
    md = gguf_info.read_metadata(path)
    assert md["tokenizer.ggml.tokens"] == [f"tok{i}" for i in range(10)]
    assert md["tokenizer.ggml.scores"] == [float(-i) for i in range(10)]
    assert gguf_info.chat_template(md) is None
    big = tmp_path / "big.gguf"
    write_tiny_gguf(big, vocab=300)
    full = gguf_info.read_metadata(big, max_array=None)
    assert full["tokenizer.ggml.tokens"] == [f"tok{i}" for i in range(300)]
    assert full["tokenizer.ggml.token_type"] == [1] * 300


def test_skimmed_values_match_the_package_reader(tmp_path):
    """Our fast reader must agree with the gguf package's own reader on every short value."""
    path = tmp_path / "t.gguf"
    write_tiny_gguf(path, vocab=100)
    md = gguf_info.read_metadata(path)
    reader = GGUFReader(path)
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        value = field.contents()
        if isinstance(value, list) and len(value) > 64:
            assert md[key] is None
        elif isinstance(value, float):
            assert md[key] == pytest.approx(value, rel=1e-6)
        else:
            assert md[key] == value, key
    assert md["general.parameter_count"] == sum(int(t.n_elements) for t in reader.tensors)


def test_cache_follows_file_changes(tmp_path):
    path = tmp_path / "t.gguf"
    write_tiny_gguf(path, context=100)
    first = gguf_info.read_metadata(path)
    assert gguf_info.read_metadata(path) is first  # cached
    write_tiny_gguf(path, context=200)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert gguf_info.context_length(gguf_info.read_metadata(path)) == 200


def test_non_gguf_files_give_a_clear_error(tmp_path):
    bad = tmp_path / "not.gguf"
    bad.write_bytes(b"this is not a model" * 10)
    with pytest.raises(gguf_info.GGUFError) as err:
        gguf_info.read_metadata(bad)
    assert "not a readable GGUF" in str(err.value)
    truncated = tmp_path / "cut.gguf"
    write_tiny_gguf(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(gguf_info.GGUFError):
        gguf_info.read_metadata(truncated)
    with pytest.raises(gguf_info.GGUFError):
        gguf_info.read_metadata(tmp_path / "missing.gguf")


@pytest.mark.parametrize("n, text", [
    (268_098_176, "268.10M"),  # what Ollama shows for gemma3:270m
    (3_212_749_824, "3.2B"),
    (8_030_261_248, "8.0B"),
    (7_000_000_000, "7B"),
    (22_000_000, "22M"),
    (1_872, "2K"),
    (512, "512"),
])
def test_human_number_matches_ollama(n, text):
    assert gguf_info.human_number(n) == text


@pytest.mark.parametrize("value, name", [(15, "Q4_K_M"), (1, "F16"), (0, "F32"), (7, "Q8_0"), (32, "BF16"), (999, "unknown")])
def test_file_type_names(value, name):
    assert gguf_info.file_type_name(value) == name


def test_real_embedded_gguf(embedded_gguf):
    md = gguf_info.read_metadata(embedded_gguf)
    assert md["general.architecture"] == "gemma3"
    assert gguf_info.context_length(md) == md["gemma3.context_length"] == 32768
    assert md["tokenizer.ggml.tokens"] is None and md["tokenizer.ggml.scores"] is None
    assert md["tokenizer.ggml.token_type"] is None
    assert isinstance(md["gemma3.embedding_length"], int)
    assert gguf_info.chat_template(md) is None  # a base model: no chat template
    details = gguf_info.details_from_metadata(md)
    assert details["family"] == "gemma3" and details["families"] == ["gemma3"]
    assert details["quantization_level"] == "Q4_K_M"
    count = md["general.parameter_count"]
    assert 250_000_000 < count < 300_000_000  # a "270M" model
    assert details["parameter_size"] == gguf_info.human_number(count)
    assert md["general.size_label"] == "270M"


def test_real_embedded_gguf_verbose_reads_the_whole_vocabulary(embedded_gguf):
    md = gguf_info.read_metadata(embedded_gguf, max_array=None)
    tokens = md["tokenizer.ggml.tokens"]
    assert len(tokens) == len(md["tokenizer.ggml.scores"]) == len(md["tokenizer.ggml.token_type"]) > 200_000
    assert tokens[md["tokenizer.ggml.bos_token_id"]] == "<bos>"
    assert tokens[md["tokenizer.ggml.eos_token_id"]] == "<eos>"
    assert all(isinstance(t, str) for t in tokens[:1000])
    short = gguf_info.read_metadata(embedded_gguf)
    assert {k: v for k, v in md.items() if short[k] is not None} == {k: v for k, v in short.items() if v is not None}


def test_missing_file_type_is_reported_as_unknown(tmp_path):
    path = tmp_path / "nofiletype.gguf"
    write_tiny_gguf(path, file_type=None)
    md = gguf_info.read_metadata(path)
    assert "general.file_type" not in md
    assert gguf_info.details_from_metadata(md)["quantization_level"] == "unknown"

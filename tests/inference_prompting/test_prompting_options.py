"""Options precedence, type checks, unknown keys, num_ctx defaults and keep_alive parsing."""

import math

import pytest

from inference.engine.options import (
    DEFAULT_OPTIONS,
    LOAD_OPTIONS,
    OptionsError,
    default_keep_alive_seconds,
    default_num_ctx,
    ignored_option_keys,
    load_options,
    merge_options,
    parse_duration,
    parse_keep_alive,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("OLLAMA_CONTEXT_LENGTH", raising=False)
    monkeypatch.delenv("OLLAMA_KEEP_ALIVE", raising=False)


def test_defaults_are_ollamas():
    merged = merge_options(None, None)
    assert merged["temperature"] == 0.8
    assert merged["top_k"] == 40
    assert merged["top_p"] == 0.9
    assert merged["min_p"] == 0.0
    assert merged["typical_p"] == 1.0
    assert merged["repeat_last_n"] == 64
    assert merged["seed"] == -1
    assert merged["num_predict"] == -1
    assert merged["num_ctx"] == 4096
    assert merged["num_batch"] == 512
    assert merged["stop"] == []
    assert set(merged) == set(DEFAULT_OPTIONS)


def test_precedence_defaults_model_request():
    model = {"temperature": 0.2, "top_k": 10, "stop": ["<end>"]}
    request = {"temperature": 0.5, "seed": 42}
    merged = merge_options(model, request)
    assert merged["temperature"] == 0.5  # request wins over model
    assert merged["top_k"] == 10  # model wins over default
    assert merged["stop"] == ["<end>"]  # model layer kept where request is silent
    assert merged["seed"] == 42
    assert merged["top_p"] == 0.9  # default


def test_request_stop_replaces_model_stop():
    merged = merge_options({"stop": ["a", "b"]}, {"stop": ["c"]})
    assert merged["stop"] == ["c"]


def test_null_request_value_falls_through_to_model_layer():
    merged = merge_options({"temperature": 0.1}, {"temperature": None})
    assert merged["temperature"] == 0.1


def test_merge_does_not_mutate_inputs_or_defaults():
    model = {"stop": ["x"]}
    merged = merge_options(model, None)
    merged["stop"].append("y")
    assert model == {"stop": ["x"]}
    assert DEFAULT_OPTIONS["stop"] == []
    assert merge_options(None, None)["stop"] == []


def test_unknown_and_legacy_keys_are_ignored():
    request = {
        "mirostat": 0,
        "mirostat_tau": 5.0,
        "tfs_z": 1.0,
        "low_vram": False,
        "penalize_newline": True,
        "f16_kv": True,
        "no_such_option": "whatever",
        "temperature": 0.3,
    }
    merged = merge_options(None, request)
    assert merged["temperature"] == 0.3
    for key in ("mirostat", "tfs_z", "low_vram", "penalize_newline", "no_such_option"):
        assert key not in merged
    assert ignored_option_keys(request) == sorted(k for k in request if k != "temperature")


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("num_ctx", "2048", "integer"),
        ("num_ctx", 2048.5, "integer"),
        ("num_ctx", True, "integer"),
        ("num_predict", [1], "integer"),
        ("seed", {"value": 1}, "integer"),
        ("top_k", "40", "integer"),
        ("temperature", "hot", "number"),
        ("temperature", True, "number"),
        ("temperature", float("nan"), "number"),
        ("top_p", [0.9], "number"),
        ("use_mmap", 1, "boolean"),
        ("use_mlock", "true", "boolean"),
        ("numa", 0, "boolean"),
        ("stop", 5, "string or array of strings"),
        ("stop", ["ok", 3], "string or array of strings"),
        ("stop", {"a": 1}, "string or array of strings"),
    ],
)
def test_wrong_types_are_rejected_naming_option_and_type(key, value, expected):
    with pytest.raises(OptionsError) as err:
        merge_options(None, {key: value})
    message = str(err.value)
    assert repr(key) in message
    assert expected in message


def test_wrong_type_in_model_layer_is_rejected_too():
    with pytest.raises(OptionsError, match="'temperature'"):
        merge_options({"temperature": "x"}, None)


def test_options_must_be_an_object():
    with pytest.raises(OptionsError, match="expected an object"):
        merge_options(None, ["temperature", 1])


def test_int_accepts_integral_float_and_float_accepts_int():
    merged = merge_options(None, {"num_predict": 32.0, "temperature": 1, "top_k": 5})
    assert merged["num_predict"] == 32 and isinstance(merged["num_predict"], int)
    assert merged["temperature"] == 1.0 and isinstance(merged["temperature"], float)
    assert merged["top_k"] == 5


def test_stop_accepts_one_string_and_drops_empty_and_duplicates():
    assert merge_options(None, {"stop": "\n\n"})["stop"] == ["\n\n"]
    assert merge_options(None, {"stop": ["a", "", "a", "b"]})["stop"] == ["a", "b"]
    assert merge_options(None, {"stop": ""})["stop"] == []


def test_num_ctx_default_from_env_and_capped(monkeypatch):
    assert default_num_ctx() == 4096
    assert default_num_ctx(2048) == 2048  # capped at the trained context
    monkeypatch.setenv("OLLAMA_CONTEXT_LENGTH", "8192")
    assert default_num_ctx() == 8192
    assert default_num_ctx(32768) == 8192
    assert merge_options(None, None, trained_ctx=32768)["num_ctx"] == 8192
    assert merge_options(None, None, trained_ctx=1024)["num_ctx"] == 1024
    monkeypatch.setenv("OLLAMA_CONTEXT_LENGTH", "lots")
    assert default_num_ctx() == 4096  # invalid value -> default, as Ollama


def test_explicit_num_ctx_capped_at_trained_context_and_floor():
    assert merge_options({"num_ctx": 2048}, None, trained_ctx=32768)["num_ctx"] == 2048
    assert merge_options(None, {"num_ctx": 100000}, trained_ctx=32768)["num_ctx"] == 32768
    assert merge_options(None, {"num_ctx": 100000})["num_ctx"] == 100000
    assert merge_options(None, {"num_ctx": 0})["num_ctx"] == 4


def test_load_options_subset_and_change_detection():
    assert LOAD_OPTIONS <= set(DEFAULT_OPTIONS)
    assert {"num_ctx", "num_batch", "num_thread", "num_gpu", "use_mmap", "use_mlock"} <= LOAD_OPTIONS
    assert "temperature" not in LOAD_OPTIONS and "stop" not in LOAD_OPTIONS
    a = load_options(merge_options(None, {"temperature": 0.1}))
    b = load_options(merge_options(None, {"temperature": 0.9, "seed": 3}))
    c = load_options(merge_options(None, {"num_ctx": 1024}))
    assert a == b  # sampling changes need no reload
    assert a != c  # a num_ctx change does
    assert set(a) == LOAD_OPTIONS


# --- keep_alive ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value,expected",
    [
        (None, 300.0),  # default
        (0, 0.0),
        (0.0, 0.0),
        ("0", 0.0),  # Go accepts a bare "0"
        (10, 10.0),
        (2.5, 2.5),
        (-1, None),
        (-0.5, None),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        ("300ms", 0.3),
        ("2h", 7200.0),
        ("1m30.5s", 90.5),
        (".5s", 0.5),
        ("+10s", 10.0),
        ("-1m", None),
        ("-1s", None),
        ("1us", 1e-6),
        ("1\u00b5s", 1e-6),
        ("100ns", 1e-7),
    ],
)
def test_keep_alive_table(value, expected):
    got = parse_keep_alive(value, 300.0)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "value,message",
    [
        ("300", 'time: missing unit in duration "300"'),
        ("5", 'time: missing unit in duration "5"'),
        ("1h30", 'time: missing unit in duration "1h30"'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),
        ("5 m", 'time: unknown unit " m" in duration "5 m"'),
        ("", 'time: invalid duration ""'),
        ("-", 'time: invalid duration "-"'),
        ("abc", 'time: invalid duration "abc"'),
        (".s", 'time: invalid duration ".s"'),
        ("99999999999h", 'time: invalid duration "99999999999h"'),
    ],
)
def test_keep_alive_bad_strings_use_gos_messages(value, message):
    with pytest.raises(OptionsError) as err:
        parse_keep_alive(value, 300.0)
    assert str(err.value) == message


@pytest.mark.parametrize("value", [True, False, [1], {"s": 1}, float("nan")])
def test_keep_alive_bad_types(value):
    with pytest.raises(OptionsError, match="keep_alive"):
        parse_keep_alive(value, 300.0)


def test_keep_alive_huge_numbers_mean_forever():
    assert parse_keep_alive(1e300, 300.0) is None
    assert parse_keep_alive(math.inf, 300.0) is None


def test_keep_alive_default_passthrough():
    assert parse_keep_alive(None, None) is None
    assert parse_keep_alive(None, 60) == 60.0


def test_parse_duration_nanoseconds():
    assert parse_duration("1h2m3s4ms5us6ns") == 3723004005006
    assert parse_duration("-1.5h") == -5400 * 10**9


@pytest.mark.parametrize(
    "env,expected",
    [
        (None, 300.0),
        ("10m", 600.0),
        ("'10m'", 600.0),  # Ollama strips quotes and spaces
        ("120", 120.0),  # the env var (unlike the request) takes integer seconds
        ("-1", None),
        ("-1m", None),
        ("0", 0.0),
        ("nonsense", 300.0),
    ],
)
def test_default_keep_alive_from_env(monkeypatch, env, expected):
    if env is not None:
        monkeypatch.setenv("OLLAMA_KEEP_ALIVE", env)
    assert default_keep_alive_seconds() == expected


def test_load_ranges_refuse_what_llama_cpp_cannot_run_and_cap_the_batch():
    from inference.engine.options import MAX_NUM_CTX, MAX_NUM_THREAD

    assert merge_options(None, {"num_batch": 10**8}, trained_ctx=32768)["num_batch"] == 4096
    assert merge_options(None, {"num_batch": 1, "num_thread": MAX_NUM_THREAD})["num_batch"] == 1
    for bad in ({"num_batch": 0}, {"num_batch": -1}, {"num_thread": -1}, {"num_thread": MAX_NUM_THREAD + 1},
                {"num_ctx": MAX_NUM_CTX + 1}):
        with pytest.raises(OptionsError, match=f"invalid option '{next(iter(bad))}'"):
            merge_options(None, bad)
    # num_ctx beyond the trained context is capped first (Ollama), so only untrained sizes fail
    assert merge_options(None, {"num_ctx": MAX_NUM_CTX + 1}, trained_ctx=32768)["num_ctx"] == 32768


def test_kv_cache_floor_counts_only_layers_that_surely_hold_the_whole_context(tmp_path):
    from inference.engine.memory import available_bytes, kv_cache_floor_bytes

    dense = {"general.architecture": "llama", "llama.block_count": 32, "llama.attention.head_count": 32,
             "llama.attention.head_count_kv": 8, "llama.embedding_length": 4096}
    assert kv_cache_floor_bytes(dense, 4096) == 32 * 8 * (128 + 128) * 2 * 4096  # 512 MiB
    gemma3 = {"general.architecture": "gemma3", "gemma3.block_count": 18, "gemma3.attention.head_count": 4,
              "gemma3.attention.head_count_kv": 1, "gemma3.attention.key_length": 256,
              "gemma3.attention.value_length": 256, "gemma3.attention.sliding_window": 512,
              "gemma3.embedding_length": 640}
    assert kv_cache_floor_bytes(gemma3, 1000) == 3 * 512 * 2 * 1000  # 3 global layers of 18
    unknown_swa = dict(dense, **{"llama.attention.sliding_window": 4096})
    assert kv_cache_floor_bytes(unknown_swa, 10**9) == 0  # layout unknown: never refuse
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemAvailable: 40 kB\nSwapFree: 2 kB\n")
    assert available_bytes(meminfo) == 42 * 1024
    assert available_bytes(tmp_path / "missing") is None

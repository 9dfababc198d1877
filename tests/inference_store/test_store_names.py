"""Model-name parsing, display forms and validation (inference/models/names.py)."""

from pathlib import Path

import pytest

from inference.models.names import InvalidModelName, ModelName


@pytest.mark.parametrize("text, parts, display", [
    ("gemma3", ("registry.ollama.ai", "library", "gemma3", "latest"), "gemma3:latest"),
    ("gemma3:270m", ("registry.ollama.ai", "library", "gemma3", "270m"), "gemma3:270m"),
    ("jmorgan/tiny:q4", ("registry.ollama.ai", "jmorgan", "tiny", "q4"), "jmorgan/tiny:q4"),
    ("example.com/team/m:v1.2", ("example.com", "team", "m", "v1.2"), "example.com/team/m:v1.2"),
    ("localhost:5000/ns/m", ("localhost:5000", "ns", "m", "latest"), "localhost:5000/ns/m:latest"),
    ("https://reg.example.com/a/b:c", ("reg.example.com", "a", "b", "c"), "reg.example.com/a/b:c"),
    ("registry.ollama.ai/library/llama3:8b", ("registry.ollama.ai", "library", "llama3", "8b"), "llama3:8b"),
    ("Qwen2.5_coder-x:1.5B-instruct", ("registry.ollama.ai", "library", "Qwen2.5_coder-x", "1.5B-instruct"),
     "Qwen2.5_coder-x:1.5B-instruct"),
])
def test_parse_fills_defaults_and_displays_shortest_form(text, parts, display):
    name = ModelName.parse(text)
    assert (name.host, name.namespace, name.model, name.tag) == parts
    assert name.display == display == str(name)
    assert ModelName.parse(name.full) == name


def test_same_model_regardless_of_case_and_defaults():
    a = ModelName.parse("Gemma3:270M")
    b = ModelName.parse("registry.ollama.ai/library/gemma3:270m")
    assert a != b  # exact parts are kept for display
    assert a.key == b.key
    assert ModelName.parse("llama3").key == ModelName.parse("llama3:latest").key


@pytest.mark.parametrize("text, is_cloud", [
    ("gpt-oss:120b-cloud", True), ("deepseek-v3.1:671b-cloud", True), ("qwen3:cloud", True),
    ("mymodel-cloud", True), ("MyModel:CLOUD", True),
    ("cloudy:latest", False), ("gemma3:270m", False), ("cloud:7b", False),
])
def test_cloud_names_are_recognised(text, is_cloud):
    assert ModelName.parse(text).is_cloud is is_cloud


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("   ", "empty"),
    ("a/b/c/d", "4 '/'-separated parts"),
    ("-leading", "bad model '-leading'"),
    (".hidden", "bad model '.hidden'"),
    ("model:", "empty tag"),
    ("model:-x", "bad tag '-x'"),
    ("has space", "bad model 'has space'"),
    ("ns//model", "empty namespace"),
    ("model@sha256:" + "0" * 64, "digest references"),
    ("m" * 81, "at most 80"),
    ("ns/" + "t" * 80 + ":" + "x" * 81, "at most 80"),
    ("bad host!/ns/model", "bad host"),
    ("ümlaut", "bad model"),
])
def test_invalid_names_raise_clear_errors(text, fragment):
    with pytest.raises(InvalidModelName) as err:
        ModelName.parse(text)
    assert fragment in str(err.value)
    assert isinstance(err.value, ValueError)  # routes map ValueError to 400


def test_eighty_characters_is_the_limit():
    assert ModelName.parse("m" * 80 + ":" + "t" * 80).model == "m" * 80


def test_non_string_is_rejected():
    with pytest.raises(InvalidModelName):
        ModelName.parse(None)  # type: ignore[arg-type]


def test_manifest_path_round_trip(tmp_path: Path):
    name = ModelName.parse("localhost:5000/Team/Model:V1")
    path = name.manifest_path(tmp_path)
    assert path == tmp_path / "manifests" / "localhost:5000" / "Team" / "Model" / "V1"
    assert ModelName.from_manifest_path(tmp_path, path) == name
    with pytest.raises(InvalidModelName):
        ModelName.from_manifest_path(tmp_path, tmp_path / "manifests" / "a" / "b")

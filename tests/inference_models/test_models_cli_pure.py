"""Pure parts of the model CLI: default import names and the pull progress view."""

from pathlib import Path

import pytest
from rich.console import Console

from inference.cli.models import PullView, default_name
from inference.models.names import ModelName


@pytest.mark.parametrize("metadata, filename, expected", [
    ({"general.basename": "gemma-3", "general.size_label": "270M", "general.name": "Gemma 3 270m"},
     "x.gguf", "gemma-3:270m"),
    ({"general.basename": "Llama-3.2", "general.finetune": "Instruct", "general.size_label": "1B"},
     "x.gguf", "llama-3.2-instruct:1b"),
    ({"general.name": "My Fancy Model (v2)!"}, "x.gguf", "my-fancy-model-v2:latest"),
    ({}, "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", "qwen2.5-0.5b-instruct-q4_k_m:latest"),
    ({}, "...gguf", "model:latest"),
    ({"general.name": "---"}, "-odd name.gguf", "odd-name:latest"),
    ({"general.basename": "x" * 200, "general.size_label": "8x7B"}, "x.gguf", "x" * 80 + ":8x7b"),
])
def test_default_import_names_are_valid_model_names(metadata, filename, expected):
    name = default_name(metadata, Path(filename))
    assert name == expected
    ModelName.parse(name)  # never raises


def test_pull_view_tracks_each_blob():
    console = Console(record=True, width=100, force_terminal=False)
    view = PullView(console)
    with view:
        view.update({"status": "pulling manifest"})
        for done in (0, 50, 100):
            view.update({"status": "pulling aaaaaaaaaaaa", "digest": "sha256:" + "a" * 64, "total": 100,
                         "completed": done})
        view.update({"status": "pulling bbbbbbbbbbbb", "digest": "sha256:" + "b" * 64, "total": 10, "completed": 10})
        view.update({"status": "verifying sha256 digest"})
        view.update({"status": "success"})
    tasks = {t.description: t for t in view.progress.tasks}
    assert tasks["pulling aaaaaaaaaaaa"].completed == 100 and tasks["pulling aaaaaaaaaaaa"].total == 100
    assert tasks["pulling bbbbbbbbbbbb"].finished
    assert view.statuses == ["pulling manifest", "verifying sha256 digest", "success"]
    text = console.export_text()
    assert "pulling manifest" in text and "success" in text and "pulling aaaaaaaaaaaa" in text

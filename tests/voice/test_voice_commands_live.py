"""Spoken commands through the real command pipeline and the live model server."""

from __future__ import annotations

import pytest

from assistant.config import command_specs, load_settings
from assistant.voice.cleanup import clean_transcript
from assistant.voice.spoken import parse_spoken_command

pytestmark = pytest.mark.live


@pytest.fixture
def pipeline(live_server, monkeypatch, tmp_path):
    from assistant.commands.pipeline import CommandPipeline
    from assistant.history.store import HistoryStore

    monkeypatch.setenv("OLLAMA_HOST", live_server.host)
    settings = load_settings()
    return CommandPipeline(settings, history=HistoryStore(tmp_path / "history.sqlite3"))


def test_spoken_translate_runs_as_a_one_off_command(pipeline):
    spec, body = parse_spoken_command(clean_transcript("Translate to French. Good morning."),
                                      command_specs(pipeline.settings))
    result = pipeline.run_spec(spec, body, source="voice")
    assert result.status == "ok", result.error
    assert "bonjour" in result.output.lower(), result.output
    row = pipeline.history.list()[0]
    assert row["source"] == "voice" and row["prefix"] == "translate:" and row["input"] == "Good morning."


def test_spoken_summarize_uses_the_sum_command(pipeline):
    text = ("Summarize: the team met on Monday to plan the release. We agreed to fix the login "
            "bug first, then update the documentation, and ship on Friday if the tests pass.")
    spec, body = parse_spoken_command(clean_transcript(text), command_specs(pipeline.settings))
    assert spec.name == "sum"
    result = pipeline.run_spec(spec, body, source="voice")
    assert result.status == "ok", result.error
    assert 0 < len(result.output) < len(body) * 2

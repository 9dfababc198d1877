"""fix:, sum: and gen: with their checks against the real bundled server and the embedded
Gemma 3 270M (log-probability scoring included)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.commands import checks, extract
from assistant.commands.fix import guard
from assistant.commands.fix.spelling import dictionary
from assistant.commands.pipeline import CommandPipeline
from assistant.history.store import HistoryStore

pytestmark = pytest.mark.live

REPORT = ("The school board met on Thursday 6 February to decide on the new timetable. After "
          "a long debate it voted 5 to 2 for a later start, so lessons will begin at 9 am "
          "instead of 8:30 am. The change starts on 1 September. Buses will run 30 minutes "
          "later, which adds $12,000 a year to the transport budget. Parents who cannot drop "
          "their children later can use a free breakfast club from 7:45 am. The board will "
          "review the change after one year.")


@pytest.fixture
def pipeline(live_settings):
    return CommandPipeline(live_settings, history=HistoryStore(retention_days=30))


def test_fix_corrects_misspellings_and_real_word_errors(pipeline):
    result = pipeline.run("fix: Their going to the libary tommorow, I think.")
    assert result.status == "ok", result.error
    assert result.output == "They're going to the library tomorrow, I think."
    assert pipeline.history.get(result.history_id)["output"] == result.output


def test_the_server_scores_candidates_with_the_model(pipeline):
    """ "wich" has several dictionary candidates at one edit: the model's log-probabilities
    (the engine's /v1/completions echo scoring) decide between them."""
    result = pipeline.run("fix: Tell me wich one you want.")
    assert result.status == "ok", result.error
    assert result.output == "Tell me which one you want."
    assert result.timings["scored_by"] == "model"
    assert pipeline.scorer(pipeline.default_model).supported is True


def test_fix_keeps_the_users_style_and_correct_text(pipeline):
    text = "meeting moved to Tuesday 3pm, room B2 — see https://intra.example/rooms"
    result = pipeline.run("fix: " + text)
    assert result.status == "ok", result.error
    assert result.output == text


def test_fix_through_a_chat_prompt_keeps_the_same_guard(pipeline):
    spec, body = pipeline.match("fix: we was late becuase of teh rain")
    result = pipeline.run_spec(replace(spec, prompt_mode="chat"), body)
    assert result.status == "ok", result.error
    assert result.timings["mode"] == "chat"
    assert result.output == "we were late because of the rain"


def test_the_models_rewrite_passes_the_guard_word_by_word(pipeline):
    """Whatever the model answered, the output differs from the dictionary's correction
    only by changes the guard accepts."""
    text = "The the new shedule starts on Monday and the staff was told yesterday."
    safe = pipeline.run_spec(pipeline.specs["fix"], text, fix_mode="dictionary").output
    result = pipeline.run_spec(pipeline.specs["fix"], text, fix_mode="pipeline")
    assert result.status == "ok", result.error
    check = guard.check(safe, result.output, dictionary().knows)
    assert check.text == result.output and not check.refused
    assert "Monday" in result.output and "schedule" in result.output


def test_sum_is_faithful_and_within_its_budget(pipeline):
    result = pipeline.run("sum: " + REPORT)
    assert result.status == "ok", result.error
    assert checks.unsupported(result.output, REPORT) == []
    assert len(result.output) <= 0.6 * len(REPORT)
    # the embedded model is a base model: not asked ([sum] model_summary = "chat"), the extract
    assert "sum_attempts" not in result.timings and result.timings["sum_extractive"] is True
    assert result.output == extract.extractive_summary(REPORT)


def test_sum_asks_a_base_model_when_told_and_keeps_at_least_the_extracts_facts(live_settings):
    settings = dict(live_settings, sum={"model_summary": "always"})
    result = CommandPipeline(settings, history=False).run("sum: " + REPORT)
    assert result.status == "ok", result.error
    assert result.timings["sum_attempts"] >= 1
    assert checks.unsupported(result.output, REPORT) == []
    # whichever of the model's summary, it completed or the extract won, it keeps at least
    # as much of the report's facts as the extract alone
    alone = extract.extractive_summary(REPORT)
    assert extract.weighted_coverage(result.output, REPORT) >= extract.weighted_coverage(alone, REPORT)


def test_gen_mentions_the_name_asked_for(pipeline):
    result = pipeline.run("gen: a short thank-you note to Priya for the flowers")
    assert result.status == "ok", result.error
    if "Priya" not in result.output:  # after three tries the note must say so
        assert result.timings["gen_attempts"] == 3 and "'Priya' missing" in result.note
    else:
        assert result.timings["gen_attempts"] >= 1

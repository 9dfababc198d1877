"""Scoring reuses what the slot's last scoring computed for the same start of text.

fix: scores candidate sentences that differ in one word, voice rescoring scores hypotheses
that differ in a few, all after the same fixed prefix: each request used to evaluate its whole
text again (about 6 ms per token on two cores for Gemma 3's 262k-row output). The engine now
keeps the rows and log-probabilities of a slot's last scoring and evaluates only from the
block where a new text departs from it. A real runner, the real embedded model; a spy on
``_decode`` counts the rows llama.cpp evaluates.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.live

PREFIX = "A sentence in correct English:\n"
FIRST = PREFIX + "My older brother bought a shiny black bicycle with a brown leather seat last week."
SECOND = PREFIX + "My older brother bought a shiny black bicycle with a round leather seat last week."
OTHER = "Completely different words about the weather in the mountains."


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    from inference.engine.runtime import LoadOptions, ModelRunner
    from inference.models.embedded import ensure_embedded
    from inference.models.store import ModelStore

    record = ensure_embedded(ModelStore(tmp_path_factory.mktemp("store") / "models"))
    r = ModelRunner(record.model_path, LoadOptions(num_ctx=512, num_parallel=2))
    rows: list[int] = []
    decode = r._decode

    def counting(batch):
        rows.append(batch.n)
        return decode(batch)

    r._decode = counting
    r.rows = rows
    yield r
    r.close()


def _values(entries):
    return [None if e is None else (e["token"], e["logprob"]) for e in entries]


def _fresh(runner, text: str, top_n: int = 0):
    """``text`` scored with no reusable scoring in any slot."""
    for slot in range(runner.parallel):
        runner._slot_scores[slot] = None
    return runner.score(runner.tokenize(text), top_n)


def test_a_text_sharing_the_start_of_the_last_one_is_scored_from_where_they_part(runner):
    first, second = runner.tokenize(FIRST), runner.tokenize(SECOND)
    common = next(i for i, (a, b) in enumerate(zip(first, second)) if a != b)
    assert common > 16  # the prefix and the shared words
    expected = _values(_fresh(runner, SECOND))

    runner.score(first)
    runner.rows.clear()
    got = runner.score(second)
    evaluated = sum(runner.rows)
    # the same values, bit for bit, as a scoring from scratch
    assert _values(got) == expected and len(got) == len(second)
    # ... with only the rows from the last whole block before the texts part evaluated
    assert evaluated < len(second) - 8 and evaluated >= len(second) - common


def test_the_same_text_again_is_not_evaluated_in_full(runner):
    text = runner.tokenize(FIRST)
    expected = _values(_fresh(runner, FIRST))
    runner.rows.clear()
    assert _values(runner.score(text)) == expected
    assert sum(runner.rows) <= 8  # its last block only (the last row's logits are not kept)


def test_another_top_n_is_computed_afresh(runner):
    runner.score(runner.tokenize(FIRST), 0)
    runner.rows.clear()
    entries = runner.score(runner.tokenize(SECOND), 3)
    assert sum(runner.rows) == len(runner.tokenize(SECOND))
    assert all(len(e["top_logprobs"]) == 3 for e in entries[1:])


def test_a_generation_in_the_slot_invalidates_what_it_scored(runner):
    from inference.engine.runtime import SamplingParams

    expected = _values(_fresh(runner, FIRST))
    runner.score(runner.tokenize(FIRST))
    # both slots used by generations, so the scored slot's cache is overwritten
    for prompt in ("The capital of France is", "Once upon a time"):
        gen = runner.generate(runner.tokenize(prompt), SamplingParams.from_options({"num_predict": 4, "seed": 1}))
        list(gen)
    assert all(record is None or tuple(runner._slot_tokens[s]) != record[0]
               for s, record in enumerate(runner._slot_scores))
    runner.rows.clear()
    assert _values(runner.score(runner.tokenize(FIRST))) == expected
    assert sum(runner.rows) == len(runner.tokenize(FIRST))


def test_the_slot_that_scored_the_same_start_is_chosen(runner):
    runner.score(runner.tokenize(FIRST))
    runner.score(runner.tokenize(OTHER))  # the other slot: it was idle longer
    assert {record[0] for record in runner._slot_scores if record} == {
        tuple(runner.tokenize(FIRST)), tuple(runner.tokenize(OTHER))}
    runner.rows.clear()
    runner.score(runner.tokenize(SECOND))
    assert sum(runner.rows) < len(runner.tokenize(SECOND)) - 8


def test_returned_entries_are_the_callers_own(runner):
    runner.score(runner.tokenize(FIRST))
    entries = runner.score(runner.tokenize(SECOND))
    entries[1]["logprob"] = 0.0
    again = runner.score(runner.tokenize(SECOND))
    assert again[1]["logprob"] != 0.0

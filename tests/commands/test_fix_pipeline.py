"""The fix: pipeline without a model: dictionary pass, rules, scoring, guard (pure logic on
symspellpy's real shipped dictionaries; the model's rewrite is a plain function here, its
live counterpart is in test_fix_live.py)."""

from __future__ import annotations

import pytest

from assistant.commands.fix import confusions, guard, tokens
from assistant.commands.fix.pipeline import Fixer, correct
from assistant.commands.fix.scoring import LogprobScorer
from assistant.commands.fix.spelling import dictionary, typo_cost


@pytest.fixture(scope="module")
def fixer():
    return Fixer(dictionary())


def fix(fixer, text, rewrite=None):
    return correct(text, rewrite=rewrite, fixer=fixer)


@pytest.mark.parametrize("typed, wanted", [
    ("The concert was amazzing.", "The concert was amazing."),            # doubled letter
    ("The resturant is closed.", "The restaurant is closed."),
    ("I recieve too many emails.", "I receive too many emails."),         # transposition
    ("The libary opens at nine.", "The library opens at nine."),          # dropped letter
    ("She doesnt eat meat.", "She doesn't eat meat."),                    # contraction
    ("we buyed tickets", "we bought tickets"),                            # irregular verb
])
def test_non_words_are_corrected_and_the_rest_stays(fixer, typed, wanted):
    assert fix(fixer, typed).text == wanted


@pytest.mark.parametrize("typed, wanted", [
    ("They could of won the game.", "They could have won the game."),
    ("Their coming over tonight.", "They're coming over tonight."),
    ("I want to by some bread.", "I want to buy some bread."),
    ("The show was cancelled do to rain.", "The show was cancelled due to rain."),
    ("Dont loose your ticket!", "Don't lose your ticket!"),
    ("This box is heavier then it looks.", "This box is heavier than it looks."),
    ("He was to busy to call.", "He was too busy to call."),
    ("Your right about that.", "You're right about that."),
    ("The cat licked it's paw.", "The cat licked its paw."),
    ("We left it over their.", "We left it over there."),
    ("he have two dogs", "he has two dogs"),
    ("You was right.", "You were right."),
    ("It took a hour.", "It took an hour."),
    ("an big house", "a big house"),
    ("She has went home.", "She has gone home."),
    ("Put it on the the table.", "Put it on the table."),
])
def test_real_word_confusions_and_grammar_rules(fixer, typed, wanted):
    assert fix(fixer, typed).text == wanted


@pytest.mark.parametrize("text", [
    "Their house is big, and there is a garden.",       # both right
    "It's late and the dog wants its dinner.",
    "I had had enough; that that was it.",               # doubles that are English
    "Visit https://exmaple.org/pth or mail bob@exmaple.org.",  # URLs and addresses untouched
    "Priyanka and Okonkwo met in Zurich at 3pm.",        # names and digit-glued words
    "NASA and the WHO agreed.",                          # acronyms
    "Total: $4,500.00 (approx.), due 2025-03-14.",
    "a university, an hour, a one-off, an umbrella",
    "See section b) and c) of the relicensing terms for licensors and their defenses.",
    "They are not by their nature extensions, and its resulting copyright is not used.",
    "The café is naïve about the façade of the Müller résumé.",  # accents the lists lack
])
def test_correct_text_is_left_alone(fixer, text):
    out = fix(fixer, text)
    assert out.text == text, out.changes


def test_capitals_punctuation_and_line_breaks_stay(fixer):
    text = "  Teh REPORT!!\n\nsee   teh notes...\n\tThanks, Bob"
    assert fix(fixer, text).text == "  The REPORT!!\n\nsee   the notes...\n\tThanks, Bob"


def test_a_misspelling_beside_accented_words_is_fixed_and_the_accents_stay(fixer):
    assert fix(fixer, "teh café is naïve").text == "the café is naïve"


def test_typing_model_prefers_the_usual_slips():
    assert typo_cost("recieve", "receive") < typo_cost("recieve", "relieve")   # swap < far key
    assert typo_cost("tomorow", "tomorrow") < typo_cost("tomorow", "tomorrows")  # dropped double
    assert typo_cost("teh", "the") == pytest.approx(0.6)


def test_guard_accepts_small_edits_and_known_substitutions():
    knows = dictionary().knows
    res = guard.check("i has a apple and teh cat", "I have an apple and the cat.", knows)
    assert res.text == "i have an apple and the cat" and not res.refused  # its own case kept


@pytest.mark.parametrize("line, answer", [
    ("See you on Tuesday.", "See you on Wednesday."),                  # another weekday
    ("It was a big house.", "It was a large house."),                  # a synonym
    ("The report is done.", "The report is done and sent to the team."),  # words added
    ("We will not go.", "We will go."),                                # a word dropped
    ("Call me tomorrow.", "Please give me a ring at some point tomorrow, thanks!"),  # rewrite
])
def test_guard_refuses_a_rewrite_that_changes_meaning(line, answer):
    res = guard.check(line, answer, dictionary().knows)
    assert res.text == line and res.refused


def test_refused_model_changes_fall_back_to_the_safe_correction_and_say_so(fixer):
    out = fix(fixer, "See you on Tuesday, teh day after.",
              rewrite=lambda line: "See you on Wednesday, the day after.")
    assert out.text == "See you on Tuesday, the day after."
    assert out.note and "partly corrected" in out.note and "Tuesday" in out.note


def test_the_model_may_not_change_words_with_accents(fixer):
    # what the embedded model answered for this line in the desktop test
    out = fix(fixer, "teh café is naïve", rewrite=lambda line: "the car is nave")
    assert out.text == "the café is naïve"


def test_the_model_may_fix_grammar_the_rules_miss(fixer):
    out = fix(fixer, "Two cat sat on the mat.", rewrite=lambda line: "Two cats sat on the mat.")
    assert out.text == "Two cats sat on the mat." and out.note is None


def test_the_model_may_not_undo_a_rule(fixer):
    out = fix(fixer, "Their going home.", rewrite=lambda line: "Their going home.")
    assert out.text == "They're going home."


def test_unknown_words_are_kept_and_noted(fixer):
    out = fix(fixer, "the xqzvwk is here")
    assert out.text == "the xqzvwk is here" and "not in the dictionary" in out.note


def test_tokens_rebuild_text_exactly():
    text = "Hi,  teh\tcat's  toy — 3pm!\n"
    toks = tokens.words(text)
    assert [t.text for t in toks] == ["Hi", "teh", "cat's", "toy", "pm"]
    assert toks[-1].protected
    assert tokens.replace_words(text, {}) == text
    assert tokens.replace_words(text, {toks[1].start: "the"}) == "Hi,  the\tcat's  toy — 3pm!\n"


def test_confusion_rules_do_not_cross_sentences():
    lw = ["i", "would", "of", "course"]
    assert confusions.decide(["would", "of"], [". ", ""]) == {}
    assert confusions.decide(["would", "of"], [" ", ""]) == {1: "have"}
    assert lw  # the plain case above is the positive control


class _NoScoring:
    """A server that cannot score text (an older Ollama): every request fails with 404."""

    def _request(self, *args, **kwargs):
        from assistant.ollama_client import ServerError

        raise ServerError("model server error (404): 404 page not found", 404)


def test_a_server_without_scoring_falls_back_to_bigrams(fixer):
    lm = LogprobScorer(_NoScoring(), "gemma3:270m")
    text = "Their going to the libary, wich is near."   # "wich": which/with/wish... in context
    out = correct(text, lm=lm, fixer=Fixer(dictionary()))
    assert out.text == correct(text, fixer=Fixer(dictionary())).text
    assert out.text.startswith("They're going to the library, ")
    assert lm.supported is False and not out.lm_used


def test_a_slow_model_rewrite_is_abandoned_and_the_safe_correction_stands(hung_url):
    """A real TCP server that never answers: past ``[fix] rewrite_budget_ms`` the rewrite is
    dropped (the connection closed) and the dictionary's correction is the answer."""
    import time
    from dataclasses import replace

    from assistant.commands.pipeline import CommandPipeline
    from commands_helpers import settings_for

    settings = settings_for(hung_url, timeout_seconds=30)
    settings.setdefault("fix", {})["rewrite_budget_ms"] = 300
    p = CommandPipeline(settings, history=False)
    spec = replace(p.specs["fix"], prompt_mode="completion")
    t0 = time.monotonic()
    result = p.run_spec(spec, "we buyed tickets")
    assert result.status == "ok" and result.output == "we bought tickets"
    assert result.timings["rewrite"] == "skipped: over 300 ms"
    assert time.monotonic() - t0 < 10


def test_the_user_can_still_cancel_during_the_rewrite(hung_url):
    import threading
    from dataclasses import replace

    from assistant.commands.pipeline import CommandPipeline
    from commands_helpers import settings_for

    p = CommandPipeline(settings_for(hung_url, timeout_seconds=30), history=False)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    result = p.run_spec(replace(p.specs["fix"], prompt_mode="completion"), "we buyed tickets",
                        cancel=cancel)
    assert result.status == "cancelled"


def test_candidates_are_the_same_before_and_after_symspells_index_is_built():
    """Until symspellpy's index is built, a scan of the same list by the same distance
    answers; both give the same candidates."""
    from assistant.commands.fix.spelling import Dictionary

    d = Dictionary()
    words = ["recipts", "wich", "adress", "tommorow", "definately", "xqzvwk", "Teh"]
    scanned = [d.candidates(w) for w in words]
    assert d._symspell is None
    d.symspell  # build the index
    assert [d.candidates(w) for w in words] == scanned
    assert [c.word for c in scanned[0]] == ["receipts", "recipes"]

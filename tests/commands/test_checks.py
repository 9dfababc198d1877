"""sum:/gen: checks (pure) and the pipeline's check-retry-fallback flow.

The flow tests script the model's answers (``ScriptedModel``): the embedded model cannot be
made to invent a number or drop a name on demand, and these tests are about what the
pipeline does when it does. The live counterparts are in test_fix_live.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.commands import checks, extract
from assistant.commands.pipeline import CommandPipeline
from assistant.config import load_settings
from assistant.ollama_client import Completion

SOURCE = ("The board met on Monday 4 March. It approved a budget of $48,000 for the new "
          "library wing. Construction starts in May and should take 14 weeks. Ana Ruiz will "
          "lead the project. The old reading room stays open during the work. A public "
          "meeting is planned for 20 April.")


def test_facts_are_numbers_dates_and_names():
    f = checks.facts(SOURCE)
    assert {"48000", "14", "4", "20", "ana", "ruiz", "monday", "march", "may", "april"} <= f
    assert "the" not in f and "construction" not in f  # sentence-initial common words


@pytest.mark.parametrize("summary, invented", [
    ("The board approved $48,000 for the library wing; Ana Ruiz leads it.", []),
    ("The board approved $50,000 for the library wing.", ["50000"]),           # a wrong amount
    ("Work starts in May and takes 16 weeks.", ["16"]),                         # a wrong number
    ("Bob Smith will lead the project from May.", ["bob", "smith"]),           # an invented name
    ("The board met on Tuesday.", ["tuesday"]),                                 # another weekday
    ("Building takes fourteen weeks from May.", []),                            # 14 in words
])
def test_an_invented_number_or_name_in_a_summary_is_caught(summary, invented):
    assert checks.unsupported(summary, SOURCE) == invented


def test_summary_budget_is_relative_to_the_source():
    b = extract.summary_budget(SOURCE)   # 6 sentences
    assert b.sentences == 4 and b.max_chars == int(len(SOURCE) * 0.6)
    assert b.target_chars == int(len(SOURCE) * 0.57)   # 1.67 facts a sentence: the most room
    summary = extract.extractive_summary(SOURCE)
    assert len(summary) <= b.target_chars and len(checks.sentences(summary)) <= 4
    assert all(s in SOURCE for s in checks.sentences(summary))   # the source's own sentences
    assert checks.unsupported(summary, SOURCE) == []
    assert "$48,000" in summary                                    # the facts weigh in
    assert sum(f in summary for f in ("4 March", "May", "14 weeks", "Ana Ruiz", "20 April")) >= 3


@pytest.mark.parametrize("request_text, expected", [
    ("a two-line note to Priya saying the meeting moved to 3 pm",
     dict(names=["Priya"], numbers=["3 pm"], lines=2)),
    ("a list of three ideas for a team lunch", dict(items=3)),
    ("an email to Mr. Alvarez about invoice 4471, due 12 May, under 80 words",
     dict(names=["Mr. Alvarez"], numbers=["12 May", "4471"], max_words=80)),
    ("one sentence inviting Tom and Lena to dinner", dict(names=["Tom", "Lena"], sentences=1)),
    ("a haiku about rain", dict(lines=3)),
    ("a thank-you note for the 2 books", dict(numbers=["2"])),
])
def test_constraints_are_extracted_from_the_request(request_text, expected):
    c = checks.constraints(request_text)
    for key in ("names", "numbers", "lines", "items", "sentences", "max_words"):
        default = [] if key in ("names", "numbers") else None
        assert getattr(c, key) == expected.get(key, default), key


def test_unmet_constraints_are_named_and_the_form_repaired_safely():
    c = checks.constraints("a list of three ideas for lunch with Priya")
    assert checks.unmet("Pizza; tacos; soup; salad", c) == ["name 'Priya' missing",
                                                            "1 item(s) instead of 3"]
    fixed = checks.fix_form("Pizza with Priya / tacos / soup / salad", c)
    assert fixed == "Pizza with Priya\ntacos\nsoup" and checks.unmet(fixed, c) == []


class ScriptedModel:
    """Stands in for the server's model: answers from a script, records the prompts."""

    def __init__(self, answers):
        self.answers, self.prompts, self.options = list(answers), [], []

    def generate(self, model, prompt, **kw):
        self.prompts.append(prompt)
        self.options.append(kw.get("options") or {})
        text = self.answers.pop(0)
        if kw.get("on_chunk"):  # streamed in word-sized pieces, like the server does
            for i, word in enumerate(text.split(" ")):
                kw["on_chunk"](word if i == 0 else " " + word)
        return Completion(text=text, done_reason="stop")

    def show(self, model):  # a base model: few-shot completion prompts
        return {"template": "{{ .Prompt }}", "capabilities": ["completion"]}


class ScriptedChatModel(ScriptedModel):
    """The same as a chat model (an instruction-tuned one a user pulls)."""

    def chat(self, model, messages, **kw):
        return self.generate(model, messages[-1]["content"], **kw)

    def show(self, model):
        return {"template": "<start_of_turn>user\n{{ .Prompt }}<end_of_turn>", "capabilities": ["completion"]}


def _pipeline(answers, model_summary="always"):
    """The checked sum: flow is tested with the model asked (by default a base model is not)."""
    model = ScriptedModel(answers)
    settings = load_settings()
    settings["sum"] = {"model_summary": model_summary}
    return CommandPipeline(settings, client=model, history=False), model


def test_a_base_model_is_not_asked_for_a_summary_by_default():
    """On the development sets the base model's summary never kept more facts than the
    extract: by default sum: on a base model is the extract at once, no request."""
    model = ScriptedModel([])
    p = CommandPipeline(load_settings(), client=model, history=False)
    result = p.run_spec(p.specs["sum"], SOURCE)
    assert result.status == "ok" and model.prompts == []
    assert result.output == extract.extractive_summary(SOURCE) and result.note is None
    assert result.timings["sum_extractive"] is True


def test_a_chat_model_is_asked_for_its_summary_by_default():
    model = ScriptedChatModel([FULL])
    p = CommandPipeline(load_settings(), client=model, history=False)
    result = p.run_spec(p.specs["sum"], SOURCE)
    assert len(model.prompts) == 1 and result.output == FULL


def test_model_summary_never_asks_no_model():
    model = ScriptedChatModel([])
    settings = load_settings()
    settings["sum"] = {"model_summary": "never"}
    p = CommandPipeline(settings, client=model, history=False)
    result = p.run_spec(p.specs["sum"], SOURCE)
    assert model.prompts == [] and result.output == extract.extractive_summary(SOURCE)


def test_a_summary_with_an_invented_number_is_retried_then_replaced():
    p, model = _pipeline(["The board approved $50,000 for the wing.",
                          "The board approved $60,000, Bob Smith says."])
    result = p.run_spec(p.specs["sum"], SOURCE)
    assert result.status == "ok" and len(model.prompts) == 2
    assert model.options[1].get("seed") is not None                  # a new seed on the retry
    assert checks.unsupported(result.output, SOURCE) == []
    assert all(s in SOURCE for s in checks.sentences(result.output))  # extractive
    assert "faithfulness check" in result.note and "50000" in result.note
    assert result.timings["sum_extractive"] is True


FULL = ("On Monday 4 March the board approved a budget of $48,000 for a library wing; Ana Ruiz "
        "leads the work planned from May, and a public meeting is on 20 April.")


def test_a_faithful_summary_that_keeps_the_facts_is_kept():
    p, model = _pipeline([FULL])
    result = p.run_spec(p.specs["sum"], SOURCE)
    assert result.output == FULL
    assert result.note is None and len(model.prompts) == 1


def test_a_faithful_but_partial_summary_is_completed_with_the_texts_own_clauses():
    partial = "Ana Ruiz leads the $48,000 library wing."
    p, model = _pipeline([partial])
    result = p.run_spec(p.specs["sum"], SOURCE)
    assert len(model.prompts) == 1 and result.output.startswith(partial + " ")
    added = result.output[len(partial) + 1:]
    # what was added is the text's own words: its sentences or a clause of one ("Construction
    # starts in May" without "and should take 14 weeks")
    assert all(s.rstrip(".") in SOURCE for s in checks.sentences(added))
    # the facts the model left out, as many as fit: a date is one fact, "May ... 14 weeks" two
    assert sum(f in added for f in ("4 March", "May", "14 weeks", "20 April")) >= 3
    assert len(result.output) <= extract.summary_budget(SOURCE).max_chars  # the hard limit: the fill uses what the target leaves
    assert checks.unsupported(result.output, SOURCE) == []
    assert result.timings["sum_completed"] is True and "were added" in result.note


def test_a_faithful_lead_that_adds_nothing_gives_way_to_the_extract():
    text = ("Notice to all tenants of Elm Court. The lifts in block B will be replaced between 1 "
            "October and 15 November. During this time block B residents can use the lift in block "
            "A, which connects on the second floor. Deliveries of heavy items should be booked with "
            "the caretaker, Stefan, at least two days ahead. Work will run from 8 am to 5 pm on "
            "weekdays only. We are sorry for the disruption and thank you for your patience.")
    lead = "The caretaker will be working on the building."
    assert extract.weighted_coverage(lead, text) == 0
    p, model = _pipeline([lead])
    result = p.run_spec(p.specs["sum"], text)
    assert len(model.prompts) == 1 and not result.output.startswith(lead)
    assert result.output == extract.extractive_summary(text) and result.timings["sum_extractive"] is True


def test_a_missing_name_in_gen_triggers_a_retry_that_spells_it_out():
    p, model = _pipeline(["Thanks so much for your help with the move!",
                          " thanks so much for your help with the move!"])
    chunks = []
    # no content clause to open on ("saying ...", "for ..."): the model's own first answer
    result = p.run_spec(p.specs["gen"], "a one-line goodbye note to Priya", on_chunk=chunks.append)
    assert result.output == "Hi Priya, thanks so much for your help with the move!"
    assert len(model.prompts) == 2 and "(mention Priya; exactly 1 line)" in model.prompts[1]
    assert model.prompts[1].endswith("Response: Hi Priya,")   # the retry starts the greeting
    assert chunks == [result.output]                     # the checked answer, once
    assert result.timings["gen_attempts"] == 2 and "try 2" in result.note


def test_gen_says_what_is_still_missing_after_the_retries():
    p, model = _pipeline(["Lunch ideas: pizza or tacos."] * 3)
    result = p.run_spec(p.specs["gen"], "three ideas for lunch with Priya")  # no "list of" heading
    assert len(model.prompts) == 3 and result.status == "ok"
    assert "name 'Priya' missing" in result.note


def test_gen_without_constraints_streams_as_before():
    p, model = _pipeline(["A calm sea at dawn."])
    spec = replace(p.specs["gen"], stream=False)
    result = p.run_spec(spec, "a line about the sea")
    assert result.output == "A calm sea at dawn." and len(model.prompts) == 1


def test_gen_with_only_a_sentence_count_streams_and_notes_a_miss():
    p, model = _pipeline(["The sea is calm. The gulls are loud."])
    chunks = []
    result = p.run_spec(p.specs["gen"], "write one sentence about the sea", on_chunk=chunks.append)
    assert "".join(chunks) == result.output and len(model.prompts) == 1
    assert result.note == "the answer may not follow the request: 2 sentence(s) instead of 1"


def test_a_faithful_but_vague_summary_gives_way_to_the_texts_own_sentences():
    p, model = _pipeline(["The board met and talked about a library."])
    result = p.run_spec(p.specs["sum"], SOURCE)
    assert len(model.prompts) == 1 and result.timings["sum_extractive"] is True
    assert "$48,000" in result.output and "left out facts" in result.note


def test_a_phone_number_is_one_fact():
    assert checks.numbers("Call 0800 555 0199 today.") == {"08005550199"}


def test_a_missing_addressee_is_greeted_as_the_last_safe_repair():
    p, model = _pipeline(["The meeting moved to 3 pm.", " see you then.", " see you."])
    spec = replace(p.specs["gen"], prompt_mode="chat")   # no prefill on the chat path
    p.client.chat = lambda model_, messages, **kw: Completion(text=model.answers.pop(0).strip(),
                                                              done_reason="stop")
    result = p.run_spec(spec, "a note to Priya saying the meeting moved to 3 pm")
    assert result.output == "Hi Priya, the meeting moved to 3 pm."
    assert result.note == "added the greeting to Priya"


# -- gen: started on the request's own words (gen_frame), scripted model -----------------------

def test_gen_opens_on_the_requests_own_words_and_the_model_goes_on():
    p, model = _pipeline([" Thanks!"])
    result = p.run_spec(p.specs["gen"], "a reminder for Sam that the rent of 850 euros is due on Monday")
    assert result.output == "Hi Sam, just a reminder that the rent of 850 euros is due on Monday. Thanks!"
    assert len(model.prompts) == 1
    assert model.prompts[0].endswith("Response: Hi Sam, just a reminder that the rent of 850 euros is due on Monday.")
    assert result.note is None


def test_a_continuation_without_a_space_after_the_opening_gets_one():
    p, model = _pipeline(["Thanks!"])
    result = p.run_spec(p.specs["gen"], "a note to Karin saying the delivery arrives at 10 am")
    assert result.output == "Hi Karin, the delivery arrives at 10 am. Thanks!"


def test_a_list_opens_on_its_heading_and_is_set_out_one_item_a_line():
    p, model = _pipeline([" Pizza 2. Tacos 3. A picnic 4. Sushi"])
    result = p.run_spec(p.specs["gen"], "a list of three ideas for a team lunch on Friday")
    assert result.output == "Three ideas for a team lunch on Friday:\n1. Pizza\n2. Tacos\n3. A picnic"
    assert model.prompts[0].endswith("Response: Three ideas for a team lunch on Friday: 1.")
    assert checks.unmet(result.output, checks.constraints("a list of three ideas for a team lunch on Friday")) == []


def test_a_poem_ended_early_is_continued_from_its_own_lines():
    p, model = _pipeline([" soft snow on the roofs", " the harbour lies still"])
    result = p.run_spec(p.specs["gen"], "a haiku about the first snow in Oslo")
    assert model.prompts[0].endswith("Response: The first snow in Oslo /")
    assert model.prompts[1].endswith("Response: The first snow in Oslo / soft snow on the roofs /")
    assert result.output == "The first snow in Oslo\nsoft snow on the roofs\nthe harbour lies still"
    assert result.timings["gen_attempts"] == 2


def test_what_the_model_adds_beyond_one_sentence_is_cut_never_the_opening():
    p, model = _pipeline([" We will cook pasta. Bring Lena!"])
    result = p.run_spec(p.specs["gen"], "one sentence inviting Tom to dinner on Saturday")
    assert result.output == "Hi Tom, would you like to come to dinner on Saturday?"
    assert result.note is None and len(model.prompts) == 1


def test_a_common_word_that_opens_a_line_is_no_name():
    text = "Dear tenants,\nThe yearly boiler checks are in Maple Court.\nKind regards,\nThe site office"
    found = checks.names(text)
    assert "the" not in found and {"maple", "court"} <= found
    # mid-line the same capitalised word still counts
    assert {"the", "hours"} <= checks.names("We saw the film The Hours twice.")

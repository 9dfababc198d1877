"""Output clean-up and the fix:/sum: guards: pure."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from assistant.commands.cleanup import StreamCleaner, clean_output, clean_text


def test_preambles_are_removed():
    assert clean_text("Sure! Here is the corrected text:\n\nThe cat sat on the mat.") == "The cat sat on the mat."
    assert clean_text("Here's the corrected sentence: The cat sat.") == "The cat sat."
    assert clean_text("Certainly!\nHere is a summary:\nShort.") == "Short."
    assert clean_text("Corrected: The cat sat.") == "The cat sat."
    assert clean_text("Summary: It rained.") == "It rained."
    assert clean_text("Okay, here you go:\nHello") == "Hello"


def test_text_that_only_looks_like_a_preamble_is_kept():
    assert clean_text("Here is my address: 5 Main St.") == "Here is my address: 5 Main St."
    assert clean_text("Sure thing, see you at noon.") == "Sure thing, see you at noon."


def test_quotes_fences_tokens_sign_offs_and_whitespace():
    assert clean_text('"The cat sat on the mat."') == "The cat sat on the mat."
    assert clean_text("\u201cThe cat.\u201d") == "The cat."
    assert clean_text("```\nprint(1)\n```") == "print(1)"
    assert clean_text("The cat sat.<end_of_turn>\n<eos>") == "The cat sat."
    assert clean_text("Dear Sam,\nThanks!   \n\nLet me know if you need anything else.") == "Dear Sam,\nThanks!"
    assert clean_text("  line one   \nline two \t\n\n") == "line one\nline two"
    # the user's own quotes stay
    assert clean_text('"Hi," she said.', '"hi," she sed.') == '"Hi," she said.'
    assert clean_text('"a" and "b"') == '"a" and "b"'


def test_fix_guard_empty_or_wildly_longer_keeps_the_original():
    empty = clean_output("fix", "   ", "teh cat")
    assert empty.text == "teh cat" and "nothing" in empty.note
    ramble = clean_output("fix", "The cat sat on the mat. " * 10, "teh cat sat on teh mat")
    assert ramble.text == "teh cat sat on teh mat" and "longer" in ramble.note
    dropped = clean_output("fix", "I received many emails.",
                           "I recieve alot of emails evry day and it is dificult to anser them all.")
    assert dropped.text.startswith("I recieve alot") and "dropped" in dropped.note
    good = clean_output("fix", " The cat sat on the mat.\n", "teh cat sat on teh mat")
    assert good.text == "The cat sat on the mat." and good.note is None


def test_sum_guard_shortens_a_summary_longer_than_its_text():
    text = "It rained all day. We stayed in."
    out = clean_output("sum", "It rained all day long. Nobody went out. We stayed in and read.", text)
    assert len(out.text) < len(text) and out.note


def test_stream_cleaner_strips_a_streamed_preamble():
    cleaner = StreamCleaner("write a greeting")
    pieces = ["Sure", "! Here is", " a greeting:\n", "Hello", " there", ",", " friend", ".  ", "\n"]
    emitted = "".join(cleaner.feed(p) for p in pieces) + cleaner.finish()
    assert emitted == cleaner.emitted == "Hello there, friend."


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc XYZ.,\n")), min_size=1, max_size=200),
       st.lists(st.integers(min_value=1, max_value=15), min_size=1, max_size=40))
def test_streamed_text_equals_the_cleaned_text(text, cuts):
    """Whatever the chunking, what is streamed equals the clean-up of the whole answer."""
    pieces, rest = [], text
    for n in cuts:
        pieces.append(rest[:n]); rest = rest[n:]
    pieces.append(rest)
    cleaner = StreamCleaner("")
    emitted = "".join(cleaner.feed(p) for p in pieces) + cleaner.finish()
    assert emitted == clean_text(text)


def test_a_fix_cut_off_by_the_length_limit_keeps_the_original():
    from assistant.commands.pipeline import CommandPipeline
    from assistant.config import command_specs, load_settings
    from assistant.ollama_client import Completion

    fix = command_specs(load_settings())["fix"]
    text, note = CommandPipeline._clean(fix, Completion(text="The cat sat on", done_reason="length"),
                                        "teh cat sat on teh mat")
    assert text == "teh cat sat on teh mat" and "cut off" in note
    text, note = CommandPipeline._clean(fix, Completion(text=" The cat sat on the mat.", done_reason="stop"),
                                        "teh cat sat on teh mat")
    assert (text, note) == ("The cat sat on the mat.", None)


def test_reasoning_of_thinking_models_is_dropped():
    assert clean_text("<think>The user wants a fix.\nOk.</think>\n\nThe cat sat.") == "The cat sat."
    cleaner = StreamCleaner("x")
    pieces = ["<thi", "nk>hmm, let me", " see</think>", "\nThe cat", " sat."]
    assert "".join(cleaner.feed(p) for p in pieces) + cleaner.finish() == "The cat sat."


def test_fix_guard_rejects_a_translation_or_another_text():
    de = clean_output("fix", "I have been eating an apple yesterday.", "ich habe gestern einen apfel gegest")
    assert de.text == "ich habe gestern einen apfel gegest" and "not a correction" in de.note
    other = clean_output("fix", "The weather is nice.", "please call me back tomorow morning")
    assert other.text == "please call me back tomorow morning" and other.note


def test_fix_guard_accepts_real_corrections():
    """Hand-written corrections, typo-heavy and with grammar changes, all pass the guard."""
    import json
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "fix_sentences.jsonl"
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line]
    pairs = [(r["input"], r["reference"]) for r in rows] + [
        ("Wen i was yung i wanted to becum a pilott.", "When I was young I wanted to become a pilot."),
        ("Me and him is going to the beech on saturday.", "He and I are going to the beach on Saturday."),
        ("je suis aller au marché hier avec mon frere", "Je suis allé au marché hier avec mon frère."),
        ("He runned to the bus stop but it was gone allready.", "He ran to the bus stop but it was already gone."),
    ]
    for given, wanted in pairs:
        out = clean_output("fix", wanted, given)
        assert (out.text, out.note) == (wanted, None), given

"""Pure text logic: hotkey parsing and chords, transcript clean-up, spoken commands."""

from __future__ import annotations

import pytest

from assistant.config import command_specs, load_settings
from assistant.voice.cleanup import clean_transcript, remove_fillers
from assistant.voice.hotkeys import ChordTracker, HotkeyError, parse_hotkey
from assistant.voice.spoken import parse_spoken_command


# -- hotkeys ----------------------------------------------------------------------------
def test_parse_hotkey_canonical_names():
    chord = parse_hotkey("<ctrl>+<alt>+space")
    assert chord.keys == {"ctrl", "alt", "space"}
    assert chord.trigger_keys == {"space"}
    assert parse_hotkey("<Control_R>+<Super>+F9").keys == {"ctrl", "cmd", "f9"}
    assert parse_hotkey("<ctrl>++").keys == {"ctrl", "+"}


@pytest.mark.parametrize("bad", ["", "  ", "<ctrl>", "<ctrl>++ +x", "a+a", "<ctrl>+"])
def test_parse_hotkey_rejects_malformed(bad):
    with pytest.raises(HotkeyError):
        parse_hotkey(bad)


def test_chord_tracker_press_repeat_release():
    t = ChordTracker({"dictate": parse_hotkey("<ctrl>+<alt>+space"),
                      "command": parse_hotkey("<ctrl>+<alt>+c")})
    assert t.key_down("ctrl_l") == []
    assert t.key_down("alt_l") == []
    assert t.key_down("space") == ["dictate"]
    assert t.key_down("space") == ["dictate"]  # auto-repeat is passed on; ptt ignores it
    assert t.key_up("alt_l") == ["dictate"]  # breaking the chord releases it
    assert t.key_up("space") == []
    assert t.key_down("alt_r") == []
    assert t.key_down("c") == ["command"]
    assert t.key_up("c") == ["command"]
    assert t.key_down("space") == ["dictate"]


def test_chord_tracker_space_alone_is_not_the_hotkey():
    t = ChordTracker({"dictate": parse_hotkey("<ctrl>+<alt>+space")})
    assert t.key_down("space") == []
    assert t.key_down("ctrl") == []  # modifiers are not triggers
    assert t.key_down("alt") == []


def test_chord_tracker_most_specific_chord_wins():
    t = ChordTracker({"a": parse_hotkey("<ctrl>+c"), "b": parse_hotkey("<ctrl>+<shift>+c")})
    t.key_down("ctrl")
    t.key_down("shift")
    assert t.key_down("c") == ["b"]


# -- clean-up ---------------------------------------------------------------------------
def test_fillers_removed_with_their_commas():
    assert remove_fillers("Um, so I think, uh, we should go") == "so I think, we should go"
    assert clean_transcript("  um so uh we should   go .") == "So we should go."
    # words that merely contain a filler are kept
    assert clean_transcript("the umbrella and the hummus", remove_filler_words=True) == \
        "The umbrella and the hummus"


def test_fillers_kept_when_disabled():
    assert clean_transcript("um, hello", remove_filler_words=False) == "Um, hello"


def test_only_fillers_or_punctuation_gives_nothing():
    assert clean_transcript("Um. Uh...") == ""
    assert clean_transcript("   ") == ""


def test_vocabulary_casing():
    out = clean_transcript("deploy it on kubernetes with postgresql", vocabulary=["Kubernetes", "PostgreSQL"])
    assert out == "Deploy it on Kubernetes with PostgreSQL"


def test_continuation_of_previous_dictation():
    # after a finished sentence: capital, separated by a space
    assert clean_transcript("How are you?", previous="Hello there.") == " How are you?"
    # mid-sentence: continue lower case
    assert clean_transcript("And then we left.", previous="We had lunch") == " and then we left."
    # "I" and acronyms keep their case
    assert clean_transcript("I agree.", previous="well") == " I agree."
    assert clean_transcript("NASA called.", previous="then") == " NASA called."
    # previous already ends with a space: no double space
    assert clean_transcript("next", previous="Done. ") == "Next"


# -- spoken commands --------------------------------------------------------------------
@pytest.fixture
def specs():
    return command_specs(load_settings())


def test_spoken_fix_and_summarize(specs):
    spec, body = parse_spoken_command("Fix, the cat are happy.", specs)
    assert spec.name == "fix" and body == "the cat are happy."
    spec, body = parse_spoken_command("Summarize: the meeting went long and we agreed on nothing.", specs)
    assert spec.name == "sum" and body.startswith("the meeting")
    spec, body = parse_spoken_command("summarise this text please", specs)
    assert spec.name == "sum" and body == "this text please"


def test_spoken_translate_builds_a_translation_command(specs):
    spec, body = parse_spoken_command("Translate to French: good morning everyone.", specs)
    assert spec.name == "translate" and "French" in spec.instruction
    assert body == "good morning everyone."
    spec, body = parse_spoken_command("translate guten Morgen", specs)
    assert "English" in spec.instruction and body == "guten Morgen"


def test_spoken_custom_prefix(specs):
    from dataclasses import replace

    mine = dict(specs)
    mine["mail"] = replace(specs["fix"], name="mail", prefix="mail:", style="custom",
                           instruction="Write a polite email.")
    spec, body = parse_spoken_command("Mail. Tell Bob the report is late.", mine)
    assert spec.name == "mail" and body == "Tell Bob the report is late."


def test_anything_else_is_gen(specs):
    spec, body = parse_spoken_command("Write me a haiku about rain.", specs)
    assert spec.name == "gen" and body == "me a haiku about rain."
    spec, body = parse_spoken_command("A short poem about the sea.", specs)
    assert spec.name == "gen" and body == "A short poem about the sea."


def test_command_word_without_text_falls_back_to_gen_or_nothing(specs):
    spec, body = parse_spoken_command("Fix.", specs)
    assert spec.name == "gen" and body == "Fix."
    assert parse_spoken_command("   ", specs) is None

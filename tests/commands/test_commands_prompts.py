"""Prompt building (chat and few-shot), prefix matching and model-kind detection: pure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.commands.model_kind import is_chat_template, prompt_mode_from_show
from assistant.commands.prompts import chat_request, completion_request, plain_prompt
from assistant.commands.registry import match_command
from assistant.config import CommandSpec, command_specs, load_settings


@pytest.fixture
def specs():
    return command_specs(load_settings())


def test_fix_completion_prompt_is_few_shot_ending_with_the_users_text(specs):
    req = completion_request(specs["fix"], "teh cat sat on teh mat")
    assert req.prompt.endswith("\n\nText: teh cat sat on teh mat\nCorrected:")
    blocks = req.prompt.split("\n\n")
    pairs = [b for b in blocks if b.startswith("Text: ")]
    assert len(pairs) >= 4  # several worked examples before the user's text
    assert all("\nCorrected: " in b for b in pairs[:-1])
    assert "\n" in req.stop and "Text:" in req.stop


def test_completion_prompt_joins_lines_so_the_one_line_pattern_holds(specs):
    req = completion_request(specs["sum"], "first line\n  second line\n")
    assert req.prompt.endswith("Text: first line second line\nSummary:")


def test_custom_command_uses_its_instruction_and_examples():
    spec = CommandSpec(name="tr", prefix="tr:", instruction="Translate the text into French.",
                       examples=(("Good morning", "Bonjour"),))
    req = completion_request(spec, "Thank you")
    assert req.prompt.startswith("Translate the text into French.")
    assert "Input: Good morning\nOutput: Bonjour" in req.prompt
    assert req.prompt.endswith("Input: Thank you\nOutput:")
    chat = chat_request(spec, "Thank you").messages
    assert chat[0]["role"] == "system" and chat[0]["content"].startswith("Translate the text into French.")
    assert "result only" in chat[0]["content"]
    assert chat[1:] == [{"role": "user", "content": "Good morning"},
                        {"role": "assistant", "content": "Bonjour"},
                        {"role": "user", "content": "Thank you"}]


def test_chat_prompt_is_system_plus_user(specs):
    msgs = chat_request(specs["fix"], "teh cat").messages
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "corrected text only" in msgs[0]["content"] and msgs[1]["content"] == "teh cat"
    override = replace(specs["sum"], instruction="Summarise in exactly one sentence.")
    assert chat_request(override, "x").messages[0]["content"] == "Summarise in exactly one sentence."


def test_plain_prompt_is_one_line(specs):
    assert plain_prompt(specs["fix"], "teh cat") == "Correct the spelling and grammar of this text: teh cat"


def test_prefix_matching(specs):
    spec, body = match_command("  fix:  teh cat ", specs)
    assert spec.name == "fix" and body == "teh cat"
    spec, body = match_command("Fix: Teh cat", specs)  # speech capitalises
    assert spec.name == "fix" and body == "Teh cat"
    assert match_command("fixed it", specs) is None
    assert match_command("hello fix: x", specs) is None
    more = dict(specs, fixit=CommandSpec(name="fixit", prefix="fix:it", style="fix"))
    assert match_command("fix:it now", more)[0].name == "fixit"  # the longest prefix wins
    spec, body = match_command("sum:", specs)
    assert spec.name == "sum" and body == ""


def test_model_kind_from_show():
    from inference.prompts.base_template import BASE_MODEL_TEMPLATE

    assert prompt_mode_from_show({"template": BASE_MODEL_TEMPLATE, "capabilities": ["completion"]}) == "completion"
    assert prompt_mode_from_show({"template": "{{ .Prompt }}"}) == "completion"
    assert prompt_mode_from_show({}) == "completion"
    gemma_it = ("{{- range .Messages }}<start_of_turn>{{ .Role }}\n{{ .Content }}<end_of_turn>\n"
                "{{ end }}<start_of_turn>model\n")
    assert prompt_mode_from_show({"template": gemma_it}) == "chat"
    assert prompt_mode_from_show({"template": "{{ if .System }}<|im_start|>system..."}) == "chat"
    assert prompt_mode_from_show({"template": "[INST] {{ .Prompt }} [/INST]"}) == "chat"
    assert prompt_mode_from_show({"template": "{{ .Prompt }}", "capabilities": ["completion", "tools"]}) == "chat"
    assert prompt_mode_from_show({"template": "", "model_info": {
        "tokenizer.chat_template": "{% for m in messages %}<|user|>{{ m.content }}{% endfor %}"}}) == "chat"
    assert not is_chat_template(None)


def test_spoken_prefixes_match_loosely_only_for_voice(specs):
    for spoken in ("Fix, teh cat", "fix. teh cat", "FIX teh cat", "Fix: teh cat"):
        spec, body = match_command(spoken, specs, loose=True)
        assert (spec.name, body) == ("fix", "teh cat")
    assert match_command("Fix teh cat", specs) is None          # typed text needs the colon
    assert match_command("fixing the car", specs, loose=True) is None
    assert match_command("summary of it", specs, loose=True) is None

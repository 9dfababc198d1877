"""The Modelfile parser: every instruction, quoting forms, and errors that name the line."""

import pytest

from inference.models.modelfile import ModelfileError, from_kind, parse


def test_full_modelfile_parses_every_instruction():
    mf = parse('''
# a comment line
FROM gemma3:270m
TEMPLATE """{{ if .System }}{{ .System }}
{{ end }}{{ .Prompt }}"""
SYSTEM "Be \\"terse\\"."
PARAMETER temperature 0.25
PARAMETER num_ctx 2048
PARAMETER stop "User:"
PARAMETER stop <end>
parameter use_mmap false
LICENSE """MIT
two lines"""
LICENSE Apache-2.0
MESSAGE user Hello there
MESSAGE assistant """Hi!
How can I help?"""
''')
    assert mf.from_ == "gemma3:270m" and mf.from_kind == "model" and mf.from_line == 3
    assert mf.template == "{{ if .System }}{{ .System }}\n{{ end }}{{ .Prompt }}"
    assert mf.system == 'Be "terse".'
    assert mf.parameters == {"temperature": 0.25, "num_ctx": 2048, "stop": ["User:", "<end>"],
                             "use_mmap": False}
    assert isinstance(mf.parameters["num_ctx"], int)
    assert mf.license == ["MIT\ntwo lines", "Apache-2.0"]
    assert mf.messages == [{"role": "user", "content": "Hello there"},
                           {"role": "assistant", "content": "Hi!\nHow can I help?"}]
    fields = mf.create_fields()
    assert fields["parameters"]["stop"] == ["User:", "<end>"]
    assert set(fields) == {"template", "system", "parameters", "license", "messages"}


def test_triple_quoted_on_one_line_and_multiline_start():
    mf = parse('FROM x\nSYSTEM """one line"""\nTEMPLATE """\nfirst\n  second\n"""\n')
    assert mf.system == "one line"
    assert mf.template == "\nfirst\n  second\n"


@pytest.mark.parametrize("value, kind", [
    ("sha256:" + "a" * 64, "blob"), ("sha256-" + "B" * 64, "blob"),
    ("./model.gguf", "path"), ("/abs/model.gguf", "path"), ("~/m.gguf", "path"),
    ("model.GGUF", "path"), ("llama3", "model"), ("host.example:5000/ns/m:tag", "model"),
])
def test_from_kinds(value, kind):
    assert from_kind(value) == kind


@pytest.mark.parametrize("text, line, fragment", [
    ("SYSTEM hi\n", None, "no FROM line"),
    ("FROM a\nFROM b\n", 2, "more than one FROM"),
    ("FROM a\n\nBOGUS x\n", 3, "unknown instruction 'BOGUS'"),
    ("FROM a\nPARAMETER temperature hot\n", 2, "invalid float value for parameter 'temperature'"),
    ("FROM a\nPARAMETER num_ctx 2.5\n", 2, "invalid int value"),
    ("FROM a\nPARAMETER not_a_param 1\n", 2, "unknown parameter 'not_a_param'"),
    ("FROM a\nPARAMETER temperature\n", 2, "needs a name and a value"),
    ("FROM a\nMESSAGE robot hi\n", 2, "role must be one of"),
    ("FROM a\nMESSAGE user\n", 2, "needs a role and content"),
    ("FROM a\nSYSTEM \"\"\"never closed\nstill open\n", 2, 'unterminated """'),
    ("FROM a\nSYSTEM \"open\n", 2, "unterminated quoted string"),
    ("FROM a\nSYSTEM \"a\" trailing\n", 2, "unexpected text after closing quote"),
    ("FROM a\nTEMPLATE \"\"\"x\n\"\"\" junk\n", 3, "unexpected text after closing"),
    ("FROM\n", 1, "FROM needs"),
])
def test_errors_name_the_line(text, line, fragment):
    with pytest.raises(ModelfileError) as err:
        parse(text)
    assert fragment in str(err.value)
    assert err.value.line == line
    if line:
        assert str(err.value).startswith(f"line {line}:")

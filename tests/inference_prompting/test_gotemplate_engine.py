"""The Go text/template engine: syntax, trimming, variables, control flow, functions, errors.

Expected outputs follow the semantics documented for Go's text/template package (and
fmt/encoding-json for printing); each case states the rule it checks.
"""

import datetime
from dataclasses import dataclass

import pytest

from inference.prompts.gotemplate import GoTemplateError, go_json, parse, render, uses_messages


# --- text, trimming, comments ---------------------------------------------------------------

@pytest.mark.parametrize(
    "template,expected",
    [
        ("plain text", "plain text"),
        ("a  {{- 1 -}}  b", "a1b"),  # trim markers eat all adjacent spaces
        ("a \n\t {{- 1 }} b", "a1 b"),  # left trim only
        ("a {{ 1 -}} \n\n b", "a 1b"),  # right trim only
        ("{{-3}}", "-3"),  # "{{-" without a space is a negative number, not a trim marker
        ("{{ 3 -}}\n x", "3x"),
        ("x {{/* a comment */}} y", "x  y"),
        ("x {{- /* trimmed comment */ -}} y", "xy"),
        ("x {{/* multi\nline */}}y", "x y"),
        ("{{ `raw {{ not an action }}` }}", "raw {{ not an action }}"),
        ('{{ "}}" }}', "}}"),  # a right delimiter inside a string does not end the action
        ("a{{ 1 }}\n{{- 2 }}", "a12"),
        # trim markers on control actions trim the text inside and after the block
        ("{{ if true -}}\n  yes  {{- end -}}\n  after", "yesafter"),
        ("{{ if false }}no{{ else -}}\n  else  {{- end }}", "else"),
        ("{{ range 3 -}}\n {{ . }} {{- end }}", "012"),
    ],
)
def test_text_trimming_and_comments(template, expected):
    assert render(template, {}) == expected


# --- fields and data ------------------------------------------------------------------------

@dataclass
class Msg:
    Role: str
    Content: str


def test_fields_on_maps_and_objects():
    data = {"A": {"B": {"C": "deep"}}, "M": Msg("user", "hi"), "L": [Msg("assistant", "yo")]}
    assert render("{{ .A.B.C }}", data) == "deep"
    assert render("{{ .M.Role }}:{{ .M.Content }}", data) == "user:hi"
    assert render("{{ range .L }}{{ .Role }}{{ end }}", data) == "assistant"
    assert render("{{ (index .L 0).Content }}", data) == "yo"  # field of a parenthesised value


def test_missing_map_key_is_nil_and_prints_no_value():
    # Go maps with missingkey=zero: a missing key is the nil interface, printed "<no value>".
    assert render("[{{ .Missing }}]", {}) == "[<no value>]"
    assert render("{{ if .Missing }}yes{{ else }}no{{ end }}", {}) == "no"
    assert render("{{ print .Missing }}", {}) == "<nil>"


def test_field_of_nil_and_unknown_struct_field_are_errors():
    with pytest.raises(GoTemplateError, match=r"nil pointer evaluating interface \{\}\.B"):
        render("{{ .A.B }}", {})
    with pytest.raises(GoTemplateError, match="can't evaluate field Nope"):
        render("{{ .M.Nope }}", {"M": Msg("user", "hi")})
    with pytest.raises(GoTemplateError, match="can't evaluate field X in type string"):
        render("{{ .S.X }}", {"S": "text"})


def test_dot_and_dollar():
    data = {"Name": "root", "Items": ["a", "b"]}
    assert render("{{ range .Items }}{{ . }}-{{ $.Name }};{{ end }}", data) == "a-root;b-root;"
    assert render("{{ with .Name }}{{ . }}{{ end }}", data) == "root"
    assert render("{{ $ }}", "scalar") == "scalar"


# --- variables ------------------------------------------------------------------------------

def test_variable_declaration_assignment_and_scope():
    assert render('{{ $x := "a" }}{{ $x }}{{ $x = "b" }}{{ $x }}', {}) == "ab"
    # assignment inside a control structure changes the outer variable
    assert render("{{ $n := 0 }}{{ range .L }}{{ $n = . }}{{ end }}{{ $n }}", {"L": [1, 2, 3]}) == "3"
    # a declaration inside {{if}} goes out of scope at {{end}}
    with pytest.raises(GoTemplateError, match='undefined variable "\\$y"'):
        parse("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}")
    # shadowing inside a block leaves the outer variable untouched
    assert render('{{ $x := "outer" }}{{ if true }}{{ $x := "inner" }}{{ $x }}{{ end }} {{ $x }}', {}) == "inner outer"


def test_range_variables():
    data = {"L": ["a", "b"], "M": {"b": 2, "a": 1}}
    assert render("{{ range $i, $e := .L }}{{ $i }}={{ $e }} {{ end }}", data) == "0=a 1=b "
    assert render("{{ range $e := .L }}{{ $e }}{{ end }}", data) == "ab"  # one variable = element
    # maps are visited in sorted key order
    assert render("{{ range $k, $v := .M }}{{ $k }}{{ $v }}{{ end }}", data) == "a1b2"
    assert render("{{ range .M }}{{ . }}{{ end }}", data) == "12"


# --- control flow ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value,expected",
    [
        (None, "F"), (False, "F"), (0, "F"), (0.0, "F"), ("", "F"), ([], "F"), ({}, "F"),
        (True, "T"), (1, "T"), (-1, "T"), (0.5, "T"), ("0", "T"), (" ", "T"), ([0], "T"),
        ({"k": None}, "T"), (Msg("", ""), "T"),  # a struct is always true
    ],
)
def test_go_truthiness(value, expected):
    assert render("{{ if .V }}T{{ else }}F{{ end }}", {"V": value}) == expected


def test_if_else_if_chain():
    tmpl = '{{ if eq .R "a" }}A{{ else if eq .R "b" }}B{{ else if eq .R "c" }}C{{ else }}other{{ end }}'
    assert [render(tmpl, {"R": r}) for r in "abcd"] == ["A", "B", "C", "other"]


def test_with_and_else_with():
    tmpl = "{{ with .A }}a={{ . }}{{ else with .B }}b={{ . }}{{ else }}none{{ end }}"
    assert render(tmpl, {"A": 1, "B": 2}) == "a=1"
    assert render(tmpl, {"A": 0, "B": 2}) == "b=2"
    assert render(tmpl, {}) == "none"


def test_range_else_break_continue_and_integers():
    assert render("{{ range .L }}x{{ else }}empty{{ end }}", {"L": []}) == "empty"
    assert render("{{ range .L }}x{{ else }}empty{{ end }}", {}) == "empty"  # nil
    tmpl = "{{ range .L }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}"
    assert render(tmpl, {"L": [1, 2, 3, 4, 5]}) == "13"
    assert render("{{ range 3 }}{{ . }}{{ end }}", {}) == "012"


def test_nested_ranges_restore_dot_and_variables():
    data = {"Outer": [{"N": "x", "In": [1, 2]}, {"N": "y", "In": [3]}]}
    tmpl = "{{ range $o := .Outer }}{{ range .In }}{{ $o.N }}{{ . }}{{ end }}{{ .N }};{{ end }}"
    assert render(tmpl, data) == "x1x2x;y3y;"


# --- pipelines and functions ----------------------------------------------------------------

def test_pipelines_pass_the_value_as_last_argument():
    assert render('{{ "x" | printf "%s-%s" "a" }}', {}) == "a-x"
    assert render("{{ .L | len }}", {"L": [1, 2, 3]}) == "3"
    assert render("{{ .L | len | printf \"%03d\" }}", {"L": [1, 2]}) == "002"
    assert render("{{ eq (len .L) 2 }}", {"L": [1, 2]}) == "true"


def test_comparisons():
    assert render('{{ eq .R "user" "system" }}', {"R": "system"}) == "true"  # eq with several
    assert render('{{ ne .R "user" }}', {"R": "system"}) == "true"
    assert render("{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1 2 }} {{ ge 3 2.5 }}", {}) == "true true false true"
    assert render('{{ lt "a" "b" }}', {}) == "true"
    with pytest.raises(GoTemplateError, match="incompatible types for comparison"):
        render('{{ eq "1" 1 }}', {})


def test_and_or_not_return_operands_and_short_circuit():
    assert render('{{ and 1 "x" }}|{{ and 0 "x" }}|{{ or "" "y" }}|{{ or 0 "" }}', {}) == "x|0|y|"
    assert render("{{ not .E }} {{ not 1 }}", {"E": []}) == "true false"
    # `index .L 10` would fail, but and/or stop at the deciding argument (Go 1.18+)
    assert render("{{ and false (index .L 10) }}", {"L": []}) == "false"
    assert render("{{ or true (index .L 10) }}", {"L": []}) == "true"


def test_len_index_slice():
    data = {"S": "héllo", "L": ["a", "b", "c"], "M": {"k": "v"}}
    assert render("{{ len .S }} {{ len .L }} {{ len .M }}", data) == "6 3 1"  # len counts bytes
    assert render('{{ index .L 1 }}{{ index .M "k" }}[{{ index .M "nope" }}]', data) == "bv[<no value>]"
    assert render("{{ slice .L 1 }}|{{ slice .L 0 2 }}|{{ slice .S 0 1 }}", data) == "[b c]|[a b]|h"
    with pytest.raises(GoTemplateError, match="index out of range: 5"):
        render("{{ index .L 5 }}", data)
    with pytest.raises(GoTemplateError, match="index out of range"):
        render("{{ slice .L 2 9 }}", data)


def test_print_printf_println():
    # Sprint puts spaces between operands only when neither side is a string
    assert render('{{ print 1 2 "a" 3 "b" "c" }}', {}) == "1 2a3bc"
    assert render('{{ println "a" 1 }}', {}) == "a 1\n"
    assert render('{{ printf "%s|%d|%v|%q|%5.2f|%t|%x|%%" "s" 42 1.5 "q\\"" 3.14159 true 255 }}', {}) \
        == 's|42|1.5|"q\\""| 3.14|true|ff|%'
    assert render('{{ printf "%d" "x" }}', {}) == "%!d(string=x)"
    assert render('{{ printf "%s %s" "a" }}', {}) == "a %!s(MISSING)"


def test_values_print_like_go_fmt():
    data = {"L": [1, "a", None], "M": {"b": 1, "a": [True]}, "F": 1e6, "G": 0.25, "I": 7}
    assert render("{{ .L }}", data) == "[1 a <nil>]"
    assert render("{{ .M }}", data) == "map[a:[true] b:1]"
    assert render("{{ .F }} {{ .G }} {{ .I }}", data) == "1e+06 0.25 7"


def test_json_is_compact_go_json():
    data = {"V": {"b": [1, 2.5, None], "a": "<tag> & \"q\"", "c": 1.0, "d": True}}
    assert render("{{ json .V }}", data) == \
        '{"a":"\\u003ctag\\u003e \\u0026 \\"q\\"","b":[1,2.5,null],"c":1,"d":true}'
    assert go_json("é\n") == '"é\\n"'
    assert render("{{ json .Missing }}", {}) == "null"


def test_current_date():
    assert render("{{ currentDate }}", {}) == datetime.date.today().strftime("%Y-%m-%d")
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    assert render("{{ yesterdayDate }}", {}) == yesterday.strftime("%Y-%m-%d")


def test_html_and_urlquery():
    assert render('{{ html "<a href=\'x\'>&</a>" }}', {}) == "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
    assert render('{{ urlquery "a b&c" }}', {}) == "a+b%26c"


# --- literals ---------------------------------------------------------------------------------

def test_literals():
    assert render(r'{{ "tab\there \u00e9 \x41 \101 \\ \"" }}', {}) == 'tab\there é A A \\ "'
    assert render("{{ `raw\\n` }}", {}) == "raw\\n"
    assert render("{{ 0x1F }} {{ 1_000 }} {{ -2 }} {{ 1.5 }} {{ 1e3 }} {{ 'a' }}", {}) == "31 1000 -2 1.5 1000 97"
    assert render("{{ true }} {{ false }}", {}) == "true false"
    assert render("{{ print nil }}", {}) == "<nil>"
    with pytest.raises(GoTemplateError, match="nil is not a command"):
        render("{{ nil }}", {})


# --- errors with positions ------------------------------------------------------------------

@pytest.mark.parametrize(
    "template,message,line,col",
    [
        ("hello {{ .X", "unclosed action", 1, 7),
        ("{{ if .X }}\nno end", "unexpected EOF", 2, 7),
        ("ok\n  {{ end }}", "unexpected {{end}}", 2, 3),
        ("{{ else }}", "unexpected {{else}}", 1, 1),
        ("{{ nosuch .X }}", 'function "nosuch" not defined', 1, 4),
        ("{{ $undefined }}", 'undefined variable "$undefined"', 1, 4),
        ('{{ "open }}', "unterminated quoted string", 1, 4),
        ("{{ 12ab }}", "bad number syntax", 1, 4),
        ("{{ break }}", "{{break}} outside {{range}}", 1, 4),
        ("{{/* never closed", "unclosed comment", 1, 1),
        ("{{ }}", "missing value for command", 1, 1),
        ("{{ (1 }}", "unclosed left paren", 1, 7),
        ("{{ .A | }}", "missing command after |", 1, 9),
        ("x\n{{ define \"t\" }}{{ end }}", "not supported", 2, 4),
        ("{{ 1 2 }}", None, None, None),  # parses; fails at execution (below)
    ],
)
def test_syntax_errors_have_positions(template, message, line, col):
    if message is None:
        with pytest.raises(GoTemplateError, match="can't give argument to non-function"):
            render(template, {})
        return
    with pytest.raises(GoTemplateError) as err:
        parse(template)
    assert message in str(err.value)
    assert (err.value.line, err.value.col) == (line, col)
    assert f"line {line}, col {col}" in str(err.value)


def test_execution_errors_have_positions():
    with pytest.raises(GoTemplateError) as err:
        render("line one\n  {{ index .L 3 }}", {"L": []})
    assert (err.value.line, err.value.col) == (2, 6)
    assert "error calling index" in str(err.value)


def test_wrong_argument_counts():
    with pytest.raises(GoTemplateError, match="wrong number of args for len"):
        render("{{ len }}", {})
    with pytest.raises(GoTemplateError, match="wrong number of args for ne"):
        render("{{ ne 1 }}", {})


# --- parse cache and identifiers -------------------------------------------------------------

def test_parse_is_cached_and_reusable():
    src = "{{ .A }}-{{ .B }}"
    assert parse(src) is parse(src)
    t = parse(src)
    assert t.execute({"A": 1, "B": 2}) == "1-2"
    assert t.execute({"A": 3, "B": 4}) == "3-4"


def test_huge_templates_are_parsed_but_not_cached():
    from inference.prompts.gotemplate import CACHEABLE_TEMPLATE_CHARS

    big = "x" * (CACHEABLE_TEMPLATE_CHARS + 1) + "{{ .A }}"
    assert parse(big) is not parse(big)
    assert render(big, {"A": "!"}).endswith("x!")


def test_uses_messages():
    assert uses_messages("{{ range .Messages }}{{ .Content }}{{ end }}")
    assert uses_messages("{{ range $i, $m := $.Messages }}{{ end }}")
    assert uses_messages("{{ if .messages }}{{ end }}")  # Ollama lower-cases identifiers
    assert not uses_messages("{{ .System }} {{ .Prompt }}")
    assert not uses_messages("Messages as plain text")


# --- limits against hostile templates ---------------------------------------------------------

def test_runaway_templates_are_stopped_with_an_error():
    with pytest.raises(GoTemplateError, match="exceeds .* steps"):
        render("{{ range 100000000 }}{{ end }}", {})
    with pytest.raises(GoTemplateError, match="exceeds .* steps"):
        render("{{ range 5000 }}{{ range 5000 }}x{{ end }}{{ end }}", {})
    big = "x" * (1024 * 1024)
    with pytest.raises(GoTemplateError, match="output exceeds"):
        render("{{ range 40 }}{{ $.B }}{{ end }}", {"B": big})
    with pytest.raises(GoTemplateError, match="nesting too deep"):
        parse("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}")
    assert render("{{ range 0 }}x{{ else }}none{{ end }}", {}) == "none"
    assert render("{{ range -3 }}x{{ else }}none{{ end }}", {}) == "none"


# --- properties ---------------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.text())
def test_text_without_actions_renders_unchanged(text):
    text = text.replace("{{", "{ {")
    assert render(text, {}) == text


@given(st.text())
def test_values_print_unchanged(value):
    assert render("{{ .S }}", {"S": value}) == value


@given(st.text())
def test_printf_q_quotes_round_trip_through_the_lexer(value):
    quoted = render('{{ printf "%q" .S }}', {"S": value})
    assert render("{{ " + quoted + " }}", {}) == value

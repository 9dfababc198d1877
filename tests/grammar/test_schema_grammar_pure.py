"""The JSON Schema -> GBNF converter, checked with llama.cpp's own grammar engine.

Every grammar must compile in llama.cpp; for each schema, texts the grammar accepts must be
valid against the schema (jsonschema decides), and the intended valid texts must be accepted.
Property tests throw random ranges and values at the number grammars.
"""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from inference.engine.format_error import FormatError
from inference.engine.grammar import gbnf_for_format, grammar_for_format
from inference.engine.json_schema_grammar import schema_to_gbnf
from inference.engine.number_grammar import int_range, number_range
from inference.engine.regex_grammar import pattern_to_gbnf

FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def valid(schema, text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS).is_valid(value)


def check(checker, schema, accepted: list[str], rejected: list[str]) -> str:
    """Assert the grammar accepts ``accepted`` (all valid) and rejects ``rejected``; and that
    nothing it accepts is invalid."""
    gbnf = schema_to_gbnf(schema)
    assert checker.compiles(gbnf), gbnf
    for text in accepted:
        assert valid(schema, text), f"test bug: {text} is not valid"
        assert checker.accepts(gbnf, text), f"valid {text!r} rejected by\n{gbnf}"
    for text in rejected:
        assert not checker.accepts(gbnf, text), f"{text!r} accepted by\n{gbnf}"
    return gbnf


def test_issue_example_integer_maximum_holds(checker):
    schema = {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0, "maximum": 30}},
              "required": ["age"]}
    check(checker, schema, ['{"age": 0}', '{"age": 30}', '{"age":7}'],
          ['{"age": 300}', '{"age": 31}', '{"age": -1}', '{"age": 030}', '{"age": 3.5}', '{}'])


@pytest.mark.parametrize("schema,ok,bad", [
    ({"type": "integer", "minimum": -5, "maximum": 12}, ["-5", "0", "12", "9"], ["-6", "13", "-0", "100"]),
    ({"type": "integer", "exclusiveMinimum": 9, "exclusiveMaximum": 101}, ["10", "100"], ["9", "101", "0"]),
    ({"type": "integer", "minimum": 1000}, ["1000", "99999", "123456789"], ["999", "-1000", "0"]),
    ({"type": "integer", "maximum": -10}, ["-10", "-999"], ["-9", "0", "10"]),
    ({"type": "integer", "minimum": 2.5, "maximum": 4.5}, ["3", "4"], ["2", "5"]),
    ({"type": "integer", "minimum": 0, "exclusiveMinimum": True, "maximum": 3,
      "$schema": "http://json-schema.org/draft-04/schema#"}, None, None),
])
def test_integer_ranges(checker, schema, ok, bad):
    if ok is None:  # draft 4 boolean exclusiveMinimum, validated with its own draft
        gbnf = schema_to_gbnf(schema)
        assert checker.accepts(gbnf, "1") and checker.accepts(gbnf, "3")
        assert not checker.accepts(gbnf, "0")
        return
    check(checker, schema, ok, bad)


@pytest.mark.parametrize("schema,ok,bad", [
    ({"type": "number", "minimum": 0, "maximum": 1}, ["0", "1", "0.5", "1.0", "0.999"], ["1.01", "-0.1", "2"]),
    ({"type": "number", "exclusiveMinimum": -2.5, "maximum": 3.75},
     ["-2.4", "-2.49999", "3.75", "0", "-1"], ["-2.5", "-2.50", "3.76", "4", "-3"]),
    ({"type": "number", "exclusiveMaximum": 0}, ["-0.001", "-12.5"], ["0", "0.0", "-0", "1"]),
    ({"type": "number", "minimum": 0.1, "exclusiveMaximum": 0.2}, ["0.1", "0.15", "0.1999"], ["0.2", "0.09", "0.25"]),
])
def test_number_ranges(checker, schema, ok, bad):
    check(checker, schema, ok, bad)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lo=st.one_of(st.none(), st.integers(-3000, 3000)), span=st.integers(0, 5000),
       open_hi=st.booleans(), n=st.integers(-10000, 10000))
def test_int_range_property(checker, lo, span, open_hi, n):
    hi = None if open_hi else (lo if lo is not None else 0) + span
    expr = int_range(lo, hi)
    gbnf = f"root ::= {expr}\n"
    inside = (lo is None or n >= lo) and (hi is None or n <= hi)
    assert checker.accepts(gbnf, str(n)) == inside, (lo, hi, n, expr)


decimals = st.decimals(min_value=-50, max_value=50, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lo=st.one_of(st.none(), decimals), hi=st.one_of(st.none(), decimals), lo_incl=st.booleans(),
       hi_incl=st.booleans(), x=decimals)
def test_number_range_property(checker, lo, hi, lo_incl, hi_incl, x):
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    try:
        expr = number_range(lo, lo_incl, hi, hi_incl)
    except FormatError:
        assert lo is not None and hi is not None and lo == hi and not (lo_incl and hi_incl)
        return
    gbnf = f"root ::= {expr}\n"
    text = format(x.normalize(), "f") if x != 0 else "0"
    value = Decimal(text)
    inside = ((lo is None or (value >= lo if lo_incl else value > lo))
              and (hi is None or (value <= hi if hi_incl else value < hi)))
    assert checker.accepts(gbnf, text) == inside, (lo, lo_incl, hi, hi_incl, text, expr)


def test_string_lengths_count_characters_as_validators_do(checker):
    schema = {"type": "string", "minLength": 2, "maxLength": 4}
    check(checker, schema, ['"ab"', '"abcd"', '"é\\n"', '"\\u00e9x"', '"😀😀"'],
          ['"a"', '"abcde"', '""', '"\\ud83d\\ude00"'])


def test_enum_and_const(checker):
    check(checker, {"enum": ["red", "green", 3, None, {"a": 1}]},
          ['"red"', '"green"', "3", "null", '{"a":1}'], ['"blue"', "4", '"Red"'])
    check(checker, {"const": "fixed"}, ['"fixed"'], ['"other"'])
    # enum values the rest of the schema rejects are left out
    check(checker, {"type": "string", "enum": ["a", 1, "bb"], "maxLength": 1}, ['"a"'], ["1", '"bb"'])
    with pytest.raises(FormatError, match="enum"):
        schema_to_gbnf({"type": "integer", "enum": ["x"]})


@pytest.mark.parametrize("pattern,ok,bad", [
    (r"^[A-Z]{2}-\d{3,4}$", ["AB-123", "ZZ-0000"], ["ab-123", "AB-12", "AB-12345"]),
    (r"^(cat|dog)s?$", ["cat", "dogs"], ["cow", "cats!"]),
    (r"^a.c$", ["abc", "a\"c", "a\\c"], ["a\nc", "ac"]),
    (r"^[^0-9\s]+$", ["abc", "x-y"], ["a1", "a b"]),
    (r"^\w+@\w+\.(com|org)$", ["me@ex.com"], ["me@ex.net", "@ex.com"]),
    (r"^(?:\+\d{1,3} )?\(\d{3}\) \d{3}-\d{4}$", ["(555) 123-4567", "+1 (555) 123-4567"], ["555-1234"]),
    (r"^[a-f0-9]{0,3}x*$", ["", "abc", "0xxx"], ["abcd", "g"]),
    (r"[0-9]+", ["123"], ["12a"]),  # unanchored: the grammar gives a full match (search finds it)
])
def test_pattern(checker, pattern, ok, bad):
    schema = {"type": "string", "pattern": pattern}
    check(checker, schema, [json.dumps(t) for t in ok], [json.dumps(t) for t in bad])


def test_pattern_with_lengths_when_one_class_repeats(checker):
    check(checker, {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 4},
          ['"ab"', '"abcd"'], ['"a"', '"abcde"', '"AB"'])
    check(checker, {"type": "string", "pattern": r"^id-\d*$", "maxLength": 5}, ['"id-"', '"id-12"'],
          ['"id-123"', '"ix-1"'])


@pytest.mark.parametrize("pattern", [r"(?=a)b", r"(a)\1", r"\bword", r"(?i)abc", r"a*+", r"a**"])
def test_pattern_beyond_the_subset_is_a_clear_error(pattern):
    with pytest.raises(FormatError, match="pattern"):
        pattern_to_gbnf(pattern)


@pytest.mark.parametrize("fmt,ok,bad", [
    ("date", ["2024-02-28", "1999-12-31"], ["2024-02-30", "2024-13-01", "24-01-01"]),
    ("time", ["12:30:00Z", "23:59:59+02:00", "08:00:00.123Z"], ["24:00:00Z", "12:30"]),
    ("date-time", ["2024-05-01T10:00:00Z"], ["2024-05-01 10:00:00"]),
    ("uuid", ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567e89b12d3a456426614174000"]),
    ("email", ["a.b@example.org"], ["nobody"]),
    ("ipv4", ["192.168.0.1", "0.0.0.0"], ["256.1.1.1", "1.2.3"]),
])
def test_formats(checker, fmt, ok, bad):
    check(checker, {"type": "string", "format": fmt}, [json.dumps(t) for t in ok], [json.dumps(t) for t in bad])


def test_required_optional_and_no_extra_properties(checker):
    schema = {"type": "object", "additionalProperties": False, "required": ["b"],
              "properties": {"a": {"type": "boolean"}, "b": {"type": "null"}, "c": {"type": "integer"}}}
    check(checker, schema, ['{"a": true, "b": null}', '{"b": null}', '{"b": null, "c": 1}',
                            '{"a": false, "b": null, "c": 2}'],
          ['{"a": true}', '{}', '{"b": null, "d": 1}', '{"b": null, "b": null}'])
    only_optional = {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}
    check(checker, only_optional, ["{}", '{"x": 1}', '{"y": 2}', '{"x": 1, "y": 2}'], ['{"z": 1}', '{"x": 1,}'])


def test_additional_properties_schema_never_repeats_a_declared_key(checker):
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"],
              "additionalProperties": {"type": "string", "maxLength": 3}}
    check(checker, schema, ['{"id": 1}', '{"id": 1, "name": "abc"}', '{"id": 1, "i": "x", "idx": "y"}'],
          ['{"id": 1, "id": "abc"}', '{"id": 1, "name": 5}', '{"id": 1, "name": "abcd"}'])
    free = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
    check(checker, free, ["{}", '{"a": 1, "b": 2}'], ['{"a": -1}'])


def test_nested_objects_and_arrays(checker):
    schema = {"type": "object", "required": ["people"], "properties": {"people": {
        "type": "array", "minItems": 1, "maxItems": 2,
        "items": {"type": "object", "required": ["name", "age"], "additionalProperties": False,
                  "properties": {"name": {"type": "string", "maxLength": 5},
                                 "age": {"type": "integer", "minimum": 0, "maximum": 120}}}}}}
    check(checker, schema, ['{"people": [{"name": "Ann", "age": 30}]}',
                            '{"people": [{"name": "A", "age": 1}, {"name": "B", "age": 120}]}'],
          ['{"people": []}', '{"people": [{"name": "Ann", "age": 130}]}',
           '{"people": [{"name": "A", "age": 1}, {"name": "B", "age": 2}, {"name": "C", "age": 3}]}'])


def test_array_prefix_items_and_counts(checker):
    schema = {"type": "array", "prefixItems": [{"type": "string", "maxLength": 2}, {"type": "integer"}],
              "items": {"type": "boolean"}, "maxItems": 3}
    check(checker, schema, ['["ab", 1]', '["a", 2, true]'], ['["a", 2, true, false]', '[1, 2]', '["a", 2, 3]'])
    closed = {"type": "array", "prefixItems": [{"const": 1}], "items": False}
    check(checker, closed, ["[1]"], ["[1, 1]", "[2]"])
    counted = {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3}
    check(checker, counted, ["[1, 2]", "[1, 2, 3]"], ["[1]", "[1, 2, 3, 4]", "[]"])


def test_anyof_oneof_allof(checker):
    check(checker, {"anyOf": [{"type": "integer", "maximum": 3}, {"type": "string", "maxLength": 1}]},
          ["3", '"a"'], ["4", '"ab"'])
    check(checker, {"oneOf": [{"type": "object", "required": ["kind"], "properties": {"kind": {"const": "cat"}}},
                              {"type": "object", "required": ["kind"], "properties": {"kind": {"const": "dog"}}}]},
          ['{"kind": "cat"}', '{"kind": "dog"}'], ['{"kind": "cow"}'])
    merged = {"allOf": [{"type": "object", "properties": {"a": {"type": "integer", "minimum": 0}}, "required": ["a"]},
                        {"properties": {"a": {"maximum": 5}, "b": {"type": "boolean"}}}]}
    check(checker, merged, ['{"a": 5}', '{"a": 0, "b": true}'], ['{"a": 6}', '{"a": -1}', '{"b": true}'])
    with pytest.raises(FormatError, match="oneOf"):
        schema_to_gbnf({"oneOf": [{"type": "integer"}, {"type": "number"}]})


def test_ref_defs_and_recursion(checker):
    schema = {"$defs": {"node": {"type": "object", "required": ["v"], "additionalProperties": False,
                                 "properties": {"v": {"type": "integer", "minimum": 0, "maximum": 9},
                                                "kids": {"type": "array", "maxItems": 2,
                                                         "items": {"$ref": "#/$defs/node"}}}}},
              "$ref": "#/$defs/node"}
    check(checker, schema, ['{"v": 1}', '{"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": [{"v": 4}]}]}'],
          ['{"v": 10}', '{"v": 1, "kids": [{"v": 12}]}'])
    legacy = {"definitions": {"c": {"enum": ["x", "y"]}}, "type": "array", "items": {"$ref": "#/definitions/c"}}
    check(checker, legacy, ['["x", "y"]'], ['["z"]'])


def test_type_lists_apply_keywords_per_type(checker):
    check(checker, {"type": ["integer", "null"], "minimum": 1}, ["1", "null"], ["0", '"1"'])


@pytest.mark.parametrize("schema,words", [
    ({"type": "integer", "multipleOf": 3}, "multipleOf"),
    ({"type": "array", "uniqueItems": True}, "uniqueItems"),
    ({"not": {"type": "string"}}, "'not'"),
    ({"$ref": "https://example.com/s.json"}, "$ref"),
    ({"$ref": "#/$defs/missing"}, "points at nothing"),
    ({"type": "integer", "minimum": 5, "maximum": 1}, "no integer"),
    ({"type": "string", "pattern": "^a+b+$", "maxLength": 3}, "pattern"),
    ({"type": "string", "pattern": "^[a-z]{5}$", "maxLength": 3}, "only matches 5"),
    ({"type": "strin"}, "invalid JSON schema"),
    ({"anyOf": [{"$ref": "#"}, {"type": "null"}]}, "refers to itself"),
    ({"type": "object", "required": ["a"], "additionalProperties": False}, "forbidden"),
])
def test_what_cannot_be_held_is_a_format_error(schema, words):
    with pytest.raises(FormatError) as info:
        schema_to_gbnf(schema)
    assert words in str(info.value)


def test_entry_points_keep_their_contract(checker):
    assert grammar_for_format(None) is None and gbnf_for_format("") is None
    g = grammar_for_format({"type": "integer", "maximum": 3})
    assert g._root == "root" and checker.accepts(g._grammar, "3") and not checker.accepts(g._grammar, "4")
    assert checker.accepts(grammar_for_format("json")._grammar, '{"a": [1, "x"]}')
    for bad in ("yaml", 3, ["json"]):
        with pytest.raises(FormatError):
            grammar_for_format(bad)


def test_pydantic_style_schema(checker):
    """What `Model.model_json_schema()` produces (Ollama's documented use), written out."""
    schema = {"$defs": {"Pet": {"properties": {"name": {"title": "Name", "type": "string", "maxLength": 8},
                                               "kind": {"enum": ["cat", "dog"], "title": "Kind", "type": "string"}},
                                "required": ["name", "kind"], "title": "Pet", "type": "object"}},
              "properties": {"owner": {"title": "Owner", "type": "string", "maxLength": 8},
                             "pets": {"items": {"$ref": "#/$defs/Pet"}, "title": "Pets", "type": "array", "maxItems": 2},
                             "nick": {"anyOf": [{"type": "string", "maxLength": 4}, {"type": "null"}], "default": None}},
              "required": ["owner", "pets"], "title": "Owner", "type": "object"}
    check(checker, schema, ['{"owner": "Al", "pets": [{"name": "Rex", "kind": "dog"}], "nick": null}',
                            '{"owner": "Al", "pets": []}'],
          ['{"owner": "Al", "pets": [{"name": "Rex", "kind": "cow"}]}', '{"pets": []}'])


# Python's re is the oracle: every full match must be accepted (in its JSON encoding), and
# anything accepted must be found by re.search, as validators do.
ORACLE_PATTERNS = [r"^[a-c]{1,3}(x|yz)*[0-9]?$", r'^"[^"\\]*"\\?$', r"^(ab|a)(b|c){0,2}\.?-$",
                   r"^[\t -~]{0,4}$", r"^(?:[A-F]\d){1,2}[^a-z\n]?$"]
ASCII = st.characters(min_codepoint=0, max_codepoint=127)


@pytest.mark.parametrize("pattern", ORACLE_PATTERNS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_pattern_against_pythons_re(checker, pattern, data):
    import re

    gbnf = schema_to_gbnf({"type": "string", "pattern": pattern})
    match = data.draw(st.from_regex(pattern, fullmatch=True, alphabet=ASCII))
    assert checker.accepts(gbnf, json.dumps(match, ensure_ascii=False)), (pattern, match)
    other = data.draw(st.text(alphabet=ASCII, max_size=6))
    if checker.accepts(gbnf, json.dumps(other)):
        assert re.search(pattern, other), (pattern, other)

"""Pure helpers of the server: OLLAMA_HOST parsing, stop-string hold-back, sampling options,
``format`` to grammar."""

from __future__ import annotations

import pytest

from inference.cli.commands import HostError, parse_host
from inference.engine.runtime import FormatError, SamplingParams, StopMatcher, grammar_for_format


@pytest.mark.parametrize("value, expected", [
    (None, ("http", "127.0.0.1", 11434)),
    ("", ("http", "127.0.0.1", 11434)),
    ("127.0.0.1:8080", ("http", "127.0.0.1", 8080)),
    ("http://127.0.0.1:9000", ("http", "127.0.0.1", 9000)),
    ("http://example.lan", ("http", "example.lan", 80)),
    ("https://example.lan", ("https", "example.lan", 443)),
    (":7777", ("http", "", 7777)),
    ("0.0.0.0", ("http", "0.0.0.0", 11434)),
    ("localhost:0", ("http", "localhost", 0)),
    ("[::1]:5000", ("http", "::1", 5000)),
    ("http://127.0.0.1:9000/some/path", ("http", "127.0.0.1", 9000)),
])
def test_parse_host_accepts_ollamas_forms(value, expected):
    spec = parse_host(value)
    assert (spec.scheme, spec.host, spec.port) == expected


def test_parse_host_client_url_and_bind_host():
    assert parse_host(":7777").bind_host == "0.0.0.0"
    assert parse_host(":7777").client_url == "http://127.0.0.1:7777"
    assert parse_host("[::1]:5000").client_url == "http://[::1]:5000"


@pytest.mark.parametrize("value", ["host:notaport", "host:70000", "ftp://host:1", "host:"])
def test_parse_host_rejects_bad_values(value):
    with pytest.raises(HostError):
        parse_host(value)


def feed_all(stops, pieces):
    m = StopMatcher(stops)
    out = []
    stopped = False
    for p in pieces:
        text, stopped = m.feed(p)
        out.append(text)
        if stopped:
            break
    if not stopped:
        out.append(m.flush())
    return "".join(out), stopped


def test_stop_string_split_across_tokens_is_never_emitted():
    text, stopped = feed_all(["\nUser:"], ["Hello", " world", "\n", "Us", "er:", " more"])
    assert (text, stopped) == ("Hello world", True)


def test_held_back_text_is_released_when_it_is_not_a_stop():
    m = StopMatcher(["STOP"])
    assert m.feed("abc ST") == ("abc ", False)
    assert m.feed("ART") == ("START", False)
    assert m.flush() == ""
    text, stopped = feed_all(["STOP"], ["end ST"])
    assert (text, stopped) == ("end ST", False)


def test_earliest_of_several_stops_wins():
    text, stopped = feed_all(["b", "xyz"], ["a xyz b"])
    assert (text, stopped) == ("a ", True)


def test_no_stops_passes_text_through():
    m = StopMatcher(None)
    assert m.feed("abc") == ("abc", False)


def test_sampling_params_from_ollama_options():
    p = SamplingParams.from_options({"temperature": 0, "top_k": 5, "stop": "x", "seed": 3, "num_predict": 7})
    assert (p.temperature, p.top_k, p.stop, p.seed, p.num_predict) == (0.0, 5, ("x",), 3, 7)
    assert SamplingParams.from_options({"stop": None}).stop == ()


def test_format_to_grammar():
    assert grammar_for_format(None) is None
    assert "root" in grammar_for_format("json")._grammar
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert "root" in grammar_for_format(schema)._grammar
    for bad in ("yaml", 42, ["json"]):
        with pytest.raises(FormatError):
            grammar_for_format(bad)


def test_rfc3339_parsing_and_human_times():
    from datetime import datetime, timedelta, timezone

    from inference.cli.commands import _parse_time, human_size, human_time

    assert _parse_time("2026-11-22T00:37:47.123456789Z") == datetime(2026, 11, 22, 0, 37, 47, 123456, timezone.utc)
    assert _parse_time("2318-01-01T00:00:00.123+01:00").utcoffset() == timedelta(hours=1)
    assert _parse_time("2026-11-22T00:37:47-07:00").utcoffset() == timedelta(hours=-7)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert human_time(now - timedelta(minutes=3), now) == "3 minutes ago"
    assert human_time(now + timedelta(seconds=299), now) == "4 minutes from now"
    assert human_time(now + timedelta(days=365 * 290), now) == "Forever"
    assert human_size(253_122_707) == "253 MB" and human_size(1_500_000_000) == "1.5 GB"


def test_option_arguments_of_run():
    from inference.cli.commands import parse_option_args

    assert parse_option_args(["num_predict=64", "temperature=0.2", "stop=END", "stop=\\n\\n", "seed=1"]) == {
        "num_predict": 64, "temperature": 0.2, "stop": ["END", "\\n\\n"], "seed": 1}

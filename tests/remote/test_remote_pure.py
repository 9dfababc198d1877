"""Where the server is (loopback or not) and the OpenAI protocol translations, as pure logic."""

from __future__ import annotations

import pytest

from assistant import openai_protocol as oa
from assistant.config import ConfigError, validate_settings
from assistant.server_location import is_loopback_host, leaves_machine, remote_host, server_api


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.8.7", "localhost", "LOCALHOST", "app.localhost",
                                  "::1", "[::1]"])
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["192.168.1.20", "gpu-box.lan", "10.0.0.1", "example.com", "::2",
                                  "localhost.example.com", ""])
def test_other_hosts_are_not_loopback(host):
    assert not is_loopback_host(host)


def test_the_notice_names_the_host_and_port():
    assert leaves_machine("http://127.0.0.1:11434") is None
    assert leaves_machine("http://[::1]:8000") is None
    assert leaves_machine("http://gpu-box.lan:8000") == "text leaves this machine, to gpu-box.lan:8000"
    assert leaves_machine("https://[2001:db8::5]:443/v1") == "text leaves this machine, to [2001:db8::5]:443"
    assert remote_host("http://10.1.2.3:11434") == "10.1.2.3:11434"


def test_api_setting_defaults_to_ollama_and_rejects_others():
    assert server_api({}) == "ollama"
    assert server_api({"server": {"api": "OpenAI"}}) == "openai"
    with pytest.raises(ValueError, match="ollama"):
        server_api({"server": {"api": "grpc"}})
    with pytest.raises(ConfigError, match="api"):
        validate_settings({"server": {"api": "grpc", "model": "m"}})


def test_api_prefix_accepts_urls_with_or_without_v1():
    assert oa.api_prefix("http://h:8000") == "/v1"
    assert oa.api_prefix("http://h:8000/v1/") == "/v1"
    assert oa.api_prefix("http://h:8000/llm") == "/llm/v1"


def test_ollama_options_become_openai_fields():
    fields = oa.request_fields({"temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 7, "num_predict": 64,
                                "stop": "\n\n", "repeat_penalty": 1.15, "num_ctx": 4096, "mirostat": 0})
    assert fields == {"temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 7, "max_tokens": 64,
                      "stop": ["\n\n"], "repeat_penalty": 1.15, "repetition_penalty": 1.15}
    assert "max_tokens" not in oa.request_fields({"num_predict": -1})
    assert len(oa.request_fields({"stop": ["a", "b", "c", "d", "e"]})["stop"]) == 4  # OpenAI's limit


def test_stream_decoder_turns_sse_into_ollama_chunks():
    d = oa.StreamDecoder()
    assert d.feed("") is None and d.feed(": keep-alive") is None
    first = d.feed('data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}')
    assert first["response"] == "Hel" and first["message"]["content"] == "Hel" and not first["done"]
    assert d.feed('data: {"choices":[{"index":0,"text":"lo","finish_reason":"length"}]}')["response"] == "lo"
    d.feed('data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}')
    assert d.feed("data: [DONE]") == {"done": True, "done_reason": "length", "prompt_eval_count": 5,
                                      "eval_count": 2}
    assert oa.StreamDecoder().feed('data: {"error": {"message": "boom"}}') == {"error": "boom"}
    with pytest.raises(ValueError):
        oa.StreamDecoder().feed("data: {not json")


def test_generate_without_raw_is_one_user_turn():
    assert oa.generate_messages("hi", "be brief") == [{"role": "system", "content": "be brief"},
                                                      {"role": "user", "content": "hi"}]
    assert oa.models_as_tags({"object": "list", "data": [{"id": "m:1", "object": "model"}]})[0]["name"] == "m:1"

"""OpenAI <-> Ollama translation (pure functions of inference.api.openai_compat)."""

import base64
import struct
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from inference.api import openai_compat as oc
from inference.models.names import ModelName


def test_chat_defaults_follow_openai_not_ollama():
    out = oc.chat_to_ollama({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert out == {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                   "options": {"temperature": 1.0, "top_p": 1.0}, "stream": False}


def test_chat_maps_every_sampling_field_and_extra_body():
    out = oc.chat_to_ollama({
        "model": "m", "stream": True, "messages": [{"role": "developer", "content": "sys"},
                                                   {"role": "user", "content": "q"}],
        "max_tokens": 12, "seed": 7, "stop": "END", "temperature": 0.2, "top_p": 0.5,
        "frequency_penalty": 0.5, "presence_penalty": -1, "num_ctx": 1024,
        "options": {"top_k": 5, "temperature": 0.9, "num_ctx": 99}, "keep_alive": "1m",
        "response_format": {"type": "json_object"},
    })
    assert out["messages"][0] == {"role": "system", "content": "sys"}
    assert out["options"] == {"top_k": 5, "temperature": 0.2, "top_p": 0.5, "num_predict": 12,
                              "seed": 7, "stop": ["END"], "frequency_penalty": 0.5,
                              "presence_penalty": -1.0, "num_ctx": 1024}
    assert out["format"] == "json" and out["stream"] is True and out["keep_alive"] == "1m"
    # the options object sets what OpenAI fields leave unset, including the 1.0 defaults
    assert oc.sampling_options({"options": {"temperature": 0.3}})["temperature"] == 0.3
    assert oc.sampling_options({"max_completion_tokens": 3})["num_predict"] == 3


def test_json_schema_and_content_parts():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    out = oc.chat_to_ollama({"model": "m", "response_format": {"type": "json_schema",
                                                               "json_schema": {"name": "x", "schema": schema}},
                             "messages": [{"role": "user", "content": [
                                 {"type": "text", "text": "look"},
                                 {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}}]}]})
    assert out["format"] == schema
    assert out["messages"] == [{"role": "user", "content": "look", "images": ["QUJD"]}]


def test_tool_call_history_round_trips():
    msgs = oc.chat_messages([
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ])
    assert msgs[1] == {"role": "assistant", "content": "",
                       "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]}
    assert msgs[2] == {"role": "tool", "content": "sunny", "tool_name": "get_weather"}


@pytest.mark.parametrize("body, param, fragment", [
    ({"messages": [{"role": "user", "content": "x"}]}, "model", "'model' is required"),
    ({"model": "m", "messages": []}, "messages", "non-empty array"),
    ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages", "role"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3}, "temperature", "between 0 and 2"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, "temperature", "number"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens", "at least 1"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": [1]}, "stop", "strings"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n", "not supported"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}}, "response_format", "unsupported"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema"}}, "response_format", "schema"),
    ({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}, "messages", "never fetches"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "options": [1]}, "options", "object"),
])
def test_bad_chat_requests_are_400_with_the_param(body, param, fragment):
    with pytest.raises(oc.OpenAIError) as err:
        oc.chat_to_ollama(body)
    assert err.value.status == 400 and err.value.param == param and fragment in err.value.message
    assert err.value.body()["error"]["type"] == "invalid_request_error"


def test_completion_and_embedding_requests():
    out = oc.completion_to_ollama({"model": "m", "prompt": ["Once"], "suffix": "end", "max_tokens": 5})
    assert out["prompt"] == "Once" and out["suffix"] == "end" and out["options"]["num_predict"] == 5
    with pytest.raises(oc.OpenAIError):
        oc.completion_to_ollama({"model": "m", "prompt": ["a", "b"]})
    body, enc = oc.embeddings_to_ollama({"model": "m", "input": "hello", "dimensions": 8})
    assert body == {"model": "m", "input": ["hello"], "dimensions": 8} and enc == "float"
    assert oc.embeddings_to_ollama({"model": "m", "input": ["a", "b"], "encoding_format": "base64"})[1] == "base64"
    for bad in ({"model": "m", "input": []}, {"model": "m", "input": [[1, 2]]},
                {"model": "m", "input": "x", "encoding_format": "hex"}):
        with pytest.raises(oc.OpenAIError):
            oc.embeddings_to_ollama(bad)


def test_chat_responses_streamed_and_whole():
    chunks = [{"message": {"role": "assistant", "content": "Hel"}, "done": False},
              {"message": {"role": "assistant", "content": "lo"}, "done": False},
              {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "length",
               "prompt_eval_count": 5, "eval_count": 2}]
    whole = oc.chat_completion(chunks, "m", "chatcmpl-1", 100)
    assert whole["choices"][0]["message"] == {"role": "assistant", "content": "Hello"}
    assert whole["choices"][0]["finish_reason"] == "length"
    assert whole["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    assert whole["object"] == "chat.completion" and whole["system_fingerprint"]
    first = oc.chat_chunk(chunks[0], "m", "c", 1, True)
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "Hel"}
    assert first["choices"][0]["finish_reason"] is None
    last = oc.chat_chunk(chunks[2], "m", "c", 1, False)
    assert last["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "length", "logprobs": None}
    assert oc.usage_chunk(chunks[2], "m", "c", 1, "chat.completion.chunk")["choices"] == []


def test_tool_calls_in_the_reply():
    chunks = [{"message": {"role": "assistant", "content": "",
                           "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]},
               "done": True, "done_reason": "stop"}]
    msg = oc.chat_completion(chunks, "m", "c", 1)["choices"][0]
    assert msg["finish_reason"] == "tool_calls"
    call = msg["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"] == {"name": "f", "arguments": '{"x": 1}'}


def test_text_completion_shape():
    out = oc.text_completion([{"response": "a", "done": False},
                              {"response": "b", "done": True, "done_reason": "stop", "eval_count": 2}], "m", "cmpl-1", 3)
    assert out["object"] == "text_completion" and out["choices"][0]["text"] == "ab"
    assert out["choices"][0]["finish_reason"] == "stop" and out["usage"]["completion_tokens"] == 2


def test_base64_embeddings_are_little_endian_float32():
    vec = [0.5, -1.25, 3.0]
    enc = oc.encode_embedding(vec, "base64")
    assert list(struct.unpack("<3f", base64.b64decode(enc))) == vec
    resp = oc.embeddings_response({"embeddings": [vec], "prompt_eval_count": 4}, "m", "float")
    assert resp["data"] == [{"object": "embedding", "index": 0, "embedding": vec}]
    assert resp["usage"] == {"prompt_tokens": 4, "total_tokens": 4}


def test_model_entries():
    when = datetime(2025, 1, 2, tzinfo=timezone.utc)
    rec = SimpleNamespace(name=ModelName.parse("gemma3:270m"), modified_at=when)
    assert oc.model_entry(rec) == {"id": "gemma3:270m", "object": "model",
                                   "created": int(when.timestamp()), "owned_by": "library"}
    rec = SimpleNamespace(name=ModelName.parse("example.com:5000/team/m:q4"), modified_at=when)
    assert oc.model_entry(rec)["owned_by"] == "example.com:5000"

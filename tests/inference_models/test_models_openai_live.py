"""The official ``openai`` client, unchanged, against the live server's /v1 endpoints."""

from __future__ import annotations

import json

import httpx
import jsonschema
import openai
import pytest

MODEL = "gemma3:270m"
PROMPT = [{"role": "user", "content": "Name three colours."}]

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def oai(live_server):
    client = openai.OpenAI(base_url=live_server.base_url + "/v1", api_key="unused", timeout=120, max_retries=0)
    yield client
    client.close()


def test_chat_whole_and_streamed_agree(oai):
    whole = oai.chat.completions.create(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0, seed=42)
    assert whole.id.startswith("chatcmpl-") and whole.object == "chat.completion"
    choice = whole.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert 0 < whole.usage.completion_tokens <= 12
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

    chunks = list(oai.chat.completions.create(model=MODEL, messages=PROMPT, max_tokens=12, temperature=0,
                                              seed=42, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == choice.message.content, "streaming and non-streaming give the same text"
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == choice.finish_reason
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert all(c.id == chunks[0].id for c in chunks)


def test_stream_without_usage_has_no_usage_chunk(live_server):
    with httpx.stream("POST", live_server.base_url + "/v1/chat/completions", timeout=120,
                      json={"model": MODEL, "messages": PROMPT, "max_tokens": 3, "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[len("data: "):]) for e in events[:-1]]
    assert all(p["choices"] for p in payloads) and "usage" not in payloads[-1]


def test_max_tokens_and_stop(oai):
    r = oai.chat.completions.create(model=MODEL, messages=PROMPT, max_tokens=2, temperature=0)
    assert r.usage.completion_tokens == 2 and r.choices[0].finish_reason == "length"
    base = oai.completions.create(model=MODEL, prompt="1, 2, 3, 4, 5,", max_tokens=10, temperature=0)
    assert " 6" in base.choices[0].text
    stopped = oai.completions.create(model=MODEL, prompt="1, 2, 3, 4, 5,", max_tokens=10, temperature=0, stop=["7"])
    assert "7" not in stopped.choices[0].text and stopped.choices[0].finish_reason == "stop"


def test_num_ctx_and_options_pass_through_extra_body(oai):
    long_prompt = "word " * 300
    r = oai.completions.create(model=MODEL, prompt=long_prompt, max_tokens=1, temperature=0,
                               extra_body={"num_ctx": 128})
    assert r.usage.prompt_tokens <= 128 < 300, "num_ctx 128 limited the 300-word prompt"
    r = oai.completions.create(model=MODEL, prompt="Hello", temperature=0,
                               extra_body={"options": {"num_predict": 3}})
    assert r.usage.completion_tokens == 3


def test_response_format_json_object_and_schema(oai):
    r = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "A JSON object about a cat:"}],
                                    max_tokens=60, temperature=0, response_format={"type": "json_object"})
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content), dict)
    else:  # cut by max_tokens: still JSON-shaped so far
        assert r.choices[0].message.content.lstrip().startswith("{")
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"],
              "additionalProperties": False}
    r = oai.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "How old is the cat?"}], max_tokens=40, temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "age", "schema": schema}})
    assert r.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(r.choices[0].message.content), schema)


def test_completions_shape(oai):
    r = oai.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=4, temperature=0, seed=1)
    assert r.object == "text_completion" and r.id.startswith("cmpl-")
    assert r.choices[0].text.strip() and r.usage.completion_tokens <= 4
    streamed = list(oai.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=4,
                                           temperature=0, seed=1, stream=True))
    assert "".join(c.choices[0].text for c in streamed) == r.choices[0].text


def test_models_list_and_retrieve(oai):
    ids = [m.id for m in oai.models.list()]
    assert MODEL in ids
    m = oai.models.retrieve(MODEL)
    assert m.id == MODEL and m.object == "model" and m.owned_by == "library" and m.created > 0
    with pytest.raises(openai.NotFoundError) as err:
        oai.models.retrieve("no-such-model:1b")
    assert err.value.body["type"] == "not_found_error"


def test_openai_shaped_errors(oai, live_server):
    with pytest.raises(openai.NotFoundError) as err:
        oai.chat.completions.create(model="missing-model", messages=PROMPT)
    assert "not found" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model=MODEL, messages=PROMPT, temperature=5)
    assert err.value.body["param"] == "temperature" and err.value.body["type"] == "invalid_request_error"
    r = httpx.post(live_server.base_url + "/v1/chat/completions", content=b"{not json", timeout=30)
    assert r.status_code == 400 and set(r.json()["error"]) == {"message", "type", "param", "code"}
    r = httpx.post(live_server.base_url + "/v1/completions", json={"model": MODEL, "prompt": 5}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"


def test_cors_preflight_allows_openai_client_headers(live_server):
    r = httpx.options(live_server.base_url + "/v1/chat/completions", timeout=30, headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os, x-stainless-retry-count"})
    assert r.status_code in (200, 204)
    allowed = r.headers.get("access-control-allow-headers", "").lower()
    for header in ("authorization", "x-stainless-os", "x-stainless-retry-count"):
        assert header in allowed

"""The live server driven by the official ``ollama`` Python package, as any Ollama app would."""

from __future__ import annotations

import json

import jsonschema
import ollama
import pytest

from rigs.procs import wait_until
from server_helpers import FEW_SHOT, GREEDY, MODEL

pytestmark = pytest.mark.live


def test_list_shows_the_embedded_model(client):
    models = {m.model: m for m in client.list().models}
    assert MODEL in models
    m = models[MODEL]
    assert len(m.digest) == 64 and m.size > 200_000_000
    assert m.details.format == "gguf" and m.details.family == "gemma3"
    assert m.details.quantization_level == "Q4_K_M"


def test_show_has_model_info_template_parameters_and_capabilities(client):
    info = client.show(MODEL)
    assert info.modelinfo["general.architecture"] == "gemma3"
    assert info.modelinfo["gemma3.context_length"] == 32768
    assert info.template and "Prompt" in info.template
    assert "stop" in info.parameters
    assert "completion" in info.capabilities
    assert "FROM " in info.modelfile and "TEMPLATE" in info.modelfile
    assert info.license and info.modified_at is not None


def test_generate_non_streaming_has_text_and_real_statistics(client):
    r = client.generate(MODEL, FEW_SHOT, options=GREEDY)
    assert r.done and r.done_reason in ("stop", "length")
    assert r.response.strip()
    assert 0 < r.eval_count <= GREEDY["num_predict"]
    assert r.prompt_eval_count > 20
    for name in ("total_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(getattr(r, name), int) and getattr(r, name) > 0
    assert r.total_duration >= r.prompt_eval_duration + r.eval_duration
    assert isinstance(r.context, list) and len(r.context) == r.prompt_eval_count + r.eval_count
    assert all(isinstance(t, int) for t in r.context)


def test_generate_streaming_matches_non_streaming(client):
    whole = client.generate(MODEL, FEW_SHOT, options=GREEDY)
    chunks = list(client.generate(MODEL, FEW_SHOT, options=GREEDY, stream=True))
    assert len(chunks) >= 3
    assert all(not c.done for c in chunks[:-1]) and chunks[-1].done
    assert "".join(c.response for c in chunks) == whole.response
    assert chunks[-1].eval_count == whole.eval_count


def test_context_continues_a_generation(client):
    first = client.generate(MODEL, "The capital of France is", options=GREEDY)
    second = client.generate(MODEL, " and the capital of Italy is", context=first.context, options=GREEDY)
    assert second.prompt_eval_count > len(first.context)
    assert second.context[: len(first.context)] == first.context


def test_chat_streaming_and_not(client):
    messages = [{"role": "user", "content": "Say hello to Ada."}]
    r = client.chat(MODEL, messages=messages, options=GREEDY)
    assert r.message.role == "assistant" and r.message.content.strip()
    assert r.done and r.eval_count > 0
    chunks = list(client.chat(MODEL, messages=messages, options=GREEDY, stream=True))
    assert chunks[-1].done and all(c.message.role == "assistant" for c in chunks)
    assert "".join(c.message.content for c in chunks) == r.message.content


def test_num_predict_limits_the_answer(client):
    r = client.generate(MODEL, "Once upon a time, in a land far away,", options={"temperature": 0, "num_predict": 5})
    assert r.eval_count <= 5
    if r.done_reason == "length":
        assert r.eval_count == 5


def test_same_seed_gives_the_same_text_and_other_seeds_differ(client):
    opts = {"temperature": 1.0, "top_k": 100, "top_p": 1.0, "num_predict": 24}
    prompt = "Write a short sentence about the sea:"
    a = client.generate(MODEL, prompt, options={**opts, "seed": 1234}).response
    b = client.generate(MODEL, prompt, options={**opts, "seed": 1234}).response
    assert a == b
    others = {client.generate(MODEL, prompt, options={**opts, "seed": s}).response for s in (1, 2, 3)}
    assert len(others | {a}) > 1


def test_stop_string_ends_the_answer_and_is_not_emitted(client):
    opts = {"temperature": 0, "num_predict": 24}
    full = client.generate(MODEL, "Once upon a time, in a land far away,", options=opts).response
    words = [w for w in full.split() if len(w) > 2]
    assert len(words) >= 3, full
    stop = words[2]
    cut = client.generate(MODEL, "Once upon a time, in a land far away,", options={**opts, "stop": [stop]})
    assert cut.done_reason == "stop"
    assert stop not in cut.response
    assert cut.response == full[: full.index(stop)]


def test_format_json_returns_parseable_json(client):
    prompt = 'A person as JSON. Example: {"name": "Ann", "city": "Oslo"}\nJSON for Bob from Rome:'
    r = client.generate(MODEL, prompt, format="json", options={"temperature": 0, "num_predict": 96})
    assert r.done_reason == "stop", r.response
    json.loads(r.response)


def test_format_json_schema_is_enforced(client):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12},
            "mood": {"enum": ["happy", "sad"]},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
        },
        "required": ["name", "mood", "age"],
        "additionalProperties": False,
    }
    r = client.chat(MODEL, messages=[{"role": "user", "content": "Describe Tom, 30, who is happy."}],
                    format=schema, options={"temperature": 0, "num_predict": 96})
    data = json.loads(r.message.content)
    jsonschema.validate(data, schema)


def test_keep_alive_zero_unloads_and_empty_prompt_loads(client):
    client.generate(MODEL, "Hi", options={"num_predict": 1}, keep_alive=0)
    wait_until(lambda: not client.ps().models, 5, message="the model to unload")
    loaded = client.generate(MODEL, "")
    assert loaded.done_reason == "load"
    ps = client.ps().models
    assert [m.model for m in ps] == [MODEL]
    assert ps[0].size > 200_000_000 and ps[0].context_length == 4096 and ps[0].expires_at is not None
    unloaded = client.generate(MODEL, "", keep_alive=0)
    assert unloaded.done_reason == "unload"
    wait_until(lambda: not client.ps().models, 5, message="the model to unload")
    client.generate(MODEL, "", keep_alive=-1)  # leave it loaded for the other tests


def test_chat_with_no_messages_loads_the_model(client):
    r = client.chat(MODEL, messages=[])
    assert r.done and r.done_reason == "load" and r.message.role == "assistant"


def test_copy_then_delete(client):
    client.copy(MODEL, "conformance-copy:v1")
    names = [m.model for m in client.list().models]
    assert "conformance-copy:v1" in names and MODEL in names
    assert client.show("conformance-copy:v1").modelinfo["general.architecture"] == "gemma3"
    client.delete("conformance-copy:v1")
    assert "conformance-copy:v1" not in [m.model for m in client.list().models]
    with pytest.raises(ollama.ResponseError) as err:
        client.delete("conformance-copy:v1")
    assert err.value.status_code == 404
    # The original's blobs were kept.
    assert client.generate(MODEL, "Hi", options={"num_predict": 1}).done


@pytest.mark.parametrize("call", [
    lambda c: c.generate("no-such-model", "hi"),
    lambda c: c.chat("no-such-model", messages=[{"role": "user", "content": "hi"}]),
    lambda c: c.show("no-such-model"),
    lambda c: c.copy("no-such-model", "x"),
])
def test_unknown_model_is_a_404_response_error(client, call):
    with pytest.raises(ollama.ResponseError) as err:
        call(client)
    assert err.value.status_code == 404
    assert "model 'no-such-model' not found" in err.value.error


def test_cloud_models_are_refused(client):
    for name in ("gpt-oss:120b-cloud", "qwen3:cloud"):
        with pytest.raises(ollama.ResponseError) as err:
            client.generate(name, "hi")
        assert err.value.status_code == 400 and "cloud" in err.value.error


def test_raw_with_system_is_a_400(client):
    with pytest.raises(ollama.ResponseError) as err:
        client.generate(MODEL, "hi", raw=True, system="be nice")
    assert err.value.status_code == 400


def test_thinking_on_a_model_without_it_is_a_400(client):
    with pytest.raises(ollama.ResponseError) as err:
        client.generate(MODEL, "hi", think=True)
    assert err.value.status_code == 400 and "thinking" in err.value.error


def test_num_ctx_change_reloads_the_model(client):
    client.generate(MODEL, "Hi", options={"num_ctx": 1024, "num_predict": 1})
    ps = client.ps().models
    assert [(m.model, m.context_length) for m in ps] == [(MODEL, 1024)]
    client.generate(MODEL, "Hi", options={"num_predict": 1}, keep_alive=-1)
    assert [(m.model, m.context_length) for m in client.ps().models] == [(MODEL, 4096)]


def test_keep_alive_duration_unloads_when_it_expires(client):
    client.generate(MODEL, "Hi", options={"num_predict": 1}, keep_alive="1s")
    assert [m.model for m in client.ps().models] == [MODEL]
    wait_until(lambda: not client.ps().models, 6, message="the model to unload")
    client.generate(MODEL, "", keep_alive=-1)


def test_top_k_one_is_greedy_whatever_the_seed(client):
    greedy = client.generate(MODEL, FEW_SHOT, options={"temperature": 0, "num_predict": 16}).response
    for seed in (5, 6):
        sampled = client.generate(MODEL, FEW_SHOT, options={"temperature": 1.5, "top_k": 1, "seed": seed,
                                                             "num_predict": 16}).response
        assert sampled == greedy


def test_multibyte_text_streams_without_broken_characters(client):
    prompt = "日本語の文章を書きます。東京は日本の首都で、"
    opts = {"temperature": 0, "num_predict": 24}
    chunks = [c.response for c in client.generate(MODEL, prompt, options=opts, stream=True)]
    whole = client.generate(MODEL, prompt, options=opts).response
    assert "".join(chunks) == whole
    assert any(ord(ch) > 0x2000 for ch in whole), whole  # the answer really is in Japanese
    assert all("\ufffd" not in c for c in chunks)

"""Raw HTTP checks against the live server: status codes, error bodies, content types, NDJSON
framing, Host/Origin refusals, CORS preflight, OpenAPI, responsiveness while decoding and
reported chat truncation."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest

from server_helpers import FEW_SHOT, GREEDY, MODEL

pytestmark = pytest.mark.live


def test_root_and_version(http):
    r = http.get("/")
    assert r.status_code == 200 and r.text == "Ollama is running"
    assert r.headers["content-type"].startswith("text/plain")
    assert http.head("/").status_code == 200
    v = http.get("/api/version")
    assert v.status_code == 200 and re.fullmatch(r"\d+\.\d+\.\d+", v.json()["version"])


def test_tags_json(http):
    r = http.get("/api/tags")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    entry = next(m for m in r.json()["models"] if m["name"] == MODEL)
    assert set(entry) >= {"name", "model", "modified_at", "size", "digest", "details"}


@pytest.mark.parametrize("method, path, status, message", [
    ("GET", "/api/nope", 404, "404 page not found"),
    ("GET", "/api/show", 405, "405 method not allowed"),
    ("GET", "/api/generate", 405, "405 method not allowed"),
    ("POST", "/api/tags", 405, "405 method not allowed"),
])
def test_unknown_route_and_wrong_method(http, method, path, status, message):
    r = http.request(method, path)
    assert r.status_code == status
    assert r.json() == {"error": message}


@pytest.mark.parametrize("path", ["/api/generate", "/api/chat", "/api/show", "/api/copy"])
def test_missing_body_is_400(http, path):
    r = http.post(path)
    assert r.status_code == 400 and r.json() == {"error": "missing request body"}


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_bad_json_is_400(http, content):
    r = http.post("/api/generate", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()


@pytest.mark.parametrize("body, fragment", [
    ({"prompt": "hi"}, "model is required"),
    ({"model": 5, "prompt": "hi"}, "model"),
    ({"model": MODEL, "prompt": 5}, "prompt"),
    ({"model": MODEL, "prompt": "hi", "stream": "yes"}, "stream"),
    ({"model": MODEL, "prompt": "hi", "options": {"temperature": "hot"}}, "temperature"),
    ({"model": MODEL, "prompt": "hi", "options": {"num_ctx": "big"}}, "num_ctx"),
    ({"model": MODEL, "prompt": "hi", "options": [1]}, "options"),
    ({"model": MODEL, "prompt": "hi", "keep_alive": "300"}, "missing unit"),
    ({"model": MODEL, "prompt": "hi", "keep_alive": [1]}, "keep_alive"),
    ({"model": MODEL, "prompt": "hi", "format": "yaml"}, "format"),
    ({"model": MODEL, "prompt": "hi", "format": 3}, "format"),
    ({"model": MODEL, "prompt": "hi", "raw": True, "template": "{{ .Prompt }}"}, "raw"),
    ({"model": MODEL, "prompt": "hi", "context": ["a"]}, "context"),
    ({"model": MODEL, "prompt": "hi", "context": [999999999]}, "invalid token id"),
    ({"model": MODEL, "prompt": "hi", "format": {"type": "foo"}}, "invalid JSON schema"),
    ({"model": MODEL, "prompt": "hi", "suffix": "end"}, "does not support insert"),
    ({"model": MODEL, "prompt": "hi", "template": "{{ .Prompt"}, "template"),
    ({"model": "bad name!", "prompt": "hi"}, "invalid model name"),
])
def test_bad_generate_input_is_400_with_a_message(http, body, fragment):
    r = http.post("/api/generate", json=body)
    assert r.status_code == 400, r.text
    assert fragment in r.json()["error"]


@pytest.mark.parametrize("messages", [
    "hello", [{"content": "no role"}], [{"role": "user", "content": 5}], ["text"],
])
def test_bad_chat_messages_are_400(http, messages):
    r = http.post("/api/chat", json={"model": MODEL, "messages": messages})
    assert r.status_code == 400 and "error" in r.json()


def test_unknown_options_are_ignored(http):
    r = http.post("/api/generate", json={"model": MODEL, "prompt": "Hi", "stream": False,
                                         "options": {**GREEDY, "num_predict": 2, "mirostat": 0, "tfs_z": 1.0, "low_vram": False}})
    assert r.status_code == 200 and r.json()["done"]


def test_streaming_is_ndjson_one_object_per_line(http):
    with http.stream("POST", "/api/generate", json={"model": MODEL, "prompt": FEW_SHOT, "options": GREEDY}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/x-ndjson"
        raw = r.read()
    assert raw.endswith(b"\n") and b"\n\n" not in raw
    objects = [json.loads(line) for line in raw.decode().split("\n")[:-1]]
    assert len(objects) >= 2 and objects[-1]["done"] is True
    assert all(o["done"] is False and o["model"] == MODEL and "created_at" in o for o in objects[:-1])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", objects[0]["created_at"])


def test_stream_false_is_one_json_object(http):
    r = http.post("/api/chat", json={"model": MODEL, "stream": False, "options": GREEDY,
                                     "messages": [{"role": "user", "content": "Hello"}]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["done"] is True and body["message"]["role"] == "assistant"
    assert "context" not in body


def test_copy_and_delete_status_codes(http):
    assert http.post("/api/copy", json={"source": MODEL}).status_code == 400
    assert http.post("/api/copy", json={"source": "missing-model", "destination": "x"}).status_code == 404
    r = http.post("/api/copy", json={"source": MODEL, "destination": "raw-copy"})
    assert r.status_code == 200 and r.content == b""
    r = http.request("DELETE", "/api/delete", json={"model": "raw-copy"})
    assert r.status_code == 200 and r.content == b""
    r = http.request("DELETE", "/api/delete", json={"model": "raw-copy"})
    assert r.status_code == 404 and r.json() == {"error": "model 'raw-copy' not found"}


def test_dns_rebinding_host_is_refused(live_server):
    r = httpx.get(live_server.base_url + "/api/tags", headers={"Host": f"evil.example:{live_server.port}"})
    assert r.status_code == 403 and "evil.example" in r.json()["error"]
    ok = httpx.get(live_server.base_url + "/api/tags", headers={"Host": f"localhost:{live_server.port}"})
    assert ok.status_code == 200


def test_foreign_origin_is_refused_and_local_origin_gets_cors(live_server):
    bad = httpx.post(live_server.base_url + "/api/show", json={"model": MODEL}, headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403
    assert "OLLAMA_ORIGINS" in bad.json()["error"] and "https://evil.example" in bad.json()["error"]
    good = httpx.get(live_server.base_url + "/api/tags", headers={"Origin": "http://localhost:3000"})
    assert good.status_code == 200 and good.headers["access-control-allow-origin"] == "http://localhost:3000"
    pre = httpx.options(live_server.base_url + "/api/chat", headers={
        "Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization,x-stainless-arch"})
    assert pre.status_code == 204
    assert "x-stainless-arch" in pre.headers["access-control-allow-headers"]


def test_openapi_is_served_and_cdn_pages_are_not(http):
    spec = http.get("/openapi.json").json()
    assert "/api/generate" in spec["paths"] and "/api/chat" in spec["paths"]
    assert http.get("/docs").status_code == 404 and http.get("/redoc").status_code == 404


def test_ps_and_tags_answer_while_a_generation_runs(live_server, http):
    first_chunk = threading.Event()
    done = threading.Event()
    leave = threading.Event()

    def generate():
        with httpx.Client(timeout=120) as c, c.stream("POST", live_server.base_url + "/api/generate", json={
                "model": MODEL, "prompt": "Write a long story about a dragon.",
                "options": {"temperature": 0.7, "num_predict": 400, "seed": 1}}) as r:
            for _ in r.iter_lines():
                first_chunk.set()
                if leave.is_set():
                    break
        done.set()

    worker = threading.Thread(target=generate)
    worker.start()
    try:
        assert first_chunk.wait(60)
        timings = []
        for path in ("/api/ps", "/api/tags", "/api/ps"):
            start = time.perf_counter()
            r = http.get(path)
            timings.append(time.perf_counter() - start)
            assert r.status_code == 200
        ps = http.get("/api/ps").json()["models"]
        assert not done.is_set(), "generation finished before the checks; make it longer"
        assert [m["name"] for m in ps] == [MODEL]
        assert max(timings) < 0.5, timings
    finally:
        leave.set()
        worker.join(120)


def test_chat_truncation_is_reported(http, live_server):
    filler = "This is an old message that only takes up room in the context window. " * 6
    messages = [{"role": "system", "content": "You are brief."}]
    for i in range(12):
        messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": f"{i}: {filler}"})
    messages.append({"role": "user", "content": "Last question: what is 2+2?"})
    r = http.post("/api/chat", json={"model": MODEL, "messages": messages, "stream": False,
                                     "options": {"num_ctx": 512, "num_predict": 4, "temperature": 0}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["truncated_messages"] > 0 and body["num_ctx"] == 512
    assert body["prompt_eval_count"] <= 512
    assert "dropped" in live_server.log_text()


def test_generate_prompt_longer_than_the_context_is_truncated_and_reported(http):
    prompt = "The quick brown fox jumps over the lazy dog. " * 80  # ~800 tokens
    r = http.post("/api/generate", json={"model": MODEL, "prompt": prompt, "stream": False,
                                         "options": {"num_ctx": 256, "num_predict": 4, "temperature": 0}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["truncated_prompt_tokens"] > 500 and body["num_ctx"] == 256
    assert body["prompt_eval_count"] < 256


def test_repeated_prompt_reuses_the_kv_cache(http, live_server):
    body = {"model": MODEL, "prompt": FEW_SHOT + " (cache check)", "stream": False,
            "options": {"temperature": 0, "num_predict": 2}}
    first = http.post("/api/generate", json=body).json()
    second = http.post("/api/generate", json=body).json()
    assert first["response"] == second["response"]
    from inference.engine.runtime import REUSE_ALIGNMENT

    n = second["prompt_eval_count"]
    # Whole blocks of the prompt came from the cache (never the last token, whose logits
    # are needed); the rest was evaluated exactly as the first time, hence the same answer.
    reused = (n - 1) // REUSE_ALIGNMENT * REUSE_ALIGNMENT
    assert reused > 0
    assert f"{n} prompt tokens ({reused} cached)" in live_server.log_text()


def test_greedy_answers_do_not_depend_on_what_the_cache_held(http):
    base = FEW_SHOT.rsplit("Text:", 1)[0] + "Text: "
    prompts = [base + text + "\nCorrected:" for text in
               ("we was happy.", "they is late for the the meeting", "me and him goes home")]

    def answer(prompt):
        return http.post("/api/generate", json={"model": MODEL, "prompt": prompt, "stream": False,
                                                "options": {"temperature": 0, "num_predict": 12}}).json()["response"]

    first = [answer(p) for p in prompts]
    again = [answer(p) for p in reversed(prompts)][::-1]  # other cache contents before each
    assert again == first

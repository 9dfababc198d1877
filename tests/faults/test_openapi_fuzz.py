"""/openapi.json is complete and every operation survives Schemathesis.

Every ``$ref`` resolves and every POST/DELETE documents its body; then Schemathesis generates
requests for every operation of the description (positive and negative cases) against a real
server and none may answer 5xx (generation runs the embedded model: a model whose weights cannot
be loaded is damage in the store, answered 500 with the fix, see tests/faults/test_damaged_blobs). Pulls go to the loopback OCI registry fixture (their model names
are rewritten to it), copy and delete also get names that exist, and the server runs with every
proxy variable pointing at a closed loopback port, so no request can leave the machine.
Bounded: ``EXAMPLES`` cases per operation (25, about 25 operations; HUSHTYPE_FUZZ_EXAMPLES
sets it), about a minute and a half on 2 cores.
"""

from __future__ import annotations

import json
import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from schemathesis import GenerationMode

EXAMPLES = int(os.environ.get("HUSHTYPE_FUZZ_EXAMPLES", "25"))
EMBEDDED = "gemma3:270m"
DEAD_PROXY = "http://127.0.0.1:9"   # the discard port: nothing listens, so nothing gets out


def _refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _resolve(document: dict, ref: str):
    assert ref.startswith("#/"), f"external reference {ref}"
    node = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolvable reference {ref}"
        node = node[part]
    return node


def test_every_reference_resolves_and_every_body_is_described(live_server):
    document = httpx.get(live_server.base_url + "/openapi.json", timeout=30).json()
    refs = _refs(document, set())
    assert "#/components/schemas/ChatMessage" in refs
    for ref in refs:
        _resolve(document, ref)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch") and path != "/api/push":
                assert "requestBody" in operation, f"{method.upper()} {path} has no body description"
    chat = document["components"]["schemas"]["ChatRequest"]["properties"]
    assert {"messages", "tools", "format", "options"} <= set(chat)
    message = document["components"]["schemas"]["ChatMessage"]["properties"]
    assert {"role", "content", "images", "tool_calls"} <= set(message)


def _rewrite(case, draw, names: dict) -> None:
    """Point generated model names at things that exist here, some of the time."""
    body = case.body
    if not isinstance(body, dict):
        return
    path = case.path
    if path == "/api/pull":
        body.pop("name", None)  # the legacy alias: never let a generated host through
        body["model"] = draw(st.sampled_from([names["registry_model"], names["registry_missing"],
                                              names["registry_host"] + "/library/" + "x" * 3]))
        body["insecure"] = True
    elif path == "/api/copy" and draw(st.booleans()):
        body["source"] = names["local"]
    elif path == "/api/delete" and isinstance(body.get("model"), str):
        if body["model"].lower().startswith("gemma3"):
            body["model"] = names["local"] + "-gone"
        elif draw(st.booleans()):
            body["model"] = draw(st.sampled_from([names["local"], names["copy"]]))
    elif path in ("/api/generate", "/api/chat", "/v1/chat/completions", "/v1/completions",
                  "/api/embed", "/api/embeddings", "/v1/embeddings", "/api/show") and draw(st.booleans()):
        # the runnable embedded model; the pulled fixture GGUF is not runnable, and a model whose
        # weights cannot be loaded is a 500 by design (damage in the store, not bad input)
        body["model"] = EMBEDDED if path != "/api/show" else draw(st.sampled_from([EMBEDDED, names["local"]]))
        options = body.get("options")
        if body["model"] == EMBEDDED and (options is None or isinstance(options, dict)):
            body["options"] = {**(options or {}), "num_predict": 4}   # short answers: bounded time
            body.pop("max_tokens", None)
            body.pop("max_completion_tokens", None)


def test_schemathesis_finds_no_server_error_on_any_operation(server_factory, registry, small_gguf_bytes):
    env = {"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY,
           "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY, "all_proxy": DEAD_PROXY,
           "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    server = server_factory(extra_env=env)
    registry.add_model("library/small", "latest", small_gguf_bytes)
    names = {"registry_host": registry.host, "registry_model": f"{registry.host}/library/small",
             "registry_missing": f"{registry.host}/library/missing", "local": "fuzz/small:latest",
             "copy": "fuzz/copy:latest"}
    with httpx.Client(base_url=server.base_url, timeout=120) as client:
        r = client.post("/api/pull", json={"model": names["registry_model"], "insecure": True, "stream": False})
        assert r.status_code == 200, r.text
        assert client.post("/api/copy", json={"source": names["registry_model"],
                                              "destination": names["local"]}).status_code == 200
        assert client.post("/api/copy", json={"source": names["local"],
                                              "destination": names["copy"]}).status_code == 200

    schema = schemathesis.openapi.from_url(server.base_url + "/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())  # an unresolvable reference is an error result: raises here
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    assert {"POST /api/chat", "POST /api/pull", "POST /api/create", "POST /api/copy", "DELETE /api/delete",
            "POST /v1/chat/completions"} <= labels

    failures: list[str] = []
    sent = {"count": 0}
    for operation in operations:
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy, data=st.data())
        def exercise(case, data):
            _rewrite(case, data.draw, names)
            body = case.body if not isinstance(case.body, (bytes, bytearray)) else "<bytes>"
            try:
                response = case.call(base_url=server.base_url, timeout=120)
            except Exception as exc:  # a dropped connection is as bad as a 5xx
                failures.append(f"{case.method} {case.path}: {type(exc).__name__}: {exc} for "
                                f"{json.dumps(body, default=str)[:600]}")
                return
            sent["count"] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code} "
                                f"{response.text[:300]!r} for {json.dumps(body, default=str)[:300]}")

        exercise()
    assert not failures, "\n".join(failures[:20]) + "\nserver log:\n" + server.log_text()[-3000:]
    print(f"schemathesis: {sent['count']} requests over {len(operations)} operations, no 5xx")
    assert sent["count"] >= len(operations) * 3
    assert server.process.poll() is None, "the server died under the fuzzer"
    assert httpx.get(server.base_url + "/api/version", timeout=10).status_code == 200

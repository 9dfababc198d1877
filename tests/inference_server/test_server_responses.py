"""NDJSON framing of ``routes_core.respond`` on a real ASGI app, without a model: an error
after the stream started is its last line (status stays 200); before it, a JSON error status."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from inference.api.errors import ApiError
from inference.api.routes_core import respond


def make_app(chunks_then_error, fail_first=False):
    app = FastAPI()

    @app.exception_handler(ApiError)
    async def api_error(request, exc):
        from fastapi.responses import JSONResponse

        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.post("/gen")
    async def gen(request: Request):
        body = await request.json()

        async def chunks():
            if fail_first:
                raise ApiError(404, "model 'x' not found")
            for text in chunks_then_error:
                yield {"model": "m", "response": text, "done": False}
            raise RuntimeError("decoding failed: out of memory")

        return await respond(request, body, chunks(), "response")

    return TestClient(app)


def test_error_after_the_stream_started_is_the_last_ndjson_line():
    r = make_app(["a", "b"]).post("/gen", json={})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [line.get("response") for line in lines[:2]] == ["a", "b"]
    assert lines[-1] == {"error": "decoding failed: out of memory"}


def test_error_before_the_first_chunk_keeps_its_status():
    r = make_app([], fail_first=True).post("/gen", json={})
    assert r.status_code == 404 and r.json() == {"error": "model 'x' not found"}


def test_non_streaming_joins_the_text_into_the_final_object():
    app = FastAPI()

    @app.post("/gen")
    async def gen(request: Request):
        async def chunks():
            yield {"model": "m", "response": "Hel", "done": False}
            yield {"model": "m", "response": "lo", "done": False}
            yield {"model": "m", "response": "", "done": True, "eval_count": 2}

        return await respond(request, {"stream": False}, chunks(), "response")

    r = TestClient(app).post("/gen", json={})
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"model": "m", "response": "Hello", "done": True, "eval_count": 2}

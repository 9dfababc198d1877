"""OpenAI-compatible endpoints (``/v1/...``) on top of the Ollama handlers.

Requests are translated into Ollama request bodies (pure functions, tested directly), run
through ``routes_core.run_chat`` / ``run_generate`` / ``routes_models.run_embed``, and the
Ollama chunks are translated back into OpenAI's shapes. Errors are OpenAI-shaped:
``{"error": {"message", "type", "param", "code"}}`` with the matching HTTP status.

Beyond OpenAI's fields, a request may carry ``options`` (an Ollama options object),
``num_ctx`` and ``keep_alive`` as extra body fields (``extra_body`` in the openai client).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import random
import struct
import time
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute

from inference.api import openapi_doc as doc
from inference.api.errors import ApiError
from inference.models.names import InvalidModelName, ModelName

log = logging.getLogger(__name__)

SYSTEM_FINGERPRINT = "fp_ollama"
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "invalid_request_error", 422: "invalid_request_error",
                429: "rate_limit_error", 503: "api_error"}


class OpenAIError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict:
        return error_body(self.status, self.message, self.param, self.code)


def error_body(status: int, message: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": _ERROR_TYPES.get(status, "api_error"),
                      "param": param, "code": code}}


def _bad(message: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param)


# --- request translation (pure) ------------------------------------------------------------

def _number(body: dict, key: str, lo: float, hi: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"'{key}' must be a number", key)
    if not lo <= value <= hi:
        raise _bad(f"'{key}' must be between {lo:g} and {hi:g}, got {value:g}", key)
    return float(value)


def _integer(body: dict, key: str, lo: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _bad(f"'{key}' must be an integer", key)
    if lo is not None and value < lo:
        raise _bad(f"'{key}' must be at least {lo}, got {value}", key)
    return value


def _model(body: dict) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("'model' is required", "model")
    return model


def _stop(body: dict) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise _bad("'stop' must be a string or an array of strings", "stop")


MAX_TOP_LOGPROBS = 20  # chat: OpenAI's limit (and Ollama's)
MAX_COMPLETION_LOGPROBS = 5  # /v1/completions: OpenAI's limit


def chat_logprobs(body: dict) -> dict:
    """Ollama's ``logprobs``/``top_logprobs`` from a chat body's OpenAI fields."""
    want = body.get("logprobs")
    if want is not None and not isinstance(want, bool):
        raise _bad("'logprobs' must be a boolean", "logprobs")
    top = _integer(body, "top_logprobs", 0)
    if top is not None and top > MAX_TOP_LOGPROBS:
        raise _bad(f"'top_logprobs' must be between 0 and {MAX_TOP_LOGPROBS}, got {top}", "top_logprobs")
    if top is not None and not want:
        raise _bad("'top_logprobs' needs 'logprobs': true", "top_logprobs")
    return {"logprobs": True, "top_logprobs": top or 0} if want else {}


def completion_logprobs(body: dict) -> int | None:
    """``/v1/completions`` ``logprobs: N`` (alternatives per token, 0..5); None = off."""
    top = _integer(body, "logprobs", 0)
    if top is not None and top > MAX_COMPLETION_LOGPROBS:
        raise _bad(f"'logprobs' must be between 0 and {MAX_COMPLETION_LOGPROBS}, got {top}", "logprobs")
    return top


def sampling_options(body: dict, *, allow_zero_tokens: bool = False) -> dict:
    """Ollama options from OpenAI sampling fields, over the extra ``options``/``num_ctx``.

    OpenAI's defaults (temperature 1.0, top_p 1.0) apply when neither the field nor the
    ``options`` object sets them.
    """
    extra = body.get("options")
    if extra is not None and not isinstance(extra, dict):
        raise _bad("'options' must be an object", "options")
    options = dict(extra or {})
    num_ctx = _integer(body, "num_ctx", 1)
    if num_ctx is not None:
        options["num_ctx"] = num_ctx
    temperature = _number(body, "temperature", 0.0, 2.0)
    top_p = _number(body, "top_p", 0.0, 1.0)
    options["temperature"] = temperature if temperature is not None else options.get("temperature", 1.0)
    options["top_p"] = top_p if top_p is not None else options.get("top_p", 1.0)
    max_tokens = body.get("max_completion_tokens")
    key = "max_completion_tokens"
    if max_tokens is None:
        key = "max_tokens"
    max_tokens = _integer(body, key, 0 if allow_zero_tokens else 1)
    if max_tokens:
        options["num_predict"] = max_tokens
    seed = _integer(body, "seed")
    if seed is not None:
        options["seed"] = seed
    for key in ("frequency_penalty", "presence_penalty"):
        value = _number(body, key, -2.0, 2.0)
        if value is not None:
            options[key] = value
    stop = _stop(body)
    if stop is not None:
        options["stop"] = stop
    n = _integer(body, "n", 1)
    if n is not None and n > 1:
        raise _bad("'n' greater than 1 is not supported", "n")
    return options


def response_format(body: dict) -> str | dict | None:
    fmt = body.get("response_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
        raise _bad("'response_format' must be an object with a 'type'", "response_format")
    kind = fmt["type"]
    if kind == "text":
        return None
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise _bad("'response_format.json_schema.schema' must be a JSON Schema object",
                       "response_format")
        return schema
    raise _bad(f"unsupported response_format type {kind!r} (text, json_object or json_schema)",
               "response_format")


def _content_and_images(content, index: int) -> tuple[str, list[str]]:
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise _bad(f"messages[{index}].content must be a string or an array of parts", "messages")
    texts, images = [], []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
                raise _bad("images must be base64 data URLs (data:image/...;base64,...); "
                           "this server never fetches URLs", "messages")
            images.append(url.split(";base64,", 1)[1])
        else:
            raise _bad(f"messages[{index}].content has an unsupported part {kind!r}", "messages")
    return "\n".join(texts), images


def chat_messages(messages) -> list[dict]:
    """OpenAI chat messages -> Ollama chat messages."""
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty array", "messages")
    out: list[dict] = []
    call_names: dict[str, str] = {}
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise _bad(f"messages[{i}] must be an object", "messages")
        role = msg.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant", "tool"):
            raise _bad(f"messages[{i}].role must be system, developer, user, assistant or tool", "messages")
        content, images = _content_and_images(msg.get("content"), i)
        item: dict = {"role": role, "content": content}
        if images:
            item["images"] = images
        if role == "assistant" and msg.get("tool_calls"):
            calls = []
            for call in msg["tool_calls"]:
                fn = call.get("function") or {} if isinstance(call, dict) else {}
                args = fn.get("arguments")
                if isinstance(args, str):
                    try:
                        args = json.loads(args) if args.strip() else {}
                    except ValueError:
                        raise _bad(f"messages[{i}].tool_calls arguments are not valid JSON", "messages") from None
                calls.append({"function": {"name": fn.get("name"), "arguments": args or {}}})
                if isinstance(call, dict) and call.get("id"):
                    call_names[call["id"]] = fn.get("name")
            item["tool_calls"] = calls
        if role == "tool":
            name = msg.get("name") or call_names.get(msg.get("tool_call_id"))
            if name:
                item["tool_name"] = name
        out.append(item)
    return out


def _common_extras(body: dict, out: dict) -> dict:
    if body.get("keep_alive") is not None:
        out["keep_alive"] = body["keep_alive"]
    return out


def chat_to_ollama(body: dict) -> dict:
    """An OpenAI /v1/chat/completions body -> an Ollama /api/chat body."""
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    out = {"model": _model(body), "messages": chat_messages(body.get("messages")),
           "options": sampling_options(body), "stream": bool(body.get("stream"))}
    out.update(chat_logprobs(body))
    fmt = response_format(body)
    if fmt is not None:
        out["format"] = fmt
    if body.get("tools"):
        if not isinstance(body["tools"], list):
            raise _bad("'tools' must be an array", "tools")
        out["tools"] = body["tools"]
    return _common_extras(body, out)


def completion_to_ollama(body: dict) -> dict:
    """An OpenAI /v1/completions body -> an Ollama /api/generate body."""
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise _bad("'prompt' must be a string (one prompt per request)", "prompt")
    echo = body.get("echo")
    if echo is not None and not isinstance(echo, bool):
        raise _bad("'echo' must be a boolean", "echo")
    if body.get("max_tokens") == 0 and not echo:
        raise _bad("'max_tokens' must be at least 1 (0 only with 'echo': true, to score the prompt)", "max_tokens")
    # echo: the prompt is text to continue (and to score) as given, so no template.
    out = {"model": _model(body), "prompt": prompt, "options": sampling_options(body, allow_zero_tokens=True),
           "stream": bool(body.get("stream")), "raw": bool(body.get("raw", False)) or bool(echo)}
    top = completion_logprobs(body)
    if top is not None:
        out.update(logprobs=True, top_logprobs=top)
    if body.get("suffix") is not None:
        if not isinstance(body["suffix"], str):
            raise _bad("'suffix' must be a string", "suffix")
        out["suffix"] = body["suffix"]
    fmt = response_format(body)
    if fmt is not None:
        out["format"] = fmt
    return _common_extras(body, out)


def embeddings_to_ollama(body: dict) -> tuple[dict, str]:
    """An OpenAI /v1/embeddings body -> (an Ollama /api/embed body, encoding format)."""
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise _bad("'input' must be a string or a non-empty array of strings", "input")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise _bad("'encoding_format' must be 'float' or 'base64'", "encoding_format")
    out = {"model": _model(body), "input": texts}
    dims = _integer(body, "dimensions", 1)
    if dims is not None:
        out["dimensions"] = dims
    if body.get("options") is not None:
        out["options"] = body["options"]
    return _common_extras(body, out), encoding


# --- response translation (pure) -----------------------------------------------------------

def new_id(prefix: str) -> str:
    return f"{prefix}-{random.randrange(1000)}"


def finish_reason(chunk: dict) -> str | None:
    if not chunk.get("done"):
        return None
    if (chunk.get("message") or {}).get("tool_calls"):
        return "tool_calls"
    return "length" if chunk.get("done_reason") == "length" else "stop"


def usage(final: dict) -> dict:
    prompt = int(final.get("prompt_eval_count") or 0)
    completion = int(final.get("eval_count") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def tool_calls(message: dict) -> list[dict] | None:
    calls = message.get("tool_calls")
    if not calls:
        return None
    out = []
    for i, call in enumerate(calls):
        fn = call.get("function") or {}
        args = fn.get("arguments", {})
        out.append({"id": call.get("id") or f"call_{random.randrange(10**8):08d}", "index": i,
                    "type": "function",
                    "function": {"name": fn.get("name"),
                                 "arguments": args if isinstance(args, str) else json.dumps(args)}})
    return out


def chat_logprobs_out(entries: list[dict] | None) -> dict | None:
    """OpenAI chat ``choices[].logprobs`` from Ollama log-probability entries."""
    if entries is None:
        return None
    return {"content": [{"token": e["token"], "logprob": e["logprob"], "bytes": e["bytes"],
                         "top_logprobs": [{"token": t["token"], "logprob": t["logprob"], "bytes": t["bytes"]}
                                          for t in e.get("top_logprobs") or []]} for e in entries],
            "refusal": None}


def completion_logprobs_out(entries: list[dict] | None, offset: int = 0) -> dict | None:
    """OpenAI completions ``choices[].logprobs`` (legacy shape) from Ollama entries; an entry
    whose ``logprob`` is None (the first prompt token when scoring) gives nulls."""
    if entries is None:
        return None
    tokens, token_logprobs, top_logprobs, offsets = [], [], [], []
    for e in entries:
        tokens.append(e["token"])
        token_logprobs.append(e.get("logprob"))
        top = e.get("top_logprobs")
        top_logprobs.append(None if top is None else {t["token"]: t["logprob"] for t in top})
        offsets.append(offset)
        offset += len(e["token"])
    return {"tokens": tokens, "token_logprobs": token_logprobs, "top_logprobs": top_logprobs,
            "text_offset": offsets}


def _entries(chunks: list[dict]) -> list[dict] | None:
    if not any("logprobs" in c for c in chunks):
        return None
    return [e for c in chunks for e in c.get("logprobs") or []]


def chat_completion(chunks: list[dict], model: str, cid: str, created: int) -> dict:
    """Non-streaming reply from the Ollama chat chunks (one, or several to join)."""
    content = "".join((c.get("message") or {}).get("content") or "" for c in chunks)
    final = chunks[-1]
    message: dict = {"role": "assistant", "content": content}
    calls = [tc for c in chunks for tc in ((c.get("message") or {}).get("tool_calls") or [])]
    if calls:
        message["tool_calls"] = tool_calls({"tool_calls": calls})
    reason = "tool_calls" if calls else finish_reason(final) or "stop"
    return {"id": cid, "object": "chat.completion", "created": created, "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [{"index": 0, "message": message, "finish_reason": reason,
                         "logprobs": chat_logprobs_out(_entries(chunks))}],
            "usage": usage(final)}


def chat_chunk(chunk: dict, model: str, cid: str, created: int, first: bool) -> dict:
    msg = chunk.get("message") or {}
    delta: dict = {}
    if first:
        delta["role"] = "assistant"
    if msg.get("content") or first:
        delta["content"] = msg.get("content") or ""
    calls = tool_calls(msg)
    if calls:
        delta["tool_calls"] = calls
    reason = finish_reason(chunk)
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason,
                         "logprobs": chat_logprobs_out(chunk.get("logprobs"))}]}


def text_completion(chunks: list[dict], model: str, cid: str, created: int, offset: int = 0) -> dict:
    """``offset``: where the returned text starts in prompt + completion (``text_offset``)."""
    final = chunks[-1]
    return {"id": cid, "object": "text_completion", "created": created, "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [{"text": "".join(c.get("response") or "" for c in chunks), "index": 0,
                         "logprobs": completion_logprobs_out(_entries(chunks), offset),
                         "finish_reason": finish_reason(final) or "stop"}],
            "usage": usage(final)}


def text_chunk(chunk: dict, model: str, cid: str, created: int, offset: int = 0) -> dict:
    return {"id": cid, "object": "text_completion", "created": created, "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [{"text": chunk.get("response") or "", "index": 0,
                         "logprobs": completion_logprobs_out(chunk.get("logprobs"), offset),
                         "finish_reason": finish_reason(chunk)}]}


def echo_chunk(score: dict, prompt: str) -> dict:
    """The scored prompt (``routes_core.run_score``) as an Ollama-shaped chunk to echo."""
    entries = []
    for raw, entry in zip(score["tokens"], score["logprobs"]):
        if entry is None:
            entries.append({"token": raw.decode("utf-8", errors="replace"), "logprob": None,
                            "bytes": list(raw), "top_logprobs": None})
        else:
            entries.append(entry)
    return {"response": prompt, "done": False, "logprobs": entries}


def score_only_final(score: dict) -> dict:
    """The closing chunk of a request that only scores its prompt (``max_tokens: 0``)."""
    return {"response": "", "done": True, "done_reason": "length",
            "prompt_eval_count": score["prompt_eval_count"], "eval_count": 0}


def usage_chunk(final: dict, model: str, cid: str, created: int, obj: str) -> dict:
    return {"id": cid, "object": obj, "created": created, "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT, "choices": [], "usage": usage(final)}


def encode_embedding(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector


def embeddings_response(result: dict, model: str, encoding: str) -> dict:
    tokens = int(result.get("prompt_eval_count") or 0)
    return {"object": "list", "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": encode_embedding(v, encoding)}
                     for i, v in enumerate(result["embeddings"])],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def model_entry(record) -> dict:
    name: ModelName = record.name
    owner = name.namespace if name.host.lower() == "registry.ollama.ai" else name.host
    return {"id": name.display, "object": "model", "created": int(record.modified_at.timestamp()),
            "owned_by": owner}


# --- routes --------------------------------------------------------------------------------

def _as_openai_error(exc: Exception) -> OpenAIError:
    from inference.engine.options import OptionsError
    from inference.models.store import ModelNotFound

    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, ApiError):
        code = "model_not_found" if exc.status == 404 else None
        return OpenAIError(exc.status, exc.message, None, code)
    if isinstance(exc, ModelNotFound):
        return OpenAIError(404, str(exc), "model", "model_not_found")
    if isinstance(exc, (OptionsError, InvalidModelName)):
        return OpenAIError(400, str(exc))
    log.exception("unexpected error in the OpenAI-compatible API")
    return OpenAIError(500, f"internal error: {type(exc).__name__}: {exc}")


class OpenAIRoute(APIRoute):
    """Every exception leaving a /v1 handler becomes an OpenAI-shaped error response."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every error gets the OpenAI shape
                err = _as_openai_error(exc)
                return JSONResponse(err.body(), status_code=err.status)

        return route


router = APIRouter(route_class=OpenAIRoute)


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        raise _bad("missing request body")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _bad(f"invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    return body



# One encoder for every streamed event (json.dumps with options builds a new one per call).
_SSE_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _sse(obj) -> str:
    return f"data: {_SSE_ENCODER.encode(obj)}\n\n"


async def _first(iterator: AsyncIterator[dict]) -> dict | None:
    """The first chunk, so errors raised before streaming become a proper status code."""
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return None


async def _stream(iterator: AsyncIterator[dict], first: dict | None, render: Callable[[dict, bool], dict],
                  final_usage: Callable[[dict], dict] | None) -> AsyncIterator[str]:
    chunk, is_first = first, True
    try:
        while chunk is not None:
            if "error" in chunk:
                yield _sse(error_body(500, str(chunk["error"])))
                return
            yield _sse(render(chunk, is_first))
            is_first = False
            if chunk.get("done"):
                if final_usage is not None:
                    yield _sse(final_usage(chunk))
                break
            chunk = await _first(iterator)
        yield "data: [DONE]\n\n"
    except Exception as exc:  # noqa: BLE001 - the stream has started: report in band
        err = _as_openai_error(exc)
        yield _sse(err.body())
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def _include_usage(body: dict) -> bool:
    opts = body.get("stream_options")
    if opts is not None and not isinstance(opts, dict):
        raise _bad("'stream_options' must be an object", "stream_options")
    return bool((opts or {}).get("include_usage"))


async def _collect(iterator: AsyncIterator[dict], first: dict | None) -> list[dict]:
    chunks = [first] if first is not None else []
    async for chunk in iterator:
        chunks.append(chunk)
    for chunk in chunks:
        if "error" in chunk:
            raise OpenAIError(500, str(chunk["error"]))
    if not chunks:
        raise OpenAIError(500, "the model produced no response")
    return chunks


@router.post("/v1/chat/completions", summary="OpenAI chat completion",
             openapi_extra=doc.body(doc.OpenAIChatRequest))
async def chat_completions(request: Request):
    from inference.api import routes_core

    body = await _json_body(request)
    include_usage = _include_usage(body)
    ollama = chat_to_ollama(body)
    model, cid, created = ollama["model"], new_id("chatcmpl"), int(time.time())
    iterator = routes_core.run_chat(request, ollama)
    first = await _first(iterator)
    if not ollama["stream"]:
        return JSONResponse(chat_completion(await _collect(iterator, first), model, cid, created))

    def render(chunk, is_first):
        return chat_chunk(chunk, model, cid, created, is_first)

    final = (lambda c: usage_chunk(c, model, cid, created, "chat.completion.chunk")) if include_usage else None
    return StreamingResponse(_stream(iterator, first, render, final), media_type="text/event-stream")


@router.post("/v1/completions", summary="OpenAI text completion",
             openapi_extra=doc.body(doc.OpenAICompletionRequest))
async def completions(request: Request):
    from inference.api import routes_core

    body = await _json_body(request)
    include_usage = _include_usage(body)
    ollama = completion_to_ollama(body)
    model, cid, created = ollama["model"], new_id("cmpl"), int(time.time())
    echo = bool(body.get("echo"))
    if echo:
        iterator = _echo_then_generate(request, ollama, body.get("max_tokens") == 0)
    else:
        iterator = routes_core.run_generate(request, ollama)
    first = await _first(iterator)
    # text_offset counts from the start of the prompt; without echo the text begins after it.
    offset = [0 if echo else len(ollama["prompt"])]
    if not ollama["stream"]:
        return JSONResponse(text_completion(await _collect(iterator, first), model, cid, created, offset[0]))

    def render(chunk, is_first):
        out = text_chunk(chunk, model, cid, created, offset[0])
        offset[0] += sum(len(e["token"]) for e in chunk.get("logprobs") or [])
        return out

    final = (lambda c: usage_chunk(c, model, cid, created, "text_completion")) if include_usage else None
    return StreamingResponse(_stream(iterator, first, render, final), media_type="text/event-stream")


async def _echo_then_generate(request: Request, ollama: dict, score_only: bool) -> AsyncIterator[dict]:
    """``echo``: the prompt with its own log-probabilities, then (unless ``max_tokens`` is 0)
    the completion generated after it."""
    from inference.api import routes_core

    top = int(ollama.get("top_logprobs") or 0)
    score = await routes_core.run_score(request, ollama, top)
    chunk = echo_chunk(score, ollama["prompt"])
    if not ollama.get("logprobs"):
        chunk.pop("logprobs")
    if score_only:
        yield chunk
        yield score_only_final(score)
        return
    yield chunk
    async for item in routes_core.run_generate(request, ollama):
        yield item


@router.get("/v1/models")
async def list_models(request: Request):
    records = request.app.state.store.list()
    return {"object": "list", "data": [model_entry(r) for r in records if not r.name.is_cloud]}


@router.get("/v1/models/{model:path}")
async def get_model(model: str, request: Request):
    from inference.models.store import ModelNotFound

    try:
        record = request.app.state.store.get(model)
    except (ModelNotFound, InvalidModelName):
        raise OpenAIError(404, f"The model '{model}' does not exist", "model", "model_not_found") from None
    return model_entry(record)


@router.post("/v1/embeddings", summary="OpenAI embeddings", openapi_extra=doc.body(doc.OpenAIEmbeddingsRequest))
async def embeddings(request: Request):
    from inference.api import routes_models

    body = await _json_body(request)
    ollama, encoding = embeddings_to_ollama(body)
    result = await routes_models.run_embed(request, ollama)
    return embeddings_response(result, ollama["model"], encoding)

"""Core Ollama endpoints: ``/``, version, tags, show, ps, generate, chat, copy, delete.

Request bodies are parsed by hand (not by FastAPI/pydantic) so that every malformed request
gets Ollama's ``{"error": ...}`` with status 400, never a 422. The pydantic models below only
document the bodies in the OpenAPI description.

``run_generate`` / ``run_chat`` are the engine behind ``/api/generate`` and ``/api/chat`` and
are shared with the OpenAI-compatible layer: async iterators of Ollama-shaped chunk dicts
whose last item has ``done: true`` and the statistics. They raise :class:`ApiError` before the
first chunk for bad input; a client that disconnects cancels the generation within a token.

Beyond Ollama (extra fields in the final chunk; Ollama clients ignore unknown fields):

* ``truncated_messages`` + ``num_ctx`` (chat): the conversation did not fit ``num_ctx``; that
  many of the oldest non-system messages were left out (also logged as a warning). Ollama
  drops them silently.
* ``truncated_prompt_tokens`` + ``num_ctx``: a prompt longer than the context was cut (the
  first ``num_keep`` tokens kept, the oldest after them dropped) to leave room for the answer.
* Names ending ``-cloud``/``:cloud`` are refused with 400: nothing leaves this machine.
* A request with a fixed ``seed`` (and temperature > 0) evaluates its prompt from scratch, so
  its output never depends on what an earlier request left in the prompt cache.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

import inference
from inference.api import openapi_doc as doc
from inference.api.errors import ApiError

log = logging.getLogger("inference.server")
router = APIRouter()

NDJSON = "application/x-ndjson"
DISCONNECT_POLL_SECONDS = 0.1


# ---------------------------------------------------------------------------------------------
# small helpers


_second_cache: list = [None, ""]


def now_rfc3339() -> str:
    """UTC time with nanoseconds, as Go formats time.Time in JSON (called for every chunk, so
    the date part is formatted once per second)."""
    seconds, frac = divmod(time.time_ns(), 1_000_000_000)
    if _second_cache[0] != seconds:
        _second_cache[0] = seconds
        _second_cache[1] = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{_second_cache[1]}.{frac:09d}Z"


def rfc3339(dt: datetime) -> str:
    return dt.astimezone().isoformat()


async def read_body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "missing request body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"invalid JSON in request body: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


_TYPE_NAMES = {str: "a string", bool: "a boolean", list: "an array", dict: "an object", int: "an integer"}


def field(body: dict, name: str, kind: type | tuple, default=None):
    """``body[name]`` checked against ``kind``; ``null`` or missing gives ``default``."""
    value = body.get(name)
    if value is None:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (bool not in kinds and isinstance(value, bool))
    if not ok:
        expected = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise ApiError(400, f"invalid value for '{name}': expected {expected}")
    return value


def model_name_of(body: dict) -> str:
    name = field(body, "model", str) or field(body, "name", str)
    if not name:
        raise ApiError(400, "model is required")
    return name


async def check_weights(request: Request, record) -> None:
    """Refuse to load weights that are truncated or no longer match their digest (500 naming
    the repair), instead of handing llama.cpp a damaged file. Hashed once per file version."""
    verifier = getattr(request.app.state, "blob_verifier", None)
    if verifier is None or verifier.known_good(request.app.state.store, record):
        return
    damage = await asyncio.to_thread(verifier.check, request.app.state.store, record)
    if damage is not None:
        log.error("%s", damage.message())
        raise ApiError(500, damage.message())


def lookup(request: Request, name: str):
    """The store record for ``name``; 400 for bad/cloud names, 404 when missing."""
    from inference.models.names import InvalidModelName, ModelName
    from inference.models.store import ModelNotFound

    try:
        parsed = ModelName.parse(name)
    except InvalidModelName as exc:
        raise ApiError(400, str(exc)) from None
    if parsed.is_cloud:
        raise ApiError(
            400,
            f"model '{name}' is a cloud model: this server runs models on this machine only and "
            "never sends prompts elsewhere; use a local model",
        )
    try:
        return request.app.state.store.get(parsed)
    except ModelNotFound:
        raise ApiError(404, f"model '{name}' not found") from None


def _metadata(record, max_array: int | None = 64) -> dict:
    from inference.models import gguf_info

    if record.model_path is None:
        return {}
    try:
        if max_array == 64:
            return gguf_info.read_metadata(record.model_path)
        return gguf_info.read_metadata(record.model_path, max_array=max_array)
    except Exception as exc:  # noqa: BLE001 - a broken blob must not break /api/show
        log.warning("cannot read GGUF metadata of %s: %s", record.name.display, exc)
        return {}


def trained_context(record) -> int | None:
    from inference.models import gguf_info

    return gguf_info.context_length(_metadata(record))


def effective_options(record, body: dict) -> dict:
    from inference.engine.options import OptionsError, merge_options

    try:
        return merge_options(record.params, body.get("options"), trained_ctx=trained_context(record))
    except OptionsError as exc:
        raise ApiError(400, str(exc)) from None


def keep_alive_of(request: Request, body: dict) -> float | None:
    from inference.engine.options import OptionsError, parse_keep_alive

    try:
        return parse_keep_alive(body.get("keep_alive"), request.app.state.scheduler.config.default_keep_alive)
    except OptionsError as exc:
        raise ApiError(400, str(exc)) from None


def grammar_of(body: dict):
    from inference.engine.grammar import FormatError, grammar_for_format

    try:
        return grammar_for_format(body.get("format"))
    except FormatError as exc:
        raise ApiError(400, str(exc)) from None


def logprobs_of(body: dict) -> tuple[bool, int]:
    """``logprobs`` (bool) and ``top_logprobs`` (0..20) of a generate/chat body."""
    from inference.engine.runtime import MAX_TOP_LOGPROBS

    want = field(body, "logprobs", bool, False)
    top = field(body, "top_logprobs", int, 0)
    if not 0 <= top <= MAX_TOP_LOGPROBS:
        raise ApiError(400, f"invalid value for 'top_logprobs': must be between 0 and {MAX_TOP_LOGPROBS}, got {top}")
    if top and not want:
        # Ollama returns alternatives only with logprobs on; asking for them turns it on.
        want = True
    return want, top


def check_think(record, body: dict) -> None:
    think = body.get("think")
    if think is None or think is False:
        return
    if not isinstance(think, (bool, str)):
        raise ApiError(400, "invalid value for 'think': expected a boolean or \"low\", \"medium\", \"high\"")
    if "thinking" not in capabilities(record):
        raise ApiError(400, f"model '{record.name.display}' does not support thinking")


def capabilities(record) -> list[str]:
    from inference.models import gguf_info

    md = _metadata(record)
    template = record.template or gguf_info.chat_template(md) or ""
    arch = md.get("general.architecture", "")
    caps = []
    if md.get(f"{arch}.pooling_type") is not None and "bert" in arch:
        caps.append("embedding")
    else:
        caps.append("completion")
    if ".Tools" in template or "tools" in template:
        caps.append("tools")
    if ".Suffix" in template:
        caps.append("insert")
    if record.projector is not None:
        caps.append("vision")
    if ".Think" in template or "enable_thinking" in template:
        caps.append("thinking")
    return caps


class _DisconnectWatch:
    """Polls ``request.is_disconnected()`` and sets ``cancel`` when the client leaves."""

    def __init__(self, request, cancel: threading.Event):
        self.request = request
        self.cancel = cancel
        self.task = None
        if request is not None and hasattr(request, "is_disconnected"):
            self.task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self):
        try:
            while not self.cancel.is_set():
                await asyncio.sleep(DISCONNECT_POLL_SECONDS)
                if await self.request.is_disconnected():
                    log.info("client disconnected; cancelling its request")
                    self.cancel.set()
                    return
        except Exception:  # noqa: BLE001 - best effort
            return

    def stop(self):
        if self.task is not None:
            self.task.cancel()


def _stats(result, total_start: int, load_duration: int) -> dict:
    return {
        "total_duration": time.perf_counter_ns() - total_start,
        "load_duration": load_duration,
        "prompt_eval_count": result.prompt_eval_count,
        "prompt_eval_duration": result.prompt_eval_duration,
        "eval_count": result.eval_count,
        "eval_duration": result.eval_duration,
    }


async def _load_only(request, record, options, keep_alive, total_start) -> dict:
    """Empty prompt/messages: load the model (or unload it with keep_alive 0)."""
    scheduler = request.app.state.scheduler
    if keep_alive == 0:
        await scheduler.unload(record.digest)
        reason = "unload"
        load_duration = 0
    else:
        await check_weights(request, record)
        async with scheduler.use(record, options, keep_alive, request=request) as handle:
            load_duration = handle.load_duration
        reason = "load"
    return {"model": record.name.display, "created_at": now_rfc3339(), "done": True, "done_reason": reason,
            "total_duration": time.perf_counter_ns() - total_start, "load_duration": load_duration}


async def _decode(request, handle, tokens, options, grammar, cancel, logprobs=(False, 0)):
    """Run the runner's generator in a worker thread: yields str pieces, then the result."""
    from inference.engine.runtime import FormatError, InvalidTokens, SamplingParams

    params = SamplingParams.from_options(options)
    want, top = logprobs
    extra = {"logprobs": True, "top_logprobs": top} if want else {}
    try:
        iterator = handle.runner.generate(tokens, params, grammar=grammar, cancel=cancel, **extra)
    except (FormatError, InvalidTokens) as exc:
        raise ApiError(400, str(exc)) from None
    try:
        if hasattr(iterator, "__aiter__"):  # the runtime's Generation: decoded on the engine thread
            stream = handle.stream_generation(iterator, cancel)
        else:
            stream = handle.stream(lambda: iterator, cancel)
        async for item in stream:
            yield item
    except RuntimeError as exc:  # llama.cpp failed (decode error, out of memory ...)
        log.error("generation failed: %s", exc)
        raise ApiError(500, f"generation failed: {exc}") from None


async def _tokenize(handle, text: str, **kwargs) -> list[int]:
    """Tokens of ``text``; long texts are tokenized in a thread so the event loop stays free."""
    if len(text) < 8192:
        return handle.tokenize(text, **kwargs)
    return await asyncio.to_thread(handle.tokenize, text, **kwargs)


def _with_logprobs(chunk: dict, piece: str) -> dict:
    """Attach the log-probabilities a runtime :class:`Piece` carries (Ollama's shape)."""
    entries = getattr(piece, "logprobs", None)
    if entries is not None:
        chunk["logprobs"] = entries
        if "response" in chunk:
            chunk["response"] = str(piece)
    return chunk


async def run_score(request: Request, body: dict, top_n: int) -> dict:
    """Score ``body["prompt"]`` as given (no template): the log-probability of each of its
    tokens after the ones before it. Returns ``{"model", "tokens": [bytes...], "logprobs":
    [entry | None ...], "prompt_eval_count", "prompt_eval_duration"}``."""
    from inference.engine.runtime import InvalidTokens

    name = model_name_of(body)
    prompt = field(body, "prompt", str, "")
    record = lookup(request, name)
    options = effective_options(record, body)
    keep_alive = keep_alive_of(request, body)
    cancel = threading.Event()
    watch = _DisconnectWatch(request, cancel)
    try:
        async with request.app.state.scheduler.use(record, options, keep_alive, request=request) as handle:
            tokens = await _tokenize(handle, prompt)
            started = time.perf_counter_ns()
            try:
                entries = await handle.run(handle.runner.score, tokens, top_n, cancel)
            except (InvalidTokens, ValueError) as exc:
                raise ApiError(400, str(exc)) from None
            duration = time.perf_counter_ns() - started
            pieces = [handle.runner.token_bytes(t) for t in tokens]
    finally:
        cancel.set()
        watch.stop()
    log.info("score %s: %d tokens", record.name.display, len(tokens))
    return {"model": name, "tokens": pieces, "logprobs": entries,
            "prompt_eval_count": len(tokens), "prompt_eval_duration": duration}


def _log_result(kind: str, record, result, extra: str = "") -> None:
    if result.done_reason != "cancel":  # cancellations are logged by the runtime
        log.info("%s %s: %d prompt tokens (%d cached), %d generated, done_reason=%s%s", kind, record.name.display,
                 result.prompt_eval_count, result.cached_prompt_tokens, result.eval_count, result.done_reason, extra)


# ---------------------------------------------------------------------------------------------
# generate


def _check_generate_body(body: dict) -> dict:
    req = {
        "prompt": field(body, "prompt", str, ""),
        "suffix": field(body, "suffix", str),
        "system": field(body, "system", str),
        "template": field(body, "template", str),
        "context": field(body, "context", list),
        "raw": field(body, "raw", bool, False),
        "images": field(body, "images", list),
    }
    field(body, "stream", bool)
    field(body, "options", dict)
    if req["context"] is not None and not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in req["context"]):
        raise ApiError(400, "invalid value for 'context': expected an array of token ids")
    if req["raw"] and (req["template"] or req["system"] or req["context"]):
        raise ApiError(400, "raw mode does not support template, system, or context")
    if req["images"]:
        raise ApiError(400, "this server does not support images yet (no vision models)")
    if body.get("format") is not None and not isinstance(body["format"], (str, dict)):
        raise ApiError(400, "invalid value for 'format': expected \"json\" or a JSON schema object")
    return req


async def run_generate(request: Request, body: dict) -> AsyncIterator[dict]:
    """``/api/generate`` as an async iterator of chunk dicts (see the module docstring)."""
    total_start = time.perf_counter_ns()
    name = model_name_of(body)
    req = _check_generate_body(body)
    record = lookup(request, name)
    options = effective_options(record, body)
    keep_alive = keep_alive_of(request, body)
    check_think(record, body)
    grammar = grammar_of(body)
    logprobs = logprobs_of(body)
    model = record.name.display if name.lower() == record.name.display.lower() else name

    if not req["prompt"] and not req["suffix"] and not req["context"]:
        chunk = await _load_only(request, record, options, keep_alive, total_start)
        chunk.update(model=model, response="")
        yield chunk
        return

    from inference.prompts import prompting

    try:
        text = prompting.generate_prompt(
            record, req["prompt"], system=req["system"], template=req["template"],
            suffix=req["suffix"], raw=req["raw"], think=body.get("think"),
            include_model_messages=not req["context"],
        )
    except ApiError:
        raise
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None

    cancel = threading.Event()
    watch = _DisconnectWatch(request, cancel)
    try:
        await check_weights(request, record)
        async with request.app.state.scheduler.use(record, options, keep_alive, request=request) as handle:
            if req["context"]:
                tokens = list(req["context"]) + await _tokenize(handle, text, add_bos=False)
            else:
                tokens = await _tokenize(handle, text)
            result = None
            async for item in _decode(request, handle, tokens, options, grammar, cancel, logprobs):
                if isinstance(item, str):
                    yield _with_logprobs(
                        {"model": model, "created_at": now_rfc3339(), "response": item, "done": False}, item)
                else:
                    result = item
            load_duration = handle.load_duration
    finally:
        cancel.set()  # however we leave (consumer closed us, error, cancellation): stop decoding
        watch.stop()
    extra = ""
    final = {"model": model, "created_at": now_rfc3339(), "response": "", "done": True,
             "done_reason": result.done_reason}
    if not req["raw"]:
        final["context"] = result.context
    final.update(_stats(result, total_start, load_duration))
    if result.truncated_prompt_tokens:
        final["truncated_prompt_tokens"] = result.truncated_prompt_tokens
        final["num_ctx"] = int(options["num_ctx"])
        extra = f", prompt truncated by {result.truncated_prompt_tokens} tokens to fit num_ctx={options['num_ctx']}"
    _log_result("generate", record, result, extra)
    if result.done_reason != "cancel":
        yield final


# ---------------------------------------------------------------------------------------------
# chat


def _check_messages(body: dict) -> list[dict]:
    messages = field(body, "messages", list, [])
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ApiError(400, f"invalid message {i}: expected an object with 'role' and 'content'")
        role = m.get("role")
        if not isinstance(role, str) or not role:
            raise ApiError(400, f"invalid message {i}: 'role' must be a non-empty string")
        content = m.get("content")
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise ApiError(400, f"invalid message {i}: 'content' must be a string")
        if m.get("images"):
            raise ApiError(400, "this server does not support images yet (no vision models)")
        msg = dict(m)
        msg["content"] = content
        out.append(msg)
    return out


async def run_chat(request: Request, body: dict) -> AsyncIterator[dict]:
    """``/api/chat`` as an async iterator of chunk dicts (see the module docstring)."""
    total_start = time.perf_counter_ns()
    name = model_name_of(body)
    messages = _check_messages(body)
    field(body, "stream", bool)
    field(body, "options", dict)
    tools = field(body, "tools", list)
    if body.get("format") is not None and not isinstance(body["format"], (str, dict)):
        raise ApiError(400, "invalid value for 'format': expected \"json\" or a JSON schema object")
    record = lookup(request, name)
    options = effective_options(record, body)
    keep_alive = keep_alive_of(request, body)
    check_think(record, body)
    if tools and "tools" not in capabilities(record):
        raise ApiError(400, f"model '{record.name.display}' does not support tools")
    grammar = grammar_of(body)
    logprobs = logprobs_of(body)
    model = record.name.display if name.lower() == record.name.display.lower() else name

    if not messages:
        chunk = await _load_only(request, record, options, keep_alive, total_start)
        chunk.update(model=model, message={"role": "assistant", "content": ""})
        yield chunk
        return

    from inference.prompts import prompting

    num_ctx = int(options["num_ctx"])
    num_predict = int(options.get("num_predict") or -1)
    reserve = min(num_predict if num_predict > 0 else 256, num_ctx // 4)
    cancel = threading.Event()
    watch = _DisconnectWatch(request, cancel)
    try:
        await check_weights(request, record)
        async with request.app.state.scheduler.use(record, options, keep_alive, request=request) as handle:
            try:
                # Trimming a long history tokenizes it repeatedly: keep that off the event loop.
                prompt = await asyncio.to_thread(
                    prompting.chat_prompt, record, messages, count_tokens=handle.count_tokens,
                    num_ctx=num_ctx, reserve=reserve, tools=tools or None, think=body.get("think"))
            except ApiError:
                raise
            except ValueError as exc:
                raise ApiError(400, str(exc)) from None
            if prompt.dropped_messages:
                log.warning(
                    "chat with %s: the conversation does not fit num_ctx=%d; dropped the %d oldest "
                    "non-system message(s)", record.name.display, num_ctx, prompt.dropped_messages,
                )
            tokens = await _tokenize(handle, prompt.text)
            result = None
            async for item in _decode(request, handle, tokens, options, grammar, cancel, logprobs):
                if isinstance(item, str):
                    yield _with_logprobs({"model": model, "created_at": now_rfc3339(),
                                          "message": {"role": "assistant", "content": str(item)}, "done": False}, item)
                else:
                    result = item
            load_duration = handle.load_duration
    finally:
        cancel.set()  # however we leave (consumer closed us, error, cancellation): stop decoding
        watch.stop()
    final = {"model": model, "created_at": now_rfc3339(), "message": {"role": "assistant", "content": ""},
             "done": True, "done_reason": result.done_reason}
    final.update(_stats(result, total_start, load_duration))
    extra = ""
    if prompt.dropped_messages or result.truncated_prompt_tokens:
        final["truncated_messages"] = prompt.dropped_messages
        final["num_ctx"] = num_ctx
        extra = f", {prompt.dropped_messages} message(s) dropped to fit num_ctx={num_ctx}"
    if result.truncated_prompt_tokens:
        final["truncated_prompt_tokens"] = result.truncated_prompt_tokens
    _log_result("chat", record, result, extra)
    if result.done_reason != "cancel":
        yield final


# ---------------------------------------------------------------------------------------------
# responses: NDJSON streaming or one JSON object


# One encoder for every streamed line (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _line(obj: dict) -> bytes:
    return (_ENCODER.encode(obj) + "\n").encode("utf-8")


def _merge(chunks: list[dict], key: str) -> dict:
    """One non-streaming response from all chunks: the final one, with all text joined."""
    final = dict(chunks[-1])
    if any("logprobs" in c for c in chunks):
        final["logprobs"] = [e for c in chunks for e in c.get("logprobs") or []]
    if key == "response":
        final["response"] = "".join(c.get("response", "") for c in chunks)
    else:
        content = "".join(c.get("message", {}).get("content", "") for c in chunks)
        final["message"] = dict(final.get("message") or {"role": "assistant"}, content=content)
    return final


async def respond(request: Request, body: dict, chunks: AsyncIterator[dict], key: str) -> Response:
    """Stream ``chunks`` as NDJSON (default) or collect them into one JSON object."""
    stream = body.get("stream", True) is not False
    iterator = chunks.__aiter__()
    if not stream:
        collected = [c async for c in iterator]
        if not collected or not collected[-1].get("done"):  # cancelled: the client is gone
            return Response(status_code=499)
        return JSONResponse(_merge(collected, key))
    try:
        first = await iterator.__anext__()
    except StopAsyncIteration:
        return Response(status_code=499)

    async def lines():
        yield _line(first)
        try:
            async for chunk in iterator:
                yield _line(chunk)
        except ApiError as exc:
            yield _line({"error": exc.message})
        except Exception as exc:  # noqa: BLE001 - after the stream started, errors are the last line
            log.exception("error while streaming")
            yield _line({"error": str(exc) or exc.__class__.__name__})

    return StreamingResponse(lines(), media_type=NDJSON)


# ---------------------------------------------------------------------------------------------
# routes


@router.api_route("/", methods=["GET", "HEAD"], response_class=PlainTextResponse, summary="Health check")
async def root() -> PlainTextResponse:
    return PlainTextResponse("Ollama is running")


@router.api_route("/api/version", methods=["GET", "HEAD"], summary="Server version")
async def version() -> dict:
    return {"version": inference.OLLAMA_COMPAT_VERSION}


def tag_entry(record) -> dict:
    return {
        "name": record.name.display,
        "model": record.name.display,
        "modified_at": rfc3339(record.modified_at),
        "size": record.size,
        "digest": record.digest,
        "details": record.details,
    }


@router.api_route("/api/tags", methods=["GET", "HEAD"], summary="List local models")
async def tags(request: Request) -> dict:
    records = await asyncio.to_thread(request.app.state.store.list)
    return {"models": [tag_entry(r) for r in records]}


def _param_value(value) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parameters_text(params: dict) -> str:
    lines = []
    for key, value in params.items():
        for v in value if isinstance(value, list) else [value]:
            lines.append(f"{key:<30} {_param_value(v)}")
    return "\n".join(lines)


def modelfile_text(record) -> str:
    out = [
        '# Modelfile generated by "ollama show"',
        "# To build a new Modelfile based on this, replace FROM with:",
        f"# FROM {record.name.display}",
        "",
        f"FROM {record.model_path}" if record.model_path else f"FROM {record.name.display}",
    ]
    if record.template:
        out.append(f'TEMPLATE """{record.template}"""')
    if record.system:
        out.append(f'SYSTEM """{record.system}"""')
    for adapter in record.adapters:
        out.append(f"ADAPTER {adapter}")
    for key, value in record.params.items():
        for v in value if isinstance(value, list) else [value]:
            out.append(f"PARAMETER {key} {_param_value(v)}")
    for text in record.license:
        out.append(f'LICENSE """{text}"""')
    for m in record.messages:
        out.append(f"MESSAGE {m.get('role', '')} {json.dumps(m.get('content', ''), ensure_ascii=False)}")
    return "\n".join(out) + "\n"


@router.post("/api/show", summary="Show model information", openapi_extra=doc.body(doc.ModelRequest))
async def show(request: Request) -> dict:
    from inference.models import gguf_info

    body = await read_body(request)
    record = lookup(request, model_name_of(body))
    verbose = bool(field(body, "verbose", bool, False))
    md = await asyncio.to_thread(_metadata, record, None if verbose else 64)
    template = record.template if record.template is not None else (gguf_info.chat_template(md) or "")
    out = {
        "modelfile": modelfile_text(record),
        "parameters": parameters_text(record.params),
        "template": template,
        "details": record.details,
        "model_info": _jsonable(md),
        "capabilities": capabilities(record),
        "modified_at": rfc3339(record.modified_at),
    }
    if record.system:
        out["system"] = record.system
    if record.license:
        out["license"] = "\n".join(record.license)
    if record.messages:
        out["messages"] = record.messages
    return out


def _jsonable(md: dict) -> dict:
    out = {}
    for key, value in md.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        out[key] = value
    return out


@router.get("/api/ps", summary="Models loaded in memory")
async def ps(request: Request) -> dict:
    models = []
    for lm in request.app.state.scheduler.loaded():
        record = lm.record
        entry = tag_entry(record)
        del entry["modified_at"]
        entry.update(
            size=int(getattr(lm.runner, "size", record.size)),
            size_vram=0,
            expires_at=rfc3339(lm.expires_at_datetime()),
            context_length=int(getattr(lm.runner, "n_ctx", 0)),
        )
        models.append(entry)
    return {"models": models}


@router.post("/api/generate", summary="Generate a completion", openapi_extra=doc.body(doc.GenerateRequest))
async def generate(request: Request) -> Response:
    body = await read_body(request)
    return await respond(request, body, run_generate(request, body), "response")


@router.post("/api/chat", summary="Chat completion", openapi_extra=doc.body(doc.ChatRequest))
async def chat(request: Request) -> Response:
    body = await read_body(request)
    return await respond(request, body, run_chat(request, body), "message")


@router.post("/api/copy", summary="Copy a model", openapi_extra=doc.body(doc.CopyRequest))
async def copy(request: Request) -> Response:
    from inference.models.names import InvalidModelName, ModelName
    from inference.models.store import ModelNotFound

    body = await read_body(request)
    source = field(body, "source", str)
    destination = field(body, "destination", str)
    if not source or not destination:
        raise ApiError(400, "source and destination are required")
    lookup(request, source)
    try:
        if ModelName.parse(destination).is_cloud:
            raise ApiError(400, f"destination '{destination}' is a cloud model name")
        await asyncio.to_thread(request.app.state.store.copy, source, destination)
    except InvalidModelName as exc:
        raise ApiError(400, str(exc)) from None
    except ModelNotFound as exc:
        raise ApiError(404, str(exc)) from None
    return Response(status_code=200)


@router.delete("/api/delete", summary="Delete a model", openapi_extra=doc.body(doc.ModelRequest))
async def delete(request: Request) -> Response:
    from inference.models.store import ModelNotFound

    body = await read_body(request)
    name = model_name_of(body)
    record = lookup(request, name)
    await request.app.state.scheduler.unload(record.digest)
    try:
        await asyncio.to_thread(request.app.state.store.delete, name)
    except ModelNotFound as exc:
        raise ApiError(404, str(exc)) from None
    return Response(status_code=200)

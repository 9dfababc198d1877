"""Model management and embedding endpoints: pull, create, blobs, embed, embeddings.

* ``POST /api/pull``: registry pull (inference.models.registry); NDJSON status lines, or one object
  with ``stream: false``. "Not found" / "unreachable" are answered with a status code before
  any line is streamed; later failures are the last NDJSON line.
* ``POST /api/create``: the JSON form (``from``, ``files``, ``template``, ``system``,
  ``parameters``, ``license``, ``messages``, ``adapters``) or a ``modelfile`` text.
* ``HEAD``/``POST /api/blobs/sha256:<hex>``: upload blobs for ``files`` (digest checked).
* ``POST /api/embed`` (L2-normalised, ``truncate``, ``dimensions``) and the legacy
  ``POST /api/embeddings`` (raw vector).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import threading
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

from inference.models import modelfile as mf
from inference.api import openapi_doc as doc
from inference.api.errors import ApiError
from inference.models.names import InvalidModelName, ModelName
from inference.api.routes_core import (check_weights, effective_options, keep_alive_of, lookup, model_name_of,
                                       read_body)

log = logging.getLogger(__name__)
router = APIRouter()
NDJSON = "application/x-ndjson"
GGUF_MAGIC = b"GGUF"


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _streaming(body: dict) -> bool:
    stream = body.get("stream", True)
    if stream is not None and not isinstance(stream, bool):
        raise ApiError(400, "invalid value for 'stream': expected a boolean")
    return stream is not False


# --- pull ----------------------------------------------------------------------------------

@router.post("/api/pull", summary="Pull a model from a registry", openapi_extra=doc.body(doc.PullRequest))
async def pull(request: Request) -> Response:
    from inference.models.registry import PullError, start_pull

    body = await read_body(request)
    name = model_name_of(body)
    insecure = body.get("insecure", False)
    if not isinstance(insecure, bool):
        raise ApiError(400, "invalid value for 'insecure': expected a boolean")
    stream = _streaming(body)
    try:
        job = await start_pull(request.app.state.store, name, insecure=insecure)
    except PullError as exc:
        raise ApiError(exc.status, str(exc)) from None
    log.info("pulling %s", job.name.full)

    if not stream:
        try:
            async for _ in job.run():
                pass
        except PullError as exc:
            raise ApiError(exc.status, str(exc)) from None
        return JSONResponse({"status": "success"})

    async def lines():
        try:
            async for status in job.run():
                yield _line(status)
        except PullError as exc:
            log.warning("pull of %s failed: %s", job.name.full, exc)
            yield _line({"error": str(exc)})
        except OSError as exc:
            log.exception("pull of %s failed", job.name.full)
            yield _line({"error": f"pull failed: {exc}"})

    return StreamingResponse(lines(), media_type=NDJSON)


@router.post("/api/push", summary="Push a model (not supported)", openapi_extra=doc.body(doc.ModelRequest))
async def push(request: Request) -> Response:
    raise ApiError(403, "push is not supported: hushtype never uploads models from this machine")


# --- blobs ---------------------------------------------------------------------------------

def _blob_digest(digest: str) -> str:
    from inference.models.store import InvalidDigest, normalize_digest

    try:
        return normalize_digest(digest)
    except InvalidDigest:
        raise ApiError(400, f"invalid digest format {digest!r}: expected sha256:<64 hex digits>") from None


@router.head("/api/blobs/{digest}", summary="Is a blob present?")
async def blob_exists(digest: str, request: Request) -> Response:
    from inference.models.integrity import intact_blob

    digest = _blob_digest(digest)
    # a damaged blob (truncated, bytes changed) counts as absent, so the client uploads it again
    intact = await asyncio.to_thread(intact_blob, request.app.state.store, digest)
    return Response(status_code=200 if intact else 404)


@router.post("/api/blobs/{digest}", summary="Upload a blob",
             openapi_extra=doc.binary_body("the file's bytes; their sha256 must be the digest"))
async def blob_upload(digest: str, request: Request) -> Response:
    digest = _blob_digest(digest)
    from inference.models.integrity import intact_blob

    store = request.app.state.store
    damaged = store.has_blob(digest) and not await asyncio.to_thread(intact_blob, store, digest)
    if store.has_blob(digest) and not damaged:
        return Response(status_code=200)
    tmp = store.blobs_dir / f".tmp-upload-{os.getpid()}-{time.monotonic_ns()}-partial"
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as fh:
            try:
                async for chunk in request.stream():
                    h.update(chunk)
                    fh.write(chunk)
            except ClientDisconnect:
                log.info("blob upload of %s abandoned by the client", digest)
                return Response(status_code=499)
        got = "sha256:" + h.hexdigest()
        if got != digest:
            raise ApiError(400, f"digest mismatch: expected {digest}, got {got}")
        os.chmod(tmp, 0o644)
        with store.lock:
            if damaged or not store.has_blob(digest):  # a damaged blob is replaced
                os.replace(tmp, store.blob_path(digest))
    finally:
        tmp.unlink(missing_ok=True)
    return Response(status_code=201)


# --- create --------------------------------------------------------------------------------

def _is_gguf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _check_parameters(params) -> dict:
    from inference.engine.options import OPTION_TYPES, OptionsError, check_load_ranges, validate_options

    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ApiError(400, "invalid value for 'parameters': expected an object")
    unknown = sorted(k for k in params if k not in OPTION_TYPES and k not in mf._LEGACY_TYPES)
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}")
    try:
        checked = validate_options({k: v for k, v in params.items() if k in OPTION_TYPES})
        # num_ctx is capped at the model's trained context when a request loads it; the others
        # would refuse every request, so refuse them now.
        check_load_ranges({k: v for k, v in checked.items() if k != "num_ctx"})
    except OptionsError as exc:
        raise ApiError(400, str(exc)) from None
    checked.update({k: v for k, v in params.items() if k in mf._LEGACY_TYPES and v is not None})
    return checked


def _check_messages(messages) -> list[dict] | None:
    if messages is None:
        return None
    if not isinstance(messages, list):
        raise ApiError(400, "invalid value for 'messages': expected an array")
    out = []
    for i, m in enumerate(messages):
        if (not isinstance(m, dict) or m.get("role") not in mf.ROLES
                or not isinstance(m.get("content"), str)):
            raise ApiError(400, f"invalid message {i}: expected role system/user/assistant and string content")
        out.append({"role": m["role"], "content": m["content"]})
    return out


def _text_field(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"invalid value for '{key}': expected a string")
    return value


def _blob_file(store, digest: str, what: str) -> Path:
    digest = _blob_digest(digest)
    if not store.has_blob(digest):
        raise ApiError(400, f"{what}: blob {digest} not found; upload it first with POST /api/blobs/{digest}")
    return Path(store.blob_path(digest))


def _gguf_source(store, source: str, what: str, base_dir: Path | None = None) -> Path:
    """A GGUF file for a FROM/from/files value that is a blob digest or a path on this machine."""
    kind = mf.from_kind(source)
    if kind == "blob":
        path = _blob_file(store, source, what)
    else:
        path = mf.resolve_from_path(source, base_dir)
        if not path.is_absolute():
            raise ApiError(400, f"{what}: {source!r} is a relative path; give the server an absolute "
                                "path, or upload the file (hushtype create -f does this for you)")
        if not path.is_file():
            raise ApiError(400, f"{what}: no such file on the server: {path}")
        path = path.resolve()  # link the file itself, never a symlink to it
    if not _is_gguf(path):
        raise ApiError(400, f"{what}: {source} is not a GGUF file (only GGUF models can be imported; "
                            "convert safetensors with llama.cpp's convert_hf_to_gguf.py)")
    return path


def create_plan(store, body: dict) -> dict:
    """Validate an /api/create body into ``store.create_model`` arguments (raises ApiError)."""
    name = model_name_of(body)
    try:
        parsed = ModelName.parse(name)
    except InvalidModelName as exc:
        raise ApiError(400, str(exc)) from None
    if parsed.is_cloud:
        raise ApiError(400, f"model '{name}' is a cloud model name; this server only creates local models")
    if body.get("quantize") or body.get("quantization"):
        raise ApiError(400, "quantization is not supported by this server; quantize with llama.cpp's "
                            "llama-quantize and import the resulting GGUF")

    fields: dict = {}
    source = body.get("from")
    if body.get("modelfile") is not None:
        text = _text_field(body, "modelfile")
        try:
            parsed_mf = mf.parse(text)
        except mf.ModelfileError as exc:
            raise ApiError(400, f"invalid modelfile: {exc}") from None
        fields.update(parsed_mf.create_fields())
        source = source or parsed_mf.from_
        if parsed_mf.adapters:
            fields["adapters"] = [_blob_file(store, a, "ADAPTER") if mf.from_kind(a) == "blob"
                                  else mf.resolve_from_path(a, None) for a in parsed_mf.adapters]
    if source is not None and not isinstance(source, str):
        raise ApiError(400, "invalid value for 'from': expected a string")

    plan: dict = {"name": parsed}
    files = body.get("files")
    if files is not None:
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise ApiError(400, "invalid value for 'files': expected an object of file name -> sha256 digest")
        ggufs = []
        for filename, digest in files.items():
            path = _blob_file(store, digest, f"files[{filename!r}]")
            if not _is_gguf(path):
                raise ApiError(400, f"files[{filename!r}] is not a GGUF file (only GGUF models can be "
                                    "imported; convert safetensors with llama.cpp's convert_hf_to_gguf.py)")
            ggufs.append(path)
        if len(ggufs) > 1:
            raise ApiError(400, "'files' must hold exactly one GGUF model file")
        if ggufs:
            plan["gguf"] = ggufs[0]
    if source:
        kind = mf.from_kind(source)
        if kind == "model":
            plan["from_model"] = lookup_name(store, source)
        elif "gguf" in plan:
            raise ApiError(400, "give either 'files' or a GGUF 'from', not both")
        else:
            plan["gguf"] = _gguf_source(store, source, "from")
    if "gguf" not in plan and "from_model" not in plan:
        raise ApiError(400, "neither 'from' nor 'files' was specified")

    adapters = body.get("adapters")
    if adapters is not None:
        if not isinstance(adapters, dict):
            raise ApiError(400, "invalid value for 'adapters': expected an object of file name -> sha256 digest")
        fields["adapters"] = [_blob_file(store, d, f"adapters[{n!r}]") for n, d in adapters.items()]

    for key in ("template", "system"):
        if key in body and body[key] is not None:
            fields[key] = _text_field(body, key)
    if body.get("parameters") is not None:
        fields["parameters"] = {**fields.get("parameters", {}), **body["parameters"]} \
            if isinstance(body["parameters"], dict) else body["parameters"]
    if body.get("license") is not None:
        lic = body["license"]
        if isinstance(lic, str):
            lic = [lic]
        if not isinstance(lic, list) or not all(isinstance(t, str) for t in lic):
            raise ApiError(400, "invalid value for 'license': expected a string or an array of strings")
        fields["license"] = lic
    if body.get("messages") is not None:
        fields["messages"] = body["messages"]

    plan["template"] = fields.get("template")
    plan["system"] = fields.get("system")
    plan["params"] = _check_parameters(fields.get("parameters"))
    plan["license"] = fields.get("license")
    plan["messages"] = _check_messages(fields.get("messages"))
    if fields.get("adapters"):
        plan["adapters"] = fields["adapters"]
    return plan


def lookup_name(store, name: str) -> str:
    from inference.models.store import ModelNotFound

    try:
        return store.get(name).name.full
    except InvalidModelName as exc:
        raise ApiError(400, f"from: {exc}") from None
    except ModelNotFound:
        raise ApiError(404, f"base model '{name}' not found; pull or import it first") from None


def create_model(store, plan: dict) -> tuple[object, list[dict]]:
    """Run a validated plan; returns the record and Ollama's layer status lines."""
    before = {p.name for p in store.blobs_dir.iterdir()}
    args = dict(plan)
    name = args.pop("name")
    try:
        record = store.create_model(name, **args)
    except (ValueError, OSError) as exc:
        raise ApiError(400, str(exc)) from None
    lines = []
    for layer in record.layers:
        new = Path(store.blob_path(layer.digest)).name not in before
        lines.append({"status": f"{'creating new' if new else 'using existing'} layer {layer.digest}"})
    return record, lines


@router.post("/api/create", summary="Create a model", openapi_extra=doc.body(doc.CreateRequest))
async def create(request: Request) -> Response:
    body = await read_body(request)
    stream = _streaming(body)
    store = request.app.state.store
    plan = create_plan(store, body)
    record, lines = await asyncio.to_thread(create_model, store, plan)
    log.info("created %s", record.name.full)
    if not stream:
        return JSONResponse({"status": "success"})
    lines = [{"status": "parsing modelfile"}, *lines, {"status": "writing manifest"}, {"status": "success"}]
    return StreamingResponse(iter([_line(x) for x in lines]), media_type=NDJSON)


# --- embeddings ----------------------------------------------------------------------------

def normalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else list(vector)


async def _embed(request: Request, body: dict, texts: list[str], truncate: bool):
    """(record, raw vectors, prompt tokens, load ns, total ns) from the embedding-mode runner."""
    record = lookup(request, model_name_of(body))
    options = effective_options(record, body)
    keep_alive = keep_alive_of(request, body)
    start = time.perf_counter_ns()
    scheduler = request.app.state.scheduler
    await check_weights(request, record)
    async with scheduler.use(record, options, keep_alive, embedding=True, request=request) as handle:
        if not texts:
            return record, [], 0, handle.load_duration, time.perf_counter_ns() - start
        from inference.api.routes_core import _DisconnectWatch
        from inference.engine.runtime import EmbeddingCancelled
        from inference.engine.scheduler import ClientDisconnected

        # A client that leaves stops the work between inputs: thousands of inputs would
        # otherwise hold the model for minutes after nobody waits for them.
        cancel = threading.Event()
        watch = _DisconnectWatch(request, cancel)
        try:
            vectors, count = await handle.aembed(texts, truncate=truncate, cancel=cancel)
        except ValueError as exc:
            raise ApiError(400, f"{exc} ({handle.n_ctx} tokens); shorten the input or set truncate: true") \
                from None
        except EmbeddingCancelled as exc:
            log.info("client disconnected: %s", exc)
            raise ClientDisconnected() from None
        finally:
            watch.stop()
        return record, vectors, count, handle.load_duration, time.perf_counter_ns() - start


async def run_embed(request: Request, body: dict) -> dict:
    """The /api/embed response for ``body`` (also used by /v1/embeddings)."""
    texts = body.get("input")
    if texts is None:
        texts = []
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ApiError(400, "invalid value for 'input': expected a string or an array of strings")
    truncate = body.get("truncate", True)
    if truncate is None:
        truncate = True
    if not isinstance(truncate, bool):
        raise ApiError(400, "invalid value for 'truncate': expected a boolean")
    dims = body.get("dimensions")
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
        raise ApiError(400, "invalid value for 'dimensions': expected a positive integer")
    record, vectors, count, load_ns, total_ns = await _embed(request, body, texts, truncate)
    out = []
    for vector in vectors:
        if dims is not None:
            if dims > len(vector):
                raise ApiError(400, f"dimensions {dims} is larger than the model's embedding size {len(vector)}")
            vector = vector[:dims]
        out.append(normalise(vector))
    return {"model": record.name.display, "embeddings": out, "total_duration": total_ns,
            "load_duration": load_ns, "prompt_eval_count": count}


@router.post("/api/embed", summary="Embeddings (normalised)", openapi_extra=doc.body(doc.EmbedRequest))
async def embed(request: Request) -> dict:
    return await run_embed(request, await read_body(request))


@router.post("/api/embeddings", summary="Embedding of one prompt (legacy, not normalised)",
             openapi_extra=doc.body(doc.EmbeddingsRequest))
async def embeddings(request: Request) -> dict:
    body = await read_body(request)
    prompt = body.get("prompt")
    if prompt is None:
        prompt = ""
    if not isinstance(prompt, str):
        raise ApiError(400, "invalid value for 'prompt': expected a string")
    _, vectors, *_ = await _embed(request, body, [prompt] if prompt else [], True)
    return {"embedding": vectors[0] if vectors else []}

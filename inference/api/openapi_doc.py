"""The request bodies in ``/openapi.json``: documentation models, never used for validation.

The handlers read their JSON themselves (so that a bad field is a 400 with Ollama's message,
not FastAPI's 422); these Pydantic models only describe the bodies. :func:`body` gives an
operation's ``openapi_extra`` whose nested models are ``$ref``s to ``#/components/schemas/...``,
and :func:`install` adds those schemas to the app's document, so every reference resolves
(Pydantic alone would write ``#/$defs/...``, which means nothing inside an OpenAPI document).
"""

from __future__ import annotations

from typing import Any, Literal, Union

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

REF_TEMPLATE = "#/components/schemas/{model}"
_SCHEMAS: dict[str, dict] = {}

KeepAlive = Union[str, float, None]
_KEEP_ALIVE = 'seconds, or a duration like "5m"; negative keeps it loaded; 0 unloads it'
_FORMAT = '"json", or a JSON Schema object the answer must match'
_IMAGES = "base64-encoded images (this server has no vision models yet: a non-empty list is a 400)"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class Options(_Doc):
    """Model options (Ollama's names); unknown keys are a 400."""
    num_ctx: int | None = Field(None, description="context window, capped at the model's trained context")
    num_predict: int | None = Field(None, description="tokens to generate at most (-1: until done)")
    num_keep: int | None = None
    num_batch: int | None = None
    num_thread: int | None = None
    seed: int | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    typical_p: float | None = None
    repeat_last_n: int | None = None
    repeat_penalty: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop: list[str] | None = None


class ToolFunction(_Doc):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="a JSON Schema object for the arguments")


class Tool(_Doc):
    type: Literal["function"] = "function"
    function: ToolFunction


class ToolCallFunction(_Doc):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolCall(_Doc):
    function: ToolCallFunction


class ChatMessage(_Doc):
    role: str = Field(..., description='"system", "user", "assistant" or "tool"')
    content: str | None = ""
    images: list[str] | None = Field(None, description=_IMAGES)
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = Field(None, description="for a role \"tool\" message: the tool that answered")
    thinking: str | None = None


class GenerateRequest(_Doc):
    model: str
    prompt: str | None = None
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    context: list[int] | None = None
    stream: bool | None = True
    raw: bool | None = False
    format: str | dict[str, Any] | None = Field(None, description=_FORMAT)
    images: list[str] | None = Field(None, description=_IMAGES)
    options: Options | None = None
    keep_alive: KeepAlive = Field(None, description=_KEEP_ALIVE)
    think: bool | str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)


class ChatRequest(_Doc):
    model: str
    messages: list[ChatMessage] | None = None
    tools: list[Tool] | None = None
    format: str | dict[str, Any] | None = Field(None, description=_FORMAT)
    options: Options | None = None
    stream: bool | None = True
    keep_alive: KeepAlive = Field(None, description=_KEEP_ALIVE)
    think: bool | str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)


class ModelRequest(_Doc):
    model: str
    verbose: bool | None = False


class CopyRequest(_Doc):
    source: str
    destination: str


class PullRequest(_Doc):
    model: str = Field(..., description="e.g. llama3.2:1b or host:port/namespace/model:tag")
    insecure: bool | None = Field(False, description="allow a plain-http registry")
    stream: bool | None = True


class CreateRequest(_Doc):
    model: str
    # "from" is a Python keyword: the field is called from_ and documented by its alias
    from_: str | None = Field(None, alias="from", description="a model name, a GGUF path or a blob digest")
    files: dict[str, str] | None = Field(None, description="file name -> sha256 digest of an uploaded blob")
    adapters: dict[str, str] | None = Field(None, description="file name -> sha256 digest (LoRA adapters)")
    modelfile: str | None = None
    template: str | None = None
    system: str | None = None
    parameters: dict[str, Any] | None = None
    license: str | list[str] | None = None
    messages: list[ChatMessage] | None = None
    quantize: str | None = Field(None, description="not supported: a non-empty value is a 400")
    stream: bool | None = True


class EmbedRequest(_Doc):
    model: str
    input: str | list[str] | None = None
    truncate: bool | None = True
    dimensions: int | None = Field(None, ge=1)
    options: Options | None = None
    keep_alive: KeepAlive = Field(None, description=_KEEP_ALIVE)


class EmbeddingsRequest(_Doc):
    model: str
    prompt: str | None = None
    options: Options | None = None
    keep_alive: KeepAlive = Field(None, description=_KEEP_ALIVE)


# --- OpenAI (/v1) ----------------------------------------------------------------------------

class OpenAIContentPart(_Doc):
    type: str = Field(..., description='"text" (or "image_url", refused: no vision models)')
    text: str | None = None


class OpenAIChatMessage(_Doc):
    role: str
    content: str | list[OpenAIContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class OpenAIResponseFormat(_Doc):
    type: str = Field(..., description='"text", "json_object" or "json_schema"')
    json_schema: dict[str, Any] | None = Field(None, description='{"name": ..., "schema": {JSON Schema}}')


class OpenAIStreamOptions(_Doc):
    include_usage: bool | None = None


class _OpenAISampling(_Doc):
    model: str
    stream: bool | None = False
    stream_options: OpenAIStreamOptions | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    num_ctx: int | None = Field(None, description="hushtype extension: the context window")
    options: Options | None = Field(None, description="hushtype extension: any Ollama option")


class OpenAIChatRequest(_OpenAISampling):
    messages: list[OpenAIChatMessage]
    max_completion_tokens: int | None = None
    response_format: OpenAIResponseFormat | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)


class OpenAICompletionRequest(_OpenAISampling):
    prompt: str | list[str] | None = None
    suffix: str | None = None
    echo: bool | None = None
    logprobs: int | None = Field(None, ge=0, le=5)


class OpenAIEmbeddingsRequest(_Doc):
    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] | None = "float"
    dimensions: int | None = Field(None, ge=1)
    options: Options | None = None


# --- wiring ----------------------------------------------------------------------------------

def _register(model: type[BaseModel]) -> dict:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, by_alias=True)
    for name, sub in schema.pop("$defs", {}).items():
        _SCHEMAS.setdefault(name, sub)
    _SCHEMAS.setdefault(model.__name__, schema)
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def body(model: type[BaseModel]) -> dict:
    """``openapi_extra`` for an operation whose JSON body ``model`` describes."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": _register(model)}}}}


def binary_body(description: str) -> dict:
    """``openapi_extra`` for an operation whose body is raw bytes (a blob upload)."""
    return {"requestBody": {"required": True, "description": description, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


def install(app: FastAPI) -> None:
    """Add the documented body schemas to ``app``'s OpenAPI document (components.schemas)."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in _SCHEMAS.items():
            schemas.setdefault(name, schema)
        _unique_operation_ids(document)
        return document

    app.openapi = openapi


def _unique_operation_ids(document: dict) -> None:
    """A route serving GET and HEAD gets one id from FastAPI for both: give HEAD its own."""
    seen: set[str] = set()
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            op_id = operation.get("operationId") if isinstance(operation, dict) else None
            if op_id is None:
                continue
            if op_id in seen:
                operation["operationId"] = op_id = f"{op_id}_{method}"
            seen.add(op_id)

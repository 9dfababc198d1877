"""The OpenAI-compatible API (``/v1/chat/completions``, ``/v1/completions``, ``/v1/models``)
as the assistant's client speaks it to a server such as vLLM or llama-server (pure).

``[server] api = "openai"`` selects it; :class:`assistant.ollama_client.OllamaClient` keeps its
public API and uses these translations: Ollama options -> request fields, ``/v1/models`` ->
``/api/tags``-shaped entries, and a streamed SSE answer -> Ollama-shaped chunks (the last one
``done`` with ``done_reason`` and token counts).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

# Ollama option -> OpenAI field. top_k/min_p are not OpenAI's own but vLLM and llama-server
# read them; repeat_penalty is llama-server's name, repetition_penalty vLLM's.
_FIELDS = {"temperature": "temperature", "top_p": "top_p", "seed": "seed",
           "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty",
           "top_k": "top_k", "min_p": "min_p"}


def api_prefix(base_url: str) -> str:
    """The path the ``/v1`` endpoints live under: the URL's own path if it ends in ``/v1``."""
    path = urlsplit(base_url).path.rstrip("/")
    return path if path.endswith("/v1") else path + "/v1"


def request_fields(options: dict | None) -> dict:
    out: dict = {}
    for key, value in (options or {}).items():
        if key in _FIELDS and value is not None:
            out[_FIELDS[key]] = value
        elif key == "num_predict" and isinstance(value, int) and value > 0:
            out["max_tokens"] = value
        elif key == "stop" and value:
            out["stop"] = [value] if isinstance(value, str) else list(value)[:4]
        elif key == "repeat_penalty" and value is not None and value != 1.0:
            out["repeat_penalty"] = out["repetition_penalty"] = value
    return out


def completion_body(model: str, prompt: str, options: dict | None) -> dict:
    return {"model": model, "prompt": prompt, "stream": True,
            "stream_options": {"include_usage": True}, **request_fields(options)}


def chat_body(model: str, messages: list[dict], options: dict | None) -> dict:
    clean = [{"role": m.get("role", "user"), "content": m.get("content") or ""} for m in messages]
    return {"model": model, "messages": clean, "stream": True,
            "stream_options": {"include_usage": True}, **request_fields(options)}


def generate_messages(prompt: str, system: str | None) -> list[dict]:
    """Ollama's non-raw ``/api/generate`` (the model's template around the prompt) is a chat
    with one user turn on an OpenAI server."""
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]


def models_as_tags(body: dict) -> list[dict]:
    """``GET /v1/models`` -> entries shaped like ``/api/tags``'s (name, model, details)."""
    out = []
    for entry in body.get("data") or []:
        name = entry.get("id")
        if name:
            out.append({"name": name, "model": name, "details": {}, "owned_by": entry.get("owned_by")})
    return out


def show_for(model: str) -> dict:
    """What an OpenAI server can say in place of ``/api/show``: nothing about the template, so
    commands in ``prompt_mode = "auto"`` use completion (few-shot) prompts."""
    return {"model": model, "template": "", "capabilities": ["completion"], "model_info": {},
            "details": {}, "parameters": ""}


class StreamDecoder:
    """SSE lines of a streamed completion -> Ollama-shaped chunk dicts (None = nothing yet)."""

    def __init__(self):
        self.finish_reason: str | None = None
        self.usage: dict = {}

    def feed(self, line: str) -> dict | None:
        line = line.strip()
        if not line or line.startswith(":") or not line.startswith("data:"):
            return None
        data = line[5:].strip()
        if data == "[DONE]":
            return {"done": True, "done_reason": _done_reason(self.finish_reason),
                    "prompt_eval_count": self.usage.get("prompt_tokens", 0),
                    "eval_count": self.usage.get("completion_tokens", 0)}
        chunk = json.loads(data)  # ValueError -> the caller's "not JSON" error
        if chunk.get("error"):
            err = chunk["error"]
            return {"error": err.get("message", str(err)) if isinstance(err, dict) else str(err)}
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        text = ""
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta")
            text += (delta.get("content") or "") if isinstance(delta, dict) else (choice.get("text") or "")
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return {"response": text, "message": {"role": "assistant", "content": text}, "done": False}


def _done_reason(finish_reason: str | None) -> str:
    return "length" if finish_reason == "length" else "stop"

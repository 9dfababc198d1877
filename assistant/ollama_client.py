"""A small client for the Ollama HTTP API (our bundled server or a real Ollama).

Only documented endpoints are used: ``/api/generate``, ``/api/chat``, ``/api/tags``,
``/api/show``, ``/api/ps``, ``/api/version``. Generation always streams from the server, so a
command can be cancelled (``threading.Event``) at any point and the server sees the disconnect;
``on_chunk`` receives the text pieces as they arrive.

Errors are :class:`OllamaError` subclasses whose message says what to run.

With ``api="openai"`` (``[server] api``) the same methods speak the OpenAI-compatible API
instead (``/v1/completions``, ``/v1/chat/completions``, ``/v1/models``; see
:mod:`assistant.openai_protocol`), for servers such as vLLM or llama-server.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx

from assistant import openai_protocol
from assistant.server_location import API_KINDS, remote_host

DEFAULT_URL = "http://127.0.0.1:11434"


class OllamaError(RuntimeError):
    kind = "error"


class ServerUnavailable(OllamaError):
    kind = "server_down"

    def __init__(self, base_url: str, detail: str = ""):
        self.base_url = base_url
        if remote_host(base_url):
            message = (f"the model server at {base_url} does not answer — check that it runs and "
                       f"that [server] url is right")
        else:
            message = (f"hushtype's model server is not running at {base_url} — start it with "
                       f"`hushtype serve` (or `hushtype up`)")
        super().__init__(message + (f" ({detail})" if detail else ""))


class ModelMissing(OllamaError):
    kind = "model_missing"

    def __init__(self, model: str):
        self.model = model
        super().__init__(f"model '{model}' not found — `hushtype pull {model}` or "
                         f"`hushtype import FILE.gguf`")


class RequestTimeout(OllamaError):
    kind = "timeout"


class Cancelled(OllamaError):
    kind = "cancelled"

    def __init__(self, message: str = "cancelled"):
        super().__init__(message)


class ServerError(OllamaError):
    kind = "server_error"

    def __init__(self, message: str, status: int | None = None):
        self.status = status
        super().__init__(message)


def normalize_host(value: str, default_port: int = 11434) -> str:
    """An Ollama host string (``OLLAMA_HOST`` forms: ``host``, ``host:port``, ``:port``,
    ``http://host:port``, ``https://host``, ``[::1]:port``) as a base URL a client can reach.
    Wildcard bind addresses (0.0.0.0, ::) become loopback."""
    text = value.strip().strip("\"'").rstrip("/")
    if not text:
        return DEFAULT_URL
    scheme, sep, rest = text.partition("://")
    port_default = default_port
    if not sep:
        scheme, rest = "http", text
    else:
        scheme = scheme.lower()
        if scheme == "http":
            port_default = 80
        elif scheme == "https":
            port_default = 443
        else:
            raise ValueError(f"unsupported scheme in {value!r}: use http:// or https://")
    hostport, _, path = rest.partition("/")
    host, port = hostport, ""
    if hostport.startswith("["):
        end = hostport.find("]")
        host, port = hostport[1:end], hostport[end + 1:].lstrip(":")
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    elif hostport.count(":") > 1:  # bare IPv6
        host = hostport
    if not port.isdigit() or not 0 < int(port) <= 65535:
        port = str(port_default)
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    url = f"{scheme}://{host}:{port}"
    return url + (f"/{path}" if path else "")


def resolve_base_url(settings: dict | None = None) -> str:
    """``OLLAMA_HOST`` if set, else the settings' ``server.url``, else 127.0.0.1:11434."""
    env = os.environ.get("OLLAMA_HOST", "").strip()
    if env:
        return normalize_host(env)
    url = ((settings or {}).get("server") or {}).get("url") or DEFAULT_URL
    return normalize_host(url)


@dataclass
class Completion:
    text: str
    done_reason: str | None = None
    stats: dict = field(default_factory=dict)   # the final chunk's metrics (nanoseconds)
    first_chunk_seconds: float | None = None
    total_seconds: float = 0.0


class OllamaClient:
    def __init__(self, base_url: str | None = None, *, timeout: float = 60.0,
                 connect_timeout: float = 5.0, keep_alive: str | float | None = None,
                 api: str = "ollama", api_key: str | None = None):
        self.base_url = normalize_host(base_url) if base_url else resolve_base_url()
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.keep_alive = keep_alive
        if api not in API_KINDS:
            raise ValueError(f"api must be one of {', '.join(API_KINDS)}, not {api!r}")
        self.api = api
        self._v1 = openai_protocol.api_prefix(self.base_url)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        # trust_env=False: never route a loopback model server through an HTTP proxy.
        self._http = httpx.Client(base_url=self.base_url, trust_env=False, headers=headers,
                                  timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout))

    @classmethod
    def from_settings(cls, settings: dict) -> "OllamaClient":
        from assistant.server_location import server_api

        server = settings.get("server", {})
        return cls(resolve_base_url(settings), timeout=float(server.get("timeout_seconds", 60)),
                   keep_alive=server.get("keep_alive"), api=server_api(settings),
                   api_key=server.get("api_key") or None)

    @property
    def openai(self) -> bool:
        return self.api == "openai"

    def _v1_path(self, endpoint: str) -> str:
        """An absolute URL for ``/v1/<endpoint>`` (the base URL may already end in /v1)."""
        return str(self._http.base_url.copy_with(path=f"{self._v1}/{endpoint}"))

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ simple endpoints
    def _request(self, method: str, path: str, *, json_body=None, model: str | None = None,
                 timeout: float | None = None) -> dict:
        try:
            resp = self._http.request(method, path, json=json_body,
                                      timeout=httpx.Timeout(timeout or self.timeout,
                                                            connect=self.connect_timeout))
        except httpx.ConnectError as exc:
            raise ServerUnavailable(self.base_url) from exc
        except httpx.TimeoutException as exc:
            raise RequestTimeout(f"the model server at {self.base_url} did not answer "
                                 f"{method} {path} in time") from exc
        except httpx.HTTPError as exc:
            raise ServerError(f"{method} {path} failed: {exc}") from exc
        if resp.status_code >= 400:
            raise self._error_from(resp.status_code, resp.text, model)
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError as exc:
            raise ServerError(f"{path} returned something that is not JSON — is {self.base_url} "
                              f"an Ollama-compatible server?") from exc

    def _error_from(self, status: int, body: str, model: str | None) -> OllamaError:
        try:
            message = json.loads(body).get("error") or body
        except (ValueError, AttributeError):
            message = body
        if isinstance(message, dict):
            message = message.get("message", str(message))
        message = str(message).strip() or f"HTTP {status}"
        if status == 404 and model and ("not found" in message.lower() or "does not exist" in message.lower()):
            return ModelMissing(model)
        return ServerError(f"model server error ({status}): {message}", status)

    def is_running(self) -> bool:
        try:
            self._http.get(self._v1_path("models") if self.openai else "/",
                           timeout=httpx.Timeout(2.0, connect=1.0))
            return True
        except httpx.HTTPError:
            return False

    def version(self) -> str:
        if self.openai:  # no version endpoint in OpenAI's API: answering /v1/models is enough
            self._request("GET", self._v1_path("models"))
            return "OpenAI-compatible API"
        return self._request("GET", "/api/version").get("version", "")

    def tags(self) -> list[dict]:
        if self.openai:
            return openai_protocol.models_as_tags(self._request("GET", self._v1_path("models")))
        return self._request("GET", "/api/tags").get("models") or []

    def ps(self) -> list[dict]:
        if self.openai:
            return []  # OpenAI's API does not say what is loaded
        return self._request("GET", "/api/ps").get("models") or []

    def show(self, model: str) -> dict:
        if self.openai:
            return openai_protocol.show_for(model)
        return self._request("POST", "/api/show", json_body={"model": model}, model=model)

    def preload(self, model: str, keep_alive: str | float | None = None) -> None:
        """Load ``model`` now (empty prompt) so the first command does not wait for it."""
        if self.openai:
            return  # an OpenAI server keeps its models loaded itself
        body = {"model": model, "prompt": "", "stream": False}
        ka = keep_alive if keep_alive is not None else self.keep_alive
        if ka is not None:
            body["keep_alive"] = ka
        self._request("POST", "/api/generate", json_body=body, model=model,
                      timeout=max(self.timeout, 120.0))

    # ------------------------------------------------------------------ generation
    def generate(self, model: str, prompt: str, *, raw: bool = False, system: str | None = None,
                 options: dict | None = None, keep_alive=None,
                 on_chunk: Callable[[str], None] | None = None,
                 cancel: threading.Event | None = None, timeout: float | None = None) -> Completion:
        if self.openai:
            if raw:
                body = openai_protocol.completion_body(model, prompt, options)
                path = self._v1_path("completions")
            else:
                body = openai_protocol.chat_body(model, openai_protocol.generate_messages(prompt, system), options)
                path = self._v1_path("chat/completions")
            return self._openai_stream(path, body, model, on_chunk, cancel, timeout)
        body: dict = {"model": model, "prompt": prompt, "stream": True}
        if raw:
            body["raw"] = True
        if system is not None and not raw:
            body["system"] = system
        return self._generate_stream("/api/generate", body, model, options, keep_alive,
                                     lambda c: c.get("response") or "", on_chunk, cancel, timeout)

    def chat(self, model: str, messages: list[dict], *, options: dict | None = None,
             keep_alive=None, on_chunk: Callable[[str], None] | None = None,
             cancel: threading.Event | None = None, timeout: float | None = None,
             think: bool | None = None) -> Completion:
        if self.openai:
            return self._openai_stream(self._v1_path("chat/completions"),
                                       openai_protocol.chat_body(model, messages, options), model,
                                       on_chunk, cancel, timeout)
        body: dict = {"model": model, "messages": messages, "stream": True}
        if think is not None:
            body["think"] = think
        return self._generate_stream("/api/chat", body, model, options, keep_alive,
                                     lambda c: (c.get("message") or {}).get("content") or "",
                                     on_chunk, cancel, timeout)

    def _openai_stream(self, path, body, model, on_chunk, cancel, timeout) -> Completion:
        decoder = openai_protocol.StreamDecoder()
        return self._stream(path, body, model, lambda c: c.get("response") or "", on_chunk, cancel,
                            timeout, decode=decoder.feed)

    def _generate_stream(self, path, body, model, options, keep_alive, extract, on_chunk,
                         cancel, timeout) -> Completion:
        if options:
            body["options"] = dict(options)
        ka = keep_alive if keep_alive is not None else self.keep_alive
        if ka is not None:
            body["keep_alive"] = ka
        return self._stream(path, body, model, extract, on_chunk, cancel, timeout, decode=json.loads)

    def _stream(self, path, body, model, extract, on_chunk, cancel, timeout, *, decode) -> Completion:
        idle_limit = float(timeout or self.timeout)
        items: queue.Queue = queue.Queue()
        stop = threading.Event()
        holder: dict = {}

        def worker() -> None:
            try:
                with self._http.stream("POST", path, json=body,
                                       timeout=httpx.Timeout(idle_limit, connect=self.connect_timeout)) as resp:
                    holder["response"] = resp
                    if resp.status_code >= 400:
                        resp.read()
                        items.put(("error", self._error_from(resp.status_code, resp.text, model)))
                        return
                    for line in resp.iter_lines():
                        if stop.is_set():
                            return
                        if line.strip():
                            items.put(("chunk", line))
                items.put(("end", None))
            except BaseException as exc:  # handed to the caller's thread
                items.put(("exc", exc))

        started = time.monotonic()
        thread = threading.Thread(target=worker, name="ollama-stream", daemon=True)
        thread.start()
        parts: list[str] = []
        result = Completion(text="")
        last_progress = started

        def abort() -> None:
            stop.set()
            resp = holder.get("response")
            if resp is not None:
                try:
                    resp.close()  # the server sees the disconnect and stops decoding
                except Exception:
                    pass

        while True:
            if cancel is not None and cancel.is_set():
                abort()
                raise Cancelled()
            try:
                kind, payload = items.get(timeout=0.05)
            except queue.Empty:
                if time.monotonic() - last_progress > idle_limit + 1.0:
                    abort()
                    raise RequestTimeout(f"no answer from the model server at {self.base_url} "
                                         f"within {idle_limit:g}s")
                continue
            last_progress = time.monotonic()
            if kind == "end":
                raise ServerError("the model server closed the stream before it was done")
            if kind == "error":
                raise payload
            if kind == "exc":
                exc = payload
                if isinstance(exc, httpx.ConnectError):
                    raise ServerUnavailable(self.base_url) from exc
                if isinstance(exc, httpx.TimeoutException):
                    raise RequestTimeout(f"no answer from the model server at {self.base_url} "
                                         f"within {idle_limit:g}s") from exc
                if isinstance(exc, httpx.HTTPError):
                    raise ServerError(f"connection to the model server lost: {exc}") from exc
                raise exc
            try:
                chunk = decode(payload)
            except ValueError as exc:
                abort()
                raise ServerError(f"the model server sent a line that is not JSON: {payload[:80]!r}") from exc
            if chunk is None:  # an SSE comment or keep-alive line
                continue
            if chunk.get("error"):
                abort()
                message = str(chunk["error"])
                if "not found" in message.lower() and model in message:
                    raise ModelMissing(model)
                raise ServerError(f"model server error: {message}")
            piece = extract(chunk)
            if piece:
                if result.first_chunk_seconds is None:
                    result.first_chunk_seconds = time.monotonic() - started
                parts.append(piece)
                if on_chunk is not None:
                    on_chunk(piece)
            if chunk.get("done"):
                stop.set()
                result.done_reason = chunk.get("done_reason")
                result.stats = {k: v for k, v in chunk.items()
                                if k.endswith(("_duration", "_count"))}
                break
        result.text = "".join(parts)
        result.total_seconds = time.monotonic() - started
        return result

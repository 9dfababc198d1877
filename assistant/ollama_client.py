"""A small client for the Ollama HTTP API (our bundled server or a real Ollama).

Only documented endpoints are used: ``/api/generate``, ``/api/chat``, ``/api/tags``,
``/api/show``, ``/api/ps``, ``/api/version``. Generation always streams from the server, so a
command can be cancelled (``threading.Event``) at any point and the server sees the disconnect;
``on_chunk`` receives the text pieces as they arrive.

Errors are :class:`OllamaError` subclasses whose message says what to run.
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

DEFAULT_URL = "http://127.0.0.1:11434"


class OllamaError(RuntimeError):
    kind = "error"


class ServerUnavailable(OllamaError):
    kind = "server_down"

    def __init__(self, base_url: str, detail: str = ""):
        self.base_url = base_url
        super().__init__(
            f"hushtype's model server is not running at {base_url} — start it with "
            f"`hushtype serve` (or `hushtype up`)" + (f" ({detail})" if detail else "")
        )


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
                 connect_timeout: float = 5.0, keep_alive: str | float | None = None):
        self.base_url = normalize_host(base_url) if base_url else resolve_base_url()
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.keep_alive = keep_alive
        # trust_env=False: never route a loopback model server through an HTTP proxy.
        self._http = httpx.Client(base_url=self.base_url, trust_env=False,
                                  timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout))

    @classmethod
    def from_settings(cls, settings: dict) -> "OllamaClient":
        server = settings.get("server", {})
        return cls(resolve_base_url(settings), timeout=float(server.get("timeout_seconds", 60)),
                   keep_alive=server.get("keep_alive"))

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
        if status == 404 and model and "not found" in message.lower():
            return ModelMissing(model)
        return ServerError(f"model server error ({status}): {message}", status)

    def is_running(self) -> bool:
        try:
            self._http.get("/", timeout=httpx.Timeout(2.0, connect=1.0))
            return True
        except httpx.HTTPError:
            return False

    def version(self) -> str:
        return self._request("GET", "/api/version").get("version", "")

    def tags(self) -> list[dict]:
        return self._request("GET", "/api/tags").get("models") or []

    def ps(self) -> list[dict]:
        return self._request("GET", "/api/ps").get("models") or []

    def show(self, model: str) -> dict:
        return self._request("POST", "/api/show", json_body={"model": model}, model=model)

    def preload(self, model: str, keep_alive: str | float | None = None) -> None:
        """Load ``model`` now (empty prompt) so the first command does not wait for it."""
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
        body: dict = {"model": model, "messages": messages, "stream": True}
        if think is not None:
            body["think"] = think
        return self._generate_stream("/api/chat", body, model, options, keep_alive,
                                     lambda c: (c.get("message") or {}).get("content") or "",
                                     on_chunk, cancel, timeout)

    def _generate_stream(self, path, body, model, options, keep_alive, extract, on_chunk,
                         cancel, timeout) -> Completion:
        if options:
            body["options"] = dict(options)
        ka = keep_alive if keep_alive is not None else self.keep_alive
        if ka is not None:
            body["keep_alive"] = ka
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
                chunk = json.loads(payload)
            except ValueError as exc:
                abort()
                raise ServerError(f"the model server sent a line that is not JSON: {payload[:80]!r}") from exc
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

"""Host-header check (DNS rebinding), browser Origin allow-list and CORS.

Pure decisions (:func:`host_allowed`, :class:`OriginPolicy`) plus a small ASGI middleware
(:class:`SecurityMiddleware`) that applies them to every HTTP request:

* While the server is bound to a loopback address, a request whose ``Host`` header is not
  ``localhost``, ``*.localhost``, a loopback IP, the bound address or this machine's name is
  refused with 403: a web page that re-binds its own domain name to 127.0.0.1 cannot talk to
  the server.
* A request carrying an ``Origin`` header (browsers send it) is served only for allowed
  origins: ``http(s)://localhost|127.0.0.1|0.0.0.0[:port]``, ``app://``, ``file://``,
  ``tauri://``, ``vscode-webview://`` and whatever ``OLLAMA_ORIGINS`` adds (comma-separated,
  ``*`` wildcards). Others get 403 with a JSON error that says how to allow them.
  No ``Origin`` header (curl, SDKs) is always fine.
* Allowed origins get CORS headers; preflight ``OPTIONS`` requests are answered here.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
from dataclasses import dataclass, field

DEFAULT_ORIGINS: tuple[str, ...] = tuple(
    f"{scheme}://{host}{port}"
    for host in ("localhost", "127.0.0.1", "0.0.0.0", "[::1]")
    for scheme in ("http", "https")
    for port in ("", ":*")
) + ("app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*")

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
ALLOWED_HEADERS = (
    "authorization", "content-type", "user-agent", "accept", "x-requested-with", "openai-organization",
    "openai-project", "openai-beta",
)
PREFLIGHT_MAX_AGE = "43200"


def split_host_port(host_header: str) -> str:
    """The host part of a ``Host`` header value, lower-cased, without port or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end != -1 else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_bind(bind_host: str) -> bool:
    host = split_host_port(bind_host) if bind_host else ""
    return host == "localhost" or _is_loopback_ip(host)


def host_allowed(host_header: str | None, bind_host: str, machine_name: str | None = None) -> bool:
    """Whether a request with this ``Host`` header may be served (DNS rebinding guard).

    The check applies only while bound to loopback; a server bound to all interfaces has
    chosen to be reachable by other names.
    """
    if not is_loopback_bind(bind_host):
        return True
    if host_header is None or host_header.strip() == "":
        return True  # HTTP/1.0 clients; a browser always sends Host
    host = split_host_port(host_header)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    if _is_loopback_ip(host):
        return True
    if host == split_host_port(bind_host):
        return True
    if machine_name and host == machine_name.lower().rstrip("."):
        return True
    return False


@dataclass
class OriginPolicy:
    """Which browser origins may call the API."""

    extra: tuple[str, ...] = ()
    patterns: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        self.patterns = tuple(p.lower() for p in DEFAULT_ORIGINS + tuple(self.extra))

    @classmethod
    def from_env(cls) -> "OriginPolicy":
        raw = os.environ.get("OLLAMA_ORIGINS", "")
        return cls(extra=tuple(o.strip() for o in raw.split(",") if o.strip()))

    def allows(self, origin: str) -> bool:
        origin = origin.strip().lower()
        for pattern in self.patterns:
            if pattern == "*" or origin == pattern:
                return True
            if "*" in pattern and _wildcard(pattern).fullmatch(origin):
                if pattern.endswith(":*"):
                    # "http://localhost:*" means any *port*, not "localhost:anything.evil.com"
                    port = origin.rsplit(":", 1)[-1]
                    if not port.isdigit():
                        continue
                return True
        return False


def _wildcard(pattern: str) -> re.Pattern:
    """``*`` matches anything; every other character matches itself."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


_STAINLESS = re.compile(r"^x-stainless-[a-z0-9-]+$")


def allowed_request_headers(requested: str) -> str:
    """The headers a preflight may use: our list plus any ``x-stainless-*`` the client asks for."""
    names = [h.strip().lower() for h in requested.split(",") if h.strip()]
    allowed = list(ALLOWED_HEADERS)
    for name in names:
        if _STAINLESS.match(name) and name not in allowed:
            allowed.append(name)
    return ", ".join(allowed)


def origin_error(origin: str) -> str:
    return (
        f"origin '{origin}' is not allowed to use this server; to allow it, restart the server "
        f"with OLLAMA_ORIGINS set to include it, e.g. OLLAMA_ORIGINS=\"{origin}\" "
        "(comma-separated, '*' wildcards allowed)"
    )


def host_error(host: str) -> str:
    return (
        f"host '{host}' is not allowed: this server listens on a loopback address and only "
        "answers requests addressed to localhost or a loopback IP (protection against DNS rebinding)"
    )


class SecurityMiddleware:
    """ASGI middleware applying the Host and Origin rules and CORS."""

    def __init__(self, app, *, bind_host: str = "127.0.0.1", origins: OriginPolicy | None = None):
        self.app = app
        self.bind_host = bind_host
        self.origins = origins or OriginPolicy.from_env()
        try:
            self.machine_name = socket.gethostname()
        except OSError:
            self.machine_name = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {}
        for key, value in scope.get("headers", ()):
            headers.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
        host = headers.get("host")
        if not host_allowed(host, self.bind_host, self.machine_name):
            return await _json(send, 403, {"error": host_error(host or "")})
        origin = headers.get("origin")
        if origin is None:
            return await self.app(scope, receive, send)
        if not self.origins.allows(origin):
            return await _json(send, 403, {"error": origin_error(origin)})
        cors = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            requested = headers.get("access-control-request-headers", "")
            extra = [
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", allowed_request_headers(requested).encode("latin-1")),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
                (b"content-length", b"0"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": cors + extra})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + cors
            await send(message)

        return await self.app(scope, receive, send_with_cors)


async def _json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})

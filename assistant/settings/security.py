"""Who may use the settings page: pure checks, then a thin ASGI middleware applying them.

The page listens on 127.0.0.1 only, but that alone does not keep out other local users (any
of them can connect to a loopback port) nor other web pages open in the user's browser
(they can send requests to 127.0.0.1, or rebind a DNS name to it). So:

* a per-run secret token travels in the URL that ``hushtype settings`` opens; the first request
  carrying it is answered with an HttpOnly, SameSite=Strict session cookie and a redirect to
  the same URL without the token; every other request without that cookie is refused (403);
* the Host header must name this server (``127.0.0.1:<port>`` or ``localhost:<port>``), which
  defeats DNS rebinding;
* a request whose Origin (or, without one, Referer) is another site is refused, and
  state-changing requests must come from this origin;
* every state-changing request carries a CSRF token (form field ``csrf_token`` or header
  ``X-CSRF-Token``), checked by :func:`csrf_guard`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_PARAM = "token"
# Served without the session cookie: the stylesheet of the "refused" page and a liveness probe.
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/healthz"})

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


@dataclass(frozen=True)
class Secrets:
    """The secrets of one run of the page; nothing here is ever written to disk but the URL."""

    url_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def csrf(self) -> str:
        return hmac.new(self.session.encode(), b"csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """What the middleware does with a request: let it through, refuse it, or log it in."""

    action: str  # "allow" | "refuse" | "login"
    reason: str = ""
    redirect_to: str = ""


def cookie_name(port: int) -> str:
    # Cookies are not separated by port; naming ours by port keeps two runs (or another
    # program on another loopback port) from overwriting each other's cookie.
    return f"hushtype_settings_{port}"


def allowed_hosts(port: int) -> frozenset[str]:
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def allowed_origins(port: int) -> frozenset[str]:
    return frozenset(f"http://{host}" for host in allowed_hosts(port))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def strip_token(path: str, query: str) -> str:
    """The same location without the secret token (where the login redirects to)."""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != TOKEN_PARAM]
    return path + ("?" + urlencode(kept) if kept else "")


def judge(
    *,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    port: int,
    run: Secrets,
) -> Verdict:
    """Decide about one request. ``headers`` has lower-case names."""
    method = method.upper()
    host = headers.get("host", "").lower()
    if host not in allowed_hosts(port):
        return Verdict("refuse", f"Unexpected Host header {host!r}: open the page as http://127.0.0.1:{port}/")

    origin = headers.get("origin", "")
    referer = headers.get("referer", "")
    ours = allowed_origins(port)
    if origin and origin.lower() != "null" and origin.lower() not in ours:
        return Verdict("refuse", "The request came from another site")
    if origin.lower() == "null" and method not in SAFE_METHODS:
        return Verdict("refuse", "The request came from an unknown origin")
    if referer and origin_of(referer) not in ours and method not in SAFE_METHODS:
        return Verdict("refuse", "The request came from another site")
    if method not in SAFE_METHODS and not origin and not referer:
        return Verdict("refuse", "A change without Origin or Referer header")
    fetch_site = headers.get("sec-fetch-site", "")
    if fetch_site == "cross-site" and (method not in SAFE_METHODS or headers.get("sec-fetch-mode") != "navigate"):
        return Verdict("refuse", "The request came from another site")

    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return Verdict("allow")

    params = dict(parse_qsl(query, keep_blank_values=True))
    if TOKEN_PARAM in params:
        if method == "GET" and hmac.compare_digest(params[TOKEN_PARAM].encode(), run.url_token.encode()):
            return Verdict("login", redirect_to=strip_token(path, query))
        return Verdict("refuse", "This link is wrong or from an earlier run: run hushtype settings to get a fresh one")

    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is simply not a session
        cookie = SimpleCookie()
    morsel = cookie.get(cookie_name(port))
    if morsel is None or not hmac.compare_digest(morsel.value.encode(), run.session.encode()):
        return Verdict("refuse", "This page needs the private link from hushtype settings")
    return Verdict("allow")


def csrf_ok(run: Secrets, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(str(supplied).encode(), run.csrf.encode())


def session_cookie_header(port: int, run: Secrets) -> str:
    return f"{cookie_name(port)}={run.session}; Path=/; HttpOnly; SameSite=Strict"


REFUSED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hushtype settings: not allowed</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/style.css"></head>
<body class="refused"><main class="card narrow">
<h1>Not allowed</h1>
<p>{reason}.</p>
<p>The settings page only opens through the private link that <code>hushtype settings</code>
prints or opens for you (it contains a secret that changes every time the assistant starts).</p>
</main></body></html>
"""


class SecurityMiddleware:
    """Pure ASGI middleware: applies :func:`judge` and the security headers to every response."""

    def __init__(self, app, *, port_getter, run: Secrets):
        self.app = app
        self.port_getter = port_getter
        self.run = run

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        port = self.port_getter()
        verdict = judge(
            method=scope["method"],
            path=scope.get("path", "/"),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            port=port,
            run=self.run,
        )
        if verdict.action == "refuse":
            from html import escape

            body = REFUSED_PAGE.format(reason=escape(verdict.reason)).encode()
            return await _respond(send, 403, body, {"content-type": "text/html; charset=utf-8"})
        if verdict.action == "login":
            return await _respond(
                send, 303, b"", {"location": verdict.redirect_to or "/", "set-cookie": session_cookie_header(port, self.run)}
            )

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _respond(send, status: int, body: bytes, headers: dict[str, str]) -> None:
    all_headers = {**SECURITY_HEADERS, **headers, "content-length": str(len(body))}
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})

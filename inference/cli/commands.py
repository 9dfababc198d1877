"""Server commands: ``serve`` runs the Ollama-compatible server; ``run``, ``list``, ``ps``,
``show``, ``rm`` and ``cp`` talk to a running server over HTTP like any Ollama client.

``OLLAMA_HOST`` (or ``--host``) accepts Ollama's forms: ``host:port``, ``http://host:port``,
``:port``, ``host``. Port 0 picks a free port (printed on start-up).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from inference.cli.http import base_url as _base_url
from inference.cli.http import connect_hint, error_text, stream_ndjson
from inference.cli.http import fail as _fail

DEFAULT_PORT = 11434
log = logging.getLogger("inference.server")


# ---------------------------------------------------------------------------------------------
# OLLAMA_HOST parsing (pure)


@dataclass(frozen=True)
class HostSpec:
    scheme: str
    host: str  # "" = all interfaces (Ollama's ":port" form)
    port: int

    @property
    def bind_host(self) -> str:
        return self.host or "0.0.0.0"

    @property
    def client_url(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"


class HostError(ValueError):
    pass


def parse_host(value: str | None) -> HostSpec:
    """Ollama's ``OLLAMA_HOST`` rules: default ``127.0.0.1:11434``; ``http://`` without a port
    means 80, ``https://`` 443; ``:port`` binds every interface."""
    text = (value or "").strip().strip("\"'")
    if not text:
        return HostSpec("http", "127.0.0.1", DEFAULT_PORT)
    default_port = DEFAULT_PORT
    scheme = "http"
    if "://" in text:
        scheme, text = text.split("://", 1)
        scheme = scheme.lower()
        if scheme == "http":
            default_port = 80
        elif scheme == "https":
            default_port = 443
        else:
            raise HostError(f"unsupported scheme in OLLAMA_HOST: {scheme!r}")
    text = text.split("/", 1)[0]
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise HostError(f"invalid host {value!r}")
        host = text[1:end]
        rest = text[end + 1:]
        if rest.startswith(":"):
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":", 1)
    elif text.count(":") > 1:  # a bare IPv6 address
        host = text
    if port_text == "" and ":" in text and not text.startswith("[") and text.count(":") == 1:
        raise HostError(f"invalid port in {value!r}")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise HostError(f"invalid port in {value!r}") from None
    if not 0 <= port <= 65535:
        raise HostError(f"invalid port in {value!r}")
    return HostSpec(scheme, host, port)


# ---------------------------------------------------------------------------------------------
# serve


def _setup_logging() -> None:
    level = logging.DEBUG if os.environ.get("OLLAMA_DEBUG", "").strip() not in ("", "0", "false") else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if level > logging.DEBUG:
        logging.getLogger("inference.llama").setLevel(logging.WARNING)


def serve(
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default OLLAMA_HOST or 127.0.0.1:11434)"),
    models: Optional[Path] = typer.Option(None, "--models", help="Model store directory (default OLLAMA_MODELS or <data dir>/models)"),
) -> None:
    """Start the Ollama-compatible inference server."""
    from inference.engine.hugepages import reexec_with_hugepages

    reexec_with_hugepages()  # once, before anything is loaded: weights on 2 MB pages decode faster
    import socket

    import uvicorn

    from assistant import paths
    from inference.models import embedded
    from inference.api.app import create_app
    from inference.models.store import ModelStore

    _setup_logging()
    try:
        spec = parse_host(host if host is not None else os.environ.get("OLLAMA_HOST"))
    except HostError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2)
    models_dir = models.expanduser() if models else paths.models_dir()
    models_dir.mkdir(parents=True, exist_ok=True)
    store = ModelStore(models_dir)
    try:
        embedded.ensure_embedded(store)
    except Exception as exc:  # noqa: BLE001 - serve the rest of the store anyway
        log.error("could not install the embedded model: %s", exc)
    try:
        removed = store.prune_partials(3600)
        if removed:
            log.info("removed %d stale partial download(s)", removed)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not prune partial downloads: %s", exc)

    family = socket.AF_INET6 if ":" in spec.bind_host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets, and without it
    # Nagle's algorithm holds each small NDJSON chunk back for a delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((spec.bind_host, spec.port))
    except OSError as exc:
        typer.echo(f"Error: cannot listen on {spec.bind_host}:{spec.port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1)
    sock.listen(128)
    port = sock.getsockname()[1]
    app = create_app(store, bind_host=spec.bind_host)
    shown_host = f"[{spec.bind_host}]" if ":" in spec.bind_host else spec.bind_host
    log.info("hushtype inference server listening on http://%s:%d (model store: %s)", shown_host, port, models_dir)
    if spec.host == "" or spec.bind_host in ("0.0.0.0", "::"):
        log.warning("listening on all network interfaces: other machines can reach this server")
    config = uvicorn.Config(app, log_config=None, access_log=True, timeout_graceful_shutdown=3,
                            ws="none", lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stopped cleanly, then re-raised the Ctrl+C it caught
        log.info("stopped (Ctrl+C)")
        raise typer.Exit(130)


# ---------------------------------------------------------------------------------------------
# HTTP client helpers


def _client():
    import httpx

    return httpx.Client(base_url=_base_url(), timeout=httpx.Timeout(10.0, read=None))


def _request(method: str, path: str, *, not_found_hint: str = "", **kwargs):
    import httpx

    try:
        with _client() as client:
            response = client.request(method, path, **kwargs)
    except httpx.ConnectError:
        _fail(connect_hint())
    except httpx.HTTPError as exc:
        _fail(f"request to {_base_url()} failed: {exc}")
    if response.status_code >= 400:
        hint = not_found_hint if response.status_code == 404 and not_found_hint else ""
        _fail(error_text(response) + hint)
    return response


def _stream(path: str, body: dict) -> Iterator[dict]:
    """POST ``body`` and yield the NDJSON objects of the answer."""
    import httpx

    try:
        with _client() as client:
            yield from stream_ndjson(client, path, body)
    except httpx.ConnectError:
        _fail(connect_hint())


def human_size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n} B"


def human_time(when: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    delta = (when - now).total_seconds()
    future = delta > 0
    seconds = abs(delta)
    if future and seconds > 100 * 365 * 86400:
        return "Forever"
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400), ("day", 86400),
                       ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            n = int(seconds // size)
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            break
    else:
        return "Now" if not future else "Less than a second from now"
    return f"{text} from now" if future else f"{text} ago"


def _parse_time(text: str) -> datetime:
    """RFC 3339 with up to nanoseconds (Python accepts at most microseconds)."""
    import re

    text = text.strip().replace("Z", "+00:00")
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$", text)
    if m:
        frac = f".{m.group(2)[:6].ljust(6, '0')}" if m.group(2) else ""
        text = f"{m.group(1)}{frac}{m.group(3)}"
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("    ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


# ---------------------------------------------------------------------------------------------
# client commands


def list_models() -> None:
    """List the models in the server's store."""
    models = _request("GET", "/api/tags").json().get("models") or []
    rows = [["NAME", "ID", "SIZE", "MODIFIED"]]
    for m in models:
        rows.append([m["name"], m.get("digest", "")[:12], human_size(int(m.get("size", 0))),
                     human_time(_parse_time(m["modified_at"]))])
    typer.echo(_table(rows))


def ps() -> None:
    """List the models loaded in memory."""
    models = _request("GET", "/api/ps").json().get("models") or []
    rows = [["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]]
    for m in models:
        rows.append([m["name"], m.get("digest", "")[:12], human_size(int(m.get("size", 0))), "100% CPU",
                     str(m.get("context_length", "")), human_time(_parse_time(m["expires_at"]))])
    typer.echo(_table(rows))


def show(
    model: str = typer.Argument(..., help="Model name"),
    modelfile: bool = typer.Option(False, "--modelfile", help="Show the Modelfile"),
    template: bool = typer.Option(False, "--template", help="Show the prompt template"),
    parameters: bool = typer.Option(False, "--parameters", help="Show the parameters"),
    system: bool = typer.Option(False, "--system", help="Show the system prompt"),
    license: bool = typer.Option(False, "--license", help="Show the license"),
) -> None:
    """Show information about a model."""
    info = _request("POST", "/api/show", json={"model": model}).json()
    chosen = [k for k, v in (("modelfile", modelfile), ("template", template), ("parameters", parameters),
                             ("system", system), ("license", license)) if v]
    if len(chosen) > 1:
        _fail("choose only one of --modelfile, --template, --parameters, --system, --license", 2)
    if chosen:
        typer.echo(info.get(chosen[0]) or "")
        return
    md = info.get("model_info") or {}
    details = info.get("details") or {}
    arch = md.get("general.architecture", details.get("family", ""))
    lines = ["  Model"]
    for label, value in (
        ("architecture", arch),
        ("parameters", details.get("parameter_size", "")),
        ("context length", md.get(f"{arch}.context_length", "")),
        ("embedding length", md.get(f"{arch}.embedding_length", "")),
        ("quantization", details.get("quantization_level", "")),
    ):
        if value != "":
            lines.append(f"    {label:<20}{value}")
    if info.get("capabilities"):
        lines += ["", "  Capabilities"] + [f"    {c}" for c in info["capabilities"]]
    if info.get("parameters"):
        lines += ["", "  Parameters"] + [f"    {p}" for p in info["parameters"].splitlines()]
    if info.get("system"):
        lines += ["", "  System", f"    {info['system'].splitlines()[0]}"]
    if info.get("license"):
        head = [ln for ln in info["license"].splitlines() if ln.strip()][:2]
        lines += ["", "  License"] + [f"    {ln}" for ln in head]
    typer.echo("\n".join(lines))


def rm(models: List[str] = typer.Argument(..., help="Models to delete")) -> None:
    """Delete models from the store."""
    for name in models:
        _request("DELETE", "/api/delete", json={"model": name})
        typer.echo(f"deleted '{name}'")


def cp(source: str = typer.Argument(...), destination: str = typer.Argument(...)) -> None:
    """Copy a model under a new name."""
    _request("POST", "/api/copy", json={"source": source, "destination": destination})
    typer.echo(f"copied '{source}' to '{destination}'")


def _print_stats(final: dict) -> None:
    def secs(ns):
        return f"{(ns or 0) / 1e9:.3f}s"

    pe, pd = final.get("prompt_eval_count", 0), final.get("prompt_eval_duration", 0) or 1
    ec, ed = final.get("eval_count", 0), final.get("eval_duration", 0) or 1
    typer.echo(
        f"total duration:       {secs(final.get('total_duration'))}\n"
        f"load duration:        {secs(final.get('load_duration'))}\n"
        f"prompt eval count:    {pe} token(s)\n"
        f"prompt eval duration: {secs(pd)}\n"
        f"prompt eval rate:     {pe / (pd / 1e9):.2f} tokens/s\n"
        f"eval count:           {ec} token(s)\n"
        f"eval duration:        {secs(ed)}\n"
        f"eval rate:            {ec / (ed / 1e9):.2f} tokens/s",
        err=True,
    )
    if final.get("truncated_messages"):
        typer.echo(f"note: {final['truncated_messages']} old message(s) dropped to fit num_ctx={final.get('num_ctx')}", err=True)


def run(
    model: str = typer.Argument(..., help="Model name"),
    prompt: Optional[List[str]] = typer.Argument(None, help="Prompt (omit for an interactive chat)"),
    format: Optional[str] = typer.Option(None, "--format", help='Response format ("json")'),
    keepalive: Optional[str] = typer.Option(None, "--keepalive", help='How long to keep the model loaded, e.g. "5m"'),
    verbose: bool = typer.Option(False, "--verbose", help="Print timings after each answer"),
    option: Optional[List[str]] = typer.Option(None, "--option", "-o", help="Model option KEY=VALUE, e.g. -o num_predict=64 (repeatable)"),
) -> None:
    """Run a model: answer PROMPT (or stdin), or chat interactively."""
    text = " ".join(prompt or [])
    if not sys.stdin.isatty():
        piped = sys.stdin.read()
        text = f"{piped}\n\n{text}".strip() if text else piped
    common = {"model": model}
    if format:
        common["format"] = format
    if keepalive is not None:
        common["keep_alive"] = keepalive
    if option:
        common["options"] = parse_option_args(option)
    # Load first so that a missing model is reported before anything else.
    _request("POST", "/api/generate", json={**common, "prompt": "", "stream": False},
             not_found_hint=f"; get it with: hushtype pull {model} (or hushtype import FILE.gguf)")
    if text:
        final = {}
        try:
            for chunk in _stream("/api/generate", {**common, "prompt": text}):
                sys.stdout.write(chunk.get("response", ""))
                sys.stdout.flush()
                final = chunk
        except KeyboardInterrupt:  # closing the stream makes the server stop generating
            sys.stdout.write("\n")
            raise typer.Exit(130)
        sys.stdout.write("\n")
        if verbose:
            _print_stats(final)
        return
    _interactive(common, verbose)


def parse_option_args(items: List[str]) -> dict:
    """``["num_predict=64", "stop=END"]`` -> options; values are JSON when they parse as JSON."""
    options: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"invalid --option {item!r}: expected KEY=VALUE", 2)
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        key = key.strip()
        if key == "stop":
            options.setdefault("stop", []).append(str(parsed) if not isinstance(parsed, str) else parsed)
        else:
            options[key] = parsed
    return options


def _interactive(common: dict, verbose: bool) -> None:
    messages: list[dict] = []
    typer.echo('>>> Send a message (/? for help, /bye to quit)', err=True)
    while True:
        try:
            line = input(">>> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        stripped = line.strip()
        if not stripped:
            continue
        if stripped in ("/bye", "/exit", "/quit"):
            return
        if stripped == "/clear":
            messages.clear()
            typer.echo("Cleared session context")
            continue
        if stripped in ("/?", "/help"):
            typer.echo("  /clear   forget the conversation\n  /bye     exit")
            continue
        messages.append({"role": "user", "content": line})
        reply = []
        final = {}
        try:
            for chunk in _stream("/api/chat", {**common, "messages": messages}):
                piece = (chunk.get("message") or {}).get("content", "")
                reply.append(piece)
                sys.stdout.write(piece)
                sys.stdout.flush()
                final = chunk
        except KeyboardInterrupt:
            typer.echo("")
        sys.stdout.write("\n\n")
        messages.append({"role": "assistant", "content": "".join(reply)})
        if verbose and final:
            _print_stats(final)


# ---------------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add the server's commands to a Typer app (``hushtype`` or ``python -m inference``)."""
    app.command("serve")(serve)
    app.command("run")(run)
    app.command("list")(list_models)
    app.command("ps")(ps)
    app.command("show")(show)
    app.command("rm")(rm)
    app.command("cp")(cp)
    import importlib

    try:
        cli_models = importlib.import_module("inference.cli.models")
    except ModuleNotFoundError as exc:  # the model-management commands are optional
        if exc.name != "inference.cli.models":
            raise
    else:
        cli_models.register(app)

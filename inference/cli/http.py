"""What the server's client commands (run, list, pull, create ...) share: the server's URL
from OLLAMA_HOST, error exits, Ollama error bodies, and NDJSON streams."""

from __future__ import annotations

import json
import os
from typing import Iterator

import typer


def fail(message: str, code: int = 1):
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def base_url() -> str:
    from inference.cli.commands import HostError, parse_host

    try:
        return parse_host(os.environ.get("OLLAMA_HOST")).client_url
    except HostError as exc:
        fail(str(exc))


def connect_hint() -> str:
    return f"could not connect to the hushtype server at {base_url()}; start it with: hushtype serve"


def error_text(response) -> str:
    """The message of an Ollama error body, or the start of whatever else came back."""
    try:
        data = response.json()
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
    except ValueError:
        pass
    return response.text.strip()[:200] or f"HTTP {response.status_code}"


def stream_ndjson(client, path: str, body: dict) -> Iterator[dict]:
    """POST ``body`` and yield the NDJSON objects of the answer; an error (status or a final
    error line) ends the command with its message."""
    with client.stream("POST", path, json=body) as response:
        if response.status_code >= 400:
            response.read()
            fail(error_text(response))
        for line in response.iter_lines():
            if not line.strip():
                continue
            data = json.loads(line)
            if "error" in data:
                fail(str(data["error"]))
            yield data

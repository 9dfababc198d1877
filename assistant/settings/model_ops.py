"""Model management for the Models page, through the model server's Ollama API.

Listing uses ``OllamaClient.tags``; pull streams ``POST /api/pull`` progress; delete is
``DELETE /api/delete``; importing a GGUF file uploads it as a blob (``POST /api/blobs``) and
creates the model from it (``POST /api/create``), so it works with whichever server the
assistant uses, exactly as `ollama create` does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import httpx

GGUF_MAGIC = b"GGUF"
CHUNK = 1 << 20


class ModelOpError(RuntimeError):
    """A model operation failed; the message is shown to the user as is."""


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error") or response.text)
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"


def _http(base_url: str, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(base_url=base_url, trust_env=False, timeout=httpx.Timeout(timeout, connect=5.0))


def validate_model_name(name: str) -> str:
    from inference.models.names import InvalidModelName, ModelName

    text = (name or "").strip()
    if not text:
        raise ModelOpError("Enter a model name, e.g. gemma3:270m")
    try:
        parsed = ModelName.parse(text)
    except InvalidModelName as exc:
        raise ModelOpError(str(exc)) from None
    if parsed.is_cloud:
        raise ModelOpError(f"{text} is a cloud model; hushtype only runs models on this computer.")
    return text


def same_model(name: str, names: list[str]) -> bool:
    """Whether ``name`` is one of ``names`` ("x" is "x:latest", case-insensitive)."""
    from inference.models.names import InvalidModelName, ModelName

    def key(text: str):
        try:
            return ModelName.parse(text).display.lower()
        except InvalidModelName:
            return text.lower()

    return key(name) in {key(n) for n in names if n}


def delete_model(base_url: str, name: str) -> None:
    try:
        with _http(base_url) as http:
            response = http.request("DELETE", "/api/delete", json={"model": name})
    except httpx.HTTPError as exc:
        raise ModelOpError(f"the model server at {base_url} did not answer: {exc}") from None
    if response.status_code >= 400:
        raise ModelOpError(_error_text(response))


def pull_model(base_url: str, name: str, on_progress: Callable[[dict], None], cancel=None, *,
               insecure: bool = False) -> dict:
    """Stream a pull; ``on_progress`` gets ``{status, completed, total, percent}``."""
    last: dict = {}
    body = {"model": name, "stream": True}
    if insecure:
        body["insecure"] = True
    try:
        with _http(base_url, timeout=600.0) as http, \
                http.stream("POST", "/api/pull", json=body) as response:
            if response.status_code >= 400:
                response.read()
                raise ModelOpError(_error_text(response))
            for line in response.iter_lines():
                if cancel is not None and cancel.is_set():
                    return {"status": "cancelled"}
                if not line.strip():
                    continue
                try:
                    chunk = json.loads(line)
                except ValueError:
                    continue
                if chunk.get("error"):
                    raise ModelOpError(str(chunk["error"]))
                total, completed = chunk.get("total"), chunk.get("completed")
                last = {"status": chunk.get("status", ""), "total": total, "completed": completed,
                        "percent": round(100.0 * completed / total, 1) if total and completed is not None else None}
                on_progress(last)
    except httpx.HTTPError as exc:
        raise ModelOpError(f"the model server at {base_url} did not answer: {exc}") from None
    if last.get("status") != "success":
        raise ModelOpError("the pull ended before it finished" + (f" ({last.get('status')})" if last else ""))
    return {"status": "done", "percent": 100.0}


def check_gguf(path_text: str) -> Path:
    path = Path((path_text or "").strip()).expanduser()
    if not str(path_text or "").strip():
        raise ModelOpError("Enter the path of a .gguf file on this computer.")
    if not path.is_absolute():
        raise ModelOpError("Give the full path, starting with / (e.g. /home/me/models/model.gguf).")
    if not path.is_file():
        raise ModelOpError(f"There is no file at {path}.")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelOpError(f"Cannot read {path}: {exc.strerror}.") from None
    if magic != GGUF_MAGIC:
        raise ModelOpError(f"{path.name} is not a GGUF model file.")
    return path


def default_name_for(path: Path) -> str:
    """The name `hushtype import` would give the file (from its GGUF metadata)."""
    from inference.models import gguf_info
    from inference.cli.models import default_name

    try:
        return default_name(gguf_info.read_metadata(path), path)
    except Exception as exc:  # unreadable metadata: not a usable model
        raise ModelOpError(f"{path.name} is not a readable GGUF model: {exc}") from None


def import_gguf(base_url: str, path: Path, name: str, on_progress: Callable[[dict], None], cancel=None) -> dict:
    """Hash the file, upload it as a blob unless the server has it, create ``name`` from it."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            if cancel is not None and cancel.is_set():
                return {"status": "cancelled"}
            digest.update(chunk)
            done += len(chunk)
            on_progress({"status": "checking the file", "completed": done, "total": size,
                         "percent": round(50.0 * done / max(size, 1), 1)})
    blob = f"sha256:{digest.hexdigest()}"
    try:
        with _http(base_url, timeout=600.0) as http:
            if http.head(f"/api/blobs/{blob}").status_code != 200:
                sent = 0

                def body():
                    nonlocal sent
                    with open(path, "rb") as fh:
                        while chunk := fh.read(CHUNK):
                            if cancel is not None and cancel.is_set():
                                raise ModelOpError("cancelled")
                            sent += len(chunk)
                            on_progress({"status": "copying into the model store", "completed": sent, "total": size,
                                         "percent": round(50.0 + 45.0 * sent / max(size, 1), 1)})
                            yield chunk

                response = http.post(f"/api/blobs/{blob}", content=body(),
                                     headers={"content-length": str(size)})
                if response.status_code >= 400:
                    raise ModelOpError(_error_text(response))
            on_progress({"status": "creating the model", "percent": 97.0})
            response = http.post("/api/create", json={"model": name, "files": {path.name: blob}, "stream": False})
            if response.status_code >= 400:
                raise ModelOpError(_error_text(response))
    except httpx.HTTPError as exc:
        raise ModelOpError(f"the model server at {base_url} did not answer: {exc}") from None
    return {"status": "done", "percent": 100.0, "model": name}

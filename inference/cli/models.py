"""Model commands: ``pull``, ``create`` and ``import``.

* ``pull NAME [--insecure]`` asks the running server to pull and draws its status lines as
  progress bars. Ctrl+C stops the download; the server keeps what it has, and the same
  command resumes.
* ``create NAME -f Modelfile`` parses the Modelfile here (errors name the line), uploads a
  GGUF named by ``FROM`` through ``/api/blobs`` unless the server already has it, then calls
  ``/api/create``.
* ``import FILE.gguf [--name NAME]`` puts a GGUF file straight into the local model store
  (a hard link when the store is on the same filesystem, else a copy, with progress) and
  writes its manifest; a running server sees the model at once. This is the air-gapped path:
  no server and no network needed.

``pull`` and ``create`` talk to the server at ``OLLAMA_HOST`` when one answers; when none
does, they work on the local store directly (same code as the server's routes).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from pathlib import Path
from typing import Optional

import typer

from inference.cli.http import base_url as _base_url
from inference.cli.http import connect_hint, error_text, stream_ndjson
from inference.cli.http import fail as _fail

CHUNK = 4 * 1024 * 1024


def _console():
    from rich.console import Console

    return Console(stderr=True)


# --- pull ----------------------------------------------------------------------------------

class PullView:
    """Renders Ollama pull status lines: one progress bar per blob, other statuses as text."""

    def __init__(self, console=None):
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)

        self.console = console or _console()
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=self.console, transient=False)
        self.tasks: dict[str, int] = {}
        self.statuses: list[str] = []

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def update(self, status: dict) -> None:
        text = str(status.get("status", ""))
        digest = status.get("digest")
        if digest and status.get("total") is not None:
            task = self.tasks.get(digest)
            if task is None:
                task = self.progress.add_task(text, total=int(status["total"]))
                self.tasks[digest] = task
            self.progress.update(task, completed=int(status.get("completed") or 0))
            return
        if not self.statuses or self.statuses[-1] != text:
            self.statuses.append(text)
            self.progress.console.print(text)


def _server_answers(client) -> bool:
    import httpx

    try:
        client.get("/", timeout=5.0)
        return True
    except httpx.TransportError:
        return False


def _local_store():
    from assistant import paths
    from inference.models.store import ModelStore

    return ModelStore(paths.models_dir())


def _pull_locally(name: str, insecure: bool, view: PullView) -> None:
    """No server running: pull straight into the local store (same code as the server's)."""
    import asyncio

    from inference.models.registry import PullError, start_pull

    store = _local_store()

    async def go():
        job = await start_pull(store, name, insecure=insecure)
        async for status in job.run():
            view.update(status)

    try:
        asyncio.run(go())
    except PullError as exc:
        _fail(str(exc))
    except OSError as exc:  # e.g. the manifest could not be written: nothing half-written is left
        _fail(f"pull failed: cannot write into {store.root}: {exc.strerror or exc}; pull again to resume")


def pull(
    name: str = typer.Argument(..., help="Model to pull, e.g. llama3.2:1b or host:port/ns/model:tag"),
    insecure: bool = typer.Option(False, "--insecure", help="Allow a plain-http registry"),
) -> None:
    """Pull a model from a registry (resumes an interrupted pull)."""
    import httpx

    try:
        with httpx.Client(base_url=_base_url(), timeout=httpx.Timeout(30.0, read=None)) as client, \
                PullView() as view:
            if not _server_answers(client):
                view.console.print(f"no server at {_base_url()}: pulling into the local model store "
                                   f"({_local_store().root})")
                _pull_locally(name, insecure, view)
                return
            for status in stream_ndjson(client, "/api/pull", {"model": name, "insecure": insecure}):
                view.update(status)
    except KeyboardInterrupt:
        typer.echo("\nInterrupted. The downloaded part is kept: run the same command again to resume.",
                   err=True)
        raise typer.Exit(130)
    except httpx.ConnectError:
        _fail(connect_hint())
    except httpx.HTTPError as exc:
        _fail(f"pull failed: {exc}")


# --- create --------------------------------------------------------------------------------

def _sha256_with_progress(path: Path, label: str) -> str:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    h = hashlib.sha256()
    size = path.stat().st_size
    with Progress(TextColumn(label), BarColumn(), DownloadColumn(), console=_console(),
                  transient=True) as progress, open(path, "rb") as fh:
        task = progress.add_task(label, total=size)
        while block := fh.read(CHUNK):
            h.update(block)
            progress.advance(task, len(block))
    return "sha256:" + h.hexdigest()


def _upload_blob(client, path: Path) -> str:
    """Upload ``path`` as a blob unless the server has it; returns its digest."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    digest = _sha256_with_progress(path, f"hashing {path.name}")
    if client.head(f"/api/blobs/{digest}").status_code == 200:
        return digest
    size = path.stat().st_size
    with Progress(TextColumn(f"uploading {path.name}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=_console()) as progress:
        task = progress.add_task("upload", total=size)

        def chunks():
            with open(path, "rb") as fh:
                while block := fh.read(CHUNK):
                    progress.advance(task, len(block))
                    yield block

        response = client.post(f"/api/blobs/{digest}", content=chunks(),
                               headers={"Content-Length": str(size)})
    if response.status_code >= 400:
        _fail(f"upload of {path.name} failed: {error_text(response)}")
    return digest


def create(
    name: str = typer.Argument(..., help="Name of the new model"),
    file: Path = typer.Option(Path("Modelfile"), "-f", "--file", help="Modelfile to build from"),
) -> None:
    """Create a model from a Modelfile (FROM a model, a GGUF file, or a blob digest)."""
    import httpx

    from inference.models import modelfile as mf

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    try:
        parsed = mf.parse(text)
    except mf.ModelfileError as exc:
        _fail(f"{file}: {exc}")
    body: dict = {"model": name, **parsed.create_fields()}
    try:
        with httpx.Client(base_url=_base_url(), timeout=httpx.Timeout(30.0, read=None)) as client:
            if not _server_answers(client):
                _create_locally(body, parsed, file)
                return
            kind = parsed.from_kind
            if kind == "path":
                path = mf.resolve_from_path(parsed.from_, file.resolve().parent)
                if not path.is_file():
                    _fail(f"{file}: line {parsed.from_line}: FROM file not found: {path}")
                body["files"] = {path.name: _upload_blob(client, path)}
            elif kind == "blob":
                body["files"] = {"model.gguf": parsed.from_.replace("sha256-", "sha256:")}
            else:
                body["from"] = parsed.from_
            if parsed.adapters:
                adapters = {}
                for adapter in parsed.adapters:
                    if mf.from_kind(adapter) == "blob":
                        adapters[adapter] = adapter.replace("sha256-", "sha256:")
                    else:
                        path = mf.resolve_from_path(adapter, file.resolve().parent)
                        adapters[path.name] = _upload_blob(client, path)
                body["adapters"] = adapters
            for status in stream_ndjson(client, "/api/create", body):
                typer.echo(status.get("status", ""))
    except httpx.ConnectError:
        _fail(connect_hint())
    except httpx.HTTPError as exc:
        _fail(f"create failed: {exc}")


def _create_locally(body: dict, parsed, file: Path) -> None:
    """No server running: build the model in the local store with the server's own checks."""
    from inference.models import modelfile as mf
    from inference.api.errors import ApiError
    from inference.api.routes_models import create_model, create_plan

    store = _local_store()
    typer.echo(f"no server at {_base_url()}: creating in the local model store ({store.root})", err=True)
    base_dir = file.resolve().parent
    if parsed.from_kind == "path":
        path = mf.resolve_from_path(parsed.from_, base_dir)
        if not path.is_file():
            _fail(f"{file}: line {parsed.from_line}: FROM file not found: {path}")
        body["from"] = str(path)
    elif parsed.from_kind == "blob":
        body["files"] = {"model.gguf": parsed.from_.replace("sha256-", "sha256:")}
    else:
        body["from"] = parsed.from_
    try:
        plan = create_plan(store, body)
        if parsed.adapters:
            plan["adapters"] = [mf.resolve_from_path(a, base_dir) if mf.from_kind(a) != "blob"
                                else store.blob_path(a) for a in parsed.adapters]
        record, lines = create_model(store, plan)
    except ApiError as exc:
        _fail(exc.message)
    for line in lines:
        typer.echo(line["status"])
    typer.echo("writing manifest")
    typer.echo("success")


# --- import --------------------------------------------------------------------------------

def _sanitise(text: str) -> str:
    text = re.sub(r"[^a-z0-9_.-]+", "-", text.strip().lower())
    text = re.sub(r"-{2,}", "-", text).strip("-.")
    return text[:80]


def default_name(metadata: dict, path: Path) -> str:
    """A model name from GGUF metadata: ``<basename or name>:<size label>`` (sanitised)."""
    base = _sanitise(str(metadata.get("general.basename") or metadata.get("general.name") or ""))
    if not base:
        base = _sanitise(path.name[:-5] if path.name.lower().endswith(".gguf") else path.stem) or "model"
    size = _sanitise(str(metadata.get("general.size_label") or ""))
    finetune = _sanitise(str(metadata.get("general.finetune") or ""))
    if finetune and finetune not in base and metadata.get("general.basename"):
        base = f"{base}-{finetune}"
    if not re.match(r"[a-z0-9_]", base):
        base = "m" + base
    return f"{base}:{size}" if size and re.match(r"[a-z0-9_]", size) else f"{base}:latest"


class ImportDiskFull(OSError):
    """The copy into the store ran out of space; the bytes copied so far are kept for a resume."""

    def __init__(self, exc: OSError, tmp: Path, resume: Path, total: int, blobs_dir: Path):
        try:
            kept = tmp.stat().st_size
        except OSError:
            kept = 0
        what = ("the disk is full" if exc.errno != errno.EFBIG
                else "a file-size limit was reached (the disk or a ulimit -f)")
        super().__init__(exc.errno, f"{what} while copying into {blobs_dir}: {kept} of {total} bytes are "
                                    "kept; free some space and run the same command again to resume")


def _source_key(path: Path) -> str:
    """Names an import's resumable partial after its source file (path, size, mtime)."""
    st = path.stat()
    return hashlib.sha256(f"{path}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:16]


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def import_into_store(store, path: Path, name: str, *, on_progress=None):
    """Add ``path`` (a GGUF) to ``store`` as model ``name``; returns (record, how).

    ``how`` is "linked" (hard link), "copied" (another filesystem), "present" (the store
    already had these bytes) or "repaired" (the store's blob of that digest was damaged and is
    replaced by this file).

    The file is hashed once (``on_progress(bytes_done)`` after each block), then hard-linked
    into ``blobs/`` (or copied, when the store is on another filesystem) and the manifest
    written. Raises ValueError for a file that is not a GGUF model.
    """
    from inference.models.integrity import blob_damage

    path = Path(path).resolve()  # a hard link to a symlink would be a link to the link
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
    # an earlier import that ran out of space left <blob dir>/.tmp-import-<source>-partial:
    # its bytes are reused when they are a prefix of this file (checked while hashing)
    resume = store.blobs_dir / f".tmp-import-{_source_key(path)}-partial"
    resume_size = resume.stat().st_size if resume.is_file() else 0
    h = hashlib.sha256()
    prefix_hash = None
    done = 0
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            if resume_size and done < resume_size <= done + len(block):
                cut = resume_size - done
                h.update(block[:cut])
                prefix_hash = h.copy()
                h.update(block[cut:])
            else:
                h.update(block)
            done += len(block)
            if on_progress:
                on_progress(done)
    digest = "sha256:" + h.hexdigest()
    blob = Path(store.blob_path(digest))
    how = "present"
    if blob.is_file() and blob_damage(blob, digest, done) is not None:
        how = "repaired"  # the store's copy was truncated or changed: replace it with this file
    if how == "repaired" or not blob.is_file():
        tmp = blob.with_name(f".tmp-import-{os.getpid()}-partial")
        tmp.unlink(missing_ok=True)
        keep_partial = False
        try:
            try:
                os.link(path, tmp)
                how = "linked" if how != "repaired" else how
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
                    raise
                copied, start = hashlib.sha256(), 0
                if prefix_hash is not None and _file_hash(resume) == prefix_hash.hexdigest():
                    copied, start = prefix_hash, resume_size
                    os.replace(resume, tmp)
                with open(path, "rb") as src, open(tmp, "ab" if start else "wb") as dst:
                    src.seek(start)
                    try:
                        while block := src.read(CHUNK):
                            copied.update(block)
                            dst.write(block)
                            if on_progress:
                                on_progress(done + dst.tell())
                        dst.flush()
                        os.fsync(dst.fileno())
                    except OSError as exc:
                        if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                            raise
                        keep_partial = True
                        raise ImportDiskFull(exc, tmp, resume, done, store.blobs_dir) from None
                how = "copied" if how != "repaired" else how
                if "sha256:" + copied.hexdigest() != digest:
                    raise ValueError(f"{path} changed while it was being imported; try again")
            os.chmod(tmp, 0o644)
            os.replace(tmp, blob)
        finally:
            if keep_partial and tmp.exists():
                os.replace(tmp, resume)
            tmp.unlink(missing_ok=True)
    resume.unlink(missing_ok=True)
    record = store.create_model(name, gguf=blob)
    return record, how


def import_gguf(
    file: Path = typer.Argument(..., help="A GGUF model file", exists=True, dir_okay=False, readable=True),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Model name (default: from the GGUF metadata)"),
    force: bool = typer.Option(False, "--force", help="Replace an existing model of that name"),
) -> None:
    """Import a GGUF file into the model store as a ready-to-use model (no network needed)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from assistant import paths
    from inference.models import gguf_info
    from inference.models.names import InvalidModelName, ModelName
    from inference.models.store import ModelStore

    file = file.expanduser().resolve()
    try:
        metadata = gguf_info.read_metadata(file)
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a usable GGUF"
        _fail(f"{file} is not a readable GGUF model: {exc}")
    model = name or default_name(metadata, file)
    try:
        parsed = ModelName.parse(model)
    except InvalidModelName as exc:
        _fail(str(exc))
    if parsed.is_cloud:
        _fail(f"{model} looks like a cloud model name; pick another --name")
    store = ModelStore(paths.models_dir())
    if store.exists(parsed) and not force:
        _fail(f"a model named {parsed.display} already exists; choose another --name or pass --force")
    size = file.stat().st_size
    console = _console()
    try:
        with Progress(TextColumn(f"importing {file.name}"), BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("import", total=size * 2)
            record, how = import_into_store(
                store, file, parsed.full, on_progress=lambda n: progress.update(task, completed=n))
    except ImportDiskFull as exc:
        _fail(f"import failed: {exc.strerror}")
    except (ValueError, OSError) as exc:
        _fail(f"import failed: {exc}")
    how = {"linked": "hard link, no extra disk space", "copied": "copied into the store",
           "present": "already in the store, no extra disk space",
           "repaired": "the store's damaged copy was replaced"}[how]
    typer.echo(f"imported {record.name.display} ({how}; {record.details.get('family') or 'unknown family'}, "
               f"{record.details.get('parameter_size') or '?'} parameters, "
               f"{record.details.get('quantization_level') or '?'})")
    typer.echo(f"try it: hushtype run {record.name.display}")


def register(app: typer.Typer) -> None:
    app.command("pull")(pull)
    app.command("create")(create)
    app.command("import")(import_gguf)

"""Pull models from an Ollama-compatible registry over the OCI distribution protocol.

This is the only code in the server that talks to the network, and only when a user asks for
a pull. The registry address comes from the model name (``host/namespace/model:tag``; https,
or plain http when ``insecure``), so a private registry works like registry.ollama.ai.

1. ``GET /v2/<ns>/<model>/manifests/<tag>`` with the docker v2 manifest Accept header.
2. For the config and each layer not already in ``blobs/``: ``HEAD`` for the size, then
   parallel ``Range`` GETs into ``<blob>-partial``. Progress is kept in
   ``<blob>-partial.json`` (written after the data it describes), so a pull interrupted by a
   network drop, a Ctrl+C or a killed server resumes where it stopped. A stalled or dropped
   part is retried with exponential back-off.
3. Every downloaded blob's sha256 is verified; a mismatch deletes it and fails the pull.
4. The manifest is written byte for byte as received; layers the previous manifest used and
   no manifest uses any more are removed (unless ``OLLAMA_NOPRUNE`` is set).

:func:`start_pull` fetches the manifest (so "not found" and "unreachable" are errors before
any progress is streamed) and returns a :class:`Pull` whose :meth:`Pull.run` is an async
iterator of Ollama's status dicts.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from inference.models.integrity import shared_verifier
from inference.models.names import InvalidModelName, ModelName

log = logging.getLogger("inference.registry")

MANIFEST_ACCEPT = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
USER_AGENT = "hushtype/0.1 (ollama-compatible pull)"
MiB = 1024 * 1024
MAX_MANIFEST_BYTES = 4 * MiB


class PullError(Exception):
    """A pull that cannot complete; ``status`` is the HTTP status the server should answer."""

    def __init__(self, message: str, status: int = 500):
        super().__init__(message)
        self.status = status


class ManifestNotFound(PullError):
    def __init__(self, message: str = "pull model manifest: file does not exist"):
        super().__init__(message, 404)


class DigestMismatch(PullError):
    pass


_DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def write_error(exc: OSError, blob: "BlobDownload") -> PullError:
    """A write into the store failed: say what happened and what was kept (507 for a full disk)."""
    kept = f"{blob.completed} of {blob.total} bytes are kept in {blob.partial.name}"
    if exc.errno in _DISK_FULL:
        what = ("the disk is full" if exc.errno != errno.EFBIG
                else "a file-size limit was reached (the disk or a ulimit -f)")
        return PullError(f"pull blob {blob.digest[7:19]}: {what} while writing into "
                         f"{blob.path.parent}: {kept}; free some space and pull again to resume", 507)
    return PullError(f"pull blob {blob.digest[7:19]}: cannot write into {blob.path.parent} "
                     f"({exc.strerror or exc}); {kept}; pull again to resume", 500)


@dataclass
class PullSettings:
    min_part_size: int = 32 * MiB   # a blob gets one part per this many bytes ...
    max_parts: int = 4              # ... but never more parts than this
    stall_timeout: float = 20.0     # seconds without a byte before a part is retried
    connect_timeout: float = 15.0
    max_retries: int = 6            # consecutive failures of one part without progress
    backoff_base: float = 0.5       # first retry delay; doubles per failure, capped below
    backoff_cap: float = 8.0
    state_interval: float = 0.5     # how often part progress is persisted while downloading
    progress_interval: float = 0.2  # how often a status line is emitted per blob


# --- partial downloads ---------------------------------------------------------------------

@dataclass
class Part:
    offset: int
    size: int
    completed: int = 0

    @property
    def done(self) -> bool:
        return self.completed >= self.size


@dataclass
class BlobDownload:
    """One blob being downloaded into ``<blob>-partial`` with its parts' progress."""

    digest: str
    total: int
    path: Path                      # the final blob path
    parts: list[Part] = field(default_factory=list)
    received: int = 0               # bytes received over the network by this process
    save_interval: float = 0.5
    _last_save: float = 0.0

    @property
    def partial(self) -> Path:
        return self.path.with_name(self.path.name + "-partial")

    @property
    def state_file(self) -> Path:
        return self.path.with_name(self.path.name + "-partial.json")

    @property
    def completed(self) -> int:
        return sum(p.completed for p in self.parts)

    def plan(self, settings: PullSettings) -> None:
        """Resume the saved parts when they describe this blob, else start afresh."""
        try:
            state = json.loads(self.state_file.read_text())
            # the partial grows as parts are written (no pre-sized file: a full disk or a size
            # limit then stops a pull with its progress saved, rather than before it starts)
            if (state.get("digest") == self.digest and state.get("total") == self.total
                    and self.partial.exists() and self.partial.stat().st_size <= self.total):
                parts = [Part(int(p["offset"]), int(p["size"]), int(p["completed"])) for p in state["parts"]]
                if sum(p.size for p in parts) == self.total and all(0 <= p.completed <= p.size for p in parts):
                    self.parts = parts
                    return
        except (OSError, ValueError, KeyError, TypeError):
            pass
        count = max(1, min(settings.max_parts, -(-self.total // max(1, settings.min_part_size))))
        size = -(-self.total // count) if self.total else 0
        self.parts = []
        offset = 0
        while offset < self.total or not self.parts:
            length = min(size, self.total - offset)
            self.parts.append(Part(offset, length))
            offset += length
            if length == 0:
                break
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.partial, "wb"):
            pass
        self.save(force=True)

    def save(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_save < self.save_interval:
            return
        self._last_save = now
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        try:
            tmp.write_text(json.dumps({
                "digest": self.digest, "total": self.total,
                "parts": [{"offset": p.offset, "size": p.size, "completed": p.completed} for p in self.parts],
            }))
            os.replace(tmp, self.state_file)
        except OSError as exc:  # full disk: the last saved state stays (it only under-counts)
            log.warning("cannot save the progress of %s: %s", self.digest[7:19], exc)
            tmp.unlink(missing_ok=True)
            return
        try:  # keep the lock file as fresh as the download, so start-up pruning leaves it alone
            os.utime(self.path.with_name(self.path.name + "-partial.lock"))
        except OSError:
            pass

    def discard(self) -> None:
        for path in (self.partial, self.state_file, self.path.with_name(self.path.name + "-partial.lock")):
            path.unlink(missing_ok=True)

    def verify_and_commit(self) -> None:
        """Hash the finished partial file; move it into place, or delete it on mismatch."""
        h = hashlib.sha256()
        with open(self.partial, "rb") as fh:
            while chunk := fh.read(4 * MiB):
                h.update(chunk)
        got = "sha256:" + h.hexdigest()
        if got != self.digest:
            self.discard()
            raise DigestMismatch(
                f"digest mismatch, file must be downloaded again: want {self.digest}, got {got}", 502)
        os.replace(self.partial, self.path)
        self.state_file.unlink(missing_ok=True)
        self.path.with_name(self.path.name + "-partial.lock").unlink(missing_ok=True)


# --- registry access -----------------------------------------------------------------------

def registry_base(name: ModelName, insecure: bool) -> str:
    return f"{'http' if insecure else 'https'}://{name.host}"


def _parse_challenge(header: str) -> dict[str, str] | None:
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', params)}


class RegistryClient:
    """HTTP access to one registry: manifests, blob HEAD and ranged GETs, anonymous tokens."""

    def __init__(self, name: ModelName, *, insecure: bool = False, settings: PullSettings | None = None,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.name = name
        self.settings = settings or PullSettings()
        self.base = registry_base(name, insecure)
        self.repo = f"{name.namespace}/{name.model}"
        self._token: str | None = None
        self._auth_lock = asyncio.Lock()
        self.http = httpx.AsyncClient(
            follow_redirects=True, transport=transport,
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(self.settings.stall_timeout, connect=self.settings.connect_timeout),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def _headers(self, extra: dict | None = None) -> dict:
        headers = dict(extra or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    async def _authenticate(self, response: httpx.Response, refused: str | None = None) -> bool:
        """Anonymous bearer-token flow of the distribution spec (401 + WWW-Authenticate).

        ``refused`` is the token the 401 answered; True means "retry, a new token is set"
        (possibly fetched meanwhile by a parallel part).
        """
        async with self._auth_lock:
            if self._token != refused:
                return True
            challenge = _parse_challenge(response.headers.get("www-authenticate", ""))
            if not challenge or "realm" not in challenge:
                return False
            params = {k: v for k, v in challenge.items() if k in ("service", "scope")}
            r = await self.http.get(challenge["realm"], params=params)
            if r.status_code != 200:
                return False
            body = r.json()
            token = body.get("token") or body.get("access_token")
            if not token or token == refused:
                return False
            self._token = token
            return True

    async def request(self, method: str, url: str, headers: dict | None = None) -> httpx.Response:
        sent_token = self._token
        r = await self.http.request(method, url, headers=self._headers(headers))
        if r.status_code == 401 and await self._authenticate(r, sent_token):
            r = await self.http.request(method, url, headers=self._headers(headers))
        return r

    async def manifest(self) -> bytes:
        url = f"{self.base}/v2/{self.repo}/manifests/{self.name.tag}"
        try:
            r = await self.request("GET", url, {"Accept": MANIFEST_ACCEPT})
        except httpx.HTTPError as exc:
            raise PullError(f"pull model manifest: cannot reach {self.base}: {exc or type(exc).__name__}"
                            f"{self._hint(exc)}", 502) from None
        if r.status_code == 404:
            raise ManifestNotFound()
        if r.status_code in (401, 403):
            raise PullError(f"pull model manifest: {self.base} refused access ({r.status_code})", 403)
        if r.status_code != 200:
            raise PullError(f"pull model manifest: {self.base} answered {r.status_code}", 502)
        if len(r.content) > MAX_MANIFEST_BYTES:
            raise PullError(f"pull model manifest: {len(r.content)} bytes is too large for a manifest", 502)
        return r.content

    def _hint(self, exc: Exception) -> str:
        text = str(exc).lower()
        if "name or service not known" in text or "name resolution" in text or "nodename nor servname" in text:
            return (" (no network, or no such host; to add a model without a network, copy its GGUF "
                    "file here and run: hushtype import FILE.gguf)")
        if self.base.startswith("https:") and ("ssl" in text or "tls" in text or "wrong version" in text):
            return " (the registry does not speak https; for a plain-http registry pass insecure: true)"
        if self.base.startswith("https:") and "refused" in text:
            return " (nothing answers https there; for a plain-http registry pass insecure: true)"
        return ""

    def blob_url(self, digest: str) -> str:
        return f"{self.base}/v2/{self.repo}/blobs/{digest}"

    async def blob_size(self, digest: str) -> int | None:
        try:
            r = await self.request("HEAD", self.blob_url(digest))
        except httpx.HTTPError:
            return None  # the ranged GETs retry with back-off and report what goes wrong
        if r.status_code == 404:
            raise PullError(f"pull blob {digest[7:19]}: the registry does not have {digest}", 502)
        if r.status_code != 200:  # some CDNs refuse HEAD; the manifest's size will do
            return None
        length = r.headers.get("content-length")
        return int(length) if length and length.isdigit() else None

    async def download_part(self, blob: BlobDownload, part: Part, fd: int) -> None:
        """Fetch the rest of one part, retrying drops and stalls with back-off."""
        s = self.settings
        failures = 0
        auth_tries = 0
        while not part.done:
            start = part.offset + part.completed
            end = part.offset + part.size - 1
            progressed = False
            sent_token = self._token
            try:
                async with self.http.stream(
                        "GET", self.blob_url(blob.digest),
                        headers=self._headers({"Range": f"bytes={start}-{end}",
                                               "Accept-Encoding": "identity"})) as r:
                    if r.status_code == 401 and auth_tries < 3:
                        # token expired mid-pull: another part may have renewed it already
                        if await self._authenticate(r, sent_token):
                            auth_tries += 1
                            continue
                    if r.status_code == 200:
                        skip = start  # server ignored Range: drop what we already have
                    elif r.status_code == 206:
                        skip = 0
                    elif 400 <= r.status_code < 500 and r.status_code != 429:
                        raise PullError(f"pull blob {blob.digest[7:19]}: registry answered {r.status_code}", 502)
                    else:
                        raise httpx.TransportError(f"registry answered {r.status_code}")
                    async for chunk in r.aiter_raw():
                        if skip:
                            drop = min(skip, len(chunk))
                            chunk, skip = chunk[drop:], skip - drop
                        room = part.size - part.completed
                        if len(chunk) > room:
                            chunk = chunk[:room]
                        view = memoryview(chunk)
                        while view:  # a full disk or a size limit can write only part of it
                            try:
                                n = os.pwrite(fd, view, part.offset + part.completed)
                            except OSError as exc:
                                blob.save(force=True)
                                raise write_error(exc, blob) from None
                            if n <= 0:
                                blob.save(force=True)
                                raise write_error(OSError(errno.ENOSPC, "no space left on device"), blob)
                            part.completed += n
                            blob.received += n
                            view = view[n:]
                            progressed = True
                        if chunk:
                            blob.save()
                        if part.done:
                            break
                if not part.done:
                    raise httpx.TransportError("connection closed before the part was complete")
            except (httpx.TransportError, httpx.StreamError) as exc:
                failures = 0 if progressed else failures + 1
                if failures > s.max_retries:
                    blob.save(force=True)
                    raise PullError(
                        f"pull blob {blob.digest[7:19]}: download stalled after {s.max_retries} retries "
                        f"({exc or type(exc).__name__}); pull again to resume", 502) from None
                if failures:  # a drop after progress reconnects at once; repeated failures back off
                    await asyncio.sleep(min(s.backoff_cap, s.backoff_base * (2 ** (failures - 1))))


# --- the pull ------------------------------------------------------------------------------

_blob_locks: dict[str, asyncio.Lock] = {}
_active: dict[str, "BlobDownload"] = {}  # downloads in progress in this process, by digest


def _env_flag(name: str) -> bool:
    """Ollama's boolean environment variables: set and not 0/false/no/off."""
    value = os.environ.get(name, "").strip().strip("\"'").lower()
    return value not in ("", "0", "false", "no", "off")


def _status(blob_digest: str, total: int, completed: int) -> dict:
    return {"status": f"pulling {blob_digest[7:19]}", "digest": blob_digest,
            "total": total, "completed": completed}


def _parse_manifest(raw: bytes) -> tuple[dict, list[dict]]:
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise PullError("pull model manifest: the registry sent a manifest that is not JSON", 502) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
        raise PullError("pull model manifest: the registry sent a manifest without layers", 502)
    blobs: list[dict] = []
    seen: set[str] = set()
    entries = ([manifest["config"]] if isinstance(manifest.get("config"), dict) else []) + manifest["layers"]
    for entry in entries:
        digest = entry.get("digest") if isinstance(entry, dict) else None
        size = entry.get("size") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or not DIGEST_RE.match(digest) or not isinstance(size, int) or size < 0:
            raise PullError(f"pull model manifest: invalid layer entry {entry!r}", 502)
        if digest not in seen:
            seen.add(digest)
            blobs.append({"digest": digest, "size": size, "mediaType": entry.get("mediaType", "")})
    return manifest, blobs


def _lock_download(blob: BlobDownload) -> int:
    """An exclusive lock on ``<blob>-partial.lock``: one process downloads a blob at a time."""
    blob.path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(blob.path.with_name(blob.path.name + "-partial.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise PullError(f"pull blob {blob.digest[7:19]}: another process is downloading it into this "
                        "store; wait for it to finish, then pull again", 409) from None
    return fd


class Pull:
    """A pull whose manifest is known; :meth:`run` downloads, verifies and writes it."""

    def __init__(self, store, name: ModelName, client: RegistryClient, raw_manifest: bytes):
        self.store = store
        self.name = name
        self.client = client
        self.raw_manifest = raw_manifest
        self.manifest, self.blobs = _parse_manifest(raw_manifest)
        self.bytes_received = 0

    async def run(self) -> AsyncIterator[dict]:
        try:
            yield {"status": "pulling manifest"}
            pending: list[BlobDownload] = []
            for entry in self.blobs:
                digest, size = entry["digest"], entry["size"]
                lock = _blob_locks.setdefault(digest, asyncio.Lock())
                while lock.locked():  # another request of this server is on it: show its progress
                    active = _active.get(digest)
                    yield _status(digest, size, active.completed if active else 0)
                    await asyncio.sleep(self.client.settings.progress_interval)
                async with lock:
                    if self.store.has_blob(digest):
                        reason = await asyncio.to_thread(
                            shared_verifier().blob_damage, Path(self.store.blob_path(digest)), digest, size)
                        if reason is None:
                            yield _status(digest, size, size)
                            continue
                        # truncated or changed: download it again (this is how a pull repairs)
                        log.warning("blob %s is damaged (%s): downloading it again", digest[7:19], reason)
                        Path(self.store.blob_path(digest)).unlink(missing_ok=True)
                    # downloaded and verified while the locks are held, so a concurrent pull
                    # (this process or another) finds the finished blob
                    async for line in self._download(digest, size, pending):
                        yield line
            yield {"status": "verifying sha256 digest"}
            yield {"status": "writing manifest"}
            old_digests = self._previous_digests()
            self.store.write_manifest(self.name, self.raw_manifest)
            if old_digests and not _env_flag("OLLAMA_NOPRUNE"):
                self._prune(old_digests)
            yield {"status": "success"}
        finally:
            await self.client.aclose()

    async def _download(self, digest: str, size: int, pending: list[BlobDownload]) -> AsyncIterator[dict]:
        s = self.client.settings
        head_size = await self.client.blob_size(digest)
        if head_size is not None and head_size != size:
            raise PullError(f"pull blob {digest[7:19]}: the registry reports {head_size} bytes, "
                            f"the manifest {size}", 502)
        blob = BlobDownload(digest, size, Path(self.store.blob_path(digest)), save_interval=s.state_interval)
        lock_fd = _lock_download(blob)
        _active[digest] = blob
        try:
            async for line in self._download_locked(blob, pending):
                yield line
            await asyncio.to_thread(blob.verify_and_commit)
            shared_verifier().mark_good(blob.path)  # hashed just now: the first load need not
        finally:
            _active.pop(digest, None)
            os.close(lock_fd)  # releases the lock

    async def _download_locked(self, blob: BlobDownload, pending: list[BlobDownload]) -> AsyncIterator[dict]:
        s = self.client.settings
        digest, size = blob.digest, blob.total
        try:
            await asyncio.to_thread(blob.plan, s)
        except OSError as exc:
            raise write_error(exc, blob) from None
        needed = size - blob.completed
        free = shutil.disk_usage(blob.path.parent).free
        if needed > free:
            raise PullError(f"not enough disk space to pull {digest[7:19]}: {needed / 1e9:.2f} GB more "
                            f"needed, {free / 1e9:.2f} GB free in {blob.path.parent}", 507)
        pending.append(blob)
        yield _status(digest, size, blob.completed)
        fd = os.open(blob.partial, os.O_WRONLY)
        tasks = [asyncio.create_task(self.client.download_part(blob, part, fd))
                 for part in blob.parts if not part.done]
        try:
            while tasks:
                done, _ = await asyncio.wait(tasks, timeout=s.progress_interval,
                                             return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    if task.exception() is not None:
                        raise task.exception()
                tasks = [t for t in tasks if not t.done()]
                yield _status(digest, size, blob.completed)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            os.close(fd)
            self.bytes_received += blob.received
            blob.save(force=True)

    def _previous_digests(self) -> set[str]:
        try:
            manifest = json.loads(self.store.manifest_bytes(self.name))
        except (LookupError, OSError, ValueError):
            return set()
        entries = [manifest.get("config")] + list(manifest.get("layers") or [])
        return {e["digest"].replace("sha256-", "sha256:") for e in entries
                if isinstance(e, dict) and isinstance(e.get("digest"), str)}

    def _prune(self, old_digests: set[str]) -> None:
        stale = {d for d in old_digests if DIGEST_RE.match(d)} - {b["digest"] for b in self.blobs}
        if stale:
            self.store.prune_blobs(stale)


async def start_pull(store, model: str, *, insecure: bool = False, settings: PullSettings | None = None,
                     transport: httpx.AsyncBaseTransport | None = None) -> Pull:
    """Resolve the name and fetch the manifest. Raises :class:`PullError` (with a status)."""
    try:
        name = ModelName.parse(model)
    except InvalidModelName as exc:
        raise PullError(str(exc), 400) from None
    if name.is_cloud:
        raise PullError(f"{name.display} is a cloud model: hushtype never sends prompts off this machine", 400)
    client = RegistryClient(name, insecure=insecure, settings=settings, transport=transport)
    try:
        raw = await client.manifest()
        return Pull(store, name, client, raw)
    except BaseException:
        await client.aclose()
        raise

"""Is a model's weights file still what its manifest says? Truncated and bit-rotten blobs.

A blob's name is its sha256 and its manifest layer gives its size, so damage is visible:
a size that differs (a truncated copy, a disk that filled up) is seen with one ``stat``; a
changed byte needs the whole file hashed. :class:`BlobVerifier` does the full check once per
file version (inode, size, mtime) and remembers the answer, so a server hashes each weights
file once, on its first load, and every later request costs a ``stat``.

Used by the server before it loads a model (a clear error instead of llama.cpp failing or
running garbage), by ``hushtype doctor`` (which names every damaged model), and by pull,
import and blob upload, which replace a damaged blob instead of trusting it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

CHUNK = 4 << 20


@dataclass(frozen=True)
class Damage:
    model: str          # display name
    blob: str           # file name in blobs/
    reason: str

    def message(self) -> str:
        return (f"model '{self.model}' is damaged: {self.reason} ({self.blob}); repair it with "
                f"`hushtype pull {self.model}` (or `hushtype import FILE.gguf --name {self.model} --force`)")


def _hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return "sha256:" + h.hexdigest()


def blob_damage(path: Path, digest: str, size: int | None, *, full: bool = True) -> str | None:
    """Why the blob at ``path`` is not the ``digest``/``size`` it should be, or None."""
    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        return "its file is missing from the store"
    except OSError as exc:
        return f"its file cannot be read ({exc.strerror or exc})"
    if size is not None and actual != size:
        kind = "truncated" if actual < size else "longer than recorded"
        return f"its file is {kind}: {actual} of {size} bytes"
    if full:
        try:
            got = _hash(path)
        except OSError as exc:
            return f"its file cannot be read ({exc.strerror or exc})"
        if got != digest:
            return f"its content no longer matches its digest (sha256 {got[7:19]}…, expected {digest[7:19]}…)"
    return None


def weight_layers(record) -> list:
    """The layers llama.cpp reads: model weights, projector, adapters (the big GGUF files)."""
    from inference.models.store import MEDIA_ADAPTER, MEDIA_MODEL, MEDIA_PROJECTOR

    kinds = {MEDIA_MODEL, MEDIA_PROJECTOR, MEDIA_ADAPTER}
    return [layer for layer in getattr(record, "layers", None) or [] if layer.media_type in kinds]


class BlobVerifier:
    """Full checks remembered per file version, so each file is hashed once per process."""

    def __init__(self):
        self._good: dict[str, tuple] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _version(path: Path) -> tuple | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _verified(self, path: Path, size: int | None) -> tuple[bool, tuple | None]:
        """(whether ``path`` in its current version was hashed good already, that version)."""
        version = self._version(path)
        known = version is not None and self._good.get(str(path)) == version and (size is None or version[1] == size)
        return known, version

    def blob_damage(self, path: Path, digest: str, size: int | None) -> str | None:
        path = Path(path)
        known, version = self._verified(path, size)
        key = str(path)
        if known:
            return None
        reason = blob_damage(path, digest, size, full=True)
        with self._lock:
            if reason is None and version is not None:
                self._good[key] = version
            else:
                self._good.pop(key, None)
        return reason

    def mark_good(self, path: Path) -> None:
        """``path`` was just hashed by its writer (a verified pull): no need to read it again."""
        version = self._version(Path(path))
        if version is not None:
            with self._lock:
                self._good[str(path)] = version

    def known_good(self, store, record) -> bool:
        """Whether every weights file of ``record`` was verified in this version already (one
        ``stat`` each, no read): the request path then needs no worker thread."""
        return all(self._verified(Path(store.blob_path(layer.digest)), layer.size)[0] for layer in weight_layers(record))

    def check(self, store, record) -> Damage | None:
        """The first damaged weights layer of ``record``, or None."""
        for layer in weight_layers(record):
            path = Path(store.blob_path(layer.digest))
            reason = self.blob_damage(path, layer.digest, layer.size)
            if reason:
                return Damage(record.name.display, path.name, reason)
        return None


def damaged_models(store, *, full: bool = True) -> list[Damage]:
    """Every model whose weights are damaged (doctor); a blob shared by models is read once."""
    seen: dict[str, str | None] = {}
    found = []
    for record in store.list():
        for layer in weight_layers(record):
            path = Path(store.blob_path(layer.digest))
            if layer.digest not in seen:
                seen[layer.digest] = blob_damage(path, layer.digest, layer.size, full=full)
            if seen[layer.digest]:
                found.append(Damage(record.name.display, path.name, seen[layer.digest]))
                break
    return found


_SHARED = BlobVerifier()


def shared_verifier() -> BlobVerifier:
    """The process's verifier: the server's loads, pulls and uploads share what was checked."""
    return _SHARED


def intact_blob(store, digest: str, size: int | None = None) -> bool:
    """True when the store has this blob and it is whole (pull, import and upload skip it)."""
    if not store.has_blob(digest):
        return False
    return _SHARED.blob_damage(Path(store.blob_path(digest)), digest, size) is None

"""The model store, in Ollama's on-disk layout, so a store written by Ollama is readable as is.

::

    <root>/manifests/<host>/<namespace>/<model>/<tag>   docker v2 manifest (JSON)
    <root>/blobs/sha256-<hex>                            content-addressed blobs
    <root>/blobs/sha256:<hex>                            legacy blob name (read only)

A model's ``digest`` is the sha256 of its manifest file's bytes. Every write goes to a temp
file in the target directory and is renamed into place, so a crash never leaves a half-written
manifest or blob. Temp files are named ``.tmp-*-partial`` so ``prune_partials`` sweeps up the
remains of an interrupted write along with stale partial downloads.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import errno
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from inference.models import gguf_info
from inference.models.names import InvalidModelName, ModelName

log = logging.getLogger(__name__)

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
_OLLAMA = "application/vnd.ollama.image."
MEDIA_MODEL = _OLLAMA + "model"
MEDIA_TEMPLATE = _OLLAMA + "template"
MEDIA_SYSTEM = _OLLAMA + "system"
MEDIA_PARAMS = _OLLAMA + "params"
MEDIA_LICENSE = _OLLAMA + "license"
MEDIA_MESSAGES = _OLLAMA + "messages"
MEDIA_PROJECTOR = _OLLAMA + "projector"
MEDIA_ADAPTER = _OLLAMA + "adapter"

_DIGEST = re.compile(r"sha256[:-]([0-9a-fA-F]{64})")
_CHUNK = 1 << 20


class ModelNotFound(LookupError):
    """No manifest for the name. The message is Ollama's: ``model 'x' not found``."""

    def __init__(self, name: str):
        super().__init__(f"model '{name}' not found")
        self.name = name

    def __str__(self) -> str:
        return self.args[0]


class DamagedModel(ModelNotFound):
    """A manifest that exists but cannot be read; like a missing model, with the reason."""

    def __init__(self, name: str, reason: str):
        LookupError.__init__(
            self, f"model '{name}' is damaged ({reason}); remove it or pull/create it again")
        self.name = name


class InvalidDigest(ValueError):
    """A digest that is not ``sha256:<64 hex>`` / ``sha256-<64 hex>``."""


class DigestMismatch(ValueError):
    """Content whose sha256 differs from the digest it was declared with."""


class MissingBlob(LookupError):
    """A manifest refers to a blob that is not in the store."""


def normalize_digest(digest: str) -> str:
    """``sha256:<hex>`` or ``sha256-<hex>`` (any case) -> ``sha256:<lowercase hex>``."""
    m = _DIGEST.fullmatch(digest.strip()) if isinstance(digest, str) else None
    if not m:
        raise InvalidDigest(f"invalid digest {digest!r}: expected sha256:<64 hex digits>")
    return "sha256:" + m.group(1).lower()


@dataclass(frozen=True)
class Layer:
    media_type: str
    digest: str  # "sha256:<hex>"
    size: int

    def to_dict(self) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @classmethod
    def from_dict(cls, d: dict) -> "Layer":
        return cls(str(d.get("mediaType", "")), normalize_digest(d["digest"]), int(d.get("size", 0)))


@dataclass
class ModelRecord:
    name: ModelName
    manifest: dict
    digest: str  # sha256 hex of the manifest file
    modified_at: datetime
    size: int
    config: dict
    model_path: Path | None
    template: str | None
    system: str | None
    params: dict
    license: list[str]
    messages: list[dict]
    adapters: list[Path]
    projector: Path | None
    details: dict
    layers: list[Layer] = field(default_factory=list)
    manifest_path: Path | None = None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="-partial")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        _unlink(Path(tmp))
        raise


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def _read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _read_json(path: Path | None, default):
    text = _read_text(path)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        log.warning("ignoring unreadable JSON blob %s", path)
        return default


def _parse_manifest(raw: bytes) -> dict:
    """The manifest object; ValueError naming the problem when it is not one."""
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"invalid manifest: not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError("invalid manifest: not a JSON object")
    layers = obj.get("layers", [])
    layers = [] if layers is None else layers
    config = obj.get("config")
    if not isinstance(layers, list) or (config is not None and not isinstance(config, dict)):
        raise ValueError("invalid manifest: 'layers' must be a list and 'config' an object")
    for ref in ([config] if config else []) + layers:
        if not isinstance(ref, dict) or not isinstance(ref.get("digest"), str):
            raise ValueError("invalid manifest: every layer needs a digest")
        normalize_digest(ref["digest"])
        if not isinstance(ref.get("size", 0), int) or ref.get("size", 0) < 0:
            raise ValueError("invalid manifest: layer sizes must be non-negative integers")
    return obj


def sha256_file(path: Path, *, progress: Callable[[int, int], None] | None = None,
                total: int = 0) -> tuple[str, int]:
    """(``sha256:<hex>``, size) of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
            size += len(block)
            if progress:
                progress(size, total)
    return "sha256:" + h.hexdigest(), size


class ModelStore:
    """Manifests + blobs under ``root``. One instance per server; writes are serialised."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifests_dir = self.root / "manifests"
        self.blobs_dir = self.root / "blobs"
        self.manifests_dir.mkdir(parents=True, exist_ok=True)
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        # Records by manifest version: blobs are named by their digest, so an unchanged
        # manifest file whose blobs are where they were means an unchanged record (a request
        # then reads no file, it only stats the manifest and its blobs).
        self._records: "collections.OrderedDict[tuple, tuple]" = collections.OrderedDict()

    # ------------------------------------------------------------------ blobs
    def blob_path(self, digest: str) -> Path:
        """Where the blob lives: ``blobs/sha256-<hex>``, or an existing legacy ``sha256:<hex>``."""
        hexd = normalize_digest(digest)[7:]
        path = self.blobs_dir / f"sha256-{hexd}"
        if not path.exists():
            legacy = self.blobs_dir / f"sha256:{hexd}"
            if legacy.exists():
                return legacy
        return path

    def partial_path(self, digest: str) -> Path:
        """Where a download of ``digest`` keeps its bytes until verified."""
        return self.blobs_dir / f"sha256-{normalize_digest(digest)[7:]}-partial"

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def add_blob_bytes(self, data: bytes, media_type: str) -> Layer:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self.lock:
            path = self.blob_path(digest)
            try:
                intact = path.stat().st_size == len(data) and path.read_bytes() == data
            except OSError:
                intact = False
            if not intact:
                _atomic_write(self.blobs_dir / f"sha256-{digest[7:]}", data)
                _unlink(self.blobs_dir / f"sha256:{digest[7:]}")
        return Layer(media_type, digest, len(data))

    def blob_writer(self, *, expected: str | None = None, media_type: str = MEDIA_MODEL) -> "BlobWriter":
        """A writer for a blob that arrives in pieces (an upload, a download).

        ``write()`` each piece, then ``commit()`` -> Layer; the content only becomes visible
        once its sha256 checks out. Used as a context manager it discards everything on error.
        """
        return BlobWriter(self, expected=expected, media_type=media_type)

    def add_blob_stream(self, chunks: Iterable[bytes], *, expected: str | None = None,
                        media_type: str = MEDIA_MODEL) -> Layer:
        """Store a blob from an iterable of byte chunks, hashing as it goes.

        With ``expected``, a different sha256 raises DigestMismatch and nothing is stored.
        """
        with self.blob_writer(expected=expected, media_type=media_type) as writer:
            for chunk in chunks:
                writer.write(chunk)
            return writer.commit()

    def add_blob_file(self, path: Path, *, link: bool = True, media_type: str = MEDIA_MODEL,
                      expected: str | None = None,
                      progress: Callable[[int, int], None] | None = None) -> Layer:
        """Put a file in the store and return its layer.

        With ``link`` the blob is a hard link to ``path`` when both are on one filesystem (no
        second copy on disk), else a copy. The content is hashed once either way; with
        ``expected`` a different sha256 raises DigestMismatch and nothing is stored. A file
        that already is one of this store's blobs is used as is. ``progress(done, total)`` is
        called as bytes are hashed/copied (for progress bars on large files).
        """
        path = Path(path)
        expected = normalize_digest(expected) if expected else None
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        own = self._own_blob_digest(path)
        if own:
            if expected and own != expected:
                raise DigestMismatch(f"digest mismatch: expected {expected}, got {own}")
            return Layer(media_type, own, path.stat().st_size)
        tmp_path = self.blobs_dir / f".tmp-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}-partial"
        try:
            linked = False
            if link:
                try:
                    os.link(path, tmp_path)
                    linked = True
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
                        raise
            total = path.stat().st_size
            if linked:
                digest, size = sha256_file(tmp_path, progress=progress, total=total)
            else:
                h = hashlib.sha256()
                size = 0
                with open(path, "rb") as src, open(tmp_path, "wb") as dst:
                    while block := src.read(_CHUNK):
                        h.update(block)
                        dst.write(block)
                        size += len(block)
                        if progress:
                            progress(size, total)
                    dst.flush()
                    os.fsync(dst.fileno())
                digest = "sha256:" + h.hexdigest()
            if expected and digest != expected:
                raise DigestMismatch(f"digest mismatch: expected {expected}, got {digest}")
            self._install_blob(tmp_path, digest)
            return Layer(media_type, digest, size)
        finally:
            _unlink(tmp_path)

    def _own_blob_digest(self, path: Path) -> str | None:
        try:
            resolved = path.resolve()
            if resolved.parent != self.blobs_dir.resolve():
                return None
        except OSError:
            return None
        m = _DIGEST.fullmatch(resolved.name)
        return "sha256:" + m.group(1).lower() if m else None

    def _install_blob(self, tmp_path: Path, digest: str) -> None:
        """Rename verified content into place (replacing whatever was there, even if damaged)."""
        with self.lock:
            if os.stat(tmp_path).st_nlink == 1:  # our own copy; a hard link keeps the file's mode
                os.chmod(tmp_path, 0o644)
            os.replace(tmp_path, self.blobs_dir / f"sha256-{digest[7:]}")
            _unlink(self.blobs_dir / f"sha256:{digest[7:]}")  # a legacy-named duplicate

    # -------------------------------------------------------------- manifests
    def _manifest_files(self) -> Iterator[Path]:
        if not self.manifests_dir.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(self.manifests_dir):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            depth = len(Path(dirpath).relative_to(self.manifests_dir).parts)
            if depth != 3:
                continue
            for fn in filenames:
                if not fn.startswith("."):
                    yield Path(dirpath) / fn

    def _find_manifest(self, name: ModelName) -> Path | None:
        """The manifest file for ``name``, matching each path part case-insensitively."""
        exact = name.manifest_path(self.root)
        if exact.is_file():
            return exact
        return self._find_folded(self.manifests_dir, [name.host, name.namespace, name.model, name.tag])

    def _find_folded(self, directory: Path, parts: list[str]) -> Path | None:
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            return None
        want = parts[0].casefold()
        for entry in entries:
            if entry.casefold() != want:
                continue
            candidate = directory / entry
            if len(parts) == 1:
                if candidate.is_file():
                    return candidate
            else:
                found = self._find_folded(candidate, parts[1:])
                if found is not None:
                    return found
        return None

    def _parse(self, name: str | ModelName) -> ModelName:
        return name if isinstance(name, ModelName) else ModelName.parse(name)

    def list(self) -> list[ModelRecord]:
        """Every readable model, newest first. Unreadable manifests are logged and skipped."""
        records = []
        for path in self._manifest_files():
            try:
                name = ModelName.from_manifest_path(self.root, path)
                records.append(self._record(name, path))
            except (InvalidModelName, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("skipping manifest %s: %s", path, exc)
        records.sort(key=lambda r: r.modified_at, reverse=True)
        return records

    def get(self, name: str | ModelName) -> ModelRecord:
        """The model called ``name`` (case-insensitive); ModelNotFound if there is none.

        Raises InvalidModelName for a malformed name.
        """
        parsed = self._parse(name)
        path = self._find_manifest(parsed)
        if path is None:
            raise ModelNotFound(name if isinstance(name, str) else parsed.display)
        shown = name if isinstance(name, str) else parsed.display
        try:
            return self._record(ModelName.from_manifest_path(self.root, path), path)
        except FileNotFoundError:  # deleted between lookup and read
            raise ModelNotFound(shown) from None
        except (InvalidModelName, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DamagedModel(shown, f"unreadable manifest: {exc}") from exc

    def exists(self, name: str | ModelName) -> bool:
        return self._find_manifest(self._parse(name)) is not None

    def _record(self, name: ModelName, path: Path) -> ModelRecord:
        st = path.stat()
        key = (str(path), str(name), st.st_ino, st.st_size, st.st_mtime_ns)
        hit = self._records.get(key)
        cached = hit[0] if hit is not None and hit[1] == self._blob_paths(hit[0]) else None
        if cached is None:
            cached = self._read_record(name, path, st)
            self._records[key] = (cached, self._blob_paths(cached))
            while len(self._records) > 64:
                self._records.popitem(last=False)
        # a copy whose mutable parts are the caller's own
        return dataclasses.replace(
            cached, manifest=copy.deepcopy(cached.manifest), config=dict(cached.config), params=dict(cached.params),
            messages=list(cached.messages), license=list(cached.license), adapters=list(cached.adapters),
            details=dict(cached.details), layers=list(cached.layers))

    def _blob_paths(self, record: ModelRecord) -> tuple:
        """Where the record's blobs are now (a blob renamed or removed changes the record)."""
        digests = [layer.digest for layer in record.layers]
        cfg = (record.manifest.get("config") or {}).get("digest")
        if cfg:
            digests.append(cfg)
        return tuple((p, p.exists()) for p in map(self.blob_path, digests))

    def _read_record(self, name: ModelName, path: Path, st: os.stat_result) -> ModelRecord:
        raw = path.read_bytes()
        mtime = st.st_mtime
        manifest = _parse_manifest(raw)
        layers = [Layer.from_dict(d) for d in manifest.get("layers") or []]
        cfg_ref = manifest.get("config") or {}
        config: dict = {}
        size = sum(layer.size for layer in layers)
        if cfg_ref.get("digest"):
            size += int(cfg_ref.get("size", 0))
            config = _read_json(self.blob_path(cfg_ref["digest"]), {}) or {}
            if not isinstance(config, dict):
                config = {}

        def paths(media: str) -> list[Path]:
            return [self.blob_path(layer.digest) for layer in layers if layer.media_type == media]

        def last_text(media: str) -> str | None:
            found = paths(media)
            return _read_text(found[-1]) if found else None

        model_paths = paths(MEDIA_MODEL)
        model_path = model_paths[0] if model_paths else None
        params: dict = {}
        for p in paths(MEDIA_PARAMS):
            value = _read_json(p, {})
            if isinstance(value, dict):
                params.update(value)
        messages: list[dict] = []
        for p in paths(MEDIA_MESSAGES):
            value = _read_json(p, [])
            if isinstance(value, list):
                messages.extend(m for m in value if isinstance(m, dict))
        projectors = paths(MEDIA_PROJECTOR)
        return ModelRecord(
            name=name,
            manifest=manifest,
            digest=hashlib.sha256(raw).hexdigest(),
            modified_at=datetime.fromtimestamp(mtime, tz=timezone.utc),
            size=size,
            config=config,
            model_path=model_path,
            template=last_text(MEDIA_TEMPLATE),
            system=last_text(MEDIA_SYSTEM),
            params=params,
            license=[t for t in (_read_text(p) for p in paths(MEDIA_LICENSE)) if t is not None],
            messages=messages,
            adapters=paths(MEDIA_ADAPTER),
            projector=projectors[0] if projectors else None,
            details=self._details(config, model_path),
            layers=layers,
            manifest_path=path,
        )

    def _details(self, config: dict, model_path: Path | None) -> dict:
        details = {
            "parent_model": config.get("parent_model") or "",
            "format": config.get("model_format") or "",
            "family": config.get("model_family") or "",
            "families": config.get("model_families") or None,
            "parameter_size": config.get("model_type") or "",
            "quantization_level": config.get("file_type") or "",
        }
        missing = [k for k in ("format", "family", "parameter_size", "quantization_level") if not details[k]]
        if missing and model_path is not None and model_path.is_file():
            try:
                fallback = gguf_info.details_from_metadata(gguf_info.read_metadata(model_path))
            except gguf_info.GGUFError as exc:
                log.warning("cannot read GGUF metadata of %s: %s", model_path, exc)
            else:
                for k in missing:
                    details[k] = fallback[k]
                if not details["families"] and fallback["families"]:
                    details["families"] = fallback["families"]
        if not details["format"]:
            details["format"] = "gguf"
        if details["families"] is None and details["family"]:
            details["families"] = [details["family"]]
        return details

    def manifest_bytes(self, name: str | ModelName) -> bytes:
        path = self._find_manifest(self._parse(name))
        if path is None:
            raise ModelNotFound(str(name))
        return path.read_bytes()

    def write_manifest(self, name: str | ModelName, manifest: dict | bytes, *,
                       prune_replaced: bool = False) -> ModelRecord:
        """Write (atomically) the manifest for ``name``; bytes are written exactly as given.

        Every blob the manifest refers to must already be in the store (MissingBlob). A model
        whose name differs only in case is replaced, not duplicated. With ``prune_replaced``
        the blobs of the replaced manifest that no manifest uses any more are removed.
        """
        parsed = self._parse(name)
        raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest, separators=(",", ":")).encode()
        obj = _parse_manifest(raw)
        refs = [obj.get("config")] + list(obj.get("layers") or [])
        for ref in refs:
            if ref and ref.get("digest") and not self.has_blob(ref["digest"]):
                raise MissingBlob(f"blob {normalize_digest(ref['digest'])} is not in the store")
        with self.lock:
            old = self._find_manifest(parsed)
            replaced = self._referenced_by(old) if old is not None and prune_replaced else set()
            target = parsed.manifest_path(self.root)
            _atomic_write(target, raw)
            if old is not None and old != target:
                _unlink(old)
                self._remove_empty_dirs(old.parent)
            if replaced:
                self.prune_blobs(replaced)
            return self._record(parsed, target)

    # ---------------------------------------------------------------- models
    def build_manifest(self, layers: list[Layer], config: dict) -> dict:
        """A manifest for ``layers`` (deduplicated by digest) with ``config`` stored as a blob."""
        unique: list[Layer] = []
        seen: set[str] = set()
        for layer in layers:
            if layer.digest not in seen:
                seen.add(layer.digest)
                unique.append(layer)
        config = dict(config)
        config["rootfs"] = {"type": "layers", "diff_ids": [layer.digest for layer in unique]}
        cfg = self.add_blob_bytes(json.dumps(config, separators=(",", ":")).encode(), CONFIG_MEDIA_TYPE)
        return {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": cfg.to_dict(),
            "layers": [layer.to_dict() for layer in unique],
        }

    def create_model(self, name: str | ModelName, *, gguf: Path | None = None,
                     from_model: str | None = None, template: str | None = None,
                     system: str | None = None, params: dict | None = None,
                     license: str | list[str] | None = None, messages: list[dict] | None = None,
                     adapters: list[Path] | None = None, projector: Path | None = None,
                     progress: Callable[[int, int], None] | None = None) -> ModelRecord:
        """Create or replace ``name``.

        ``from_model`` starts from another model's layers; ``gguf`` (a file, or one of this
        store's blobs) sets the weights. ``template``/``system``/``messages`` replace the
        inherited ones ("" removes them); ``params`` are merged over the inherited ones;
        ``license`` texts are added. Layers are deduplicated by digest. ``progress(done,
        total)`` follows the hashing/copying of the GGUF.
        """
        parsed = self._parse(name)
        with self.lock:
            layers: list[Layer] = []
            config: dict = {}
            if from_model is not None:
                base = self.get(from_model)
                layers = list(base.layers)
                config = {k: v for k, v in base.config.items() if k != "rootfs"}
                config["parent_model"] = base.name.display
            if gguf is None and not any(layer.media_type == MEDIA_MODEL for layer in layers):
                raise ValueError("a model needs weights: give a GGUF file or a model to start from")

            def replace(media: str, new: list[Layer]) -> None:
                nonlocal layers
                layers = [layer for layer in layers if layer.media_type != media] + new

            if gguf is not None:
                model_layer = self.add_blob_file(Path(gguf), media_type=MEDIA_MODEL, progress=progress)
                replace(MEDIA_MODEL, [model_layer])
                config.update(self.config_from_gguf(self.blob_path(model_layer.digest)))
            if projector is not None:
                replace(MEDIA_PROJECTOR, [self.add_blob_file(Path(projector), media_type=MEDIA_PROJECTOR)])
            if adapters:
                replace(MEDIA_ADAPTER, [self.add_blob_file(Path(a), media_type=MEDIA_ADAPTER) for a in adapters])
            for media, text in ((MEDIA_TEMPLATE, template), (MEDIA_SYSTEM, system)):
                if text is not None:
                    replace(media, [self.add_blob_bytes(text.encode(), media)] if text else [])
            if params:
                merged: dict = {}
                for layer in layers:
                    if layer.media_type == MEDIA_PARAMS:
                        value = _read_json(self.blob_path(layer.digest), {})
                        if isinstance(value, dict):
                            merged.update(value)
                merged.update(params)
                data = json.dumps(merged, separators=(",", ":")).encode()
                replace(MEDIA_PARAMS, [self.add_blob_bytes(data, MEDIA_PARAMS)])
            if license:
                texts = [license] if isinstance(license, str) else list(license)
                layers += [self.add_blob_bytes(t.encode(), MEDIA_LICENSE) for t in texts if t]
            if messages is not None:
                data = json.dumps(messages, separators=(",", ":")).encode()
                replace(MEDIA_MESSAGES, [self.add_blob_bytes(data, MEDIA_MESSAGES)] if messages else [])
            order = [MEDIA_MODEL, MEDIA_PROJECTOR, MEDIA_ADAPTER, MEDIA_TEMPLATE, MEDIA_SYSTEM,
                     MEDIA_PARAMS, MEDIA_MESSAGES, MEDIA_LICENSE]
            layers.sort(key=lambda layer: order.index(layer.media_type) if layer.media_type in order else len(order))
            config.setdefault("model_format", "gguf")
            config.setdefault("architecture", "amd64")
            config.setdefault("os", "linux")
            return self.write_manifest(parsed, self.build_manifest(layers, config), prune_replaced=True)

    def config_from_gguf(self, path: Path) -> dict:
        """Config-blob fields (family, parameter size, quantization) read from a GGUF file."""
        try:
            details = gguf_info.details_from_metadata(gguf_info.read_metadata(path))
        except gguf_info.GGUFError as exc:
            raise ValueError(f"the model file is not a usable GGUF: {exc}") from exc
        return {
            "model_format": "gguf",
            "model_family": details["family"],
            "model_families": details["families"] or [],
            "model_type": details["parameter_size"],
            "file_type": details["quantization_level"],
            "architecture": "amd64",
            "os": "linux",
        }

    def copy(self, src: str | ModelName, dst: str | ModelName) -> None:
        """``dst`` gets the same manifest bytes (same digest) and shares every blob with ``src``."""
        dst_name = self._parse(dst)
        with self.lock:
            raw = self.manifest_bytes(src)
            self.write_manifest(dst_name, raw)

    def delete(self, name: str | ModelName) -> None:
        """Remove the manifest and every blob no other manifest refers to."""
        parsed = self._parse(name)
        with self.lock:
            path = self._find_manifest(parsed)
            if path is None:
                raise ModelNotFound(name if isinstance(name, str) else parsed.display)
            candidates = self._referenced_by(path)
            path.unlink()
            self._remove_empty_dirs(path.parent)
            self.prune_blobs(candidates)

    def _referenced_by(self, manifest_path: Path) -> set[str]:
        try:
            obj = json.loads(manifest_path.read_bytes())
            refs = [obj.get("config")] + list(obj.get("layers") or [])
            return {normalize_digest(r["digest"]) for r in refs if r and r.get("digest")}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return set()

    def referenced_digests(self) -> set[str]:
        """Digests used by any manifest in the store."""
        used: set[str] = set()
        for path in self._manifest_files():
            used |= self._referenced_by(path)
        return used

    def prune_blobs(self, candidates: Iterable[str] | None = None) -> int:
        """Remove blobs (``candidates``, or all) that no manifest refers to; returns the count."""
        with self.lock:
            used = self.referenced_digests()
            if candidates is None:
                names = [p for p in self.blobs_dir.iterdir() if _DIGEST.fullmatch(p.name)]
            else:
                names = []
                for d in candidates:
                    hexd = normalize_digest(d)[7:]
                    names += [self.blobs_dir / f"sha256-{hexd}", self.blobs_dir / f"sha256:{hexd}"]
            removed = 0
            for p in names:
                m = _DIGEST.fullmatch(p.name)
                if m and "sha256:" + m.group(1).lower() not in used and _unlink(p):
                    removed += 1
            return removed

    def _remove_empty_dirs(self, directory: Path) -> None:
        top = self.manifests_dir.resolve()
        cur = directory
        while cur.resolve() != top and top in cur.resolve().parents:
            try:
                cur.rmdir()
            except OSError:
                return
            cur = cur.parent

    def prune_partials(self, max_age_seconds: int = 3600) -> int:
        """Remove ``*-partial*`` files (interrupted downloads and writes) older than the age."""
        cutoff = time.time() - max_age_seconds
        removed = 0
        for directory in (self.blobs_dir, *self._dirs_under(self.manifests_dir)):
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                if "-partial" not in entry.name or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff and _unlink(Path(entry.path)):
                        removed += 1
                except OSError:
                    continue
        return removed

    @staticmethod
    def _dirs_under(root: Path) -> Iterator[Path]:
        if root.is_dir():
            for dirpath, _dirs, _files in os.walk(root):
                yield Path(dirpath)

    def check(self, name: str | ModelName, *, rehash: bool = False) -> list[str]:
        """Problems with a model's blobs (missing, wrong size, wrong sha256 with ``rehash``).

        An empty list means the model is intact. For ``hushtype doctor`` and repair tools.
        """
        record = self.get(name)
        refs = list(record.layers)
        cfg = record.manifest.get("config") or {}
        if cfg.get("digest"):
            refs.append(Layer.from_dict(cfg))
        problems = []
        for layer in refs:
            path = self.blob_path(layer.digest)
            try:
                size = path.stat().st_size
            except OSError:
                problems.append(f"{layer.media_type.rsplit('.', 1)[-1]} blob {layer.digest} is missing")
                continue
            if size != layer.size:
                problems.append(f"blob {layer.digest} has {size} bytes, the manifest says {layer.size}")
            elif rehash and sha256_file(path)[0] != layer.digest:
                problems.append(f"blob {layer.digest} does not match its sha256 (corrupt)")
        return problems

    def disk_usage(self) -> int:
        """Bytes used by blobs (each inode counted once)."""
        seen: set[int] = set()
        total = 0
        for p in self.blobs_dir.iterdir():
            try:
                st = p.stat()
            except OSError:
                continue
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
        return total


class BlobWriter:
    """Writes one blob piece by piece into a temp file, hashing as it goes (see blob_writer)."""

    def __init__(self, store: ModelStore, *, expected: str | None, media_type: str):
        self.store = store
        self.expected = normalize_digest(expected) if expected else None
        self.media_type = media_type
        fd, tmp = tempfile.mkstemp(dir=store.blobs_dir, prefix=".tmp-", suffix="-partial")
        self.tmp_path = Path(tmp)
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0
        self._done = False

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._file.write(data)
        self.size += len(data)

    def commit(self) -> Layer:
        """Verify and install the blob; DigestMismatch (and nothing stored) on a wrong sha256."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            digest = "sha256:" + self._hash.hexdigest()
            if self.expected and digest != self.expected:
                raise DigestMismatch(f"digest mismatch: expected {self.expected}, got {digest}")
            self.store._install_blob(self.tmp_path, digest)
            return Layer(self.media_type, digest, self.size)
        finally:
            self.abort()

    def abort(self) -> None:
        if not self._done:
            self._done = True
            self._file.close()
            _unlink(self.tmp_path)

    def __enter__(self) -> "BlobWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.abort()

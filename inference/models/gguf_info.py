"""GGUF metadata for ``/api/show`` and the store: model_info, details, chat template, context.

Reads with the ``gguf`` package's GGUFReader (memory-mapped). GGUFReader builds one numpy view
per element of every array, which takes seconds for a 262k-entry tokenizer vocabulary; the
reader below leaves arrays longer than ``max_array`` unmaterialised (their values become
``None`` in model_info, as Ollama does unless ``verbose``). Results are cached per
(path, size, mtime).
"""

from __future__ import annotations

import logging
import os
import re
import struct
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFReader, GGUFValueType, LlamaFileType

log = logging.getLogger(__name__)

DEFAULT_MAX_ARRAY = 64
_CACHE_SIZE = 32
_cache: OrderedDict[tuple, dict] = OrderedDict()
_cache_lock = threading.Lock()

_SCALAR_SIZES = {
    GGUFValueType.UINT8: 1, GGUFValueType.INT8: 1, GGUFValueType.BOOL: 1,
    GGUFValueType.UINT16: 2, GGUFValueType.INT16: 2,
    GGUFValueType.UINT32: 4, GGUFValueType.INT32: 4, GGUFValueType.FLOAT32: 4,
    GGUFValueType.UINT64: 8, GGUFValueType.INT64: 8, GGUFValueType.FLOAT64: 8,
}


class GGUFError(ValueError):
    """The file is not a readable GGUF model."""


class _SkimmingReader(GGUFReader):
    """GGUFReader that reads flat arrays in one go instead of one numpy view per element.

    Arrays longer than ``max_array`` are skipped (recorded as None); the others are decoded
    straight into Python lists. Values land in ``array_values``, keyed by the offset of the
    array's value in the file.
    """

    def __init__(self, path, max_array: int | None):
        self._max_array = max_array
        self.array_values: dict[int, list | None] = {}
        super().__init__(path)

    def _get_field_parts(self, orig_offs, raw_type):
        if GGUFValueType(raw_type) != GGUFValueType.ARRAY:
            return super()._get_field_parts(orig_offs, raw_type)
        raw_itype = self._get(orig_offs, np.uint32)
        alen = self._get(orig_offs + 4, np.uint64)
        count = int(alen[0])
        itype = GGUFValueType(int(raw_itype[0]))
        offs = orig_offs + 12
        keep = self._max_array is None or count <= self._max_array
        if itype in _SCALAR_SIZES:
            end = offs + count * _SCALAR_SIZES[itype]
            if end > len(self.data):
                raise GGUFError("array runs past the end of the file")
            if keep:
                values = self._get(offs, self.gguf_scalar_to_np[itype], count)
                small = count <= DEFAULT_MAX_ARRAY
                self.array_values[orig_offs] = [_scalar(v) for v in values] if small else values.tolist()
            else:
                self.array_values[orig_offs] = None
            offs = end
        elif itype == GGUFValueType.STRING:
            offs, strings = self._strings(offs, count, keep)
            self.array_values[orig_offs] = strings
        else:  # nested arrays: rare and small; let the package walk them
            return super()._get_field_parts(orig_offs, raw_type)
        return offs - orig_offs, [raw_itype, alen], [], [GGUFValueType.ARRAY, itype]

    def _strings(self, offs: int, count: int, keep: bool) -> tuple[int, list[str] | None]:
        little = (self.byte_order == "I") == (sys.byteorder == "little")
        unpack = struct.Struct("<Q" if little else ">Q").unpack_from
        buf = memoryview(self.data)
        end = len(buf)
        out: list[str] | None = [] if keep else None
        for _ in range(count):
            if offs + 8 > end:
                raise GGUFError("string array runs past the end of the file")
            (n,) = unpack(buf, offs)
            offs += 8
            if out is not None:
                out.append(bytes(buf[offs:offs + n]).decode("utf-8", errors="replace"))
            offs += n
        if offs > end:
            raise GGUFError("string array runs past the end of the file")
        return offs, out


def _scalar(value: Any) -> Any:
    if isinstance(value, np.floating) and value.dtype == np.float32:
        return float(str(value))  # shortest decimal form, e.g. 1e-06 rather than 9.99999997e-07
    if isinstance(value, np.generic):
        return value.item()
    return value


def _field_value(field, max_array: int | None, decoded: dict[int, list | None]) -> Any:
    types = field.types
    if not types:
        return None
    main = types[0]
    if main == GGUFValueType.ARRAY and decoded:
        value_offs = field.offset + sum(int(p.nbytes) for p in field.parts[:3])  # after key + type
        if value_offs in decoded:
            return decoded[value_offs]
    if main == GGUFValueType.STRING:
        return bytes(field.parts[-1]).decode("utf-8", errors="replace")
    if main == GGUFValueType.ARRAY:
        # parts: key length, key, value type, item type, item count, items...
        length = int(field.parts[4][0]) if len(field.parts) > 4 else len(field.data)
        if max_array is not None and length > max_array:
            return None
        if not field.data:
            return []
        sub = types[-1]
        if sub == GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8", errors="replace") for i in field.data]
        return [_scalar(v) for i in field.data for v in field.parts[i]]
    return _scalar(field.parts[-1][0])


def human_number(n: int) -> str:
    """Ollama's parameter-size format: 268098176 -> '268.10M', 3212749824 -> '3.2B'."""
    if n >= 1_000_000_000:
        v = n / 1_000_000_000
        return f"{v:.0f}B" if v == int(v) else f"{v:.1f}B"
    if n >= 1_000_000:
        v = n / 1_000_000
        return f"{v:.0f}M" if v == int(v) else f"{v:.2f}M"
    if n >= 1_000:
        return f"{n / 1_000:.0f}K"
    return str(n)


def file_type_name(value: Any) -> str:
    """general.file_type (a gguf.LlamaFileType number) -> 'Q4_K_M', 'F16', 'BF16', ..."""
    try:
        name = LlamaFileType(int(value)).name
    except (TypeError, ValueError):
        return "unknown"
    for prefix in ("MOSTLY_", "ALL_"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _read(path: Path, max_array: int | None) -> dict:
    try:
        try:
            reader = _SkimmingReader(path, max_array)
        except (AttributeError, TypeError) as exc:  # gguf package internals changed: read it all
            log.warning("fast GGUF reading unavailable (%s); using the plain GGUFReader", exc)
            reader = GGUFReader(path)
    except GGUFError:
        raise
    except Exception as exc:  # the package raises ValueError/KeyError/IndexError on bad files
        raise GGUFError(f"{path.name} is not a readable GGUF file: {exc}") from exc
    md: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        md[key] = _field_value(field, max_array, getattr(reader, "array_values", {}))
    md["general.parameter_count"] = int(sum(int(t.n_elements) for t in reader.tensors))
    del reader
    return md


def read_metadata(path: Path, max_array: int | None = DEFAULT_MAX_ARRAY) -> dict:
    """Every GGUF key/value (Ollama's ``model_info``), arrays longer than ``max_array`` as None.

    ``max_array=None`` returns everything (Ollama's ``verbose``; slow for big vocabularies).
    Adds ``general.parameter_count`` (sum of tensor element counts). Cached per
    (path, size, mtime); callers must not mutate the returned dict (copy it first).
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise GGUFError(f"cannot read {path}: {exc.strerror or exc}") from exc
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, max_array)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    md = _read(path, max_array)
    with _cache_lock:
        _cache[key] = md
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return md


def architecture(md: dict) -> str | None:
    return md.get("general.architecture")


def details_from_metadata(md: dict) -> dict:
    """Ollama ``details`` from GGUF metadata (used when a config blob lacks them)."""
    arch = md.get("general.architecture") or ""
    count = md.get("general.parameter_count")
    ftype = md.get("general.file_type")
    return {
        "parent_model": "",
        "format": "gguf",
        "family": arch,
        "families": [arch] if arch else None,
        "parameter_size": human_number(int(count)) if count else "",
        "quantization_level": file_type_name(ftype) if ftype is not None else "unknown",
    }


def chat_template(md: dict) -> str | None:
    """The Jinja chat template embedded in the GGUF, if any."""
    value = md.get("tokenizer.chat_template")
    return value if isinstance(value, str) and value.strip() else None


def context_length(md: dict) -> int | None:
    """The trained context length (``<arch>.context_length``)."""
    arch = md.get("general.architecture")
    value = md.get(f"{arch}.context_length") if arch else None
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def default_model_name(md: dict, fallback: str = "model") -> str:
    """A model name suggested by the metadata, e.g. 'gemma-3:270m' (for ``hushtype import``)."""
    base = md.get("general.basename") or md.get("general.name") or fallback
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(base)).strip("-.").lower() or fallback
    size = md.get("general.size_label")
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(size)).strip("-.").lower() if size else ""
    return f"{base[:80]}:{tag[:80]}" if tag else base[:80]

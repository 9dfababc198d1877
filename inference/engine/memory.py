"""Will a context fit? The least memory a llama.cpp KV cache needs, against what is available.

llama.cpp allocates the cache when it creates a context. An allocation larger than the
machine fails cleanly, but one that merely exceeds the free memory succeeds (overcommit) and
the cache is then zeroed page by page until the kernel's OOM killer ends the server. So the
runtime compares :func:`kv_cache_floor_bytes` with :func:`available_bytes` first.

The floor counts only the layers that certainly keep ``n_ctx`` rows (f16 K and V): every
layer of a model without a sliding window; for sliding-window models the global layers of
the architectures whose layout llama.cpp fixes (:data:`SWA_PATTERNS`), none for others. So it
never refuses a context that would fit. Pure but for ``/proc/meminfo``.
"""

from __future__ import annotations

from pathlib import Path

# Architecture -> one global (full-context) layer every N layers (llama.cpp's swa pattern).
SWA_PATTERNS = {"gemma3": 6, "gemma2": 2, "cohere2": 4, "llama4": 4, "gemma3n": 5}
F16_BYTES = 2


def _smallest(value) -> int:
    if isinstance(value, (list, tuple)):
        return min((int(v) for v in value), default=0)
    return int(value or 0)


def kv_cache_floor_bytes(metadata: dict, n_ctx_total: int) -> int:
    """The least bytes the KV cache of ``n_ctx_total`` rows (num_ctx x parallel) takes."""
    arch = metadata.get("general.architecture", "")
    layers = _smallest(metadata.get(f"{arch}.block_count"))
    heads = _smallest(metadata.get(f"{arch}.attention.head_count")) or 1
    heads_kv = _smallest(metadata.get(f"{arch}.attention.head_count_kv", heads))
    embd = _smallest(metadata.get(f"{arch}.embedding_length"))
    k_len = _smallest(metadata.get(f"{arch}.attention.key_length", embd // heads))
    v_len = _smallest(metadata.get(f"{arch}.attention.value_length", embd // heads))
    if metadata.get(f"{arch}.attention.sliding_window"):
        pattern = SWA_PATTERNS.get(arch)
        layers = layers // pattern if pattern else 0
    return max(0, layers * heads_kv * (k_len + v_len) * F16_BYTES * int(n_ctx_total))


def available_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable + SwapFree, or None when unknown (then nothing is refused)."""
    try:
        fields = dict(line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line)
        kib = int(fields["MemAvailable"].split()[0]) + int(fields.get("SwapFree", "0 kB").split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return kib * 1024

"""GPU offload as Ollama does it: ``num_gpu`` layers on the GPU, all that fit by default.

``gpu_layers`` is the decision, pure: how many of a model's layers llama.cpp should put on the
GPU (``n_gpu_layers``). ``supports_gpu_offload`` says whether the installed llama.cpp was built
with a GPU backend (scripts/setup.sh builds it with CUDA when ``nvidia-smi`` and ``nvcc``
exist); ``free_vram_bytes`` asks ``nvidia-smi``. On a CPU-only build every path gives 0 layers,
so CPU machines are unchanged.

This path cannot run on the project's CPU-only machines; only ``gpu_layers`` is tested (as
logic). ``num_gpu`` semantics (Ollama's): -1 (the default) = as many layers as fit in free
VRAM, 0 = CPU only, N > 0 = N layers (the user's choice is honoured even if it may not fit).
"""

from __future__ import annotations

import shutil
import subprocess

# Kept free on the GPU besides the estimate (other programs, CUDA context, fragmentation).
DEFAULT_MARGIN_BYTES = 512 * 1024 * 1024


def gpu_layers(requested_num_gpu: int, n_layers: int, layer_bytes: int, free_vram_bytes: int | None,
               *, overhead_bytes: int = 0, margin_bytes: int = DEFAULT_MARGIN_BYTES) -> int:
    """Layers to offload (llama.cpp's ``n_gpu_layers``; ``n_layers + 1`` = every block plus the
    output layer, i.e. the whole model).

    ``layer_bytes``: the size of one layer's weights; ``overhead_bytes``: what the GPU needs
    besides the layers (KV cache and compute buffers for the context); ``free_vram_bytes``:
    None or 0 when there is no usable GPU.
    """
    if n_layers < 0 or layer_bytes < 0 or overhead_bytes < 0:
        raise ValueError("n_layers, layer_bytes and overhead_bytes must not be negative")
    whole = n_layers + 1
    if not free_vram_bytes or requested_num_gpu == 0:
        return 0
    if requested_num_gpu > 0:
        return min(requested_num_gpu, whole)
    usable = free_vram_bytes - margin_bytes - overhead_bytes
    if usable <= 0:
        return 0
    if layer_bytes == 0:
        return whole
    return max(0, min(whole, usable // layer_bytes))


def layer_bytes_estimate(model_file_bytes: int, n_layers: int) -> int:
    """Weights per layer: the file spread over its blocks plus the output layer."""
    return model_file_bytes // max(n_layers + 1, 1)


def supports_gpu_offload() -> bool:
    """True when the installed llama.cpp has a GPU backend (a CUDA build)."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except (ImportError, AttributeError, OSError):
        return False


def free_vram_bytes(device: int = 0, timeout: float = 5.0) -> int | None:
    """Free memory of NVIDIA GPU ``device`` from ``nvidia-smi``, or None without one."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, f"--id={device}", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=timeout, check=True,
        ).stdout.strip()
        return int(out.splitlines()[0]) * 1024 * 1024  # MiB
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def offload_layers(requested_num_gpu: int, n_layers: int, model_file_bytes: int, *,
                   overhead_bytes: int = 0, device: int = 0) -> int:
    """What the runtime passes as ``n_gpu_layers``: 0 on a CPU-only build or machine."""
    if requested_num_gpu == 0 or not supports_gpu_offload():
        return 0
    return gpu_layers(requested_num_gpu, n_layers, layer_bytes_estimate(model_file_bytes, n_layers),
                      free_vram_bytes(device), overhead_bytes=overhead_bytes)

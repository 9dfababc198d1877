"""num_gpu -> n_gpu_layers, as pure logic (no GPU here: the CUDA path itself cannot run)."""

from __future__ import annotations

import pytest

from inference.engine import gpu

MiB = 1024 * 1024
GiB = 1024 * MiB


def test_cpu_only_machine_offloads_nothing():
    assert gpu.gpu_layers(-1, 26, 10 * MiB, None) == 0
    assert gpu.gpu_layers(-1, 26, 10 * MiB, 0) == 0
    assert gpu.gpu_layers(12, 26, 10 * MiB, None) == 0


def test_num_gpu_zero_means_cpu_even_with_vram():
    assert gpu.gpu_layers(0, 26, 10 * MiB, 24 * GiB) == 0


def test_default_offloads_every_layer_that_fits():
    # 32 blocks + output of 200 MiB each; 4 GiB free, 512 MiB margin, 500 MiB for the KV cache
    fit = (4 * GiB - gpu.DEFAULT_MARGIN_BYTES - 500 * MiB) // (200 * MiB)
    assert gpu.gpu_layers(-1, 32, 200 * MiB, 4 * GiB, overhead_bytes=500 * MiB) == fit == 15
    assert gpu.gpu_layers(-1, 32, 200 * MiB, 80 * GiB) == 33  # the whole model, output layer too


def test_too_little_vram_gives_zero_not_negative():
    assert gpu.gpu_layers(-1, 32, 200 * MiB, 600 * MiB, overhead_bytes=500 * MiB) == 0


def test_an_explicit_count_is_honoured_and_capped_at_the_whole_model():
    assert gpu.gpu_layers(10, 32, 200 * MiB, 1 * GiB) == 10
    assert gpu.gpu_layers(999, 32, 200 * MiB, 1 * GiB) == 33


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError):
        gpu.gpu_layers(-1, -1, 1, GiB)


def test_layer_size_estimate_spreads_the_file_over_blocks_and_output():
    assert gpu.layer_bytes_estimate(270 * MiB, 17) == 15 * MiB


def test_offload_layers_is_zero_on_this_cpu_build():
    """The installed llama.cpp here is a CPU build: the runtime's answer stays 0 layers."""
    if gpu.supports_gpu_offload():
        pytest.skip("this llama.cpp build has a GPU backend; the CPU-only answer does not apply")
    assert gpu.offload_layers(-1, 18, 250 * MiB) == 0
    assert gpu.offload_layers(99, 18, 250 * MiB) == 0

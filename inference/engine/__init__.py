"""The engine: llama.cpp runtime, the scheduler of loaded models, request options."""

import os

# llama.cpp's OpenMP threads meet at a barrier after every graph node; by default libgomp
# busy-waits there (and between tokens). Measured with the server on this kind of 2-core
# machine while other work ran (load ~7): decode 7.4 tok/s sleeping (PASSIVE) vs 0.6 tok/s
# spinning (default policy) and 2.5 tok/s with GOMP_SPINCOUNT=10000; prompt evaluation 72 vs
# 18 / 56 tok/s; idle CPU ~0 either way. On a quiet machine spinning is faster (llama-bench
# tg128: 89 vs 37.5 tok/s) — `python -m benchmarks server` prints both. A desktop assistant
# shares its CPU, so sleeping waits are the default; libgomp reads this when llama.cpp is
# first loaded, so it is set here, before any engine module imports llama_cpp. A user's own
# setting (OMP_WAIT_POLICY=ACTIVE for a dedicated box) wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

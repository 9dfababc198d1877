"""The engine: llama.cpp runtime, the scheduler of loaded models, request options."""

# OpenMP's wait policy stays libgomp's default (spin briefly, then sleep), as llama-server
# runs: spinning at llama.cpp's per-node barriers is what makes a quiet machine fast (decode
# about twice the speed of OMP_WAIT_POLICY=PASSIVE on 2 cores). On a busy machine spinning
# collapses (a thread waits for a preempted peer), so the engine decodes with as many threads
# as the other programs leave cores free (inference/engine/cpu_share.py). A user's own
# OMP_WAIT_POLICY or GOMP_SPINCOUNT is honoured as set (libgomp reads them when llama.cpp
# is first loaded).

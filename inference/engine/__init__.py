"""The engine: llama.cpp runtime, the scheduler of loaded models, request options."""

import os

# llama.cpp's OpenMP threads busy-wait between operations by default; libgomp reads this when
# llama.cpp is first loaded, so it is set here, before any engine module imports llama_cpp.
# A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

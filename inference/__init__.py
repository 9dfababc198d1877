"""hushtype's bundled inference server: the Ollama HTTP API over llama.cpp, offline."""

__version__ = "0.1.0"
# The Ollama API version we report; clients check it to enable features.
OLLAMA_COMPAT_VERSION = "0.33.0"

"""hushtype assistant: typed and spoken commands answered by a local model."""

__version__ = "0.1.0"

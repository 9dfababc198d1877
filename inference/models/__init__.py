"""The model store in Ollama's layout, GGUF metadata, the embedded model, registry pulls, Modelfiles."""

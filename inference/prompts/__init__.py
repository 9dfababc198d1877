"""Prompts and templates: Ollama Go templates, GGUF chat templates, the base-model template."""

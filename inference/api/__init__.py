"""The HTTP API (Ollama and OpenAI routes) and its security: Host/Origin checks, CORS, errors."""

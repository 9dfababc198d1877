"""Helpers for the command tests (a uniquely named module: test dirs share sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys

from assistant.config import load_settings


def settings_for(url: str, **server) -> dict:
    settings = load_settings()
    settings["server"].update(url=url, **server)
    return settings


def run_do(home, host: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """`hushtype do ARGS` as a subprocess with its own data dir and OLLAMA_HOST."""
    env = dict(os.environ, HUSHTYPE_HOME=str(home), OLLAMA_HOST=host)
    return subprocess.run([sys.executable, "-m", "assistant.cli", "do", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)

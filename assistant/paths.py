"""Where hushtype keeps everything it stores: one data directory, owner-only.

``HUSHTYPE_HOME`` overrides the platform default (``$XDG_DATA_HOME/hushtype`` on Linux).
Every path hushtype writes is derived here so that ``hushtype privacy`` and the README can
say exactly what is stored where.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "hushtype"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_DIR = REPO_ROOT / "config"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def data_dir() -> Path:
    """The one data directory (mode 0700), created on first use."""
    home = os.environ.get("HUSHTYPE_HOME")
    root = Path(home).expanduser() if home else Path(platformdirs.user_data_dir(APP_NAME))
    return _private_dir(root)


def models_dir() -> Path:
    """The model store in Ollama's layout: ``OLLAMA_MODELS`` or ``<data dir>/models``."""
    env = os.environ.get("OLLAMA_MODELS")
    if env:  # a store the user chose (e.g. Ollama's own): create it, leave its mode alone
        path = Path(env).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return _private_dir(data_dir() / "models")


def config_file() -> Path:
    """The user's settings, merged over ``config/defaults.toml``."""
    return data_dir() / "config.toml"


def history_db() -> Path:
    """The SQLite history database (mode 0600)."""
    return data_dir() / "history.sqlite3"


def logs_dir() -> Path:
    return _private_dir(data_dir() / "logs")

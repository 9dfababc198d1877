"""What the settings pages act on: settings, history, commands, the model server.

Inside `hushtype up` it wraps the running AssistantContext, so a change reaches the assistant
at once (its ``reload_settings()`` is called after every save). Served alone by
`hushtype settings`, it opens the same history database and settings file itself.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from assistant import config, paths

log = logging.getLogger(__name__)


def prune_patch(patch: dict, user: dict) -> dict:
    """``patch`` without ``None`` ("back to the default") for keys the user file does not have,
    so only real removals reach ``save_user_settings``."""
    out = {}
    for key, value in patch.items():
        present = isinstance(user, dict) and key in user
        if value is None:
            if present:
                out[key] = None
        elif isinstance(value, dict):
            out[key] = prune_patch(value, user.get(key) if present and isinstance(user.get(key), dict) else {})
        else:
            out[key] = value
    return out


class SettingsBackend:
    def __init__(self, ctx=None):
        self.ctx = ctx
        self._history = None
        self._lock = threading.Lock()
        self.data_dir: Path = paths.data_dir()

    # ------------------------------------------------------------------ settings
    def settings(self) -> dict:
        """The settings in force, read fresh from disk (so edits elsewhere show too)."""
        try:
            return config.load_settings()
        except config.ConfigError as exc:
            log.warning("settings file problem: %s", exc)
            return exc.settings if exc.settings is not None else config.load_defaults()

    def settings_problem(self) -> str | None:
        try:
            config.load_settings()
        except config.ConfigError as exc:
            return str(exc)
        return None

    def save(self, patch: dict) -> dict:
        """Write ``patch`` to the user file (ConfigError if invalid) and apply it now."""
        with self._lock:
            merged = config.save_user_settings(prune_patch(patch, config.load_user_file()))
        self.apply(merged)
        return merged

    def apply(self, merged: dict) -> None:
        reload = getattr(self.ctx, "reload_settings", None)
        if callable(reload):
            try:
                reload()
            except Exception:  # the file is saved; the assistant reports its own problem
                log.exception("the assistant could not reload its settings")
        history = self._history_if_open()
        retention = merged.get("history", {}).get("retention_days")
        if history is not None and retention is not None and hasattr(history, "retention_days"):
            history.retention_days = int(retention)

    # ------------------------------------------------------------------ history
    def history(self):
        store = getattr(self.ctx, "history", None)
        if store is not None:
            return store
        with self._lock:
            if self._history is None:
                from assistant.history.store import HistoryStore

                days = self.settings().get("history", {}).get("retention_days")
                self._history = HistoryStore(paths.history_db(), retention_days=days)
            return self._history

    def _history_if_open(self):
        return getattr(self.ctx, "history", None) or self._history

    # ------------------------------------------------------------------ commands
    def command_specs(self) -> dict:
        return config.command_specs(self.settings())

    def try_pipeline(self):
        """A pipeline on the settings in force now that records nothing ("try it" runs)."""
        from assistant.commands.pipeline import CommandPipeline

        return CommandPipeline(settings=self.settings(), history=False)

    # ------------------------------------------------------------------ model server
    def platform(self):
        """The running assistant's Platform (None when the page runs alone)."""
        return getattr(self.ctx, "platform", None)

    def server_url(self) -> str:
        from assistant.ollama_client import resolve_base_url

        return resolve_base_url(self.settings())

    def client(self):
        """A fresh client (close it after use) on the server the assistant uses."""
        from assistant.ollama_client import OllamaClient

        return OllamaClient.from_settings(self.settings())

    # ------------------------------------------------------------------ assistant state
    def is_paused(self) -> bool | None:
        paused = getattr(self.ctx, "paused", None)
        return paused.is_set() if paused is not None else None

    def close(self) -> None:
        store, self._history = self._history, None
        close = getattr(store, "close", None)
        if callable(close):
            close()

"""What every part of a running assistant shares (``hushtype up``): settings, the command
pipeline, history, the platform (``injector`` is its text output), and the paused/stop/busy
flags."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from assistant.platform.notify import desktop_notify

log = logging.getLogger("hushtype")


@dataclass
class AssistantContext:
    settings: dict
    pipeline: Any = None
    history: Any = None
    injector: Any = None
    paused: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    busy: threading.Event = field(default_factory=threading.Event)
    notifier: Callable[[str, str], Any] | None = desktop_notify
    listeners: list = field(default_factory=list)     # callables(settings) run after a reload
    platform: Any = None                              # assistant.platform.base.Platform

    def __post_init__(self):
        if self.platform is not None and self.injector is None:
            self.injector = self.platform.output

    def use_platform(self, platform) -> None:
        """Take this session's platform; ``injector`` stays an alias of its text output."""
        self.platform = platform
        self.injector = platform.output if platform is not None else None

    def notify(self, title: str, message: str) -> None:
        log.info("%s: %s", title, message)
        if self.notifier is not None:
            try:
                self.notifier(title, message)
            except Exception as exc:
                log.debug("notification failed: %s", exc)

    def reload_settings(self) -> dict:
        """Re-read the settings files and hand them to every part (raises ConfigError)."""
        from assistant.config import load_settings

        settings = load_settings()
        self.apply_settings(settings)
        return settings

    def apply_settings(self, settings: dict) -> None:
        if self.pipeline is not None:
            # In place: every component holding the pipeline sees the new commands, and the
            # cached model kinds survive unless the server settings changed. Raises
            # ConfigError (keeping the old settings) when the new commands are invalid.
            # The pipeline hands the new retention to its history store (which sweeps).
            self.pipeline.reload(settings)
        self.settings = settings
        if self.injector is not None and hasattr(self.injector, "update_settings"):
            self.injector.update_settings(settings)
        if self.history is not None and getattr(self.pipeline, "history", None) is not self.history:
            self.history.apply_settings(settings)  # a shorter retention sweeps at once
        for listener in list(self.listeners):
            try:
                listener(settings)
            except Exception:
                log.exception("a component could not apply the new settings")

    def toggle_pause(self) -> bool:
        if self.paused.is_set():
            self.paused.clear()
            self.notify("hushtype", "resumed: typed commands are active again")
        else:
            self.paused.set()
            self.notify("hushtype", "paused: typed commands are ignored until you resume")
        return self.paused.is_set()

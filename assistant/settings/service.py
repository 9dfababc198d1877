"""`hushtype up` runs the settings page and the tray through ``start(ctx)``."""

from __future__ import annotations

import logging

from assistant.settings.backend import SettingsBackend
from assistant.settings.server import SettingsServer

log = logging.getLogger(__name__)


def page_port(settings: dict) -> int:
    port = settings.get("settings_page", {}).get("port", 0)
    return int(port) if isinstance(port, int) and 0 <= port <= 65535 else 0


def start_server(backend: SettingsBackend, *, notify=None) -> SettingsServer:
    """The page on its configured port, or on a free one when that port is taken."""
    port = page_port(backend.settings())
    try:
        return SettingsServer(backend, port=port).start()
    except RuntimeError as exc:
        if port == 0:
            raise
        message = f"{exc}; using a free port instead (see `hushtype settings`)"
        log.warning(message)
        if notify is not None:
            notify("hushtype settings", message)
        return SettingsServer(backend, port=0).start()


class SettingsService:
    """The running page (and tray icon, when there is a display)."""

    def __init__(self, ctx, *, tray: bool | None = None):
        self.ctx = ctx
        self.backend = SettingsBackend(ctx)
        self.server = start_server(self.backend, notify=getattr(ctx, "notify", None))
        self.tray = None
        want_tray = self.backend.settings().get("settings_page", {}).get("tray", True) if tray is None else tray
        if want_tray:
            self.tray = self._start_tray()

    @property
    def url(self) -> str:
        """Where the page listens (safe to log). The private link comes from `hushtype settings`."""
        return self.server.base_url

    @property
    def private_url(self) -> str:
        """The link with this run's secret token (never log it)."""
        return self.server.url

    def _start_tray(self):
        from assistant.settings import tray

        if not tray.has_display():
            log.info("no display: no tray icon (the settings page runs at %s)", self.server.base_url)
            return None
        try:
            actions = tray.TrayActions(self.ctx, self.server.url_for)
            return tray.Tray(self.ctx, actions).start()
        except Exception as exc:  # the page still works without a tray
            log.warning("tray icon unavailable: %s", exc)
            return None

    def stop(self) -> None:
        if self.tray is not None:
            self.tray.stop()
        self.server.stop()
        self.backend.close()


def start(ctx) -> SettingsService:
    return SettingsService(ctx)

"""The Privacy tab says which desktop backend is in use and what each backend can see."""

from __future__ import annotations

import html
import re

import httpx

from assistant.platform.visibility import BACKEND_SEES


def _page(server) -> str:
    with httpx.Client(base_url=server.base_url, follow_redirects=False, trust_env=False, timeout=10) as client:
        assert client.get("/", params={"token": server.secrets.url_token}).status_code == 303
        response = client.get("/privacy")
        assert response.status_code == 200
        return html.unescape(response.text)


def test_privacy_tab_lists_every_backend_and_the_one_in_use(hushtype_home):
    from assistant.platform.base import Platform
    from assistant.service.context import AssistantContext
    from assistant.settings.backend import SettingsBackend
    from assistant.settings.server import SettingsServer

    platform = Platform(name="wayland", reason="Wayland session without an IBus daemon: voice only",
                        sees=BACKEND_SEES["wayland"])
    ctx = AssistantContext(settings={}, platform=platform, notifier=None)
    backend = SettingsBackend(ctx)
    server = SettingsServer(backend, port=0).start()
    try:
        text = _page(server)
    finally:
        server.stop()
        backend.close()
    assert "What hushtype can see on your desktop" in text
    plain = " ".join(re.sub(r"<[^>]+>", "", text).split())
    assert "In use: wayland — " + BACKEND_SEES["wayland"] in plain
    assert "voice only" in text
    for name, sees in BACKEND_SEES.items():
        assert f"<code>{name}</code>" in text and sees in text
    assert "<code>wayland</code> (in use)" in text and "<code>x11</code> (in use)" not in text


def test_privacy_tab_when_the_assistant_is_not_running(settings_server):
    text = _page(settings_server)
    assert "The assistant is not running here" in text
    assert "(in use)" not in text
    assert BACKEND_SEES["ibus"] in text and "password and PIN fields are never read" in text

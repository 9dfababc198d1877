"""Fixtures for the command tests: settings pointing at a server, a hung TCP server."""

from __future__ import annotations

import socket
import threading

import pytest

from commands_helpers import settings_for


@pytest.fixture
def live_settings(live_server):
    settings = settings_for(live_server.base_url, timeout_seconds=120)
    # the model's fix: rewrite always runs to the end here, however busy the machine is
    # (the time budget itself is tested against a server that never answers)
    settings.setdefault("fix", {})["rewrite_budget_ms"] = 0
    return settings


@pytest.fixture
def dead_url():
    """A loopback address where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def hung_url():
    """A real TCP server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join(2)
    for c in conns:
        c.close()
    srv.close()

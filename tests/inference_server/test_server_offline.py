"""The server makes no outbound connection: after a round of API calls, every TCP socket the
server process holds is bound to or connected with a loopback address (checked with ``ss``)."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess

import httpx
import pytest

from server_helpers import MODEL

pytestmark = pytest.mark.live


def _sockets_of(pid: int) -> list[tuple[str, str]]:
    out = subprocess.run(["ss", "-Htanp"], capture_output=True, text=True, timeout=30).stdout
    pairs = []
    for line in out.splitlines():
        if f"pid={pid}," not in line:
            continue
        fields = line.split()
        pairs.append((fields[3], fields[4]))  # local, peer
    return pairs


def _host(address: str) -> str:
    host = address.rsplit(":", 1)[0]
    return host.strip("[]").split("%")[0]


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to list the server's sockets")
def test_server_only_talks_over_loopback(live_server, warm):
    base = live_server.base_url
    with httpx.Client(base_url=base, timeout=120) as c:
        c.get("/api/tags").raise_for_status()
        c.post("/api/show", json={"model": MODEL}).raise_for_status()
        c.post("/api/generate", json={"model": MODEL, "prompt": "Hello", "stream": False,
                                      "options": {"num_predict": 4}}).raise_for_status()
        c.post("/api/chat", json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}],
                                  "stream": False, "options": {"num_predict": 4}}).raise_for_status()
        c.get("/api/ps").raise_for_status()
        sockets = _sockets_of(live_server.process.pid)
    assert sockets, "ss listed no sockets for the server process"
    assert any(local.endswith(f":{live_server.port}") for local, _ in sockets)
    for local, peer in sockets:
        for address in (local, peer):
            host = _host(address)
            if host in ("*", "0.0.0.0", "::"):
                continue
            assert ipaddress.ip_address(host).is_loopback, (local, peer)

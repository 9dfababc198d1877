"""Where the model server is, and what that means for privacy (pure).

The default is the bundled server on loopback: nothing leaves the machine. A ``[server] url``
naming any other host is opt-in, and every place that talks about privacy (``hushtype doctor``,
the settings page's Privacy tab, ``hushtype up``'s log) says so with :func:`leaves_machine`.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

API_KINDS = ("ollama", "openai")


def is_loopback_host(host: str | None) -> bool:
    host = (host or "").strip("[]").lower().rstrip(".")
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def remote_host(url: str) -> str | None:
    """``host[:port]`` of ``url`` when it is not this machine (loopback), else None."""
    parts = urlsplit(url)
    if is_loopback_host(parts.hostname):
        return None
    host = parts.hostname or url
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def leaves_machine(url: str) -> str | None:
    """The plain statement for a remote server, or None for loopback."""
    host = remote_host(url)
    return None if host is None else f"text leaves this machine, to {host}"


def server_api(settings: dict | None) -> str:
    """``[server] api``: "ollama" (default) or "openai"; anything else is a ValueError."""
    api = str(((settings or {}).get("server") or {}).get("api") or "ollama").strip().lower()
    if api not in API_KINDS:
        raise ValueError(f"[server] api = {api!r}: use \"ollama\" or \"openai\"")
    return api

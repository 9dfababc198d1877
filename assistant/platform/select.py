"""Which platform backend this session gets, and the one factory that opens it.

:func:`choose_backend` is pure (the environment and the probes are passed in); :func:`open_platform`
does the OS work: it probes, chooses and builds the :class:`~assistant.platform.base.Platform`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Callable, Mapping

from assistant.platform.base import BACKENDS, Platform

log = logging.getLogger("hushtype.platform")


class PlatformError(RuntimeError):
    """The requested backend cannot run in this session (the message says why)."""


def session_kind(env: Mapping[str, str]) -> str:
    """"x11" | "wayland" | "none" from the session's environment (XWayland counts as wayland)."""
    session = (env.get("XDG_SESSION_TYPE") or "").lower()
    if env.get("WAYLAND_DISPLAY") or session == "wayland":
        return "wayland"
    if env.get("DISPLAY"):
        return "x11"
    return "none"


def choose_backend(requested: str | None, env: Mapping[str, str],
                   probes: Mapping[str, Callable[[], bool]]) -> tuple[str, str]:
    """(backend name, reason). ``requested``: "auto" (or None) or a backend name; ``probes``:
    ``{"ibus": callable}`` telling whether an IBus daemon is reachable (called only when needed).
    Raises ValueError for an unknown name."""
    requested = (requested or "auto").strip().lower()
    if requested not in BACKENDS:
        raise ValueError(f"unknown platform backend {requested!r}: choose one of {', '.join(BACKENDS)}")
    if requested != "auto":
        return requested, f"asked for ({requested})"
    kind = session_kind(env)
    if kind == "x11":
        return "x11", f"X11 session (DISPLAY={env.get('DISPLAY')})"
    if kind == "wayland":
        ibus = probes.get("ibus")
        if ibus is not None and ibus():
            return "ibus", ("Wayland session with an IBus daemon: typed commands and push-to-talk "
                            "go through the hushtype input method")
        xwayland = " (XWayland apps only: --platform x11)" if env.get("DISPLAY") else ""
        return "wayland", ("Wayland session without an IBus daemon: voice only (bind `hushtype voice "
                           "toggle` to a desktop shortcut); typed commands need IBus (start "
                           "ibus-daemon, see the README)" + xwayland)
    return "none", ("no display (DISPLAY is not set): typed commands and voice need a desktop "
                    "session (X11 or Wayland); the model server keeps running for `hushtype do`, "
                    "the settings page and other apps")


def ibus_daemon_reachable(env: Mapping[str, str] | None = None, timeout: float = 3.0) -> bool:
    """Whether this session's IBus daemon answers: ``ibus address`` (which reads the address
    file of this display) names a D-Bus socket, and it accepts a connection."""
    import socket

    env = dict(os.environ if env is None else env)
    ibus = shutil.which("ibus")
    if not ibus:
        return False
    try:
        out = subprocess.run([ibus, "address"], capture_output=True, text=True, timeout=timeout,
                             env=env).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return False
    if not out.startswith("unix:"):
        return False
    fields = dict(part.partition("=")[::2] for part in out[len("unix:"):].split(","))
    if "path" in fields:
        target = fields["path"]
    elif "abstract" in fields:
        target = "\0" + fields["abstract"]
    else:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(target)
        return True
    except OSError:
        return False


def default_probes(env: Mapping[str, str]) -> dict[str, Callable[[], bool]]:
    return {"ibus": lambda: ibus_daemon_reachable(env)}


def requested_backend(settings: dict, requested: str | None = None) -> str:
    return requested or str(settings.get("platform", {}).get("backend", "auto") or "auto")


def open_platform(settings: dict, requested: str | None = None, *, env: Mapping[str, str] | None = None,
                  probes: Mapping[str, Callable[[], bool]] | None = None) -> Platform:
    """The one factory: choose the backend (``requested`` beats ``[platform] backend``) and
    open it. Raises :class:`PlatformError` when the chosen backend cannot run here."""
    env = os.environ if env is None else env
    asked = requested_backend(settings, requested)
    try:
        name, reason = choose_backend(asked, env, default_probes(env) if probes is None else probes)
    except ValueError as exc:
        raise PlatformError(str(exc)) from exc
    if name == "ibus":
        try:
            return _open_ibus(settings, reason)
        except PlatformError as exc:
            if asked != "auto":
                raise
            log.warning("%s; using the voice-only Wayland backend", exc)
            name, reason = "wayland", f"{exc}; voice only"
    if name == "x11":
        if not env.get("DISPLAY"):
            raise PlatformError("the X11 backend needs an X display (DISPLAY is not set)")
        from assistant.platform.x11 import open_x11

        try:
            return open_x11(settings, reason)
        except Exception as exc:
            raise PlatformError(f"cannot open the X display {env.get('DISPLAY')}: {exc}") from exc
    if name == "wayland":
        if not env.get("WAYLAND_DISPLAY") and asked == "wayland":
            raise PlatformError("the Wayland backend needs a Wayland session (WAYLAND_DISPLAY is not set)")
        from assistant.platform.wayland import open_wayland

        return open_wayland(settings, reason, env=env)
    from assistant.platform.notify import desktop_notify

    from assistant.platform.visibility import BACKEND_SEES

    return Platform(name="none", reason=reason, notify=desktop_notify, sees=BACKEND_SEES["none"])


def _open_ibus(settings: dict, reason: str) -> Platform:
    try:
        from assistant.platform.ibus import open_ibus
    except ImportError as exc:
        raise PlatformError(f"IBus backend not available ({exc})") from exc
    return open_ibus(settings, reason)

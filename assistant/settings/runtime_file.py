"""The runtime file that tells `hushtype settings` where the running page is.

``<data dir>/settings-page.json`` (mode 0600, removed when the page stops) holds the page's
private URL with the per-run token, the port and the serving process id. Only the owner can
read it, so only the owner can open the page.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant import paths

FILE_NAME = "settings-page.json"


@dataclass(frozen=True)
class RuntimeInfo:
    url: str  # includes ?token=...
    port: int
    pid: int
    started_at: float


def runtime_path() -> Path:
    return paths.data_dir() / FILE_NAME


def write(info: RuntimeInfo, path: Path | None = None) -> Path:
    path = path or runtime_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(asdict(info)).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def read(path: Path | None = None) -> RuntimeInfo | None:
    path = path or runtime_path()
    try:
        data = json.loads(path.read_text())
        return RuntimeInfo(url=str(data["url"]), port=int(data["port"]), pid=int(data["pid"]),
                           started_at=float(data.get("started_at", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove(path: Path | None = None, *, only_pid: int | None = None) -> None:
    """Remove the file; with ``only_pid``, only if that process wrote it."""
    path = path or runtime_path()
    if only_pid is not None:
        info = read(path)
        if info is not None and info.pid != only_pid:
            return
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_running(path: Path | None = None, timeout: float = 2.0) -> RuntimeInfo | None:
    """The running page, or None (a stale file left by a crash is removed)."""
    info = read(path)
    if info is None:
        return None
    if _pid_alive(info.pid) and _port_answers(info.port, timeout):
        return info
    remove(path)
    return None


def _port_answers(port: int, timeout: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=timeout)
            return response.status_code == 200 and response.json().get("app") == "hushtype-settings"
        except (httpx.HTTPError, ValueError):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)


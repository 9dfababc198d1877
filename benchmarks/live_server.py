"""The bundled model server for the benchmarks: started on a free loopback port with its own
data directory, polled until it answers, stopped with its whole process group.

    with bundled_server() as server:          # a fresh server (temporary home, removed after)
        server.url, server.host, server.proc
    with model_server() as server:            # OLLAMA_HOST's server when one answers there
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    host: str                       # "127.0.0.1:PORT", the form OLLAMA_HOST takes
    proc: subprocess.Popen | None   # None for a server this module did not start
    home: Path | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group of ``proc`` (started with start_new_session), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def wait_ready(url: str, proc: subprocess.Popen, log: Path | None = None, path: str = "/",
               timeout: float = 300) -> None:
    """Poll ``url + path`` until it answers 200; raise (with the log's tail) if ``proc`` exits."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{Path(str(proc.args[0])).name} exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(url + path, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not come up within {timeout:.0f}s")
        time.sleep(0.2)


def start(home: Path, extra_env: dict[str, str] | None = None, log_name: str = "server.log") -> Server:
    """``python -m inference serve`` with ``HUSHTYPE_HOME=home`` on a free port, ready."""
    host = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, HUSHTYPE_HOME=str(home), OLLAMA_HOST=host)
    env.pop("OLLAMA_MODELS", None)
    env.update(extra_env or {})
    home.mkdir(parents=True, exist_ok=True)
    log = home / log_name
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "inference", "serve"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(host=host, proc=proc, home=home, log=log)
    try:
        wait_ready(server.url, proc, log)
    except BaseException:
        stop_process(proc)
        raise
    return server


@contextmanager
def bundled_server(home: Path | None = None, extra_env: dict[str, str] | None = None):
    """A fresh bundled server for the block; a temporary ``home`` is removed afterwards."""
    own = home is None
    home = Path(tempfile.mkdtemp(prefix="bench-server-")) if own else home
    server = start(home, extra_env)
    try:
        yield server
    finally:
        stop_process(server.proc)
        if own:
            shutil.rmtree(home, ignore_errors=True)


@contextmanager
def model_server():
    """The server at ``OLLAMA_HOST`` if one answers there, else a fresh bundled one."""
    import httpx

    from assistant.ollama_client import normalize_host

    host = os.environ.get("OLLAMA_HOST")
    if host:
        try:
            httpx.get(normalize_host(host) + "/", timeout=2, trust_env=False)
            yield Server(host=normalize_host(host).split("://", 1)[-1], proc=None)
            return
        except httpx.HTTPError:
            pass
    with bundled_server() as server:
        yield server

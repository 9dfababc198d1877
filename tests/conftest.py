"""Fixtures shared by every test area.

* Every test runs with ``HUSHTYPE_HOME`` pointing at its own temporary directory, so no test
  ever touches the user's real data directory or model store.
* ``dead_url`` (nothing listens there) and ``hung_url`` (accepts, never answers) are real
  loopback addresses for the error paths of anything that talks to a server.
* ``live_server`` starts the real bundled inference server (``python -m inference serve``) once
  per test session on a free loopback port, with a temporary store holding the embedded
  default model, and stops it at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "gemma3:270m"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@pytest.fixture(autouse=True)
def hushtype_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("hushtype-home")
    monkeypatch.setenv("HUSHTYPE_HOME", str(home))
    monkeypatch.delenv("OLLAMA_MODELS", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_NUM_PARALLEL", raising=False)  # the engine's slots: tests choose
    return home


@dataclass
class LiveServer:
    base_url: str
    host: str  # "127.0.0.1:PORT", the form OLLAMA_HOST takes
    port: int
    home: Path
    models_dir: Path
    log_path: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(home: Path, extra_env: dict[str, str] | None = None, args: list[str] | None = None) -> LiveServer:
    port = free_port()
    host = f"127.0.0.1:{port}"
    env = dict(os.environ)
    env.update({"HUSHTYPE_HOME": str(home), "OLLAMA_HOST": host})
    env.pop("OLLAMA_MODELS", None)
    env.pop("OLLAMA_NUM_PARALLEL", None)
    env.update(extra_env or {})
    log_path = home / "server.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "inference", "serve", *(args or [])],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = LiveServer(
        base_url=f"http://{host}", host=host, port=port, home=home,
        models_dir=Path(env.get("OLLAMA_MODELS", home / "models")), log_path=log_path, process=proc,
    )
    try:
        wait_http(server.base_url + "/", proc=proc)
    except Exception:
        stop_server(server)
        raise RuntimeError("server failed to start:\n" + server.log_text()[-4000:])
    return server


def stop_server(server: LiveServer) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> LiveServer:
    """The real server with the embedded model, shared by the whole session."""
    server = start_server(tmp_path_factory.mktemp("live-server-home"))
    yield server
    stop_server(server)


@pytest.fixture
def server_factory(tmp_path_factory):
    """Start extra servers with their own environment (e.g. a small OLLAMA_MAX_QUEUE)."""
    started: list[LiveServer] = []

    def make(extra_env: dict[str, str] | None = None, args: list[str] | None = None, home: Path | None = None) -> LiveServer:
        server = start_server(home or tmp_path_factory.mktemp("server-home"), extra_env, args)
        started.append(server)
        return server

    yield make
    for server in started:
        stop_server(server)


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

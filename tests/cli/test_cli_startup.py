"""Start-up of CLI commands: which heavy modules are loaded before a command does its work
(module presence, not timing; the time itself is measured by ``python -m benchmarks startup``).

Each check runs in a fresh interpreter, the way a user starts ``hushtype``, with its own data
directory and a loopback listener standing in for the server: the probe records
``sys.modules`` at the moment the first request is sent."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# what no light command may load up front (each costs 0.05-1 s of CPU)
HEAVY = ("numpy", "faster_whisper", "ctranslate2", "av", "onnxruntime", "sqlalchemy", "alembic",
         "fastapi", "starlette", "uvicorn", "pydantic", "llama_cpp", "jinja2", "pynput", "Xlib",
         "PIL", "pystray", "sounddevice", "rich", "pygments")

PROBE = r"""
import json, socket, sys
out = sys.argv[1]
argv = sys.argv[2:]
_connect = socket.socket.connect
def snapshot():
    with open(out, "w") as f:
        json.dump(sorted(sys.modules), f)
def connect(self, address):
    if not getattr(connect, "done", False):
        connect.done = True
        snapshot()
    return _connect(self, address)
socket.socket.connect = connect
sys.argv = ["hushtype", *argv]
from assistant.cli import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
if not getattr(connect, "done", False):
    snapshot()
sys.exit(code)
"""


class Listener:
    """Loopback stand-in for the server: answers every request with a 404 error body."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    if conn.recv(65536):
                        self.requests += 1
                    body = b'{"error":"model not found"}'
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                except OSError:
                    pass

    def close(self):
        self.sock.close()


@pytest.fixture
def listener():
    srv = Listener()
    yield srv
    srv.close()


def modules_at_first_request(args: list[str], listener: Listener, tmp_path: Path) -> set[str]:
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "PYTHON"))}
    env.update(HUSHTYPE_HOME=str(tmp_path / "home"), OLLAMA_HOST=f"127.0.0.1:{listener.port}")
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert out.exists(), proc.stderr
    return {name.split(".")[0] for name in json.loads(out.read_text())}, proc


@pytest.mark.parametrize("args", [["--help"], ["do", "--help"], ["list", "--help"], ["transcribe", "--help"]])
def test_help_loads_no_heavy_module(args, listener, tmp_path):
    loaded, proc = modules_at_first_request(args, listener, tmp_path)
    assert proc.returncode == 0 and "Usage" in proc.stdout, proc.stderr
    assert sorted(loaded & (set(HEAVY) - {"rich", "pygments"})) == []  # typer renders help with rich


@pytest.mark.parametrize("args", [["do", "gen: hello"], ["list"], ["ps"], ["run", "gemma3:270m", "hi"]])
def test_a_command_sends_its_first_request_before_loading_heavy_modules(args, listener, tmp_path):
    loaded, proc = modules_at_first_request(args, listener, tmp_path)
    assert listener.requests >= 1, proc.stderr  # the snapshot is the moment of that request
    assert sorted(loaded & set(HEAVY)) == []
    assert "httpx" in loaded  # the request itself went out through the real client


def test_do_still_records_the_failed_attempt_in_history_after_the_request(listener, tmp_path):
    """The history database opens after the request, not never: the 404 answer is stored."""
    _loaded, proc = modules_at_first_request(["do", "gen: hello"], listener, tmp_path)
    assert proc.returncode == 1 and "not found" in proc.stderr, proc.stderr
    assert (tmp_path / "home" / "history.sqlite3").is_file()
    sys.path.insert(0, str(REPO))
    from assistant.history.store import HistoryStore

    rows = HistoryStore(tmp_path / "home" / "history.sqlite3").list()
    assert len(rows) == 1 and rows[0]["status"] == "failed" and "not found" in rows[0]["error"]


def test_a_broken_area_still_fails_loudly(tmp_path):
    """Registration stays explicit: an area whose CLI module cannot be imported is an error."""
    code = ("import sys, builtins\n"
            "real = builtins.__import__\n"
            "def imp(name, *a, **k):\n"
            "    if name == 'assistant.voice' and a and a[2] and 'cli' in a[2]:\n"
            "        raise ImportError('voice area broken')\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\n"
            "import assistant.cli\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "HUSHTYPE_HOME": str(tmp_path)})
    assert proc.returncode != 0 and "voice area broken" in proc.stderr

"""The server's CLI: ``serve`` on port 0, and ``run``/``list``/``ps``/``show``/``cp``/``rm`` talking
to the live server over HTTP (``python -m inference`` has the same commands as ``hushtype``)."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server_helpers import MODEL

pytestmark = pytest.mark.live
REPO = Path(__file__).resolve().parents[2]


def cli(live_server, *args, input: str | None = None, timeout: float = 120):
    env = dict(os.environ, OLLAMA_HOST=live_server.host)
    return subprocess.run([sys.executable, "-m", "inference", *args], cwd=REPO, env=env, input=input,
                          capture_output=True, text=True, timeout=timeout)


def test_list_ps_show(live_server, warm):
    out = cli(live_server, "list")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    assert any(line.startswith(MODEL) and "MB" in line for line in out.stdout.splitlines())
    ps = cli(live_server, "ps")
    assert ps.returncode == 0 and MODEL in ps.stdout and "100% CPU" in ps.stdout
    show = cli(live_server, "show", MODEL)
    assert show.returncode == 0 and "gemma3" in show.stdout and "context length" in show.stdout
    template = cli(live_server, "show", MODEL, "--template")
    info = httpx.post(live_server.base_url + "/api/show", json={"model": MODEL}).json()
    assert template.stdout.rstrip("\n") == info["template"].rstrip("\n")
    params = cli(live_server, "show", MODEL, "--parameters")
    assert "stop" in params.stdout


def test_cp_and_rm(live_server, warm):
    assert cli(live_server, "cp", MODEL, "cli-copy:1").returncode == 0
    assert "cli-copy:1" in cli(live_server, "list").stdout
    rm = cli(live_server, "rm", "cli-copy:1")
    assert rm.returncode == 0 and "deleted 'cli-copy:1'" in rm.stdout
    again = cli(live_server, "rm", "cli-copy:1")
    assert again.returncode == 1 and "not found" in again.stderr


def test_run_with_prompt_streams_the_same_text_as_the_api(live_server, warm):
    prompt = "The three primary colors are"
    api = httpx.post(live_server.base_url + "/api/generate", timeout=60, json={
        "model": MODEL, "prompt": prompt, "stream": False, "options": {"temperature": 0, "num_predict": 10}}).json()
    out = cli(live_server, "run", MODEL, prompt, "-o", "temperature=0", "-o", "num_predict=10")
    assert out.returncode == 0, out.stderr
    assert out.stdout == api["response"] + "\n"


def test_run_reads_piped_stdin(live_server, warm):
    out = cli(live_server, "run", MODEL, "-o", "num_predict=6", "-o", "temperature=0", "--verbose",
              input="Text: i has a apple\nCorrected:")
    assert out.returncode == 0 and out.stdout.strip()
    assert "eval rate" in out.stderr


def test_run_unknown_model_fails_clearly(live_server, warm):
    out = cli(live_server, "run", "not-a-model", "hi")
    assert out.returncode == 1 and "model 'not-a-model' not found" in out.stderr
    assert "hushtype pull not-a-model" in out.stderr


def test_client_commands_say_how_to_start_a_missing_server(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OLLAMA_HOST=f"127.0.0.1:{port}")
    out = subprocess.run([sys.executable, "-m", "inference", "list"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "start it with: hushtype serve" in out.stderr


def test_run_interactive_chat_in_a_terminal(live_server, warm):
    master, slave = pty.openpty()
    env = dict(os.environ, OLLAMA_HOST=live_server.host)
    proc = subprocess.Popen([sys.executable, "-m", "inference", "run", MODEL, "-o", "num_predict=8",
                             "-o", "temperature=0"], cwd=REPO, env=env, stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    buf = b""

    def read_until(marker: bytes, timeout: float = 60) -> bytes:
        nonlocal buf
        deadline = time.monotonic() + timeout
        while marker not in buf and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    buf += os.read(master, 4096)
                except OSError:
                    break
        found, marker_at = marker in buf, buf.find(marker)
        seen, buf = (buf[: marker_at + len(marker)], buf[marker_at + len(marker):]) if found else (buf, b"")
        assert found, seen
        return seen

    try:
        read_until(b">>> Send a message")
        read_until(b">>> ")
        os.write(master, b"Hello, who are you?\n")
        answer = read_until(b">>> ")
        text = answer.decode(errors="replace").replace("\r", "")
        assert "Hello, who are you?" in text  # echoed input
        reply = text.split("Hello, who are you?", 1)[1].replace(">>> ", "").strip()
        assert reply, text
        os.write(master, b"/bye\n")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def test_serve_on_port_zero_prints_the_port(live_server, tmp_path):
    env = dict(os.environ, HUSHTYPE_HOME=str(tmp_path))
    env.pop("OLLAMA_HOST", None)
    proc = subprocess.Popen([sys.executable, "-m", "inference", "serve", "--host", "127.0.0.1:0",
                             "--models", str(live_server.models_dir)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        port = None
        deadline = time.monotonic() + 120
        lines = []
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+) \(model store: (.*)\)", line)
            if m:
                port = int(m.group(1))
                assert m.group(2) == str(live_server.models_dir)
        assert port and port != 0, "".join(lines)
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.text == "Ollama is running"
        tags = httpx.get(f"http://127.0.0.1:{port}/api/tags").json()
        assert MODEL in [m["name"] for m in tags["models"]]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

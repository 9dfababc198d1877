"""Ctrl+C stops every long-running foreground command the same way, whatever SIGINT
disposition it inherited: each child here starts with SIGINT *ignored* (as from a background
job, `nohup` or some CI runners; see tests/child_signals.py), in its own process group, and
must still stop cleanly on SIGINT with exit status 130, keeping what must be kept.
(`settings`, `do` and a pull through the server are covered in their own areas' tests.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from child_signals import SIGINT_IGNORED
from faults_helpers import REPO, start_up

JFK = Path("/work/shared/data/jfk.flac")


def _free_host() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _interrupt(proc: subprocess.Popen, timeout: float = 30) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("the command kept running after Ctrl+C")


def _env(home: Path, host: str) -> dict:
    env = dict(os.environ, HUSHTYPE_HOME=str(home), OLLAMA_HOST=host, COLUMNS="100")
    env.pop("OLLAMA_MODELS", None)
    return env


def _processes_with_env(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle.encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_serve_stops_on_ctrl_c(tmp_path):
    host = _free_host()
    proc = subprocess.Popen([sys.executable, "-m", "inference", "serve"], cwd=REPO, env=_env(tmp_path, host),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **SIGINT_IGNORED)

    def answers():
        try:
            return httpx.get(f"http://{host}/", timeout=2).status_code == 200
        except httpx.HTTPError:
            assert proc.poll() is None, proc.stderr.read()
            return False

    _wait(answers, 120, "the server")
    assert _interrupt(proc) == 130
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{host}/", timeout=2)


def test_run_stops_streaming_on_ctrl_c(live_server, tmp_path):
    cmd = [sys.executable, "-m", "inference", "run", "gemma3:270m", "Tell a very long story about a lighthouse.",
           "-o", "num_predict=3000", "-o", "temperature=0", "-o", "seed=7", "-o", "stop=@@@@"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(tmp_path, live_server.host), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **SIGINT_IGNORED)
    try:
        assert proc.stdout.read(1), "something streamed before the interrupt"
        assert _interrupt(proc) == 130
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_up_stops_on_ctrl_c(live_server, tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    up = start_up(home, live_server.host, tmp_path, **SIGINT_IGNORED, start_new_session=False)
    try:
        up.wait_log("hushtype is up")
        assert _interrupt(up.proc) == 130
        assert "stopping" in up.log()
    finally:
        up.stop()


def test_up_interrupted_while_its_bundled_server_starts_leaves_no_server_behind(live_server, tmp_path):
    host = _free_host()
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    up = start_up(home, host, tmp_path, env_extra={"OLLAMA_MODELS": str(live_server.models_dir)},
                  **SIGINT_IGNORED, start_new_session=False)
    try:
        up.wait_log("starting the bundled server")
        assert _interrupt(up.proc) == 130
    finally:
        up.stop()
    _wait(lambda: not _processes_with_env(f"OLLAMA_HOST={host}"), 30, "the bundled server to stop")


def test_transcribe_stops_on_ctrl_c(tmp_path):
    if not JFK.exists():
        pytest.skip(f"{JFK} (the shared speech sample) is not on this machine")
    import numpy as np
    import soundfile

    audio, rate = soundfile.read(JFK, dtype="float32")
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    long_file = tmp_path / "long.flac"
    soundfile.write(long_file, np.tile(mono, 40), rate)  # ~7 minutes of speech: still running at the signal
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "transcribe", str(long_file)], cwd=REPO,
                            env=_env(tmp_path, "127.0.0.1:9"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **SIGINT_IGNORED)
    time.sleep(6)
    assert proc.poll() is None, "the transcription ended before the interrupt: make the audio longer"
    assert _interrupt(proc) == 130
    assert "Traceback" not in proc.stderr.read()


def test_local_pull_keeps_its_partial_on_ctrl_c_and_resumes(tmp_path, registry, big_gguf_bytes):
    manifest = registry.add_model("library/big", "latest", big_gguf_bytes)
    digest, size = manifest["layers"][0]["digest"], len(big_gguf_bytes)
    registry.bytes_per_second = 4 << 20
    home = tmp_path / "home"
    cmd = [sys.executable, "-m", "inference", "pull", f"{registry.host}/library/big", "--insecure"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(home, "127.0.0.1:9"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **SIGINT_IGNORED)  # no server: pulls itself
    try:
        _wait(lambda: registry.served.get(digest, 0) > size // 3, 60, "a third of the blob")
        assert _interrupt(proc) == 130
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "run the same command again to resume" in err and "Traceback" not in err
    state = home / "models" / "blobs" / f"sha256-{digest[7:]}-partial.json"
    saved = sum(p["completed"] for p in json.loads(state.read_text())["parts"])
    assert 0 < saved < size
    registry.bytes_per_second = None
    registry.reset_counters()
    again = subprocess.run(cmd, cwd=REPO, env=_env(home, "127.0.0.1:9"), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert registry.served.get(digest, 0) == size - saved

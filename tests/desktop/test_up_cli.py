"""`hushtype up` and `hushtype doctor` as a user runs them: a stopped server, no display, the
bundled server started when none answers, doctor's checks with their fixes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from rigs.assistant import start_assistant
from rigs.procs import REPO, kill


def free_host() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.x11
def test_server_down_leaves_the_text_untouched(xserver, text_app, tmp_path):
    dead = free_host()
    up = start_assistant(xserver, tmp_path / "home-down", dead,
                         "[server]\nstart_bundled = false\n")
    try:
        text_app.focus()
        typed = "Hello fix: teh cat sat on teh mat;;"
        xserver.type(typed)
        up.wait_log("fix: failed", 30)
        time.sleep(0.5)
        assert text_app.text() == typed
        rows = up.history()
        assert rows[-1]["status"] == "failed" and rows[-1]["error"]
        assert "not running" in rows[-1]["error"] or "127.0.0.1" in rows[-1]["error"]
        # never the keys: the typed words are nowhere in the log
        assert "teh cat" not in up.log()
    finally:
        kill(up.process)


def test_up_without_display_explains_and_keeps_the_bundled_server(live_server, tmp_path):
    """No DISPLAY: `up` starts the bundled server (nothing answers at the address), preloads
    the model, explains why typed commands are off, and stops the server on SIGTERM."""
    host = free_host()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["OLLAMA_MODELS"] = str(live_server.models_dir)    # the embedded model is already there
    home = tmp_path / "home"
    proc = None
    try:
        up = start_assistant(None, home, host, "", env_extra=env, wait_for="hushtype is up")
        proc = up.process
        log = up.wait_log("loaded in", 120)
        assert "starting the bundled server" in log
        assert "no display (DISPLAY is not set)" in log and "keeps running" in log
        assert "listening for" not in log
        version = httpx.get(f"http://{host}/api/version", timeout=5, trust_env=False)
        assert version.status_code == 200
        # a second `up` on the same data directory refuses to run beside it
        second = subprocess.run([sys.executable, "-m", "assistant.cli", "up"], cwd=REPO,
                                env=dict(env, HUSHTYPE_HOME=str(home), OLLAMA_HOST=host),
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"hushtype is already running (pid {proc.pid})" in second.stderr
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{host}/api/version", timeout=2, trust_env=False)
    finally:
        if proc is not None:
            kill(proc)


def _doctor(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.x11
def test_doctor_reports_each_part_with_fixes(xserver, live_server, hushtype_home):
    env = xserver.env(HUSHTYPE_HOME=str(hushtype_home), OLLAMA_HOST=live_server.host)
    good = _doctor(env)
    assert good.returncode == 0, good.stdout + good.stderr
    for line in ("[  ok] display server: X11 display", "[  ok] keyboard hook: X RECORD extension present",
                 "[  ok] key injection: X XTEST", "[  ok] xdotool:", "[  ok] xclip:",
                 f"[  ok] model server: {live_server.base_url}", "[  ok] models: gemma3:270m installed"):
        assert line in good.stdout, good.stdout
    assert "microphone:" in good.stdout

    bad_env = {k: v for k, v in env.items() if k != "DISPLAY"}
    bad_env["OLLAMA_HOST"] = free_host()
    (hushtype_home / "config.toml").write_text('[server]\nstart_bundled = false\nmodel = "nosuch:1b"\n')
    bad = _doctor(bad_env)
    assert bad.returncode == 1
    assert "[FAIL] display server: no display" in bad.stdout
    assert "fix: start hushtype inside your X11 desktop session" in bad.stdout
    assert "[FAIL] model server: nothing answers" in bad.stdout and "fix: `hushtype up` starts" in bad.stdout
    assert "[FAIL] models: nosuch:1b is not in" in bad.stdout and "fix: hushtype pull nosuch:1b" in bad.stdout


def test_display_detection_explains_wayland():
    from assistant.service.up import display_status

    assert display_status({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"})[0] == "x11"
    kind, text = display_status({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"})
    assert kind == "xwayland" and "X11 (XWayland) apps" in text
    kind, text = display_status({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"})
    assert kind == "wayland" and "Wayland keeps each app's keys private" in text
    assert display_status({})[0] == "none"


@pytest.mark.x11
def test_missing_model_leaves_the_text_and_records_why(xserver, text_app, live_server, tmp_path):
    up = start_assistant(xserver, tmp_path / "home-missing", live_server.host,
                         '[server]\nmodel = "nosuch:1b"\n')
    try:
        text_app.focus()
        typed = "fix: teh cat sat on teh mat;;"
        xserver.type(typed)
        up.wait_log("fix: failed", 30)
        time.sleep(0.5)
        assert text_app.text() == typed
        row = up.history()[-1]
        assert row["status"] == "failed" and "nosuch:1b" in row["error"] and "pull" in row["error"]
    finally:
        kill(up.process)

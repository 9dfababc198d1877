"""`hushtype settings`: finds the running page through the runtime file, or serves the page
itself until Ctrl+C; opens the default browser ($BROWSER) or prints the private link."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
from child_signals import SIGINT_IGNORED
from settings_helpers import REPO_ROOT, hushtype_cli

from assistant.settings import runtime_file


def _start_cli(args, env_extra=None) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(env_extra or {})
    script = Path(sys.executable).with_name("hushtype")
    # started with SIGINT ignored, as from a background job: Ctrl+C must still stop it
    return subprocess.Popen([str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO_ROOT, **SIGINT_IGNORED)


def _open_with_token(url: str) -> httpx.Response:
    with httpx.Client(trust_env=False, follow_redirects=True, timeout=10) as client:
        return client.get(url)


def test_settings_serves_the_page_itself_when_nothing_runs_and_cleans_up_on_ctrl_c(hushtype_home):
    proc = _start_cli(["settings", "--no-browser"])
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "?token=" in url, url
        path = runtime_file.runtime_path()
        assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert runtime_file.read().url == url
        page = _open_with_token(url)
        assert page.status_code == 200 and "<h1>History</h1>" in page.text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130  # 128 + SIGINT, as a shell reports Ctrl+C
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not runtime_file.runtime_path().exists()
    base = url.split("/?")[0]
    try:
        httpx.get(base + "/healthz", timeout=2, trust_env=False)
        raise AssertionError("the page still answers after Ctrl+C")
    except httpx.TransportError:
        pass


def test_settings_stops_cleanly_on_sigterm(hushtype_home):
    proc = _start_cli(["settings", "--no-browser"])
    try:
        assert proc.stdout.readline().startswith("http://127.0.0.1:")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not runtime_file.runtime_path().exists()


def test_settings_prints_the_running_pages_link(settings_server):
    started = time.monotonic()
    result = hushtype_cli(["settings", "--no-browser"], timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == settings_server.url
    assert time.monotonic() - started < 30


def test_settings_opens_the_default_browser(settings_server, tmp_path):
    seen = tmp_path / "opened.txt"
    browser = tmp_path / "fake-browser"
    # $BROWSER is how Python's webbrowser (and xdg-open users) pick the browser; this one records
    # the URL it is given instead of showing it, since the test machine has no desktop.
    browser.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > {seen}\n")
    browser.chmod(0o755)
    result = hushtype_cli(["settings"], env_extra={"BROWSER": f"{browser} %s", "DISPLAY": ""}, timeout=60)
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 10
    while not seen.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen.read_text() == settings_server.url
    assert _open_with_token(seen.read_text()).status_code == 200


def test_a_configured_port_in_use_falls_back_to_a_free_one(hushtype_home):
    import socket

    from assistant.config import save_user_settings

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        save_user_settings({"settings_page": {"port": port}})
        proc = _start_cli(["settings", "--no-browser"])
        try:
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and f":{port}/" not in url, url
            assert _open_with_token(url).status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 130


def test_a_configured_port_is_used(hushtype_home):
    from assistant.config import save_user_settings
    from settings_helpers import free_port

    port = free_port()
    save_user_settings({"settings_page": {"port": port}})
    proc = _start_cli(["settings", "--no-browser"])
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith(f"http://127.0.0.1:{port}/?token="), url
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130

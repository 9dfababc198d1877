"""`hushtype up --platform ...` and `[platform] backend`: the backend asked for is used (or a
clear error says why it cannot run), an unknown name is refused before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rigs.assistant import start_assistant
from rigs.procs import REPO, kill


def test_unknown_platform_is_refused_with_the_choices(tmp_path):
    env = dict(os.environ, HUSHTYPE_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "up", "--platform", "beos"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "unknown platform 'beos'" in done.stderr and "auto, x11, ibus, wayland" in done.stderr
    assert not (tmp_path / "home" / "up.lock").exists()          # nothing was started


@pytest.mark.parametrize("how", ["option", "config"])
def test_x11_asked_for_without_a_display_says_why_and_the_server_stays(how, live_server, tmp_path):
    config = '[platform]\nbackend = "x11"\n' if how == "config" else ""
    args = ("--no-voice", "--no-settings") + (("--platform", "x11") if how == "option" else ())
    up = start_assistant(None, tmp_path / "home", live_server.host, config, args=args,
                         wait_for="hushtype is up")
    try:
        log = up.log()
        assert "platform: the X11 backend needs an X display (DISPLAY is not set)" in log
        assert "run `hushtype doctor`" in log
        assert up.process.poll() is None                            # `hushtype do` still works
    finally:
        kill(up.process)


@pytest.mark.x11
def test_up_names_the_x11_backend_and_why(xserver, live_server, tmp_path):
    up = start_assistant(xserver, tmp_path / "home", live_server.host, "", wait_for="listening for")
    try:
        assert f"platform: x11 (X11 session (DISPLAY={xserver.display}))" in up.log()
    finally:
        kill(up.process)

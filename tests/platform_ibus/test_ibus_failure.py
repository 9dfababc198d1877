"""A failed command through the IBus engine leaves the typed text exactly as it was, with a
history entry and the reason in the log: `hushtype up` with no model server to reach."""

from __future__ import annotations

import socket
import time

import pytest

from rigs.assistant import start_assistant
from rigs.procs import wait_until


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def down_assistant(desktop, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"up-down-{desktop.kind}")
    up = start_assistant(desktop.rig, home, f"127.0.0.1:{_dead_port()}",
                         "[server]\nstart_bundled = false\n",
                         args=("--no-voice", "--no-settings", "--platform", "ibus"))
    yield up
    up.stop()


def test_server_down_leaves_the_text_and_says_why(down_assistant, gtk_factory, desktop):
    window = gtk_factory()
    typed = "Dear Ana, fix: teh cat sat on teh mat;;"
    desktop.type(typed)
    rows = wait_until(lambda: [r for r in down_assistant.history() if r["status"] != "running"],
                      60, message="the failed history entry")
    assert rows[-1]["status"] == "failed" and rows[-1]["error"]
    down_assistant.wait_log("fix: failed", 20)
    time.sleep(1.0)
    assert window.text() == typed

"""The page inside the running assistant: `start(ctx)` with the real AssistantContext, changes
reaching the assistant without a restart, pause/resume/quit from the page, and `hushtype up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from settings_helpers import REPO_ROOT, hushtype_cli, screenshot, submit

from assistant import paths
from assistant.settings import runtime_file

pytestmark = pytest.mark.browser


@pytest.fixture
def assistant(hushtype_home, monkeypatch):
    """A real AssistantContext as `hushtype up` builds it (no display: no tray, no keyboard hook)."""
    from assistant.commands.pipeline import CommandPipeline
    from assistant.config import load_settings
    from assistant.history.store import HistoryStore
    from assistant.service.context import AssistantContext
    from assistant.settings import service

    monkeypatch.delenv("DISPLAY", raising=False)
    settings = load_settings()
    history = HistoryStore(retention_days=settings["history"]["retention_days"])
    ctx = AssistantContext(settings=settings, history=history, notifier=None)
    ctx.pipeline = CommandPipeline(settings, history=history)
    running = service.start(ctx)
    yield ctx, running
    running.stop()
    ctx.pipeline.client.close()
    history.close()


def test_start_serves_the_page_writes_the_runtime_file_and_stop_removes_it(assistant):
    ctx, running = assistant
    assert running.tray is None  # no display here
    assert "token" not in running.url  # the address `hushtype up` logs carries no secret
    info = runtime_file.find_running()
    assert info is not None and info.url == running.private_url
    result = hushtype_cli(["settings", "--no-browser"], timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == running.private_url
    running.stop()
    assert runtime_file.find_running() is None


def test_changes_on_the_page_reach_the_running_assistant(assistant, page):
    ctx, running = assistant
    page.goto(running.private_url)
    assert "tr" not in ctx.pipeline.specs
    page.goto(running.url + "/commands")
    page.fill("#add-name", "translate")
    page.fill("#add-prefix", "tr:")
    page.fill("#add-instruction", "Translate the text into French.")
    submit(page, "button:has-text('Add command')")
    assert page.locator(".notice").inner_text() == "Command added."
    # the assistant's own pipeline knows the new prefix at once, no restart
    assert ctx.pipeline.match("tr: good morning")[0].name == "translate"
    assert ctx.settings["commands"]["translate"]["prefix"] == "tr:"

    page.goto(running.url + "/retention")
    page.fill("#retention_days", "3")
    submit(page, "button:has-text('Save and apply')")
    assert ctx.history.retention_days == 3 and ctx.settings["history"]["retention_days"] == 3


def test_pause_resume_and_quit_from_the_page(assistant, page):
    ctx, running = assistant
    page.goto(running.private_url)
    assert page.locator("#assistant-state").inner_text() == "Listening"
    submit(page, ".assistant-state button:has-text('Pause')")
    assert ctx.paused.is_set()
    assert page.locator("#assistant-state").inner_text() == "Paused"
    assert page.url.endswith("/history?done=paused")
    screenshot(page, "history-paused")
    submit(page, ".assistant-state button:has-text('Resume')")
    assert not ctx.paused.is_set()
    page.once("dialog", lambda dialog: dialog.accept())
    submit(page, ".assistant-state button:has-text('Quit')")
    assert ctx.stop.wait(5)


@pytest.mark.live
def test_hushtype_up_runs_the_page_and_removes_its_file_when_it_stops(live_server, hushtype_home):
    env = dict(os.environ, OLLAMA_HOST=live_server.host)
    env.pop("DISPLAY", None)
    script = Path(sys.executable).with_name("hushtype")
    proc = subprocess.Popen([str(script), "up", "--no-voice", "--no-typed"], env=env, cwd=REPO_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        info = None
        while info is None:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "hushtype up did not start the settings page"
            info = runtime_file.find_running(timeout=0.5)
            time.sleep(0.2)
        printed = hushtype_cli(["settings", "--no-browser"], env_extra={"OLLAMA_HOST": live_server.host}, timeout=60)
        assert printed.stdout.strip() == info.url
        with httpx.Client(trust_env=False, follow_redirects=True, timeout=30) as client:
            page = client.get(info.url)
            assert page.status_code == 200 and "<h1>History</h1>" in page.text
            assert 'id="assistant-state">Listening' in page.text  # served by the assistant itself
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not runtime_file.runtime_path().exists()
    log = (paths.logs_dir() / "hushtype.log")
    if log.exists():
        assert info.url.split("token=")[1] not in log.read_text(), "the secret token must not be logged"

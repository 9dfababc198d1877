"""The Ollama client's addressing and its errors when the server is down or hangs."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.commands.pipeline import CommandPipeline
from assistant.history.store import HistoryStore
from assistant.ollama_client import (
    Cancelled, OllamaClient, RequestTimeout, ServerUnavailable, normalize_host, resolve_base_url,
)

from commands_helpers import run_do, settings_for


@pytest.mark.parametrize("value, url", [
    ("", "http://127.0.0.1:11434"),
    ("127.0.0.1:9999", "http://127.0.0.1:9999"),
    ("localhost", "http://localhost:11434"),
    (":7000", "http://127.0.0.1:7000"),
    ("0.0.0.0:8080", "http://127.0.0.1:8080"),
    ("http://example.lan:1234/", "http://example.lan:1234"),
    ("http://example.lan", "http://example.lan:80"),
    ("https://example.lan", "https://example.lan:443"),
    ("[::1]:5000", "http://[::1]:5000"),
    ("::", "http://[::1]:11434"),
    ("'127.0.0.1:4242'", "http://127.0.0.1:4242"),
    ("http://host:99999", "http://host:80"),
])
def test_ollama_host_forms(value, url):
    assert normalize_host(value) == url


def test_unknown_scheme_is_an_error():
    with pytest.raises(ValueError, match="http:// or https://"):
        normalize_host("ftp://x")


def test_ollama_host_overrides_the_config(monkeypatch):
    settings = {"server": {"url": "http://127.0.0.1:1111"}}
    assert resolve_base_url(settings) == "http://127.0.0.1:1111"
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:2222")
    assert resolve_base_url(settings) == "http://127.0.0.1:2222"


def test_server_down_says_what_to_run(dead_url):
    client = OllamaClient(dead_url, timeout=5)
    for call in (client.tags, lambda: client.show("gemma3:270m"),
                 lambda: client.generate("gemma3:270m", "hi"), lambda: client.preload("gemma3:270m")):
        with pytest.raises(ServerUnavailable) as info:
            call()
        assert str(info.value) == (f"hushtype's model server is not running at {dead_url} — start it "
                                   f"with `hushtype serve` (or `hushtype up`)")
    assert client.is_running() is False


def test_hung_server_times_out_and_cancel_is_prompt(hung_url):
    client = OllamaClient(hung_url, timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(RequestTimeout, match="within 0.5s"):
        client.generate("m", "hello", raw=True)
    assert time.monotonic() - t0 < 5
    slow = OllamaClient(hung_url, timeout=60)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        slow.chat("m", [{"role": "user", "content": "hi"}], cancel=cancel)
    assert time.monotonic() - t0 < 2


def test_pipeline_records_server_down_as_failed(dead_url):
    history = HistoryStore(retention_days=30)
    pipeline = CommandPipeline(settings_for(dead_url), history=history)
    result = pipeline.run("fix: teh cat sat on teh mat", source="voice")
    assert result.status == "failed" and result.output is None
    assert "model server is not running at " + dead_url in result.error
    record = history.get(result.history_id)
    assert (record["status"], record["source"], record["prefix"], record["input"]) == (
        "failed", "voice", "fix:", "teh cat sat on teh mat")
    assert record["error"] == result.error


def test_pipeline_timeout_and_cancel_are_recorded(hung_url):
    history = HistoryStore(retention_days=30)
    settings = settings_for(hung_url, timeout_seconds=1)
    settings["sum"] = {"model_summary": "always"}  # a base model is asked only when told
    pipeline = CommandPipeline(settings, history=history)
    # sum: (fix: would answer with its dictionary correction once its rewrite budget is spent)
    spec, body = pipeline.match("sum: teh cat")
    from dataclasses import replace
    spec = replace(spec, prompt_mode="completion")  # skip /api/show, go straight to generate
    res = pipeline.run_spec(spec, body)
    assert res.status == "failed" and "within 1s" in res.error
    cancel = threading.Event()
    cancel.set()
    res = pipeline.run_spec(spec, body, cancel=cancel)
    assert res.status == "cancelled" and history.get(res.history_id)["status"] == "cancelled"


def test_text_without_prefix_and_empty_body():
    pipeline = CommandPipeline(settings_for("http://127.0.0.1:9"), history=False)
    res = pipeline.run("hello there")
    assert res.status == "failed" and "fix:, gen:, sum:" in res.error
    res = pipeline.run("fix:   ")
    assert res.status == "failed" and "write some text after fix:" in res.error


def test_hushtype_do_fails_clearly_when_the_server_is_down(hushtype_home, dead_url):
    res = run_do(hushtype_home, dead_url.removeprefix("http://"), "fix: teh cat", timeout=60)
    assert res.returncode == 1
    assert f"model server is not running at {dead_url}" in res.stderr and "hushtype serve" in res.stderr
    assert HistoryStore(retention_days=30).list()[0]["status"] == "failed"


def test_hushtype_do_json_with_retention_zero_and_a_broken_config_falls_back(hushtype_home, dead_url):
    import json

    from assistant import paths

    paths.config_file().write_text("[history]\nretention_days = 0\n")
    res = run_do(hushtype_home, dead_url.removeprefix("http://"), "--json", "sum: some text", timeout=60)
    assert res.returncode == 1
    record = json.loads(res.stdout)
    assert record["id"] is None and record["status"] == "failed" and "not running" in record["error"]
    assert HistoryStore(retention_days=30).list() == []  # retention 0: nothing was written
    paths.config_file().write_text("[history]\nretention_days = = 3\n")
    res = run_do(hushtype_home, dead_url.removeprefix("http://"), "fix: x", timeout=60)
    assert str(paths.config_file()) in res.stderr and "line 2" in res.stderr
    assert "using the default settings" in res.stderr
    assert res.returncode == 1 and "not running" in res.stderr  # it still tried, on the defaults

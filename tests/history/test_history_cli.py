"""`hushtype history ...` and `hushtype privacy`, run through the real Typer app."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import typer
from typer.testing import CliRunner

from assistant import paths
from assistant.history import cli as history_cli
from assistant.history.store import HistoryStore


@pytest.fixture
def app():
    app = typer.Typer()
    history_cli.register(app)
    return app


@pytest.fixture
def filled():
    store = HistoryStore(retention_days=30)
    now = datetime.now(timezone.utc)
    a = store.add(created_at=now - timedelta(days=3), prefix="fix:", input="teh cat", output="The cat.", model="m")
    b = store.add(created_at=now - timedelta(hours=1), prefix="sum:", input="a long story about dogs",
                  output="Dogs.", model="m", source="voice")
    c = store.add(prefix="gen:", input="poem", output=None, model="m", status="failed",
                  error="hushtype's model server is not running")
    return store, (a, b, c)


def run(app, *args, input=None):
    return CliRunner().invoke(app, list(args), input=input)


def test_list_json_since_search(app, filled):
    _store, (a, b, c) = filled
    res = run(app, "history", "list", "--json")
    assert res.exit_code == 0
    assert [r["id"] for r in json.loads(res.stdout)] == [c, b, a]
    assert [r["id"] for r in json.loads(run(app, "history", "list", "--json", "--since", "2d").stdout)] == [c, b]
    assert [r["id"] for r in json.loads(run(app, "history", "list", "--json", "--search", "DOGS").stdout)] == [b]
    table = run(app, "history", "list").stdout
    assert "teh cat" in table and "[failed]" in table and "voice" in table
    bad = run(app, "history", "list", "--since", "yesterday-ish")
    assert bad.exit_code != 0 and "7d" in bad.output


def test_show_delete(app, filled):
    _store, (a, b, c) = filled
    res = run(app, "history", "show", str(a))
    assert res.exit_code == 0 and json.loads(res.stdout)["output"] == "The cat."
    assert run(app, "history", "delete", str(a)).exit_code == 0
    missing = run(app, "history", "show", str(a))
    assert missing.exit_code == 1 and f"no history record {a}" in missing.output
    assert run(app, "history", "delete", str(a)).exit_code == 1


def test_wipe_asks_first(app, filled):
    store, _ids = filled
    res = run(app, "history", "wipe", input="n\n")
    assert res.exit_code == 1 and "Delete all 3 commands" in res.output and "Nothing deleted" in res.output
    assert len(store.list()) == 3
    res = run(app, "history", "wipe", input="y\n")
    assert res.exit_code == 0 and store.list() == []
    store.add(prefix="fix:", input="x", output="y", model="m")
    assert run(app, "history", "wipe", "--yes").exit_code == 0 and store.list() == []


def test_export(app, filled, tmp_path):
    out = tmp_path / "h.json"
    res = run(app, "history", "export", str(out))
    assert res.exit_code == 0 and "Exported 3" in res.stdout
    assert [r["prefix"] for r in json.loads(out.read_text())["records"]] == ["fix:", "sum:", "gen:"]
    bad = run(app, "history", "export", str(tmp_path / "no" / "such" / "dir.json"))
    assert bad.exit_code == 1 and "cannot write" in bad.output


def test_privacy_lists_every_file_with_size_purpose_and_retention(app, filled, hushtype_home):
    paths.config_file().write_text("[history]\nretention_days = 12\n")
    (hushtype_home / "mystery.bin").write_bytes(b"x" * 10)
    res = run(app, "privacy", "--json")
    assert res.exit_code == 0
    report = json.loads(res.stdout)
    listed = {e["path"]: e for e in report["files"]}
    for item in hushtype_home.iterdir():
        key = str(item) + ("/" if item.is_dir() else "")
        assert key in listed, f"{item} missing from the privacy report"
    assert listed[str(paths.history_db())]["size"] == paths.history_db().stat().st_size
    assert "input text" in listed[str(paths.history_db())]["purpose"]
    assert "not written by hushtype" in listed[str(hushtype_home / "mystery.bin")]["purpose"]
    assert report["history"]["retention_days"] == 12 and report["history"]["count"] == 3
    text = run(app, "privacy").stdout
    assert "deleted after 12 days" in text and "Nothing leaves this machine" in text
    assert "keystroke" in text and "audio" in text and str(paths.models_dir()) in text


def test_privacy_lists_files_inside_folders(app, hushtype_home):
    logs = hushtype_home / "logs"
    logs.mkdir()
    (logs / "service.log").write_text("started\n")
    report = json.loads(run(app, "privacy", "--json").stdout)
    listed = {e["path"]: e for e in report["files"]}
    assert listed[str(logs / "service.log")]["size"] == 8
    assert "never keystrokes" in listed[str(logs / "service.log")]["purpose"]
    assert not any(p.startswith(str(paths.models_dir()) + "/") and p != str(paths.models_dir()) + "/"
                   for p in listed)  # the model store is summarised, not listed blob by blob

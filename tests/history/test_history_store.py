"""HistoryStore on a real SQLite file: records, search, retention (injectable clock), export."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone

import pytest

from assistant import paths
from assistant.history.retention import cutoff, is_expired
from assistant.history.store import HistoryStore

from history_helpers import add_sample


def test_add_get_list_round_trip(store, clock):
    rid = add_sample(store, source="voice", note="kept")
    rec = store.get(rid)
    assert rec == {
        "id": rid, "created_at": "2026-11-01T12:00:00Z", "source": "voice", "prefix": "fix:",
        "command": "fix", "input": "teh cat sat on teh mat", "output": "The cat sat on the mat.",
        "model": "gemma3:270m", "status": "ok", "error": None, "note": "kept",
        "timings": {"total_ms": 812.5, "eval_ms": 300.0},
    }
    clock.advance(minutes=1)
    failed = add_sample(store, status="failed", output=None, error="server down")
    assert [r["id"] for r in store.list()] == [failed, rid]  # newest first
    assert store.get(999) is None
    assert store.path == paths.history_db()


def test_search_since_prefix_status_filters(store, clock):
    a = add_sample(store, input="Buy 100% organic_milk", output="x")
    clock.advance(days=2)
    b = add_sample(store, prefix="sum:", input="long text", output="Short ORGANIC summary")
    assert [r["id"] for r in store.list(search="organic")] == [b, a]  # case-insensitive, both columns
    assert [r["id"] for r in store.list(search="100%")] == [a]        # % is literal
    c = add_sample(store, input="organicXmilk", output="x")
    assert [r["id"] for r in store.list(search="organic_milk")] == [a]  # _ is literal
    store.delete(c)
    assert [r["id"] for r in store.list(since=clock.now - timedelta(days=1))] == [b]
    assert [r["id"] for r in store.list(prefix="sum:")] == [b]
    assert store.list(status="failed") == []


def test_add_refuses_unknown_fields_and_statuses(store):
    with pytest.raises(TypeError, match="keystrokes"):
        store.add(prefix="fix:", input="x", keystrokes="abc")
    with pytest.raises(ValueError, match="status"):
        store.add(prefix="fix:", input="x", status="weird")


def test_retention_boundaries_with_injectable_clock(clock):
    now = clock.now
    assert not is_expired(now - timedelta(days=29, hours=23), now, 30)
    assert is_expired(now - timedelta(days=30, seconds=1), now, 30)
    assert is_expired(now, now, 0) and cutoff(now, 0) is None

    store = HistoryStore(clock=clock, retention_days=30)
    kept = add_sample(store, created_at=now - timedelta(days=29, hours=23))
    gone = add_sample(store, created_at=now - timedelta(days=30, seconds=1))
    ids = {r["id"] for r in store.list()}
    assert kept in ids and gone not in ids  # the sweep after each save removed it
    clock.advance(hours=1, seconds=1)
    assert store.sweep() == 1 and store.list() == []


def test_sweep_at_start_up(clock):
    store = HistoryStore(clock=clock, retention_days=30)
    add_sample(store)
    store.close()
    clock.advance(days=31)
    reopened = HistoryStore(clock=clock, retention_days=30)
    assert reopened.list() == []


def test_retention_zero_keeps_nothing_at_all(clock):
    store = HistoryStore(clock=clock, retention_days=7)
    add_sample(store)
    store.close()
    zero = HistoryStore(clock=clock, retention_days=0)
    assert zero.list() == []                 # start-up sweep removed everything
    assert add_sample(zero) is None          # and nothing new is written
    assert zero.stats()["count"] == 0


def test_retention_comes_from_settings(clock):
    paths.config_file().write_text("[history]\nretention_days = 2\n")
    store = HistoryStore(clock=clock)
    assert store.retention_days == 2
    add_sample(store)
    clock.advance(days=2, seconds=1)
    assert store.sweep() == 1


def test_hourly_timer_sweeps_while_running(clock):
    store = HistoryStore(clock=clock, retention_days=1)
    add_sample(store)
    timer = store.start_retention_timer(interval=0.05)
    try:
        clock.advance(days=1, seconds=1)
        deadline = datetime.now() + timedelta(seconds=5)
        while (store.list() or timer.runs < 1) and datetime.now() < deadline:
            timer._stop.wait(0.05)
        assert store.list() == [] and timer.runs >= 1
    finally:
        timer.stop()
    assert not timer._thread.is_alive()


def test_delete_and_export(store, clock, tmp_path):
    a = add_sample(store, input="first")
    clock.advance(seconds=5)
    b = add_sample(store, input="second ünïcode")
    assert store.delete(a) is True and store.delete(a) is False
    out = tmp_path / "export.json"
    assert store.export(out) == 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [r["input"] for r in data["records"]] == ["second ünïcode"]
    assert data["records"][0]["id"] == b
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_stats(store):
    add_sample(store)
    s = store.stats()
    assert s["count"] == 1 and s["retention_days"] == 30 and s["oldest"] == "2026-11-01T12:00:00Z"
    assert "history.sqlite3" in s["files"] and s["size_bytes"] > 0


def test_records_are_stored_in_utc(clock):
    store = HistoryStore(clock=clock, retention_days=30)
    local = datetime(2026, 11, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    rid = add_sample(store, created_at=local)
    assert store.get(rid)["created_at"] == "2026-11-01T12:30:00Z"


def test_readers_sweep_hourly_without_the_timer(clock):
    store = HistoryStore(clock=clock, retention_days=1)
    rid = add_sample(store)
    clock.advance(days=1, seconds=1)
    # no timer runs here; the last sweep (at the save) is a day old, so reads sweep first
    assert store.get(rid) is None and store.list() == []


def test_apply_settings_changes_retention_and_sweeps(store, clock):
    add_sample(store)
    clock.advance(days=3)
    assert store.apply_settings({"history": {"retention_days": 2}}) == 1
    assert store.retention_days == 2


def test_pipeline_reload_takes_new_commands_and_retention(store):
    from assistant.commands.pipeline import CommandPipeline
    from assistant.config import deep_merge, load_settings

    pipeline = CommandPipeline(load_settings(), history=store)
    assert pipeline.match("tr: hallo") is None
    pipeline.reload(deep_merge(load_settings(), {
        "history": {"retention_days": 5},
        "commands": {"tr": {"prefix": "tr:", "instruction": "Translate into English."}}}))
    assert pipeline.match("tr: hallo")[0].name == "tr" and store.retention_days == 5

"""What hushtype stores where: the report behind ``hushtype privacy``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from assistant import paths

PURPOSES = {
    "config.toml": "your settings (merged over the built-in defaults)",
    "history.sqlite3": "command history: time (UTC), source, prefix, input text, output text, "
                       "model, timings, status, error",
    "history.sqlite3-wal": "history write-ahead log (recent changes; emptied after deletes and wipes)",
    "history.sqlite3-shm": "history shared-memory index (page numbers, no text)",
    "history.sqlite3-journal": "history rollback journal (only during a write)",
}
DIR_PURPOSES = {
    "models": "model store (Ollama layout): GGUF weights, manifests",
    "logs": "logs (never keystrokes, prompts or answers)",
    "whisper": "Whisper speech models assembled from their packages (base), no audio",
}
NOT_STORED = ["the keystroke stream (only the text of a finished command, in history)",
              "audio (speech is transcribed in memory and dropped)"]


def _file_purpose(name: str) -> str:
    if name in PURPOSES:
        return PURPOSES[name]
    if name.startswith("history.sqlite3.damaged-"):
        return ("a damaged history database, moved aside (never deleted) when hushtype found it "
                "unreadable; it may still hold old commands; delete it when you no longer need it")
    if name == "history-damaged.json":
        return "where damaged history databases were moved, and why (no command text)"
    return "not written by hushtype's core (another component or you)"


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _tree_size(path: Path) -> tuple[int, int]:
    total = files = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += (Path(root) / name).stat().st_size
                files += 1
            except OSError:
                pass
    return total, files


def _mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def privacy_report() -> dict:
    from assistant.config import ConfigError, load_settings
    from assistant.ollama_client import resolve_base_url
    from assistant.server_location import leaves_machine

    try:
        settings = load_settings(validate=False)
    except ConfigError as exc:
        settings = exc.settings or {}
    root = paths.data_dir()
    models = paths.models_dir()  # (created on first use, so it is listed too)
    entries = []
    for item in sorted(root.iterdir()):
        if item.is_dir():
            size, count = _tree_size(item)
            purpose = DIR_PURPOSES.get(item.name, "a folder not written by hushtype's core "
                                                  "(another component or you)")
            entries.append({"path": str(item) + "/", "size": size, "files": count,
                            "mode": _mode(item), "purpose": purpose})
            if item.resolve() == models.resolve():
                continue  # the model store is summarised below
            for sub in sorted(p for p in item.rglob("*") if p.is_file()):
                entries.append({"path": str(sub), "size": sub.stat().st_size, "mode": _mode(sub),
                                "purpose": f"in {item.name}/: {purpose}"})
        else:
            entries.append({"path": str(item), "size": item.stat().st_size, "mode": _mode(item),
                            "purpose": _file_purpose(item.name)})
    model_size, _ = _tree_size(models)
    manifests = models / "manifests"
    model_count = sum(len(files) for _r, _d, files in os.walk(manifests)) if manifests.exists() else 0
    retention = settings.get("history", {}).get("retention_days", 30)
    history = {"path": str(paths.history_db()), "retention_days": retention, "count": 0,
               "oldest": None}
    if paths.history_db().exists():
        from assistant.history.store import HistoryStore

        store = HistoryStore(retention_days=retention)
        stats = store.stats()
        store.close()
        history.update(count=stats["count"], oldest=stats["oldest"])
    from assistant.history.recovery import describe, notes_path, read_notes

    damaged = [{"moved_to": n.moved_to, "reason": n.reason, "at": n.at, "text": describe(n)}
               for n in read_notes(notes_path(paths.history_db()))]
    return {
        "data_dir": str(root), "data_dir_mode": _mode(root), "files": entries,
        "damaged_history": damaged,
        "model_store": {"path": str(models), "size": model_size, "models": model_count},
        "history": history,
        "not_stored": NOT_STORED,
        "network": _network_statement(settings, resolve_base_url(settings)),
        "remote_server": leaves_machine(resolve_base_url(settings)),
        "server_api": str(settings.get("server", {}).get("api") or "ollama"),
    }


def _network_statement(settings: dict, url: str) -> str:
    from assistant.server_location import leaves_machine

    notice = leaves_machine(url)
    if notice:
        return (f"Your text leaves this machine: {notice} (the model server at {url}, which you "
                f"chose in [server] url). There is no telemetry; `hushtype pull` is the other "
                f"network use, when you run it.")
    return (f"Nothing leaves this machine: commands go to the model server at {url}; there is "
            f"no telemetry. The only network use is `hushtype pull`, when you run it.")


def render_report(report: dict) -> str:
    lines = [f"hushtype stores everything in {report['data_dir']} (mode {report['data_dir_mode']}, "
             f"yours only):", ""]
    for entry in report["files"]:
        extra = ""
        if "files" in entry:
            extra = f", {entry['files']} file" + ("" if entry["files"] == 1 else "s")
        lines.append(f"  {entry['path']}")
        lines.append(f"      {_human(entry['size'])}{extra}, mode {entry['mode']}: {entry['purpose']}")
    if not report["files"]:
        lines.append("  (nothing yet)")
    store = report["model_store"]
    lines += ["", f"Model store: {store['path']} — {store['models']} model(s), {_human(store['size'])}."]
    hist = report["history"]
    days = hist["retention_days"]
    keep = "nothing is kept (retention 0)" if not days else f"commands are deleted after {days:g} days"
    lines += [f"History: {hist['count']} command(s) in {hist['path']}; {keep}"
              + (f"; oldest from {hist['oldest']}." if hist["oldest"] else "."),
              "  Change it with [history] retention_days in config.toml; erase it all with "
              "`hushtype history wipe`.",
              *[f"  Note: {d['text']}." for d in report.get("damaged_history", [])],
              "", "Never stored: " + "; ".join(report["not_stored"]) + ".",
              "", report["network"]]
    return "\n".join(lines)

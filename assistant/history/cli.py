"""``hushtype history list|show|delete|wipe|export`` and ``hushtype privacy``."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import typer

history_app = typer.Typer(help="Your command history (stored only on this machine).",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(history_app, name="history")
    app.command("privacy")(privacy_command)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``30m``, ``12h``, ``7d``, ``2w`` ago, or an ISO date/time (UTC unless it says)."""
    now = now or datetime.now(timezone.utc)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return now - timedelta(**{unit: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: use a duration like 7d, 12h, 30m or a date like 2026-11-01")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _store():
    from assistant.history.recovery import describe
    from assistant.history.store import HistoryStore

    store = HistoryStore()
    if store.recovered is not None:
        typer.echo(f"hushtype: warning: {describe(store.recovered)}", err=True)
    return store


def _short(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


@history_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print records as JSON"),
    since: str = typer.Option(None, "--since", help="Only newer records: 7d, 12h, 30m or a date"),
    search: str = typer.Option(None, "--search", help="Only records whose input or output contains TEXT"),
    limit: int = typer.Option(50, "--limit", help="At most this many (0 = all)"),
) -> None:
    """List recent commands, newest first."""
    store = _store()
    records = store.list(since=parse_since(since) if since else None, search=search,
                         limit=limit or None)
    if as_json:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    if not records:
        typer.echo("No commands in history.")
        return
    for r in records:
        when = r["created_at"][:19].replace("T", " ")
        text = r["output"] if r["status"] == "ok" else f"[{r['status']}] {r['error'] or ''}"
        typer.echo(f"{r['id']:>5}  {when}  {r['source']:<5}  {r['prefix']:<6} "
                   f"{_short(r['input'], 30):<30}  -> {_short(text, 40)}")


@history_app.command("show")
def show_command(record_id: int = typer.Argument(..., help="The record's id (see `history list`)")) -> None:
    """Show one record in full (JSON)."""
    record = _store().get(record_id)
    if record is None:
        typer.echo(f"hushtype: no history record {record_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(record, ensure_ascii=False, indent=2))


@history_app.command("delete")
def delete_command(record_id: int = typer.Argument(..., help="The record's id")) -> None:
    """Delete one record."""
    if not _store().delete(record_id):
        typer.echo(f"hushtype: no history record {record_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Deleted record {record_id}.")


@history_app.command("wipe")
def wipe_command(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask")) -> None:
    """Delete the whole history, leaving nothing recoverable on disk."""
    store = _store()
    count = store.stats()["count"]
    if not yes:
        if not typer.confirm(f"Delete all {count} commands from {store.path}? This cannot be undone"):
            typer.echo("Nothing deleted.")
            raise typer.Exit(1)
    from assistant.history.store import HistoryBusy

    try:
        store.wipe()
    except HistoryBusy as exc:
        typer.echo(f"hushtype: {exc}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Wiped {count} commands; the database file and its WAL were scrubbed.")


@history_app.command("export")
def export_command(file: Path = typer.Argument(..., help="Where to write the JSON file")) -> None:
    """Export every record to a JSON file (mode 0600)."""
    try:
        count = _store().export(file)
    except OSError as exc:
        typer.echo(f"hushtype: cannot write {file}: {exc.strerror}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Exported {count} commands to {file}.")


def privacy_command(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON")) -> None:
    """Show exactly what hushtype stores, where, how big, and for how long."""
    from assistant.history.privacy import privacy_report, render_report

    report = privacy_report()
    typer.echo(json.dumps(report, indent=2) if as_json else render_report(report))

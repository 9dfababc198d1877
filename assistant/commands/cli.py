"""``hushtype do "fix: teh cat sat on teh mat"``: one command through the whole pipeline."""

from __future__ import annotations

import json
import sys
import threading

import typer


def register(app: typer.Typer) -> None:
    app.command("do")(do_command)


def do_command(
    text: str = typer.Argument(..., help='The command and its text, e.g. "fix: teh cat sat on teh mat" '
                                          '("-" reads it from standard input)'),
    as_json: bool = typer.Option(False, "--json", help="Print the record stored in history as JSON"),
    model: str = typer.Option(None, "--model", "-m", help="Use this model instead of the configured one"),
    source: str = typer.Option("typed", "--source", help="Source recorded in history (typed|voice)"),
) -> None:
    """Run a command (gen:, fix:, sum: or your own prefix) and print the answer."""
    import signal
    from dataclasses import replace

    from assistant.commands.pipeline import CommandPipeline
    from assistant.config import ConfigError

    if text == "-":
        text = sys.stdin.read()
    if source not in ("typed", "voice"):
        typer.echo("hushtype: --source must be typed or voice", err=True)
        raise typer.Exit(2)
    from assistant.config import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:  # run on the defaults, and say why
        typer.echo(f"hushtype: warning: {exc} — using the default settings", err=True)
        settings = exc.settings
    from assistant.history.lazy import LazyHistoryStore

    # the history database is opened when the record is written, after the request went out
    history = LazyHistoryStore(retention_days=settings.get("history", {}).get("retention_days"))
    pipeline = CommandPipeline(settings, history=history)
    found = pipeline.match(text, loose=(source == "voice"))
    if found is None:
        known = ", ".join(sorted(s.prefix for s in pipeline.specs.values()))
        typer.echo(f"hushtype: the text does not start with a command prefix ({known})", err=True)
        raise typer.Exit(2)
    spec, body = found
    if model:
        spec = replace(spec, model=model)

    streamed = {"any": False}

    def on_chunk(piece: str) -> None:
        if not as_json:
            streamed["any"] = True
            sys.stdout.write(piece)
            sys.stdout.flush()

    cancel = threading.Event()
    # Ctrl-C cancels the command (the server stops generating); the attempt is recorded.
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        result = pipeline.run_spec(spec, body, source=source, on_chunk=on_chunk, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.status == "cancelled" and not as_json:
        if streamed["any"]:
            sys.stdout.write("\n")
        typer.echo("hushtype: cancelled", err=True)
        raise typer.Exit(130)

    if as_json:
        record = pipeline.history.get(result.history_id) if (
            pipeline.history is not None and result.history_id is not None) else None
        if record is None:  # retention 0: nothing stored; show what would have been
            record = {"id": None, **{k: v for k, v in result.to_dict().items() if k != "history_id"}}
        typer.echo(json.dumps(record, ensure_ascii=False, indent=2))
    elif result.status == "ok":
        if streamed["any"]:
            sys.stdout.write("\n")
        else:
            typer.echo(result.output)
    if result.note and not as_json:
        typer.echo(f"hushtype: note: {result.note}", err=True)
    if result.status != "ok":
        if not as_json:
            typer.echo(f"hushtype: {result.error}", err=True)
        raise typer.Exit(1)

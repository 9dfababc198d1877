"""`hushtype settings [--no-browser]` and `hushtype autostart enable|disable|status`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("settings")(settings_command)
    autostart_app = typer.Typer(help="Start hushtype when you log in (XDG autostart entry).",
                                no_args_is_help=True)
    autostart_app.command("enable")(autostart_enable)
    autostart_app.command("disable")(autostart_disable)
    autostart_app.command("status")(autostart_status)
    app.add_typer(autostart_app, name="autostart")


def settings_command(
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the page's private link instead of opening it"),
) -> None:
    """Open the settings page (history, retention, commands, models, voice, privacy)."""
    from assistant.settings import runtime_file

    running = runtime_file.find_running()
    if running is not None:
        _show(running.url, no_browser)
        return
    _serve_here(no_browser)


def _show(url: str, no_browser: bool) -> None:
    if no_browser:
        typer.echo(url)
        return
    import webbrowser

    if webbrowser.open(url):
        typer.echo(f"Opened the settings page in your browser. Its private link: {url}")
    else:
        typer.echo(f"No browser found. Open this private link yourself: {url}")


def _serve_here(no_browser: bool) -> None:
    """Nothing is running: serve the page from this process until Ctrl+C."""
    import signal

    from assistant.settings.backend import SettingsBackend
    from assistant.settings.service import start_server

    backend = SettingsBackend(None)
    try:
        server = start_server(backend)
    except (RuntimeError, TimeoutError) as exc:
        typer.echo(f"hushtype: cannot start the settings page: {exc}", err=True)
        raise typer.Exit(1)

    stopped_by = {"signal": None}

    def on_signal(signum, frame):
        stopped_by["signal"] = signum
        raise KeyboardInterrupt

    # set both explicitly: a SIGINT inherited as ignored (background job, nohup) must still stop it
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        _show(server.url, no_browser)
        typer.echo("The assistant is not running, so this command serves the page until you press Ctrl+C.",
                   err=True)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        backend.close()
    if stopped_by["signal"] == signal.SIGINT:
        raise typer.Exit(130)  # Ctrl+C: the shell's convention (128 + SIGINT); SIGTERM exits 0


def autostart_enable() -> None:
    """Start `hushtype up` at login."""
    from assistant.settings import autostart

    path = autostart.enable()
    typer.echo(f"hushtype starts at login: {path}\nUndo with `hushtype autostart disable`.")


def autostart_disable() -> None:
    """Stop starting hushtype at login."""
    from assistant.settings import autostart

    if autostart.disable():
        typer.echo(f"Removed {autostart.entry_path()}: hushtype no longer starts at login.")
    else:
        typer.echo(f"Autostart was not enabled (no {autostart.entry_path()}).")


def autostart_status() -> None:
    """Say whether hushtype starts at login."""
    from assistant.settings import autostart

    if autostart.is_enabled():
        typer.echo(f"enabled: {autostart.entry_path()}")
    else:
        typer.echo("disabled")

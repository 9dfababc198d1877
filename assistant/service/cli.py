"""``hushtype up`` and ``hushtype doctor``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("up")
    def up(
        voice: bool = typer.Option(True, "--voice/--no-voice", help="Start push-to-talk."),
        settings_page: bool = typer.Option(True, "--settings/--no-settings", help="Start the settings page and tray."),
        typed: bool = typer.Option(True, "--typed/--no-typed", help="Start typed commands (keyboard hook)."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging (never keys or prompts)."),
        platform: str = typer.Option(None, "--platform", metavar="auto|x11|ibus|wayland",
                                     help="Desktop backend (default: [platform] backend, auto)."),
    ) -> None:
        """Start the assistant: model server (bundled, if none answers), typed commands, voice, settings page."""
        from assistant.platform.base import BACKENDS
        from assistant.service import up as up_module

        if platform is not None and platform.lower() not in BACKENDS:
            typer.echo(f"error: unknown platform {platform!r}: choose one of {', '.join(BACKENDS)}", err=True)
            raise typer.Exit(2)
        up_module.setup_logging(verbose)
        raise typer.Exit(up_module.run(voice=voice, settings_page=settings_page, typed=typed,
                                       platform=platform))

    @app.command("doctor")
    def doctor() -> None:
        """Check display, keyboard hook, clipboard tool, server, models and microphone."""
        from assistant.config import ConfigError, load_settings
        from assistant.service.doctor import run_checks

        try:
            settings = load_settings()
            problem = None
        except ConfigError as exc:
            settings, problem = exc.settings, str(exc)
        failed = False
        if problem:
            typer.echo(f"[FAIL] settings: {problem}\n       fix: correct the file or reset it on the settings page")
            failed = True
        for check in run_checks(settings):
            mark = "ok" if check.ok else ("FAIL" if check.required else "warn")
            typer.echo(f"[{mark:>4}] {check.name}: {check.detail}")
            if not check.ok and check.fix:
                typer.echo(f"       fix: {check.fix}")
            failed = failed or (not check.ok and check.required)
        raise typer.Exit(1 if failed else 0)

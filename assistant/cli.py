"""The ``hushtype`` command line. Each area registers its own sub-commands here.

Sub-command modules import heavy libraries (llama.cpp, faster-whisper, pynput) lazily inside
their commands so that ``hushtype --help`` and light commands start fast.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="hushtype",
    help="Private, fully offline writing and voice assistant with a bundled Ollama-compatible server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from assistant.commands import cli as commands_cli
    from assistant.history import cli as history_cli
    from assistant.service import cli as service_cli
    from assistant.settings import cli as settings_cli
    from assistant.voice import cli as voice_cli
    from inference.cli import commands as inference_cli

    for module in (inference_cli, commands_cli, history_cli, service_cli, voice_cli, settings_cli):
        module.register(app)


_register_all()


def main() -> None:
    # httpx imports its own command line (click, rich, pygments: ~0.1 s of CPU) unless that
    # module is unavailable; hushtype never runs it, so every command starts without it.
    sys.modules.setdefault("httpx._main", None)
    from inference.cli.interrupt import run_cli

    run_cli(app)  # Ctrl+C stops every command (exit 130), even when SIGINT was inherited ignored


if __name__ == "__main__":
    main()

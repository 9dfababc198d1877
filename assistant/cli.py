"""The ``hushtype`` command line. Each area registers its own sub-commands here.

Sub-command modules import heavy libraries (llama.cpp, faster-whisper, pynput) lazily inside
their commands so that ``hushtype --help`` and light commands start fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="hushtype",
    help="Private, fully offline writing and voice assistant with a bundled Ollama-compatible server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from inference import cli as inference_cli

    inference_cli.register(app)
    for module_name in (
        "assistant.commands.cli",
        "assistant.history.cli",
        "assistant.service.cli",
        "assistant.voice.cli",
        "assistant.settings.cli",
    ):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:  # an area not built yet must not break the rest
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    app()


if __name__ == "__main__":
    main()

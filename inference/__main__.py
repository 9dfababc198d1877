"""``python -m inference serve|run|list|...``: the server's commands without the assistant."""

import typer

from inference.cli import commands as cli

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
cli.register(app)

if __name__ == "__main__":
    from inference.cli.interrupt import run_cli

    run_cli(app)

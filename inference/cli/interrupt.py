"""Ctrl+C the same way for every foreground command, whatever SIGINT disposition it inherited.

A process started from a shell that ignores SIGINT (a background job, ``nohup``, some CI
runners and desktop launchers) inherits ``SIG_IGN``, and Python then leaves it ignored: such a
``hushtype settings`` or ``hushtype pull`` would never stop on Ctrl+C. Every entry point calls
:func:`run_cli`, which installs Python's own handler (``KeyboardInterrupt``) explicitly, and
turns an interrupted command into exit status 130 (128 + SIGINT, what shells report) instead of
Click's "Aborted!" with status 1. Commands that must keep something (a pull's partial file, a
cancelled history entry) catch ``KeyboardInterrupt`` themselves and raise ``typer.Exit(130)``.
"""

from __future__ import annotations

import signal
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT


def restore_sigint() -> None:
    """Make SIGINT raise KeyboardInterrupt in the main thread, even if it was inherited ignored.

    Python's own ``default_int_handler`` (not a custom one), so that ``asyncio.run`` still
    recognises it and turns Ctrl+C into a clean cancellation of its main task."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _caused_by_interrupt(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def run_cli(app) -> None:
    """Run a Typer/Click app with Ctrl+C restored; an interrupted command exits 130."""
    restore_sigint()
    try:
        app()
    except KeyboardInterrupt:  # raised outside Click's own handling
        sys.stderr.write("\ninterrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as exc:
        # Click turns a KeyboardInterrupt it catches into "Aborted!" and status 1
        if exc.code == 1 and _caused_by_interrupt(exc):
            raise SystemExit(EXIT_INTERRUPTED) from None
        raise

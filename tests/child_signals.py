"""Start a command as a child whose SIGINT disposition the test chooses, not the parent shell.

A child inherits ignored signals across exec, so a suite run from a shell that ignores SIGINT
(a background job, ``nohup``, some CI runners) would otherwise hand that on to every command
it starts. ``SIGINT_IGNORED`` sets SIGINT to SIG_IGN in the child (the worst case, which the
command must undo itself) and gives it its own process group, so a Ctrl+C meant for the test
run never reaches it and only the test's ``send_signal(SIGINT)`` does.
"""

from __future__ import annotations

import signal


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


SIGINT_IGNORED = {"preexec_fn": _ignore_sigint, "process_group": 0}

"""Desktop notifications (notify-send, any backend)."""

from __future__ import annotations

import shutil
import subprocess


def desktop_notify(title: str, message: str) -> bool:
    """A desktop notification through notify-send, if there is one (never raises)."""
    path = shutil.which("notify-send")
    if not path:
        return False
    try:
        subprocess.Popen([path, "--app-name=hushtype", "--expire-time=6000", title, message],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
        return True
    except OSError:
        return False

"""Fixtures for the remote-server tests: the desktop rig's `hushtype up` helpers."""

from __future__ import annotations

import sys
from pathlib import Path

_DESKTOP = Path(__file__).resolve().parent.parent / "desktop"
if str(_DESKTOP) not in sys.path:
    sys.path.insert(0, str(_DESKTOP))

"""Which key events are our own: the X server time spans during which we injected.

XTEST keys (ours, xdotool's) arrive at the keyboard hook with ``injected`` False, and later
than they were made, so the hook asks the guard whether an event's server timestamp falls
inside one of our injections. Pure and thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque

# Our keys can be stamped a little after xdotool returned (the server reads its connection
# after we ask for the time); user keys this close to the end of an injection are dropped too.
TAIL_MS = 40


class InjectionGuard:
    def __init__(self, keep: int = 32):
        self._spans: deque[list[int | None]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._open = 0

    def begin(self, server_time: int) -> None:
        with self._lock:
            self._spans.append([int(server_time), None])
            self._open += 1

    def end(self, server_time: int | None) -> None:
        with self._lock:
            for span in reversed(self._spans):
                if span[1] is None:
                    span[1] = (int(server_time) if server_time is not None else span[0]) + TAIL_MS
                    self._open -= 1
                    return

    @property
    def active(self) -> bool:
        return self._open > 0

    def covers(self, server_time: int | None) -> bool:
        """True if a key stamped ``server_time`` was (or may have been) typed by us."""
        with self._lock:
            if server_time is None:
                return self._open > 0
            for start, end in self._spans:
                if start <= server_time and (end is None or server_time <= end):
                    return True
            return False

"""Stop strings: hold back text that may start one, cut the output where one appears (pure)."""

from __future__ import annotations

from typing import Sequence


class StopMatcher:
    """Holds back text that might be the start of a stop string; cuts output at a stop string.

    ``feed(piece)`` returns ``(text_to_emit, stopped)``. Text after (and including) a stop
    string is never emitted. ``flush()`` returns what was held back when generation ends
    without a stop string.
    """

    def __init__(self, stops: Sequence[str] | None):
        self.stops = [s for s in (stops or []) if s]
        self._held = ""
        self._longest = max((len(s) for s in self.stops), default=0)

    def feed(self, piece: str) -> tuple[str, bool]:
        if not self.stops:
            return piece, False
        text = self._held + piece
        cut = -1
        for stop in self.stops:
            index = text.find(stop)
            if index != -1 and (cut == -1 or index < cut):
                cut = index
        if cut != -1:
            self._held = ""
            return text[:cut], True
        # Hold back the longest suffix of `text` that is a proper prefix of some stop string.
        hold = 0
        for n in range(min(len(text), self._longest - 1), 0, -1):
            tail = text[-n:]
            if any(stop.startswith(tail) for stop in self.stops):
                hold = n
                break
        self._held = text[len(text) - hold:] if hold else ""
        return text[: len(text) - hold], False

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

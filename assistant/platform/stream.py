"""The skeleton every backend's stream session shares: chunks are written in order by one
thread of the session's own, so the model is never held up by the app; the first failure
stops writing and ``finish()`` raises it. A backend supplies ``_write(text)``."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("hushtype.platform")


class ChunkStream:
    thread_name = "hushtype-stream"

    def __init__(self, delete_chars: int, original: str | None):
        self.delete_chars = delete_chars
        self.original = original
        self.typed = ""
        self.first_char_at: float | None = None   # time.monotonic() of the first output
        self.error: Exception | None = None
        self._pending: list[str] = []
        self._cond = threading.Condition()
        self._closing = False
        self._started = False
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._started

    def feed(self, chunk: str) -> None:
        if not chunk:
            return
        with self._cond:
            self._pending.append(chunk)
            self._cond.notify()

    def _write(self, text: str) -> None:
        """Write one batch of chunks into the app (the first call deletes the command first
        and sets ``_started``)."""
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending and self._closing:
                    return
                text, self._pending = "".join(self._pending), []
            if self.error is not None:
                continue
            try:
                self._write(text)
                if self.first_char_at is None:
                    self.first_char_at = time.monotonic()
                self.typed += text
            except Exception as exc:
                self.error = exc
                log.warning("streaming into the app failed: %s", exc)

    def _drain(self, *, discard: bool = False) -> None:
        """Wait until the writer is done; with ``discard``, drop what was not written yet."""
        with self._cond:
            if discard:
                self._pending.clear()
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout=120)

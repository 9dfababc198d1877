"""Background jobs of the page (model pull, GGUF import, microphone test) and their progress.

A job runs in a daemon thread and reports through ``progress.update(...)``; the page polls
``GET .../<job id>`` for a JSON snapshot. Finished jobs are forgotten after a while.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Callable

KEEP_FINISHED_SECONDS = 600
MAX_JOBS = 32


class Job:
    def __init__(self, kind: str, label: str):
        self.id = secrets.token_hex(8)
        self.kind = kind
        self.label = label
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._state: dict = {"status": "starting", "done": False, "error": None}
        self.finished_at: float | None = None

    def update(self, **fields) -> None:
        with self._lock:
            self._state.update(fields)

    def snapshot(self) -> dict:
        with self._lock:
            return {"id": self.id, "kind": self.kind, "label": self.label, **self._state}

    def _finish(self, **fields) -> None:
        self.update(done=True, **fields)
        self.finished_at = time.monotonic()


class JobRegistry:
    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, label: str, work: Callable[[Job], dict | None]) -> Job:
        """Run ``work(job)`` in a thread; its returned dict is merged into the final state."""
        with self._lock:
            self._forget_old()
            running = [j for j in self._jobs.values() if not j.snapshot()["done"]]
            if len(running) >= MAX_JOBS:
                raise RuntimeError("too many tasks are running; wait for one to finish")
            job = Job(kind, label)
            self._jobs[job.id] = job

        def runner():
            try:
                result = work(job) or {}
            except Exception as exc:  # reported to the page, which shows the message
                job._finish(status="failed", error=str(exc) or exc.__class__.__name__)
            else:
                if job.cancel.is_set():
                    job._finish(status="cancelled", **result)
                else:
                    job._finish(**{"status": "done", **result})

        threading.Thread(target=runner, name=f"settings-{kind}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def running(self, kind: str) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.kind == kind and not j.snapshot()["done"]]

    def cancel_all(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job_id in [i for i, j in self._jobs.items()
                       if j.finished_at is not None and now - j.finished_at > KEEP_FINISHED_SECONDS]:
            del self._jobs[job_id]

"""How many threads to decode with right now: as many as the cores other programs leave free.

llama.cpp's threads meet at a barrier after every graph node, and libgomp's default waits
there by spinning. On a quiet machine that is what makes llama-server fast; on a busy one a
spinning thread waits for a peer the kernel has preempted, and decode collapses. Measured on
this project's 2-core machine under a compile (load ~4): 2 spinning threads 2.5 tok/s,
1 thread 17.6-24.5 tok/s, 2 sleeping threads (``OMP_WAIT_POLICY=PASSIVE``) 14-15 tok/s; quiet,
2 spinning threads are about twice as fast as 2 sleeping ones. So the engine keeps libgomp's
default and changes the thread count between decode steps (``llama_set_n_threads``) to fit
the cores the rest of the machine leaves free.

:class:`CpuMeter` reads ``/proc/stat`` and ``/proc/self/stat`` (Linux; elsewhere it reports
no load, and the count stays fixed); :func:`choose_threads` is the pure rule, with hysteresis
so the count does not flap.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from inference.engine.threads import allowed_cpus

# Go down to n threads when fewer than n + 1 - DROP_MARGIN cores are free; go up to n when at
# least n - RAISE_MARGIN are free. A desktop's background (a browser tab, a music player) of
# a few tenths of a core keeps the full count.
DROP_MARGIN = 0.5
RAISE_MARGIN = 0.3
# Shortest window the meter averages over; checks in between reuse the last figure.
SAMPLE_SECONDS = 0.5


def choose_threads(current: int, most: int, free_cores: float) -> int:
    """The thread count for the next decode steps, from ``current``, at most ``most``."""
    current = max(1, min(int(current), most))
    while current < most and free_cores >= current + 1 - RAISE_MARGIN:
        current += 1
    while current > 1 and free_cores < current - DROP_MARGIN:
        current -= 1
    return current


class CpuMeter:
    """Cores busy with other programs (all CPU time but this process's), averaged over the
    time since the previous reading (at least ``SAMPLE_SECONDS``)."""

    def __init__(self, proc: Path = Path("/proc"), clock=time.monotonic):
        self._proc = proc
        self._clock = clock
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.cores = len(allowed_cpus())
        self._last = self._read()
        self._others = 0.0

    def _read(self) -> tuple[float, int, int] | None:
        """(time, busy ticks of the whole machine, ticks of this process) or None."""
        try:
            first = (self._proc / "stat").read_text().split("\n", 1)[0].split()
            mine = (self._proc / "self" / "stat").read_text()
        except OSError:
            return None
        if not first or first[0] != "cpu":
            return None
        values = [int(v) for v in first[1:]]
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        busy = sum(values[:8]) - values[3] - (values[4] if len(values) > 4 else 0)
        fields = mine.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3
        own = int(fields[11]) + int(fields[12])  # utime, stime of all threads
        return self._clock(), busy, own

    @property
    def available(self) -> bool:
        return self._last is not None

    def others_busy(self) -> float:
        """Cores other programs kept busy lately (0.0 where /proc cannot be read)."""
        if self._last is None:
            return 0.0
        now = self._clock()
        if now - self._last[0] < SAMPLE_SECONDS:
            return self._others
        reading = self._read()
        if reading is None:
            return self._others
        elapsed = reading[0] - self._last[0]
        others = ((reading[1] - self._last[1]) - (reading[2] - self._last[2])) / self._hz / elapsed
        self._last = reading
        self._others = max(0.0, min(float(self.cores), others))
        return self._others

    def free_cores(self) -> float:
        return self.cores - self.others_busy()

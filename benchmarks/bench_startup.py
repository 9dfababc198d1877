"""Start-up of a CLI command: time from starting ``hushtype do "gen: ..."`` to its first request.

A loopback listener stands in for the server and notes when the first request's bytes arrive
(then answers 404 so the command ends). The baseline, measured in the same run and
alternating with it, is the eager start-up hushtype had before lazy imports: the same command
after importing what it used to load up front (the history store with SQLAlchemy/Alembic and
the command pipeline with httpx), i.e. ``python -c "import <those>; <run the command>"``.
A bare ``python -c pass`` gives the interpreter's own floor. Also printed: the CPU time of the
process until it exits, and ``python -X importtime``'s cumulative import time of
``assistant.cli`` plus what ``hushtype do`` imports before sending.

Run: ``.venv/bin/python -m benchmarks startup`` (about half a minute).
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPEATS = max(1, int(os.environ.get("STARTUP_BENCH_REPEATS", "7")))
ROOT = Path(__file__).resolve().parents[1]
# what `hushtype do` imported up front before lazy imports (the old start-up)
EAGER = ("import assistant.history.store, assistant.commands.pipeline, assistant.history.cli, "
         "assistant.voice.cli, assistant.settings.cli, assistant.service.cli, inference.cli.commands")
COMMAND = "from assistant.cli import main; import sys; sys.argv = ['hushtype', 'do', 'gen: hello']; main()"


class FirstRequest:
    """Loopback listener: records when a request first arrives, answers 404 JSON."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.arrived: float | None = None
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    data = conn.recv(65536)
                except OSError:
                    continue
                if data and self.arrived is None:
                    self.arrived = time.perf_counter()
                body = b'{"error":"model not found"}'
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def _env(home: str, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "HUSHTYPE_"))}
    env.update(HUSHTYPE_HOME=home, OLLAMA_HOST=f"127.0.0.1:{port}", PYTHONDONTWRITEBYTECODE="1")
    return env


def time_to_first_request(code: str, home: str) -> tuple[float, float]:
    """(seconds from spawn to the first request, CPU seconds of the whole process)."""
    listener = FirstRequest()
    try:
        t0 = time.perf_counter()
        before = os.times()
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(home, listener.port),
                              capture_output=True, timeout=120)
        after = os.times()
        if listener.arrived is None:
            raise RuntimeError(f"no request arrived: {proc.stderr.decode()[-500:]}")
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        return listener.arrived - t0, cpu
    finally:
        listener.close()


def bare_python() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
    return time.perf_counter() - t0


def import_time_us(code: str, home: str) -> dict[str, int]:
    """Cumulative ``-X importtime`` microseconds of the top-level modules ``code`` imports."""
    listener = FirstRequest()
    try:
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT,
                              env=_env(home, listener.port), capture_output=True, text=True, timeout=120)
    finally:
        listener.close()
    total: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if m and not m.group(2):  # a top-level import (not nested in another)
            total[m.group(3)] = total.get(m.group(3), 0) + int(m.group(1))
    return total


def run() -> dict:
    with tempfile.TemporaryDirectory() as home:
        subprocess.run([sys.executable, "-c", COMMAND], cwd=ROOT, env=_env(home, 9),
                       capture_output=True, timeout=120)  # warm the file cache and byte code
        lazy, eager, bare, lazy_cpu, eager_cpu = [], [], [], [], []
        for k in range(REPEATS):
            sides = ["lazy", "eager", "bare"]
            for side in (sides if k % 2 == 0 else sides[::-1]):
                if side == "lazy":
                    t, cpu = time_to_first_request(COMMAND, home)
                    lazy.append(t)
                    lazy_cpu.append(cpu)
                elif side == "eager":
                    t, cpu = time_to_first_request(f"{EAGER}\n{COMMAND}", home)
                    eager.append(t)
                    eager_cpu.append(cpu)
                else:
                    bare.append(bare_python())
        imports = import_time_us(COMMAND, home)
    med = {name: statistics.median(v) for name, v in
           (("lazy", lazy), ("eager", eager), ("bare", bare), ("lazy_cpu", lazy_cpu), ("eager_cpu", eager_cpu))}
    heavy = {m: us for m, us in imports.items() if us > 20_000}
    print(f"`hushtype do` spawn -> first request, median of {REPEATS} (seconds):")
    print(f"  lazy imports (now)        {med['lazy']:.3f}   (CPU of the whole run {med['lazy_cpu']:.3f})")
    print(f"  eager imports (old)       {med['eager']:.3f}   (CPU of the whole run {med['eager_cpu']:.3f})")
    print(f"  bare `python -c pass`     {med['bare']:.3f}")
    print(f"  -> {med['eager'] / med['lazy']:.2f}x faster than the old start-up; "
          f"{med['lazy'] - med['bare']:.3f} s above the bare interpreter (target < 0.3 s)")
    print("  imports before the first request (-X importtime, cumulative ms): " +
          ", ".join(f"{m} {us / 1000:.0f}" for m, us in sorted(heavy.items(), key=lambda x: -x[1])))
    return {
        "do: spawn to first request s": round(med["lazy"], 3),
        "do: old eager start-up s": round(med["eager"], 3),
        "do: bare python -c pass s": round(med["bare"], 3),
        "do: speedup vs old start-up": round(med["eager"] / med["lazy"], 2),
        "do: above bare python s": round(med["lazy"] - med["bare"], 3),
        "do: under 0.3 s above bare python": med["lazy"] - med["bare"] < 0.3,
    }


if __name__ == "__main__":
    run()

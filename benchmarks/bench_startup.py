"""Start-up of a CLI command: time from starting ``hushtype do "gen: ..."`` to its first request.

A loopback listener stands in for the server and notes when the first request's bytes arrive
(then answers 404 so the command ends). The baseline, measured in the same run and
alternating with it, is the eager start-up hushtype had before lazy imports: the same command
after importing what it used to load up front (the history store with SQLAlchemy/Alembic and
the command pipeline with httpx), i.e. ``python -c "import <those>; <run the command>"``.
A bare ``python -c`` gives the interpreter's own floor. The main figure is the CPU time the
process has spent when it connects for its first request (less disturbed by a busy machine
than the wall time, which is printed too). Also printed: ``python -X importtime``'s cumulative
times of what the whole command imports (the history database is opened after the request).
The old eager start-up measured here runs on the typer now installed; with typer 0.29 (before
the pin) it also paid ~0.3 s for pydantic.

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
# notes the process's CPU time when it first connects (the request is about to go out)
CPU_AT_CONNECT = (
    "import socket, sys, time\n"
    "_out, _connect = sys.argv[1], socket.socket.connect\n"
    "def _first(self, address):\n"
    "    if not getattr(_first, 'done', False):\n"
    "        _first.done = True\n"
    "        open(_out, 'w').write(repr(time.process_time()))\n"
    "    return _connect(self, address)\n"
    "socket.socket.connect = _first\n"
)


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
    """(seconds from spawn to the first request, CPU seconds the process spent until then)."""
    listener = FirstRequest()
    with tempfile.NamedTemporaryFile("r", suffix=".cpu") as cpu_file:
        try:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", CPU_AT_CONNECT + code, cpu_file.name], cwd=ROOT,
                                  env=_env(home, listener.port), capture_output=True, timeout=120)
            if listener.arrived is None:
                raise RuntimeError(f"no request arrived: {proc.stderr.decode()[-500:]}")
            return listener.arrived - t0, float(Path(cpu_file.name).read_text())
        finally:
            listener.close()


def bare_python() -> tuple[float, float]:
    """(wall, CPU) of ``python -c`` that does nothing but report its CPU time."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", "import time; print(time.process_time())"],
                         check=True, timeout=60, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, float(out)


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
        lazy, eager, bare, lazy_cpu, eager_cpu, bare_cpu = [], [], [], [], [], []
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
                    t, cpu = bare_python()
                    bare.append(t)
                    bare_cpu.append(cpu)
        imports = import_time_us(COMMAND, home)
    med = {name: statistics.median(v) for name, v in
           (("lazy", lazy), ("eager", eager), ("bare", bare), ("lazy_cpu", lazy_cpu),
            ("eager_cpu", eager_cpu), ("bare_cpu", bare_cpu))}
    heavy = {m: us for m, us in imports.items() if us > 20_000}
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"`hushtype do` spawn -> first request, median of {REPEATS}: wall s / CPU s until the request")
    print(f"  lazy imports (now)        {med['lazy']:.3f} / {med['lazy_cpu']:.3f}")
    print(f"  eager imports (old)       {med['eager']:.3f} / {med['eager_cpu']:.3f}")
    print(f"  bare python               {med['bare']:.3f} / {med['bare_cpu']:.3f}")
    print(f"  -> CPU before the first request {med['eager_cpu'] / med['lazy_cpu']:.2f}x less than the "
          f"old start-up; {med['lazy_cpu']:.3f} s (target < 0.3 s); wall {med['eager'] / med['lazy']:.2f}x")
    print("  imports of the whole command, request and history included (-X importtime, cumulative ms): " +
          ", ".join(f"{m} {us / 1000:.0f}" for m, us in sorted(heavy.items(), key=lambda x: -x[1])))
    return {
        "do: CPU s before first request": round(med["lazy_cpu"], 3),
        "do: CPU s before first request, old eager": round(med["eager_cpu"], 3),
        "do: CPU s of a bare python": round(med["bare_cpu"], 3),
        "do: CPU ratio old / now": round(med["eager_cpu"] / med["lazy_cpu"], 2),
        "do: CPU before first request < 0.3 s": med["lazy_cpu"] < 0.3,
        "do: wall s spawn to first request": round(med["lazy"], 3),
        "do: wall s, old eager": round(med["eager"], 3),
        "do: wall ratio old / now": round(med["eager"] / med["lazy"], 2),
    }


if __name__ == "__main__":
    run()

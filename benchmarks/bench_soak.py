"""Soak: `hushtype up` answering typed commands for minutes; memory and open files must not grow.

A real X server (Xvfb) with a Tk text window, the bundled model server, and `hushtype up`
(typed commands only) as the user runs it. xdotool types ``fix: ...;;`` commands one after
another (each waits until its answer is in the window, then Enter) for ``HUSHTYPE_SOAK_SECONDS`` (default
180 s; ``python -m benchmarks.bench_soak --seconds 600`` for a longer run). Every 10 s the
resident memory (VmRSS), open file descriptors and threads of both processes are sampled.

Printed as ratios end/start, where "start" is the median of the samples in the first fifth of
the run after a warm-up of 3 commands and "end" the median of the last fifth (so one sample
taken mid-command does not decide it): a process that leaks shows a ratio that keeps rising
with the duration. Targets: RSS end/start <= 1.10, open files and threads end/start <= 1.0
(plus one descriptor of slack for a connection caught mid-request).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_typing import _kill, focus_text_app, xvfb
from benchmarks.live_server import bundled_server

REPO = Path(__file__).resolve().parent.parent
TEXTAPP = REPO / "tests" / "desktop" / "textapp.py"
SAMPLE_EVERY = 10.0
COMMANDS = ["fix: teh cat sat on teh mat", "fix: we recieved the pakage yesterday",
            "fix: their going to the libary tomorow", "fix: the wether is realy nice today"]


def default_seconds() -> float:
    return float(os.environ.get("HUSHTYPE_SOAK_SECONDS", "180"))


def sample(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_kib": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT count(*) FROM commands").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def _failed(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT count(*) FROM commands WHERE status != 'ok'").fetchone()[0]
    finally:
        con.close()


def _ratio(samples: list[dict], key: str) -> tuple[float, float, float]:
    fifth = max(1, len(samples) // 5)
    start = statistics.median(s[key] for s in samples[:fifth])
    end = statistics.median(s[key] for s in samples[-fifth:])
    return start, end, (end / start if start else float("inf"))


def soak(seconds: float) -> dict:
    home = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    up_home = home / "up"
    up_home.mkdir(mode=0o700)
    out = home / "text.txt"
    with bundled_server(home / "server") as bundled:
        host, server = bundled.host, bundled.proc
        app = subprocess.Popen(["/usr/bin/python3", str(TEXTAPP), str(out), "Soaktext"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        log = up_home / "up.log"
        env = dict(os.environ, HUSHTYPE_HOME=str(up_home), OLLAMA_HOST=host)
        with open(log, "wb") as f:
            up = subprocess.Popen([sys.executable, "-m", "assistant.cli", "up", "--no-voice", "--no-settings"],
                                  cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while "listening for" not in log.read_text(errors="replace"):
                if time.monotonic() > deadline or up.poll() is not None:
                    raise RuntimeError("hushtype up did not start:\n" + log.read_text(errors="replace")[-2000:])
                time.sleep(0.2)
            focus_text_app(out, "Soaktext")
            db = up_home / "history.sqlite3"
            done = 0
            timeouts = 0

            def finished() -> int:  # the log line comes once the answer is in the app
                text = log.read_text(errors="replace")
                return (text.count("typed command fix:: done") + text.count("hushtype: fix: failed")
                        + text.count("typed command fix: cancelled"))

            def one_command(text: str) -> None:
                nonlocal done, timeouts
                before = finished()
                subprocess.run(["xdotool", "type", "--delay", "12", text + ";;"], check=True)
                wait_until = time.monotonic() + 90
                while finished() <= before and time.monotonic() < wait_until:
                    time.sleep(0.05)
                if finished() > before:
                    done += 1
                else:
                    timeouts += 1
                time.sleep(0.3)
                subprocess.run(["xdotool", "key", "Return"], check=True)

            for i in range(3):                      # warm-up: model loaded, caches filled
                one_command(COMMANDS[i % len(COMMANDS)])
            up_samples, server_samples = [sample(up.pid)], [sample(server.pid)]
            started = next_sample = time.monotonic()
            next_sample += SAMPLE_EVERY
            i = 0
            while time.monotonic() - started < seconds:
                one_command(COMMANDS[i % len(COMMANDS)])
                i += 1
                if time.monotonic() >= next_sample:
                    up_samples.append(sample(up.pid))
                    server_samples.append(sample(server.pid))
                    next_sample += SAMPLE_EVERY
            up_samples.append(sample(up.pid))
            server_samples.append(sample(server.pid))
            failed = _failed(db)
            elapsed = time.monotonic() - started
        finally:
            _kill(up)
            _kill(app)
    result: dict = {"soak_seconds": round(elapsed), "commands": done, "commands_failed": failed,
                    "commands_timed_out": timeouts, "samples": len(up_samples)}
    within = True
    for label, samples in (("up", up_samples), ("server", server_samples)):
        for key, limit, slack in (("rss_kib", 1.10, 0), ("fds", 1.0, 1), ("threads", 1.0, 0)):
            start, end, ratio = _ratio(samples, key)
            result[f"{label}_{key}_start"] = round(start)
            result[f"{label}_{key}_end"] = round(end)
            result[f"{label}_{key}_end_over_start"] = round(ratio, 3)
            within = within and end <= start * limit + slack
    result["no_growth_within_target"] = within and timeouts == 0
    return result


def run(seconds: float | None = None) -> dict:
    os.environ.setdefault("HUSHTYPE_HOME", tempfile.mkdtemp(prefix="bench-soak-home-"))
    with xvfb():
        result = soak(default_seconds() if seconds is None else seconds)
    for key, value in result.items():
        print(f"{key}: {value}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None, help="soak duration (default 180 s)")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run(parser.parse_args().seconds)

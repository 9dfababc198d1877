"""The bundled server against llama.cpp's own ``llama-server`` and ``llama-bench``.

Both servers run the embedded GGUF, built from the same llama.cpp (``llama-server`` and
``llama-bench`` are compiled once from the vendored source of the installed llama-cpp-python
by ``scripts/build_llama_tools.sh`` with setup.sh's AMX-off flags, cached per version), with
the same context per request (4096), greedy-free sampling with a fixed seed, prompts
evaluated from scratch on both sides (a fixed seed skips our prompt cache; llama-server gets
``cache_prompt: false``), each side measured on the same prompt back to back, the order
alternated (ABBA), medians reported. Only the side being measured is running during a
measurement: each turn starts its server (and warms it up with a short answer), measures,
and stops it, so the other server's idle OpenMP threads never compete for the 2 cores.

Printed in one run:

* single-stream decode rate and time to first token (~20-token prompt): ours vs
  llama-server with one slot; each turn streams ``BENCH_STREAMS`` (default 3) answers, each
  on a new connection, and keeps their median; ratio = median of the turns' paired ratios;
* our single-stream decode vs ``llama-bench -n 128`` (tg128, also with
  ``OMP_WAIT_POLICY=PASSIVE`` to show what that policy costs);
* aggregate tokens/s with 1, 4 and 8 clients at once: ours with ``OLLAMA_NUM_PARALLEL`` =
  clients vs llama-server with as many slots (``-np N -c 4096*N``, Ollama's meaning);
* resident memory of both servers with the model loaded (one slot), and their idle CPU
  (cores busy while loaded but unused, over 3 s), each measured alone in its first turn;
* the single-stream turns again on a loaded machine: ``BENCH_LOAD`` spinning processes
  (default: one per core; 0 skips it) run during both sides' turns.

Decode rate = (tokens - 1) / (time of the last token - time of the first token), from the
client's side of the stream, for both servers.

    .venv/bin/python -m benchmarks server                 # BENCH_REPEATS=5 by default
    BENCH_REPEATS=3 BENCH_CLIENTS=1,4 .venv/bin/python -m benchmarks server   # a short run
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from benchmarks import live_server

REPO = Path(__file__).resolve().parent.parent
MODEL = "gemma3:270m"
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
CLIENTS = [int(c) for c in os.environ.get("BENCH_CLIENTS", "1,4,8").split(",") if c.strip()]
TOKENS = 128
AGG_TOKENS = 64
NUM_CTX = 4096
SAMPLING = {"temperature": 0.8, "top_k": 40, "top_p": 0.9, "min_p": 0.0, "seed": 42}
TOPICS = ["the history of bread", "a lighthouse keeper", "how rivers form", "a trip to the moon",
          "the first computers", "a cat who learns to swim", "winter in a mountain village"]


def _prompt(i: int) -> str:
    # ~20 tokens with the BOS
    return f"Here is a long, detailed story about {TOPICS[i % len(TOPICS)]}.\n\nOnce upon a time"


class Ours:
    name = "hushtype"

    def __init__(self, home: Path, parallel: int, wait_policy: str | None = None):
        import httpx

        env = {"OLLAMA_NUM_PARALLEL": str(parallel)}
        if wait_policy:                 # what a user sets on a dedicated box (default: ours)
            env["OMP_WAIT_POLICY"] = wait_policy
        server = live_server.start(home, env, log_name=f"server-{parallel}.log")
        self.proc, self.url = server.proc, server.url

        httpx.post(self.url + "/api/generate", json={"model": MODEL, "keep_alive": -1}, timeout=300).raise_for_status()

    def stream(self, client, prompt: str, n: int) -> dict:
        body = {"model": MODEL, "prompt": prompt, "raw": True, "keep_alive": -1,
                "options": dict(SAMPLING, num_predict=n, num_ctx=NUM_CTX, stop=[])}
        start = time.perf_counter()
        stamps = []
        with client.stream("POST", self.url + "/api/generate", json=body) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                chunk = json.loads(line)
                if chunk.get("response"):
                    stamps.append(time.perf_counter())
                if chunk.get("done"):
                    tokens = chunk["eval_count"]
        return _timing(start, stamps, tokens)

    def close(self):
        live_server.stop_process(self.proc)


class LlamaServer:
    name = "llama-server"

    def __init__(self, binary: Path, gguf: Path, home: Path, parallel: int):
        port = live_server.free_port()
        log = home / f"llama-server-{parallel}.log"
        args = [str(binary), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port),
                "-c", str(NUM_CTX * parallel), "-np", str(parallel), "--no-webui", "-ngl", "0"]
        self.proc = subprocess.Popen(args, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
                                     env=_baseline_env())
        self.url = f"http://127.0.0.1:{port}"
        live_server.wait_ready(self.url, self.proc, log, "/health")

    def stream(self, client, prompt: str, n: int) -> dict:
        body = dict(SAMPLING, prompt=prompt, n_predict=n, stream=True, cache_prompt=False)
        start = time.perf_counter()
        stamps = []
        tokens = 0
        with client.stream("POST", self.url + "/completion", json=body) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if not line.startswith("data: "):
                    continue
                chunk = json.loads(line[6:])
                if chunk.get("content"):
                    stamps.append(time.perf_counter())
                if chunk.get("stop"):
                    tokens = int(chunk.get("tokens_predicted") or len(stamps))
        return _timing(start, stamps, tokens)

    def close(self):
        live_server.stop_process(self.proc)


def _baseline_env() -> dict:
    """llama-server as a user runs it: llama.cpp's own OpenMP policy, not the one our engine's
    import put into this process (``BENCH_BASELINE_OMP`` sets one on purpose)."""
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if os.environ.get("BENCH_BASELINE_OMP"):
        env["OMP_WAIT_POLICY"] = os.environ["BENCH_BASELINE_OMP"]
    return env


def _timing(start: float, stamps: list[float], tokens: int) -> dict:
    if len(stamps) < 2:
        raise RuntimeError("the server streamed fewer than 2 pieces")
    # Pieces, not tokens, are timed; the rate counts tokens over the same span.
    rate = (tokens - 1) / (stamps[-1] - stamps[0]) if tokens > 1 else 0.0
    return {"ttft": stamps[0] - start, "rate": rate, "tokens": tokens, "end": stamps[-1]}


def _rss_mb(pid: int) -> float:
    """Resident set of a process and its children (llama-server has none; ours neither)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


STREAMS_PER_TURN = int(os.environ.get("BENCH_STREAMS", "3"))


def _streams(side, i: int, n: int = TOKENS) -> dict:
    """``STREAMS_PER_TURN`` single streams on one server turn, each on a new connection (as a
    client that comes and goes); the turn's medians. Several streams per turn keep one slow
    moment of a shared machine from deciding a turn."""
    import httpx

    rows = []
    for k in range(STREAMS_PER_TURN):
        with httpx.Client(timeout=600) as client:
            rows.append(side.stream(client, _prompt(i * STREAMS_PER_TURN + k), n))
    return {"rate": statistics.median(r["rate"] for r in rows), "ttft": statistics.median(r["ttft"] for r in rows),
            "tokens": rows[-1]["tokens"], "end": rows[-1]["end"]}


def _idle_cpu(pids: list[int], seconds: float = 3.0) -> list[float]:
    before = [_cpu_seconds(p) for p in pids]
    time.sleep(seconds)
    return [(_cpu_seconds(p) - b) / seconds for p, b in zip(pids, before)]


def _aggregate(side, n_clients: int, round_no: int) -> float:
    """Total tokens/s of ``n_clients`` streams started together."""
    import httpx

    results: list[dict] = []
    errors: list[BaseException] = []

    def one(i):
        try:
            with httpx.Client(timeout=600) as c:
                results.append(side.stream(c, _prompt(round_no * 16 + i), AGG_TOKENS))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n_clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    wall = max(r["end"] for r in results) - started
    return sum(r["tokens"] for r in results) / wall


def _llama_bench(binary: Path, gguf: Path, threads: int, passive: bool) -> float:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    out = subprocess.run([str(binary), "-m", str(gguf), "-p", "0", "-n", str(TOKENS), "-r", "3", "-t", str(threads),
                          "-o", "json"], capture_output=True, text=True, env=env, timeout=900, check=True)
    rows = json.loads(out.stdout)
    return float(rows[0]["avg_ts"])


def _tools() -> Path:
    out = subprocess.run(["bash", str(REPO / "scripts" / "build_llama_tools.sh")], capture_output=True, text=True,
                         cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError("building llama-server/llama-bench failed:\n" + out.stderr[-3000:])
    return Path(out.stdout.strip().splitlines()[-1])


def _turns(make_a, make_b, fn, repeats: int, probe=None) -> tuple[list, list, list]:
    """``fn(side, i)`` for both sides in ABBA order, each turn on a freshly started server that
    is the only one running (warmed up with a short answer first, stopped after). ``probe(side)``
    runs at the end of each side's first turn; returns (a results, b results, [a probe, b probe])."""
    import httpx

    a, b, probes = [], [], [None, None]

    def turn(make, out, k, i):
        side = make()
        try:
            with httpx.Client(timeout=600) as client:
                side.stream(client, _prompt(99), 8)  # warm-up: the first answer of a process is slow
            out.append(fn(side, i))
            if probe is not None and probes[k] is None:
                probes[k] = probe(side)
        finally:
            side.close()

    for i in range(repeats):
        order = [(make_a, a, 0), (make_b, b, 1)]
        if i % 4 not in (0, 3):
            order.reverse()
        for make, out, k in order:
            turn(make, out, k, i)
    return a, b, probes


def _alone(side) -> tuple[float, float]:
    """(idle CPU in cores over 3 s, resident MB) of a server with its model loaded."""
    return _idle_cpu([side.proc.pid])[0], _rss_mb(side.proc.pid)


def run() -> dict:
    import httpx

    from benchmarks.cpu_load import busy_cores, load_processes
    from inference.engine.threads import physical_cores
    from inference.models.store import ModelStore

    tools = _tools()
    home = Path(tempfile.mkdtemp(prefix="bench-server-"))
    result: dict = {}
    policy = os.environ.get("BENCH_OURS_OMP")  # e.g. ACTIVE on a dedicated box

    def gguf() -> Path:  # the embedded model, installed by our server's first start
        return ModelStore(home / "models").get(MODEL).model_path

    def ours(n):
        return lambda: Ours(home, n, wait_policy=policy if n == 1 else None)

    def theirs(n):
        return lambda: LlamaServer(tools / "llama-server", gguf(), home, n)

    try:
        o, t, probes = _turns(ours(1), theirs(1), _streams, REPEATS, probe=_alone)
        (idle_ours, rss_ours), (idle_theirs, rss_theirs) = probes

        decode_ratio = statistics.median(b["rate"] / a["rate"] for a, b in zip(t, o))
        o_rate, t_rate = statistics.median(r["rate"] for r in o), statistics.median(r["rate"] for r in t)
        o_ttft, t_ttft = (statistics.median(r["ttft"] for r in rows) * 1000 for rows in (o, t))
        ttft_diff = statistics.median((a["ttft"] - b["ttft"]) * 1000 for a, b in zip(o, t))
        cores = physical_cores()
        bench = _llama_bench(tools / "llama-bench", gguf(), cores, passive=False)
        bench_passive = _llama_bench(tools / "llama-bench", gguf(), cores, passive=True)
        model_mb = gguf().stat().st_size / 2**20
        print(f"{'':34}{'hushtype':>12}{'llama-server':>14}{'ratio':>8}   (llama-server: OpenMP policy "
              f"{os.environ.get('BENCH_BASELINE_OMP') or 'llama.cpp default'}; hushtype: "
              f"{policy or os.environ.get('OMP_WAIT_POLICY') or 'llama.cpp default, threads fitted to free cores'}"
              f"; one server up at a time)")
        print(f"{'single-stream decode tok/s':34}{o_rate:12.1f}{t_rate:14.1f}{decode_ratio:8.3f}   goal >= 1.0")
        print(f"{'time to first token ms':34}{o_ttft:12.1f}{t_ttft:14.1f}{'':8}   paired difference {ttft_diff:+.1f} ms, goal <= 0")
        print(f"{'llama-bench tg{} tok/s'.format(TOKENS):34}{'':12}{bench:14.1f}{o_rate / bench:8.3f}"
              f"   (with OMP_WAIT_POLICY=PASSIVE: {bench_passive:.1f})")
        print(f"{'resident MB (model loaded)':34}{rss_ours:12.0f}{rss_theirs:14.0f}{'':8}   goal <= model file "
              f"{model_mb:.0f} + 200 = {model_mb + 200:.0f}")
        print(f"{'idle CPU, cores (loaded, unused)':34}{idle_ours:12.3f}{idle_theirs:14.3f}")
        result.update(decode_ratio_vs_llama_server=round(decode_ratio, 3), decode_tok_s=round(o_rate, 1),
                      llama_server_decode_tok_s=round(t_rate, 1), ttft_ms=round(o_ttft, 1),
                      llama_server_ttft_ms=round(t_ttft, 1), ttft_paired_difference_ms=round(ttft_diff, 1),
                      llama_bench_tg128_tok_s=round(bench, 1), llama_bench_tg128_passive_tok_s=round(bench_passive, 1),
                      decode_vs_llama_bench=round(o_rate / bench, 3), rss_mb=round(rss_ours),
                      llama_server_rss_mb=round(rss_theirs), rss_goal_met=rss_ours <= model_mb + 200,
                      idle_cpu_cores=round(idle_ours, 3), llama_server_idle_cpu_cores=round(idle_theirs, 3))

        loaders = load_processes()
        if loaders:  # the same single-stream turns while `loaders` processes keep cores busy
            with busy_cores(loaders):
                lo, lt, _ = _turns(ours(1), theirs(1), _streams, max(2, REPEATS // 2 + 1))
            loaded_ratio = statistics.median(b["rate"] / a["rate"] for a, b in zip(lt, lo))
            lo_rate, lt_rate = (statistics.median(r["rate"] for r in rows) for rows in (lo, lt))
            lo_ttft, lt_ttft = (statistics.median(r["ttft"] for r in rows) * 1000 for rows in (lo, lt))
            print(f"{f'loaded ({loaders} busy processes): decode':34}{lo_rate:12.1f}{lt_rate:14.1f}{loaded_ratio:8.3f}")
            print(f"{'loaded: time to first token ms':34}{lo_ttft:12.1f}{lt_ttft:14.1f}")
            result.update(loaded_decode_ratio_vs_llama_server=round(loaded_ratio, 3),
                          loaded_decode_tok_s=round(lo_rate, 1), loaded_llama_server_decode_tok_s=round(lt_rate, 1),
                          loaded_ttft_ms=round(lo_ttft, 1), loaded_llama_server_ttft_ms=round(lt_ttft, 1))

        for n in CLIENTS:
            a, b, _ = _turns(ours(n), theirs(n), lambda s, i: _aggregate(s, n, i), max(3, REPEATS // 2 + 1))
            ratio = statistics.median(x / y for x, y in zip(a, b))
            print(f"{f'{n} clients, aggregate tok/s':34}{statistics.median(a):12.1f}{statistics.median(b):14.1f}"
                  f"{ratio:8.3f}   ({n} slots each{', goal >= 0.9' if n == 4 else ''})")
            result[f"aggregate_{n}_clients_ratio"] = round(ratio, 3)
            result[f"aggregate_{n}_clients_tok_s"] = round(statistics.median(a), 1)
        print(f"({REPEATS} paired repetitions of {STREAMS_PER_TURN} streams of {TOKENS} tokens (a turn's median), "
              f"{AGG_TOKENS} tokens per client in the aggregate runs; medians; ours/llama-server tok/s per turn: "
              + ", ".join(f"{x['rate']:.1f}/{y['rate']:.1f}" for x, y in zip(o, t)) + ")")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return result


if __name__ == "__main__":
    run()

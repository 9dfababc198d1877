"""Decode speed and time-to-first-token: llama-cpp-python called directly vs our server over HTTP.

Both sides run the embedded model (same GGUF, n_ctx 4096, llama.cpp's default thread counts)
on the same prompts with the same sampling options and seed, warm, several repetitions,
interleaved so that background load hits both alike. Each repetition uses a new prompt and
evaluates it from scratch on both sides (a fixed seed makes the server skip its prompt
cache; the direct side is reset).

* direct: ``Llama.generate`` token loop + per-token detokenisation (the leanest streaming
  loop a caller of llama-cpp-python can write).
* server: ``POST /api/generate`` (``raw``, streaming NDJSON) through ``httpx``.

Decode rate = (tokens - 1) / (time of the last token - time of the first token); the ratio is
the median over repetitions of server/direct measured back to back on the same prompt.
TTFT = from the call / request until the first token arrives. On a busy machine the prompt
evaluation itself varies by more than 10 ms between runs, so the time the server adds is
also measured inside each request: client-side TTFT minus the server's own
``prompt_eval_duration`` (HTTP, JSON, routing, tokenising, queueing, thread hand-off).
Targets: server decode rate >= 0.97x direct; added TTFT <= 10 ms.

    .venv/bin/python -m benchmarks server
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL = "gemma3:270m"
REPEATS = 9
TOKENS = 128
OPTIONS = {"temperature": 0.8, "top_k": 40, "top_p": 0.9, "min_p": 0.0, "typical_p": 1.0,
           "repeat_penalty": 1.0, "seed": 42, "num_predict": TOKENS, "stop": []}
TOPICS = ["the history of bread", "a lighthouse keeper", "how rivers form", "a trip to the moon",
          "the first computers", "a cat who learns to swim", "winter in a mountain village"]


def _prompt(i: int) -> str:
    return f"Here is a long, detailed story about {TOPICS[i % len(TOPICS)]}.\n\nOnce upon a time"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(home: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    env = dict(os.environ, HUSHTYPE_HOME=str(home), OLLAMA_HOST=f"127.0.0.1:{port}")
    env.pop("OLLAMA_MODELS", None)
    proc = subprocess.Popen([sys.executable, "-m", "inference", "serve"], cwd=REPO, env=env,
                            stdout=open(home / "server.log", "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise RuntimeError("server exited:\n" + (home / "server.log").read_text()[-3000:])
        try:
            httpx.get(url + "/", timeout=2)
            return proc, url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _direct(llm, prompt: str) -> dict:
    """Stream TOKENS tokens with llama-cpp-python's own generator loop."""
    start = time.perf_counter()
    llm.reset()
    llm.set_seed(OPTIONS["seed"])
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    stamps = []
    pieces = []
    for token in llm.generate(tokens, top_k=OPTIONS["top_k"], top_p=OPTIONS["top_p"], min_p=OPTIONS["min_p"],
                              typical_p=OPTIONS["typical_p"], temp=OPTIONS["temperature"],
                              repeat_penalty=OPTIONS["repeat_penalty"], reset=True):
        pieces.append(llm.detokenize([token]))
        stamps.append(time.perf_counter())
        if len(stamps) >= TOKENS:
            break
    return {"ttft": stamps[0] - start, "rate": (len(stamps) - 1) / (stamps[-1] - stamps[0]), "tokens": len(stamps)}


def _server(client, url: str, prompt: str) -> dict:
    body = {"model": MODEL, "prompt": prompt, "raw": True, "options": OPTIONS, "keep_alive": -1}
    start = time.perf_counter()
    first = None
    final = None
    with client.stream("POST", url + "/api/generate", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            chunk = json.loads(line)
            if first is None and (chunk.get("response") or chunk.get("done")):
                first = time.perf_counter()
            if chunk.get("done"):
                final = chunk
                last = time.perf_counter()
    n = final["eval_count"]
    ttft = first - start
    return {"ttft": ttft, "rate": (n - 1) / (last - first), "tokens": n,
            # what the server adds to the first token beyond the model's own prompt evaluation
            # (HTTP, JSON, routing, tokenising, queue, thread hand-off), measured in one request
            "overhead": ttft - final["prompt_eval_duration"] / 1e9}


def run() -> dict:
    # The server's runtime sleeps llama.cpp's idle OpenMP threads (see inference/engine/runtime.py);
    # the direct side gets the same setting before llama.cpp is loaded.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import httpx
    from llama_cpp import Llama

    from inference.engine.runtime import install_log_bridge
    from inference.models.store import ModelStore

    home = Path(tempfile.mkdtemp(prefix="bench-server-"))
    proc = None
    try:
        proc, url = _start_server(home)
        gguf = ModelStore(home / "models").get(MODEL).model_path
        install_log_bridge()  # keep llama.cpp's log lines off the table
        llm = Llama(str(gguf), n_ctx=4096, verbose=False, swa_full=True)
        with httpx.Client(timeout=300) as client:
            client.post(url + "/api/generate", json={"model": MODEL, "keep_alive": -1}).raise_for_status()
            _server(client, url, _prompt(99))  # warm-up both sides
            _direct(llm, _prompt(99))
            direct, server = [], []
            for i in range(REPEATS):  # ABBA order: drift in background load hits both sides
                if i % 4 in (0, 3):
                    direct.append(_direct(llm, _prompt(i)))
                    server.append(_server(client, url, _prompt(i)))
                else:
                    server.append(_server(client, url, _prompt(i)))
                    direct.append(_direct(llm, _prompt(i)))
        llm.close()
    finally:
        if proc is not None:
            _stop_server(proc)
        shutil.rmtree(home, ignore_errors=True)

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    d_rate, s_rate = med(direct, "rate"), med(server, "rate")
    d_ttft, s_ttft = med(direct, "ttft") * 1000, med(server, "ttft") * 1000
    # Each repetition runs both sides back to back on the same prompt: the median of these
    # paired ratios cancels most of the drift in background load between repetitions.
    ratio = statistics.median(b["rate"] / a["rate"] for a, b in zip(direct, server))
    added = s_ttft - d_ttft
    overhead = med(server, "overhead") * 1000
    print(f"{'':22}{'direct':>10}{'server':>10}{'ratio':>8}")
    print(f"{'decode tokens/s':22}{d_rate:10.1f}{s_rate:10.1f}{ratio:8.3f}   target >= 0.97 "
          "(median of paired ratios)")
    print(f"{'time to first token':22}{d_ttft:8.1f}ms{s_ttft:8.1f}ms{'':8}   difference of medians {added:+.1f} ms")
    print(f"{'server TTFT overhead':22}{'':10}{overhead:8.1f}ms{'':8}   (client TTFT - server prompt eval, "
          "same request), target <= 10 ms")
    print(f"({REPEATS} repetitions, {TOKENS} tokens each, medians; per run direct/server tokens/s: "
          + ", ".join(f"{a['rate']:.1f}/{b['rate']:.1f}" for a, b in zip(direct, server)) + ")")
    return {
        "direct_decode_tok_s": round(d_rate, 2),
        "server_decode_tok_s": round(s_rate, 2),
        "decode_ratio_server_vs_direct": round(ratio, 3),
        "decode_target_met": ratio >= 0.97,
        "direct_ttft_ms": round(d_ttft, 1),
        "server_ttft_ms": round(s_ttft, 1),
        "ttft_difference_of_medians_ms": round(added, 1),
        "server_ttft_overhead_ms": round(overhead, 1),
        "ttft_target_met": overhead <= 10.0,
    }


if __name__ == "__main__":
    run()

"""fix: quality and command latency on the embedded model, versus a plain one-line prompt.

Quality: character error rate (CER) against hand-written references for 15 misspelled
sentences — before (the input itself), after our few-shot ``fix:`` prompt, and after a plain
one-line prompt ("Correct the spelling and grammar of this text: ...") sent to the same model
in the same run. Latency: wall time per command for both, plus ``sum:`` and ``gen:``.

Uses the server at ``OLLAMA_HOST`` if one answers there, else starts the bundled server
(``python -m inference serve``) on a free loopback port with a temporary data directory.

    .venv/bin/python -m benchmarks.bench_commands
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL = "gemma3:270m"

# (misspelled input, reference correction) — written for this benchmark
SENTENCES = [
    ("teh cat sat on teh mat", "The cat sat on the mat."),
    ("I recieved you're letter yesterday.", "I received your letter yesterday."),
    ("She dont like coffe in the morning.", "She doesn't like coffee in the morning."),
    ("We was going to the libary after school.", "We were going to the library after school."),
    ("Their are to many peple in this room.", "There are too many people in this room."),
    ("He have been working hear for ten years.", "He has been working here for ten years."),
    ("Can you beleive how fast the tim goes?", "Can you believe how fast the time goes?"),
    ("The wether is realy nice today.", "The weather is really nice today."),
    ("I will definately call you tommorow.", "I will definitely call you tomorrow."),
    ("My freind and me went to the consert.", "My friend and I went to the concert."),
    ("Its important to drink enuf water.", "It's important to drink enough water."),
    ("The childs was playing in the gardn.", "The children were playing in the garden."),
    ("Please send me the documants befor friday.", "Please send me the documents before Friday."),
    ("I has finished my homwork allready.", "I have finished my homework already."),
    ("The resturant was closed becuase of the holiday.", "The restaurant was closed because of the holiday."),
]
SUM_TEXT = ("The city library will close for three weeks in January while workers replace the old "
            "heating system and repair the roof above the reading room. During the closure, books "
            "can be returned at the drop box by the main entrance, and the mobile library bus will "
            "visit the market square every Tuesday and Thursday afternoon.")
GEN_TEXT = "a short note thanking my neighbour for watering my plants"


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate: Levenshtein distance / reference length (via jiwer)."""
    import jiwer

    return jiwer.cer(reference, hypothesis if hypothesis else " ")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server():
    """The base URL of a running server: ``OLLAMA_HOST``'s, or a bundled one started here."""
    from assistant.ollama_client import OllamaClient, resolve_base_url

    if os.environ.get("OLLAMA_HOST") and OllamaClient(resolve_base_url()).is_running():
        yield resolve_base_url()
        return
    home = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    port = _free_port()
    env = dict(os.environ, HUSHTYPE_HOME=str(home), OLLAMA_HOST=f"127.0.0.1:{port}")
    env.pop("OLLAMA_MODELS", None)
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "inference", "serve"], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        client = OllamaClient(url)
        deadline = time.monotonic() + 180
        while not client.is_running():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bundled server did not start:\n"
                                   + (home / "server.log").read_text(errors="replace")[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def run() -> dict:
    from assistant.commands.cleanup import clean_text
    from assistant.commands.pipeline import CommandPipeline
    from assistant.commands.prompts import plain_prompt
    from assistant.config import load_defaults
    from assistant.ollama_client import OllamaClient

    with server() as url:
        settings = load_defaults()
        settings["server"].update(url=url, model=MODEL, timeout_seconds=300)
        pipeline = CommandPipeline(settings, history=False)
        client = OllamaClient(url, timeout=300)
        client.preload(MODEL, keep_alive="10m")  # both sides start warm
        fix = pipeline.specs["fix"]
        rows = []
        for text, ref in SENTENCES:
            t0 = time.perf_counter()
            ours = pipeline.run_spec(fix, text)
            ours_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            plain = client.generate(MODEL, plain_prompt(fix, text),
                                    options={"temperature": 0.0, "num_predict": 96})
            plain_s = time.perf_counter() - t0
            plain_line = next((ln for ln in plain.text.strip().splitlines() if ln.strip()), "")
            plain_out = clean_text(plain_line, text)
            rows.append({"input": text, "reference": ref, "ours": ours.output or "", "plain": plain_out,
                         "cer_before": cer(text, ref), "cer_ours": cer(ours.output or "", ref),
                         "cer_plain": cer(plain_out, ref), "ours_s": ours_s, "plain_s": plain_s,
                         "ours_ok": ours.status == "ok", "note": ours.note})
        sums = pipeline.run_spec(pipeline.specs["sum"], SUM_TEXT)
        gens = pipeline.run_spec(pipeline.specs["gen"], GEN_TEXT)

    mean = lambda key: statistics.fmean(r[key] for r in rows)  # noqa: E731
    result = {
        "cer_before": mean("cer_before"), "cer_ours": mean("cer_ours"), "cer_plain": mean("cer_plain"),
        "exact_ours": sum(r["ours"] == r["reference"] for r in rows),
        "exact_plain": sum(r["plain"] == r["reference"] for r in rows),
        "fix_latency_ours_s": statistics.median(r["ours_s"] for r in rows),
        "fix_latency_plain_s": statistics.median(r["plain_s"] for r in rows),
        "sum_latency_s": sums.timings.get("total_ms", 0) / 1000, "sum_ok": sums.status == "ok",
        "sum_ratio": len(sums.output or "") / len(SUM_TEXT),
        "gen_latency_s": gens.timings.get("total_ms", 0) / 1000,
        "gen_first_chunk_s": gens.timings.get("first_chunk_ms", 0) / 1000,
        "rows": rows,
    }
    print(f"bench_commands: {len(rows)} misspelled sentences, model {MODEL}")
    for r in rows:
        print(f"  {r['input'][:44]:<44} -> ours {r['ours'][:44]!r:<48} plain {r['plain'][:40]!r}")
    print(f"  fix CER  before {result['cer_before']:.3f} | ours {result['cer_ours']:.3f} | "
          f"plain prompt {result['cer_plain']:.3f}   "
          f"(ours/plain CER ratio {result['cer_ours'] / max(result['cer_plain'], 1e-9):.2f})")
    print(f"  exact matches: ours {result['exact_ours']}/{len(rows)}, plain {result['exact_plain']}/{len(rows)}")
    print(f"  fix latency median: ours {result['fix_latency_ours_s']:.2f}s | plain "
          f"{result['fix_latency_plain_s']:.2f}s (ratio "
          f"{result['fix_latency_ours_s'] / max(result['fix_latency_plain_s'], 1e-9):.2f})")
    print(f"  sum: {result['sum_latency_s']:.2f}s, output/input length {result['sum_ratio']:.2f}; "
          f"gen: {result['gen_latency_s']:.2f}s total, first chunk {result['gen_first_chunk_s']:.2f}s")
    return result


if __name__ == "__main__":
    run()

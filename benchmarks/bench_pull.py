"""Registry pull: throughput on loopback and the cost of resuming an interrupted pull.

The embedded Gemma 3 270M GGUF (~250 MB) is published on the loopback OCI registry used by
the tests (tests/inference_models/oci_registry.py) and pulled with inference.models.registry into a
temporary store. Baseline, measured in the same run against the same registry: one plain
sequential GET of the blob into a file, hashed afterwards (what a naive client does).

Resume: the link goes down half-way through the model blob; the pull fails, the link comes
back and the same pull runs again. Reported: bytes transferred in total / blob size (1.00 is
ideal; restarting from zero would be ~1.5), and bytes downloaded twice.

    .venv/bin/python -m benchmarks.bench_pull
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "inference_models"))

REPEATS = 2


def _embedded_gguf(tmp: Path) -> bytes:
    from inference.models.embedded import ensure_embedded
    from inference.models.store import ModelStore

    record = ensure_embedded(ModelStore(tmp / "source-store"))
    return record.model_path.read_bytes()


def _pull(store, name: str, settings=None) -> tuple[float, int, str | None]:
    from inference.models.registry import PullError, start_pull

    async def go():
        job = await start_pull(store, name, insecure=True, settings=settings)
        try:
            async for _ in job.run():
                pass
        except PullError as exc:
            return job.bytes_received, str(exc)
        return job.bytes_received, None

    start = time.perf_counter()
    received, error = asyncio.run(go())
    return time.perf_counter() - start, received, error


def _baseline(url: str, dest: Path) -> float:
    start = time.perf_counter()
    h = hashlib.sha256()
    with httpx.stream("GET", url, follow_redirects=True, timeout=60) as r, open(dest, "wb") as fh:
        for chunk in r.iter_raw(1 << 20):
            fh.write(chunk)
    with open(dest, "rb") as fh:
        while block := fh.read(4 << 20):
            h.update(block)
    return time.perf_counter() - start


def run() -> dict:
    from oci_registry import LoopbackRegistry

    from inference.models.store import ModelStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    registry = LoopbackRegistry().start()
    try:
        data = _embedded_gguf(tmp)
        size = len(data)
        manifest = registry.add_model("library/gemma", "bench", data)
        digest = manifest["layers"][0]["digest"]
        name = f"{registry.host}/library/gemma:bench"
        mb = size / 1e6

        pull_times, base_times = [], []
        for i in range(REPEATS):
            base_times.append(_baseline(f"http://{registry.host}/v2/library/gemma/blobs/{digest}", tmp / f"b{i}"))
            (tmp / f"b{i}").unlink()
            store = ModelStore(tmp / f"store{i}")
            seconds, received, error = _pull(store, name)
            assert error is None, error
            pull_times.append(seconds)
            shutil.rmtree(tmp / f"store{i}")
        pull_best, base_best = min(pull_times), min(base_times)

        # resume after the link dies half-way through the model blob
        store = ModelStore(tmp / "resume-store")
        registry.reset_counters()
        registry.drop_after_total = size // 2
        _, first_received, error = _pull(store, name)
        assert error and "resume" in error, error
        registry.drop_after_total = None
        seconds, second_received, error = _pull(store, name)
        assert error is None, error
        served = registry.served.get(digest, 0)
        all_blobs = sum(len(b) for b in registry.blobs.values())
        # bytes the client received in both pulls (0 = it resumed exactly where it stopped)
        twice = first_received + second_received - all_blobs
        resent = served - size  # includes bytes lost in socket buffers when the link died
        total_ratio = served / size

        # a flaky link: every response is cut after 16 MB; the pull retries on its own
        registry.reset_counters()
        registry.cut_each_response_after = 16 << 20
        flaky_store = ModelStore(tmp / "flaky-store")
        flaky_seconds, _, error = _pull(flaky_store, name)
        assert error is None, error
        flaky_ratio = registry.served.get(digest, 0) / size
        registry.cut_each_response_after = None
    finally:
        registry.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    result = {
        "blob_mb": round(mb, 1),
        "pull_mb_s": round(mb / pull_best, 1),
        "baseline_single_get_mb_s": round(mb / base_best, 1),
        "pull_vs_baseline": round(base_best / pull_best, 2),
        "resume_total_bytes_ratio": round(total_ratio, 3),
        "resume_bytes_received_twice": int(twice),
        "resume_bytes_resent_by_registry": int(resent),
        "flaky_link_total_bytes_ratio": round(flaky_ratio, 3),
        "flaky_link_mb_s": round(mb / flaky_seconds, 1),
    }
    print(f"pull of a {mb:.0f} MB GGUF over loopback: {result['pull_mb_s']} MB/s "
          f"(parallel Range parts + sha256 verify + manifest)")
    print(f"baseline, one plain GET + sha256: {result['baseline_single_get_mb_s']} MB/s "
          f"-> pull/baseline speed ratio {result['pull_vs_baseline']}x")
    print(f"resume after a cut at 50%: {result['resume_total_bytes_ratio']}x the blob transferred in total "
          f"(restart from zero: ~1.5x); received twice by the client: {result['resume_bytes_received_twice']} B, "
          f"sent again by the registry (incl. socket buffers lost in the cut): "
          f"{result['resume_bytes_resent_by_registry']} B")
    print(f"flaky link (every response cut after 16 MB): {result['flaky_link_total_bytes_ratio']}x the blob "
          f"transferred, {result['flaky_link_mb_s']} MB/s")
    return result


if __name__ == "__main__":
    run()

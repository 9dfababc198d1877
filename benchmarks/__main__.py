"""``python -m benchmarks [NAME ...]``: run every ``benchmarks/bench_*.py`` (or the named ones,
``server`` = ``bench_server``) and print a summary table of the metrics each ``run()`` returns.

A benchmark that fails is reported in the table and the others still run; the exit status is
1 if any failed.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def _format(value) -> str:
    if isinstance(value, (list, tuple, dict)):  # per-item detail: each benchmark prints its own
        return f"({len(value)} items, printed above)"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    rows: list[tuple[str, str, str]] = []
    failed = False
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            result = module.run() or {}
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            traceback.print_exc()
            rows.append((name, "FAILED", f"{exc.__class__.__name__}: {exc}"))
            failed = True
            continue
        items = result.items() if isinstance(result, dict) else [("result", result)]
        for key, value in items:
            rows.append((name, str(key), _format(value)))
        rows.append((name, "seconds", f"{time.perf_counter() - started:.0f}"))
    if rows:
        widths = [max(len(r[i]) for r in rows + [("benchmark", "metric")]) for i in range(2)]
        print(f"\n{'benchmark'.ljust(widths[0])}  {'metric'.ljust(widths[1])}  value")
        print(f"{'-' * widths[0]}  {'-' * widths[1]}  -----")
        for name, metric, value in rows:
            print(f"{name.ljust(widths[0])}  {metric.ljust(widths[1])}  {value}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

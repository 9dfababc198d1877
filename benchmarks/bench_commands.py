"""fix:, sum: and gen: — answers a user can trust, against the baselines a user would pick,
measured in one run on the embedded model (gemma3:270m).

* ``fix:`` on hand-written typing errors (``data/fix_sentences.jsonl``, written before the
  pipeline was tuned, and ``data/fix_sentences_heldout.jsonl``, written after and run
  unchanged): exact sentences, WER/CER (jiwer), sentences made worse (further from the
  reference than the input was), median latency. Sides: the pipeline (default settings),
  the pipeline without the model's rewrite, the old few-shot prompt alone (the path before
  the pipeline, ``fix_mode="prompt"``) and a dictionary-only baseline (SymSpell
  ``lookup_compound``). The model sides alternate their order per sentence.
* ``sum:`` on paragraphs of a dozen genres with their key facts marked: ``data/sum_paragraphs.json``
  (21 paragraphs the checked flow was tuned on), ``data/sum_paragraphs_heldout.json`` (10,
  held out in the first round, since then a development set that the second round studied),
  ``data/sum_paragraphs_dev2.json`` (12 development paragraphs of the second round, with text
  laid out in lines: chat turns, lists, steps, a hard-wrapped letter),
  ``data/sum_paragraphs_dev3.json`` (10 development paragraphs of the third round in genres
  the others lack: itinerary, job offer, bug report, match report, discharge note, ...),
  ``data/sum_paragraphs_dev4.json`` (8 of the fourth round, written before that round's changes
  were measured on them: vet note, car service, weather warning, lease renewal, ...)
  and ``data/sum_paragraphs_heldout2.json`` (16, written before the second round's tuning and
  never tuned on: its figure says whether issue 11's target, >= 80 % of key facts, is met):
  key facts kept, invented numbers/names, length ratio (mean and max), median latency —
  checked ``sum:`` vs the unchecked prompt and vs the extractive summary alone.
* ``gen:`` on requests with checkable constraints (``data/gen_requests.json``, tuned on, and
  ``data/gen_requests_heldout.json``, written before the opening rules and never tuned on):
  constraints met — checked ``gen:`` vs the unchecked prompt.

Uses the server at ``OLLAMA_HOST`` if one answers there, else starts the bundled server
(``python -m inference serve``) on a free loopback port with a temporary data directory.

    .venv/bin/python -m benchmarks commands       (about 15-20 minutes on 2 busy cores)
    BENCH_COMMANDS=sum .venv/bin/python -m benchmarks commands      (only sum:; fix, gen too)
"""

from __future__ import annotations

import json
import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

from benchmarks.live_server import model_server

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
MODEL = "gemma3:270m"


def load_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate: Levenshtein distance / reference length (via jiwer)."""
    import jiwer

    return jiwer.cer(reference, hypothesis if hypothesis else " ")


def wer(hypothesis: str, reference: str) -> float:
    import jiwer

    return jiwer.wer(reference, hypothesis if hypothesis else " ")


@contextmanager
def server():
    """The base URL of a running server: ``OLLAMA_HOST``'s, or a bundled one started here."""
    with model_server() as running:
        yield running.url


class DictionaryOnly:
    """The dictionary-only baseline: SymSpell ``lookup_compound`` on each line (what a plain
    spell checker would give; it lower-cases and drops punctuation)."""

    def __init__(self):
        from assistant.commands.fix.spelling import dictionary

        self.symspell = dictionary().symspell

    def __call__(self, text: str) -> str:
        lines = []
        for line in text.split("\n"):
            found = self.symspell.lookup_compound(line, max_edit_distance=2) if line.strip() else []
            lines.append(found[0].term if found else line)
        return "\n".join(lines)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_fix(pipeline, rows: list[dict], label: str) -> dict:
    fix = pipeline.specs["fix"]
    baseline = DictionaryOnly()
    sides = {"pipeline": [], "no_rewrite": [], "prompt": [], "dictionary": []}
    runs = {
        "pipeline": lambda t: pipeline.run_spec(fix, t, fix_mode="pipeline"),
        "no_rewrite": lambda t: pipeline.run_spec(fix, t, fix_mode="dictionary"),
        "prompt": lambda t: pipeline.run_spec(fix, t, fix_mode="prompt"),
    }
    order = list(runs)
    for i, row in enumerate(rows):
        text, ref = row["input"], row["reference"]
        for name in (order if i % 2 == 0 else order[::-1]):
            result, seconds = _timed(lambda: runs[name](text))
            sides[name].append((result.output or "", seconds, result.note))
        out, seconds = _timed(lambda: baseline(text))
        sides["dictionary"].append((out, seconds, None))
    metrics: dict = {}
    for name, outs in sides.items():
        hyps = [o for o, _, _ in outs]
        refs = [r["reference"] for r in rows]
        worse = [r["input"] for r, h in zip(rows, hyps) if cer(h, r["reference"]) > cer(r["input"], r["reference"]) + 1e-9]
        metrics[name] = {
            "exact": sum(h == r for h, r in zip(hyps, refs)) / len(rows),
            "wer": wer("\n".join(hyps), "\n".join(refs)),
            "cer": cer("\n".join(hyps), "\n".join(refs)),
            "worse": len(worse), "worse_inputs": worse,
            "median_s": statistics.median(s for _, s, _ in outs),
        }
    before = {"wer": wer("\n".join(r["input"] for r in rows), "\n".join(r["reference"] for r in rows)),
              "cer": cer("\n".join(r["input"] for r in rows), "\n".join(r["reference"] for r in rows))}
    print(f"\nfix: {label} — {len(rows)} sentences (input WER {before['wer']:.3f}, CER {before['cer']:.3f})")
    print(f"  {'side':<12} {'exact':>6} {'WER':>6} {'CER':>6} {'worse':>5} {'median s':>9}")
    for name, m in metrics.items():
        print(f"  {name:<12} {m['exact']:>6.0%} {m['wer']:>6.3f} {m['cer']:>6.3f} {m['worse']:>5} {m['median_s']:>9.3f}")
    ours, old = metrics["pipeline"], metrics["prompt"]
    print(f"  ratios pipeline/prompt: exact {ours['exact'] / max(old['exact'], 1e-9):.2f}x, "
          f"CER {ours['cer'] / max(old['cer'], 1e-9):.2f}x, latency {ours['median_s'] / max(old['median_s'], 1e-9):.2f}x")
    for row, (out, _, note) in zip(rows, sides["pipeline"]):
        if out != row["reference"]:
            print(f"  miss: {row['input']!r} -> {out!r} (want {row['reference']!r})" + (f" [{note}]" if note else ""))
    for name in ("pipeline", "no_rewrite"):
        for text in metrics[name]["worse_inputs"]:
            print(f"  made worse by {name}: {text!r}")
    return metrics


def _fact_kept(summary: str, alternatives: list[str]) -> bool:
    low = summary.lower()
    return any(a.lower() in low for a in alternatives)


def bench_sum(pipeline, name: str, label: str) -> dict:
    """Checked ``sum:`` vs the unchecked prompt on the model, and the extractive summary
    alone (no model) as a second baseline."""
    from assistant.commands.checks import unsupported
    from assistant.commands.extract import extractive_summary

    paragraphs = json.loads((DATA / name).read_text(encoding="utf-8"))
    spec = pipeline.specs["sum"]
    sides = {"checked": [], "prompt": [], "extract": []}
    runs = {"checked": lambda t: pipeline.run_spec(spec, t, check=True),
            "prompt": lambda t: pipeline.run_spec(spec, t, check=False)}
    for i, p in enumerate(paragraphs):
        outs = {}
        for side in (("checked", "prompt") if i % 2 == 0 else ("prompt", "checked")):
            result, seconds = _timed(lambda: runs[side](p["text"]))
            outs[side] = (result.output or "", seconds,
                          result.note if result.status == "ok" else f"{result.status}: {result.error}")
        out, seconds = _timed(lambda: extractive_summary(p["text"]))
        outs["extract"] = (out, seconds, None)
        for side, (out, seconds, note) in outs.items():
            sides[side].append({"genre": p["genre"], "out": out, "seconds": seconds, "note": note,
                                "kept": sum(_fact_kept(out, f) for f in p["facts"]),
                                "missed": [f[0] for f in p["facts"] if not _fact_kept(out, f)],
                                "facts": len(p["facts"]), "invented": unsupported(out, p["text"]),
                                "ratio": len(out) / len(p["text"])})
    metrics = {}
    print(f"\nsum: {label} — {len(paragraphs)} paragraphs ({name})")
    for side, rows in sides.items():
        metrics[side] = {"facts_kept": sum(r["kept"] for r in rows) / sum(r["facts"] for r in rows),
                         "invented": sum(len(r["invented"]) for r in rows),
                         "length_ratio": statistics.mean(r["ratio"] for r in rows),
                         "length_ratio_max": max(r["ratio"] for r in rows),
                         "median_s": statistics.median(r["seconds"] for r in rows)}
        m = metrics[side]
        print(f"  {side:<8} key facts kept {m['facts_kept']:.0%}, invented numbers/names {m['invented']}, "
              f"length {m['length_ratio']:.2f} of the source on average (max {m['length_ratio_max']:.2f}), "
              f"median {m['median_s']:.2f}s")
    ours, old = metrics["checked"], metrics["prompt"]
    print(f"  ratio checked/prompt: facts kept {ours['facts_kept'] / max(old['facts_kept'], 1e-9):.2f}x")
    for side in ("checked", "prompt"):
        for r in sides[side]:
            print(f"    {side:<8} {r['genre']:<20} kept {r['kept']}/{r['facts']} missed {r['missed']} "
                  f"invented {r['invented']} {r['ratio']:.2f} {r['out'][:80]!r}"
                  + (f" [{r['note'][:50]}]" if r["note"] else ""))
    return metrics


SUM_SETS = (("sum", "sum_paragraphs.json", "tuning paragraphs"),
            ("sum_heldout", "sum_paragraphs_heldout.json",
             "development paragraphs (held out in round 1, studied in round 2)"),
            ("sum_dev2", "sum_paragraphs_dev2.json", "development paragraphs of round 2 (lines, lists, chat)"),
            ("sum_dev3", "sum_paragraphs_dev3.json", "development paragraphs of round 3 (new genres)"),
            ("sum_dev4", "sum_paragraphs_dev4.json", "development paragraphs of round 4 (new genres)"),
            ("sum_heldout2", "sum_paragraphs_heldout2.json",
             "held-out paragraphs (set 2, never tuned on: the target's figure)"))


GEN_SETS = (("tuning", "gen_requests.json"), ("heldout", "gen_requests_heldout.json"))


def bench_gen(pipeline, label: str = "tuning", filename: str = "gen_requests.json") -> dict:
    from assistant.commands.checks import constraints, unmet

    requests = json.loads((DATA / filename).read_text(encoding="utf-8"))
    spec = pipeline.specs["gen"]
    sides = {"checked": [], "prompt": []}
    for i, r in enumerate(requests):
        c = constraints(r["request"])
        total = len(c.names) + len(c.numbers) + sum(1 for v in (c.lines, c.items, c.sentences, c.max_words) if v)
        for name in (("checked", "prompt") if i % 2 == 0 else ("prompt", "checked")):
            result, seconds = _timed(lambda: pipeline.run_spec(spec, r["request"], check=(name == "checked")))
            missing = unmet(result.output or "", c)
            sides[name].append({"request": r["request"], "total": total, "met": total - len(missing),
                                "missing": missing, "seconds": seconds, "out": result.output or ""})
    metrics = {}
    print(f"\ngen ({label} set, {filename}): {len(requests)} requests with checkable constraints")
    for name, rows in sides.items():
        metrics[name] = {"constraints_met": sum(r["met"] for r in rows) / sum(r["total"] for r in rows),
                         "requests_fully_met": sum(not r["missing"] for r in rows) / len(rows),
                         "median_s": statistics.median(r["seconds"] for r in rows)}
        m = metrics[name]
        print(f"  {name:<8} constraints met {m['constraints_met']:.0%}, requests fully met "
              f"{m['requests_fully_met']:.0%}, median {m['median_s']:.2f}s")
        for r in rows:
            print(f"    {r['request'][:50]:<50} {r['met']}/{r['total']} {r['missing']} {r['out'][:60]!r}")
    return metrics


def run() -> dict:
    """``BENCH_COMMANDS=sum`` (or ``fix,gen``...) runs only those parts; default all three."""
    from assistant.commands.pipeline import CommandPipeline
    from assistant.config import load_defaults

    parts = {p.strip() for p in os.environ.get("BENCH_COMMANDS", "fix,sum,gen").split(",") if p.strip()}
    unknown = parts - {"fix", "sum", "gen"}
    if unknown:
        raise ValueError(f"BENCH_COMMANDS: unknown part(s) {', '.join(sorted(unknown))}; use fix, sum, gen")

    with server() as url:
        settings = load_defaults()
        settings["server"].update(url=url, model=MODEL, timeout_seconds=300)
        pipeline = CommandPipeline(settings, history=False)
        pipeline.preload(MODEL)  # the model and the fix: dictionary start warm for every side
        pipeline.run_spec(pipeline.specs["fix"], "warm up teh cache")
        out: dict = {}
        if "fix" in parts:
            out.update(_fix_figures(
                bench_fix(pipeline, load_jsonl("fix_sentences.jsonl"), "sentences written before tuning"),
                bench_fix(pipeline, load_jsonl("fix_sentences_heldout.jsonl"), "held-out sentences")))
            out["fix_scored_by_model"] = bool(pipeline.scorer(MODEL).supported)
        if "sum" in parts:
            for key, name, label in SUM_SETS:
                m = bench_sum(pipeline, name, label)
                out.update({
                    f"{key}_facts_kept_checked": round(m["checked"]["facts_kept"], 3),
                    f"{key}_facts_kept_prompt": round(m["prompt"]["facts_kept"], 3),
                    f"{key}_facts_kept_extract_only": round(m["extract"]["facts_kept"], 3),
                    f"{key}_invented_checked": m["checked"]["invented"],
                    f"{key}_invented_prompt": m["prompt"]["invented"],
                    f"{key}_length_ratio_checked": round(m["checked"]["length_ratio"], 2),
                    f"{key}_length_ratio_prompt": round(m["prompt"]["length_ratio"], 2),
                    f"{key}_median_s_checked": round(m["checked"]["median_s"], 2),
                    f"{key}_length_ratio_max_checked": round(m["checked"]["length_ratio_max"], 2),
                    f"{key}_median_s_prompt": round(m["prompt"]["median_s"], 2)})
            kept = out["sum_heldout2_facts_kept_checked"]
            print(f"\nsum: issue 11 target (>= 80 % of key facts on the held-out set 2, never tuned on): "
                  f"{kept:.0%} — {'met' if kept >= 0.8 else 'not met'}")
        if "gen" in parts:
            for label, filename in GEN_SETS:  # the held-out requests were never tuned on
                gens = bench_gen(pipeline, label, filename)
                key = "gen" if label == "tuning" else f"gen_{label}"
                out.update({
                    f"{key}_constraints_met_checked": round(gens["checked"]["constraints_met"], 3),
                    f"{key}_constraints_met_prompt": round(gens["prompt"]["constraints_met"], 3),
                    f"{key}_requests_fully_met_checked": round(gens["checked"]["requests_fully_met"], 3),
                    f"{key}_median_s_checked": round(gens["checked"]["median_s"], 2),
                    f"{key}_median_s_prompt": round(gens["prompt"]["median_s"], 2)})
    return out


def _fix_figures(dev: dict, held: dict) -> dict:
    both = {k: (dev[k]["exact"] * 50 + held[k]["exact"] * 30) / 80 for k in dev}
    return {
        "fix_exact_pipeline": round(both["pipeline"], 3),
        "fix_exact_no_rewrite": round(both["no_rewrite"], 3),
        "fix_exact_old_prompt": round(both["prompt"], 3),
        "fix_exact_dictionary_only": round(both["dictionary"], 3),
        "fix_exact_ratio_vs_old_prompt": round(both["pipeline"] / max(both["prompt"], 1e-9), 2),
        "fix_cer_pipeline": round((dev["pipeline"]["cer"] + held["pipeline"]["cer"]) / 2, 4),
        "fix_cer_old_prompt": round((dev["prompt"]["cer"] + held["prompt"]["cer"]) / 2, 4),
        "fix_made_worse_pipeline": dev["pipeline"]["worse"] + held["pipeline"]["worse"],
        "fix_made_worse_old_prompt": dev["prompt"]["worse"] + held["prompt"]["worse"],
        "fix_made_worse_dictionary_only": dev["dictionary"]["worse"] + held["dictionary"]["worse"],
        "fix_median_s_pipeline": round(statistics.median([dev["pipeline"]["median_s"], held["pipeline"]["median_s"]]), 3),
        "fix_median_s_no_rewrite": round(statistics.median([dev["no_rewrite"]["median_s"], held["no_rewrite"]["median_s"]]), 3),
        "fix_median_s_old_prompt": round(statistics.median([dev["prompt"]["median_s"], held["prompt"]["median_s"]]), 3),
        "fix_latency_ratio_vs_old_prompt": round(dev["pipeline"]["median_s"] / max(dev["prompt"]["median_s"], 1e-9), 2),
    }


if __name__ == "__main__":
    run()

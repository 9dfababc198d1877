"""Structured output: how many answers satisfy their JSON schema, our converter versus
llama-cpp-python's ``json_schema_to_gbnf`` (what a llama-cpp-python user gets, and what this
server used before).

Both sides run the same embedded model in this process through llama-cpp-python's
``create_completion`` with the same prompt, seed and sampling (temperature 1, so the grammar,
not the model's habits, decides); only the grammar differs. Sides alternate (ABBA) per
schema and seed. Every answer is validated with jsonschema (format checks on). Printed: the
valid share of each side, their ratio, the median seconds per answer and its ratio, and how
long each converter takes to build the grammars.

    .venv/bin/python -m benchmarks schema          # BENCH_SCHEMA_SEEDS=4 for more seeds
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

MODEL = "gemma3:270m"
SEEDS = int(os.environ.get("BENCH_SCHEMA_SEEDS", "2"))

SCHEMAS = {
    "age range (the issue)": ("A person as JSON with name and age:", {
        "type": "object", "required": ["name", "age"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "minLength": 2, "maxLength": 10},
                       "age": {"type": "integer", "minimum": 0, "maximum": 30}}}),
    "number ranges": ("Measurements as JSON:", {
        "type": "object", "required": ["count", "ratio"], "additionalProperties": False,
        "properties": {"count": {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 9},
                       "ratio": {"type": "number", "minimum": 0, "maximum": 1}}}),
    "pattern + enum": ("An order as JSON:", {
        "type": "object", "required": ["status", "code"], "additionalProperties": False,
        "properties": {"status": {"enum": ["open", "paid"]},
                       "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2,4}$"}}}),
    "array counts + nesting": ("A team as JSON:", {
        "type": "object", "required": ["members"], "additionalProperties": False,
        "properties": {"members": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
            "type": "object", "required": ["name", "level"], "additionalProperties": False,
            "properties": {"name": {"type": "string", "maxLength": 8},
                           "level": {"type": "integer", "minimum": 1, "maximum": 5}}}}}}),
}


def _valid(schema: dict, text: str) -> bool:
    import jsonschema

    try:
        value = json.loads(text)
    except ValueError:
        return False
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return jsonschema.Draft202012Validator(schema, format_checker=checker).is_valid(value)


def _grammars():
    from llama_cpp import llama_grammar

    from inference.engine.json_schema_grammar import schema_to_gbnf

    ours, theirs = {}, {}
    started = time.perf_counter()
    for name, (_, schema) in SCHEMAS.items():
        ours[name] = schema_to_gbnf(schema)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    for name, (_, schema) in SCHEMAS.items():
        theirs[name] = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
    theirs_s = time.perf_counter() - started
    return ours, theirs, ours_s, theirs_s


def run() -> dict:
    from llama_cpp import Llama, LlamaGrammar

    from inference.models.embedded import ensure_embedded
    from inference.models.store import ModelStore

    store = ModelStore(Path(tempfile.mkdtemp(prefix="bench-schema-")))
    gguf = ensure_embedded(store).model_path
    llm = Llama(str(gguf), n_ctx=2048, verbose=False)
    ours, theirs, ours_build, theirs_build = _grammars()
    results = {"ours": {"valid": 0, "seconds": []}, "baseline": {"valid": 0, "seconds": []}}
    per_schema = []

    def answer(side: str, name: str, seed: int) -> bool:
        prompt, schema = SCHEMAS[name]
        gbnf = (ours if side == "ours" else theirs)[name]
        grammar = LlamaGrammar.from_string(gbnf, verbose=False)
        started = time.perf_counter()
        out = llm.create_completion(prompt, grammar=grammar, max_tokens=300, temperature=1.0, top_k=100,
                                    top_p=1.0, seed=seed)
        results[side]["seconds"].append(time.perf_counter() - started)
        ok = _valid(schema, out["choices"][0]["text"])
        results[side]["valid"] += ok
        return ok

    turn = 0
    for name in SCHEMAS:
        row = {"schema": name, "ours": 0, "baseline": 0}
        for seed in range(1, SEEDS + 1):
            order = ("ours", "baseline") if turn % 4 in (0, 3) else ("baseline", "ours")
            turn += 1
            for side in order:
                row[side] += answer(side, name, seed)
        per_schema.append(row)
        print(f"  {name:<24} valid: ours {row['ours']}/{SEEDS}, llama-cpp-python {row['baseline']}/{SEEDS}",
              flush=True)
    llm.close()
    total = len(SCHEMAS) * SEEDS
    ours_rate = results["ours"]["valid"] / total
    base_rate = results["baseline"]["valid"] / total
    ours_med = statistics.median(results["ours"]["seconds"])
    base_med = statistics.median(results["baseline"]["seconds"])
    return {
        "answers per side": total,
        "valid share, ours": ours_rate,
        "valid share, llama-cpp-python converter": base_rate,
        "valid share ratio (ours / baseline)": (ours_rate / base_rate) if base_rate else float("inf"),
        "median s per answer, ours": ours_med,
        "median s per answer, baseline": base_med,
        "time ratio (ours / baseline)": ours_med / base_med,
        "grammar build ms, ours": ours_build * 1000,
        "grammar build ms, baseline": theirs_build * 1000,
        "per schema": per_schema,
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")

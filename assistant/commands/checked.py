"""The checked flows of ``sum:`` and ``gen:``: ask the model, check the answer
(:mod:`assistant.commands.checks`), retry, and fall back or repair. Transport-free: the
pipeline passes ``ask(request, extra_options, prefill) -> Completion`` and
``clean(completion) -> str``."""

from __future__ import annotations

from typing import Callable

from assistant.commands import gen_frame
from assistant.commands.checks import Constraints, addressee, fix_form, greet, unmet, unsupported
from assistant.commands.extract import extractive_summary, summary_budget, weighted_coverage
from assistant.ollama_client import Completion

Ask = Callable[[str, dict, str], Completion]


def summarise(body: str, ask: Ask, clean: Callable[[Completion], str], *, num_predict: int,
              temperature: float, timings: dict, ask_model: bool = True
              ) -> tuple[Completion, str, str | None]:
    """``sum:`` faithful by construction: the model's summary is kept only if every
    number, date and name in it occurs in the text and it fits the length budget; else
    one retry with another seed, then an extractive summary of the text's own sentences,
    shortened (:mod:`assistant.commands.extract`). A faithful summary that leaves facts out (numbers, dates, names, the text's key terms)
    is completed with the text's own clauses that state them while it stays short, or gives
    way to the extractive summary when that keeps more. ``ask_model=False``: the extract
    alone, no request (what the flow ends on for a small base model anyway)."""
    budget = summary_budget(body)
    if not ask_model:
        timings["sum_extractive"] = True
        return Completion(text=""), extractive_summary(body, budget), None
    problems: list[str] = []
    invented_all: list[str] = []
    completion = Completion(text="")
    for attempt in range(2):
        extra = {"num_predict": min(num_predict, budget.max_chars // 3 + 24)}
        if attempt:
            extra["seed"] = 7919 * attempt
            extra["temperature"] = max(temperature, 0.5)
        completion = ask(body, extra, "")
        output = clean(completion).strip()
        invented = unsupported(output, body)
        invented_all += [f for f in invented if f not in invented_all]
        problems = ([f"not in the text: {', '.join(invented_all[:5])}"] if invented_all else [])
        if len(output) > budget.max_chars:
            problems.append(f"longer than {budget.max_chars} characters")
        if not output:
            problems.append("empty")
        timings["sum_attempts"] = attempt + 1
        if not problems:
            return (completion, *_best_faithful(body, output, budget, attempt, timings))
    timings["sum_extractive"] = True
    return completion, extractive_summary(body, budget), (
        "the model's summary failed the faithfulness check (" + "; ".join(problems)
        + "); this summary is made of the text's own sentences, shortened")


def _best_faithful(body: str, output: str, budget, attempt: int, timings: dict
                   ) -> tuple[str, str | None]:
    """The faithful model summary, the same completed with the text's clauses for what it
    left out, or the extract alone: whichever keeps most (ties to the model's own; between
    the completed one and the extract, to the extract: a lead that adds nothing only takes room)."""
    extract = extractive_summary(body, budget)
    merged = extractive_summary(body, budget, lead=output) if len(output) < budget.target_chars else output
    scores = {name: weighted_coverage(text, body) for name, text in
              (("model", output), ("merged", merged), ("extract", extract))}
    retried = "checked on a second try" if attempt else None
    if scores["model"] >= max(scores["merged"], scores["extract"]):
        return output, retried
    if scores["merged"] > scores["extract"]:  # a tie: the lead added nothing the extract lacks
        timings["sum_completed"] = True
        return merged, "; ".join(x for x in (retried, "the model's summary left out facts of the text; "
                                             "the text's own clauses that state them were added") if x)
    timings["sum_extractive"] = True
    return extract, ("the model's summary left out facts of the text; "
                     "this summary is made of the text's own sentences, shortened")


def generate_checked(body: str, c: Constraints, ask: Ask, clean: Callable[[Completion], str], *,
                     prefill_ok: bool, timings: dict) -> tuple[Completion, str, str | None]:
    """``gen:`` that follows the request: the answer is checked against what the request
    asks for (names, numbers, lines, items, sentences, words); on a miss it is asked again
    with another seed and the constraints spelled out (a base model — ``prefill_ok`` — is
    started on the greeting to whom the note is for); the form is repaired where that is
    safe, a missing addressee is greeted, and what is still missing is noted."""
    best: tuple[int, str, Completion] | None = None
    attempts = 0
    completion = Completion(text="")
    who = addressee(body, c)
    # A base model is started on the request's own words (gen_frame): first with the usual
    # seed, then another; a free answer with the constraints spelled out comes last.
    start = gen_frame.opening(body, c, None if c.items else who) if prefill_ok else None
    for attempt in range(3):
        attempts = attempt + 1
        framed = start is not None and attempt < 2
        request = body if attempt == 0 or framed else f"{body} ({c.describe()})"
        extra = {"seed": 104729 * attempt + 17} if attempt else {}
        if framed:
            prefill = start
        else:
            prefill = f"Hi {who}," if attempt and who and prefill_ok else ""
        completion = ask(request, extra, prefill)
        output = clean(completion)
        if framed:
            output = gen_frame.finish(output, start, c)
            # too few lines (the model ended the poem early): go on from what it wrote
            start = gen_frame.extended(output, start, c) or start
        output = fix_form(output, c)
        missing = unmet(output, c)
        if output and (best is None or len(missing) < best[0]):
            best = (len(missing), output, completion)
        if output and not missing:
            break
    timings["gen_attempts"] = attempts
    if best is None:
        return completion, "", None
    _, output, completion = best
    missing = unmet(output, c)
    repaired = ""
    if who and any(part.lower() in m.lower() for m in missing for part in who.split()
                   if part.lower() not in ("and", "mr.", "mrs.", "ms.", "dr.", "prof.")):
        output = greet(output, who)
        repaired = f"; added the greeting to {who}"
        missing = unmet(output, c)
    if missing:
        return completion, output, ("the answer may not follow the request: " + "; ".join(missing)
                                    + repaired)
    if repaired:
        return completion, output, repaired[2:]
    return completion, output, (f"followed the request on try {attempts}" if attempts > 1 else None)

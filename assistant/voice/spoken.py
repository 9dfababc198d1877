"""Turn a spoken command ("fix the cat are happy", "translate to French good morning") into the
command to run and its text. Pure: works on the transcript and the configured command specs.

Rules, first match wins:
1. the first word is a command word from ``[voice] command_words`` (fix/correct -> fix,
   summarize/summarise -> sum, ...), a command's name, or a command's prefix said without its
   punctuation (``mail:`` is spoken "mail");
2. "translate [to|into LANGUAGE] TEXT" -> the ``translate`` command if one is configured,
   else a one-off command that translates into LANGUAGE (English when none is said);
3. anything else -> the ``gen`` command with the whole transcript.
"""

from __future__ import annotations

import re
from assistant.config import CommandSpec

DEFAULT_COMMAND_WORDS = {
    "fix": "fix", "correct": "fix", "proofread": "fix",
    "summarize": "sum", "summarise": "sum", "summary": "sum", "sum": "sum",
    "generate": "gen", "write": "gen", "gen": "gen",
}
_WORD_RE = re.compile(r"\s*([A-Za-z][\w'-]*)[\s,.:;!?-]*", re.UNICODE)
_TRANSLATE_RE = re.compile(
    r"^\s*translate\b[\s,.:;-]*(?:(?:this|it|that)\s+)?(?:(?:to|into|in)\s+([A-Za-z][\w-]*)\b)?[\s,.:;-]*(.*)$",
    re.IGNORECASE | re.DOTALL,
)


def _strip_lead(text: str) -> str:
    return re.sub(r"^[\s,.:;!?-]+", "", text).strip()


def _key(word: str) -> str:
    return re.sub(r"[^\w]", "", word).casefold()


# Few-shot pairs for the languages people ask for most (small base models need examples).
_TRANSLATION_EXAMPLES = {
    "French": (("Thank you very much.", "Merci beaucoup."),
               ("Where is the station?", "Où est la gare ?")),
    "Spanish": (("Thank you very much.", "Muchas gracias."),
                ("Where is the station?", "¿Dónde está la estación?")),
    "German": (("Thank you very much.", "Vielen Dank."),
               ("Where is the station?", "Wo ist der Bahnhof?")),
    "Italian": (("Thank you very much.", "Grazie mille."),
                ("Where is the station?", "Dov'è la stazione?")),
    "English": (("Merci beaucoup.", "Thank you very much."),
                ("Wo ist der Bahnhof?", "Where is the station?")),
}


def translate_spec(language: str) -> CommandSpec:
    return CommandSpec(
        name="translate",
        prefix="translate:",
        style="custom",
        instruction=f"Translate the text into {language}. Answer with the translation only.",
        options={"temperature": 0.0, "num_predict": 256},
        stream=False,
        description=f"Translate into {language}",
        examples=_TRANSLATION_EXAMPLES.get(language, ()),
    )


def parse_spoken_command(
    transcript: str,
    specs: dict[str, CommandSpec],
    command_words: dict[str, str] | None = None,
) -> tuple[CommandSpec, str] | None:
    """(spec, body) for a spoken command; None when there is nothing to run."""
    text = transcript.strip()
    if not text or not specs:
        return None
    words = dict(DEFAULT_COMMAND_WORDS)
    words.update({_key(k): v for k, v in (command_words or {}).items()})
    for name, spec in specs.items():
        words.setdefault(_key(name), name)
        spoken_prefix = _key(spec.prefix)
        if spoken_prefix:
            words[spoken_prefix] = name  # a user's prefix beats the built-in words

    match = _TRANSLATE_RE.match(text)
    if match and "translate" not in words:
        language = (match.group(1) or "English").strip().capitalize()
        body = _strip_lead(match.group(2))
        return (translate_spec(language), body) if body else None

    first = _WORD_RE.match(text)
    if first:
        name = words.get(_key(first.group(1)))
        if name in specs:
            body = _strip_lead(text[first.end():])
            if body:
                return specs[name], body
    if "gen" in specs:
        return specs["gen"], text
    if specs:
        # no gen command configured: the first generative one
        for spec in specs.values():
            if spec.style == "gen":
                return spec, text
    return None


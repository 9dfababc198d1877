"""How each command asks the model, for both kinds of model.

* Chat models (a chat template): ``/api/chat`` with a system message saying what to do and
  the user's text as the user message.
* Base models without a chat template (the embedded Gemma 3 270M): a few-shot completion
  prompt sent raw through ``/api/generate``. The model continues the pattern
  ``Text: ... / Corrected: ...`` and is stopped at the end of the answer.

Everything here is pure: the same spec and text always give the same prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.config import CommandSpec

CHAT_SYSTEM = {
    "fix": ("You correct spelling, grammar and punctuation. Keep the meaning, the language, "
            "the tone and the line breaks of the text. Reply with the corrected text only: no "
            "explanation, no preamble, no quotes."),
    "gen": ("You are a writing assistant. Write what the user asks for, ready to paste into "
            "their document. Reply with the text only: no preamble, no explanation."),
    "sum": ("Summarise the user's text in one to three sentences, in the language of the text. "
            "Reply with the summary only: no preamble."),
}
ONLY_RESULT = " Reply with the result only: no preamble, no explanation, no quotes."


@dataclass
class FewShot:
    header: str
    input_label: str
    output_label: str
    examples: tuple[tuple[str, str], ...]


FEW_SHOT = {
    "fix": FewShot(
        header="Each text is corrected for spelling and grammar. The meaning, language and "
               "tone stay the same.",
        input_label="Text", output_label="Corrected",
        examples=(
            ("i has went to the store yesterday and buyed some apple",
             "I went to the store yesterday and bought some apples."),
            ("Their going too the park tomorow if it dont rain.",
             "They're going to the park tomorrow if it doesn't rain."),
            ("can you send me the report befor friday? thx",
             "Can you send me the report before Friday? Thanks."),
            ("The meeting starts at 10 am in room 4.",
             "The meeting starts at 10 am in room 4."),
            ("she dont like it when peple is late for dinner",
             "She doesn't like it when people are late for dinner."),
        ),
    ),
    "sum": FewShot(
        header="Each text is followed by a short summary of it.",
        input_label="Text", output_label="Summary",
        examples=(
            ("The city council met on Tuesday to discuss the new bike lanes. After two hours "
             "of debate, members voted seven to two to build lanes on Main Street and Oak "
             "Avenue. Construction will start in March and should take about six weeks.",
             "The council approved bike lanes on Main Street and Oak Avenue, to be built from March."),
            ("I tried the new pizza place downtown last night. The crust was thin and crispy, "
             "the sauce was fresh, and the staff were friendly, but we waited almost forty "
             "minutes for our food and the music was far too loud.",
             "The new pizza place has great food and staff but slow service and loud music."),
        ),
    ),
    "gen": FewShot(
        header="Each request is followed by a well written response.",
        input_label="Request", output_label="Response",
        examples=(
            ("a one-line thank-you note to a colleague who helped me move",
             "Thank you so much for helping me move last weekend, I couldn't have done it without you!"),
            ("a haiku about the sea",
             "Waves fold into foam / the gulls argue with the wind / salt on every stone"),
            ("a tweet announcing our bakery opens on Monday",
             "Fresh bread is coming! Our bakery opens its doors this Monday at 7 am, come say hello."),
            ("an email to my landlord saying the kitchen tap is leaking",
             "Hello Mr. Patel, the kitchen tap in my flat has started leaking. Could you send "
             "someone to repair it this week? Thank you, Anna"),
            ("a list of three things to pack for a beach day",
             "Sunscreen / a big towel / a good book"),
            ("a two-line message to Marco saying I'm running late",
             "Hi Marco, I'm running about ten minutes late, sorry! / Order without me, I'll be there soon."),
        ),
    ),
}


@dataclass
class ChatRequest:
    messages: list[dict]


@dataclass
class CompletionRequest:
    prompt: str
    stop: list[str] = field(default_factory=list)


def chat_request(spec: CommandSpec, body: str) -> ChatRequest:
    system = CHAT_SYSTEM.get(spec.style) if spec.style != "custom" else None
    if spec.instruction:
        system = spec.instruction.rstrip() + ("" if spec.style != "custom" else ONLY_RESULT)
    messages = [{"role": "system", "content": system or ""}]
    for given, wanted in spec.examples:
        messages.append({"role": "user", "content": given})
        messages.append({"role": "assistant", "content": wanted})
    messages.append({"role": "user", "content": body})
    return ChatRequest(messages=messages)


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text.strip())


def few_shot_for(spec: CommandSpec) -> FewShot:
    if spec.style == "custom" or spec.examples:
        base = FEW_SHOT.get(spec.style)
        return FewShot(
            header=spec.instruction or (base.header if base else ""),
            input_label=base.input_label if base else "Input",
            output_label=base.output_label if base else "Output",
            examples=spec.examples or (base.examples if base else ()),
        )
    fs = FEW_SHOT[spec.style]
    if spec.instruction:
        return FewShot(spec.instruction, fs.input_label, fs.output_label, fs.examples)
    return fs


def completion_request(spec: CommandSpec, body: str) -> CompletionRequest:
    """A few-shot prompt a base model continues with its answer on one line.

    The user's text is joined into one line (base models copy the one-line pattern of the
    examples); the answer ends at the next newline."""
    fs = few_shot_for(spec)
    blocks = [fs.header] if fs.header else []
    for given, wanted in fs.examples:
        blocks.append(f"{fs.input_label}: {_one_line(given)}\n{fs.output_label}: {_one_line(wanted)}")
    blocks.append(f"{fs.input_label}: {_one_line(body)}\n{fs.output_label}:")
    prompt = "\n\n".join(blocks)
    stop = ["\n", f"{fs.input_label}:"]
    return CompletionRequest(prompt=prompt, stop=stop)


def plain_prompt(spec: CommandSpec, body: str) -> str:
    """The naive one-line prompt (the benchmark's baseline): instruction + text."""
    verb = {"fix": "Correct the spelling and grammar of this text", "sum": "Summarise this text",
            "gen": "Write"}.get(spec.style, spec.instruction.rstrip("."))
    return f"{verb}: {body}"

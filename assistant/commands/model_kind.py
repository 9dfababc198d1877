"""Does a model understand chat (system + user turns), or is it a base model that only
continues text? Decided from ``/api/show``: a chat template uses role markers made of special
tokens (``<start_of_turn>``, ``<|im_start|>``, ``[INST]`` ...); a base model has no template,
just ``{{ .Prompt }}``, or a plain "User:/Assistant:" transcript template."""

from __future__ import annotations

import re

_CHAT_MARKERS = re.compile(
    r"<\|[A-Za-z_]+\|>|<[a-z_]*of_turn>|\[/?INST\]|<\|start_header_id\|>|<｜[^｜]+｜>|"
    r"<start_of_turn>|<\|im_start\|>|<\|turn>|<\|user\|>|<\|assistant\|>"
)
CHAT_CAPABILITIES = {"tools", "thinking"}


def is_chat_template(template: str | None) -> bool:
    return bool(template) and bool(_CHAT_MARKERS.search(template))


def prompt_mode_from_show(show: dict) -> str:
    """"chat" or "completion" for an ``/api/show`` response."""
    caps = set(show.get("capabilities") or [])
    if caps & CHAT_CAPABILITIES:
        return "chat"
    if is_chat_template(show.get("template")):
        return "chat"
    info = show.get("model_info") or {}
    if is_chat_template(info.get("tokenizer.chat_template")):
        return "chat"
    return "completion"

"""Finding the command whose prefix starts a text."""

from __future__ import annotations

import re

from assistant.config import CommandSpec


def match_command(text: str, specs: dict[str, CommandSpec], *, loose: bool = False
                  ) -> tuple[CommandSpec, str] | None:
    """``(spec, body)`` when ``text`` (leading whitespace ignored) starts with a prefix.

    Prefixes match case-insensitively (speech gives "Fix:"); the longest prefix wins so that
    ``fix:`` and ``fixit:`` can coexist. The body is stripped; it may be empty."""
    stripped = text.lstrip()
    for spec in sorted(specs.values(), key=lambda s: len(s.prefix), reverse=True):
        head = stripped[:len(spec.prefix)]
        if head.casefold() == spec.prefix.casefold():
            return spec, stripped[len(spec.prefix):].strip()
    if loose:
        return _match_spoken(stripped, specs)
    return None


def _match_spoken(text: str, specs: dict[str, CommandSpec]) -> tuple[CommandSpec, str] | None:
    """Speech has no colons: "Fix, teh cat" / "fix. teh cat" / "Fix teh cat" for "fix:"."""
    for spec in sorted(specs.values(), key=lambda s: len(s.prefix), reverse=True):
        word = spec.prefix.rstrip(":;,.").strip()
        if not word:
            continue
        m = re.match(rf"{re.escape(word)}(?:[\s:;,.!?\-]+)(.*)$", text, re.IGNORECASE | re.DOTALL)
        if m:
            return spec, m.group(1).strip()
    return None


def prefixes(specs: dict[str, CommandSpec]) -> list[str]:
    return sorted(spec.prefix for spec in specs.values())

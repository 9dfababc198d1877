"""Finding the command whose prefix starts a text."""

from __future__ import annotations

from assistant.config import CommandSpec


def match_command(text: str, specs: dict[str, CommandSpec]) -> tuple[CommandSpec, str] | None:
    """``(spec, body)`` when ``text`` (leading whitespace ignored) starts with a prefix.

    Prefixes match case-insensitively (speech gives "Fix:"); the longest prefix wins so that
    ``fix:`` and ``fixit:`` can coexist. The body is stripped; it may be empty."""
    stripped = text.lstrip()
    for spec in sorted(specs.values(), key=lambda s: len(s.prefix), reverse=True):
        head = stripped[:len(spec.prefix)]
        if head.casefold() == spec.prefix.casefold():
            return spec, stripped[len(spec.prefix):].strip()
    return None


def prefixes(specs: dict[str, CommandSpec]) -> list[str]:
    return sorted(spec.prefix for spec in specs.values())

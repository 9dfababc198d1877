"""Request ``format`` -> llama.cpp grammar: ``"json"`` (any JSON value) or a JSON Schema.

The one entry point the engine and the routes use. Schemas go through our own converter
(:mod:`inference.engine.json_schema_grammar`), which holds every constraint it accepts by
construction; a schema it cannot express is a :class:`FormatError` (HTTP 400).
"""

from __future__ import annotations

import json
from functools import lru_cache

from llama_cpp import llama_grammar

from inference.engine.format_error import FormatError
from inference.engine.json_schema_grammar import schema_to_gbnf

__all__ = ["FormatError", "gbnf_for_format", "grammar_for_format"]


def gbnf_for_format(fmt) -> str | None:
    """``format`` -> GBNF text (root rule ``root``), or None when there is no format."""
    if fmt is None or fmt == "":
        return None
    if fmt == "json":
        return llama_grammar.JSON_GBNF
    if isinstance(fmt, dict):
        try:
            key = json.dumps(fmt, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise FormatError(f"invalid JSON schema in format: {exc}") from None
        return _schema_gbnf(key)
    raise FormatError(f"invalid format: {json.dumps(fmt)[:100]}; expected \"json\" or a JSON schema object")


def grammar_for_format(fmt) -> llama_grammar.LlamaGrammar | None:
    """``format`` -> grammar: ``"json"`` = any JSON object/value, a dict = a JSON Schema.

    Raises :class:`FormatError` for anything else or a schema the converter cannot hold.
    """
    gbnf = gbnf_for_format(fmt)
    if gbnf is None:
        return None
    return llama_grammar.LlamaGrammar.from_string(gbnf, verbose=False)


@lru_cache(maxsize=64)
def _schema_gbnf(schema_json: str) -> str:
    """Clients send the same schema with every request: convert each one once (~5 ms)."""
    return schema_to_gbnf(json.loads(schema_json))

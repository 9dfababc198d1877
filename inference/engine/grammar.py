"""Request ``format`` -> llama.cpp grammar: ``"json"`` (any JSON value) or a JSON Schema.

The one entry point the engine and the routes use; a schema the converter cannot express is a
:class:`FormatError` (HTTP 400).
"""

from __future__ import annotations

import json

from llama_cpp import llama_grammar


class FormatError(ValueError):
    """A ``format`` value that cannot be turned into a grammar (HTTP 400)."""


def grammar_for_format(fmt) -> llama_grammar.LlamaGrammar | None:
    """``format`` -> grammar: ``"json"`` = any JSON object/value, a dict = a JSON Schema.

    Raises :class:`FormatError` for anything else or a schema the converter cannot handle.
    """
    if fmt is None or fmt == "":
        return None
    if fmt == "json":
        return llama_grammar.LlamaGrammar.from_string(llama_grammar.JSON_GBNF, verbose=False)
    if isinstance(fmt, dict):
        try:
            gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(fmt))
        except Exception as exc:  # the converter raises plain Exceptions/KeyErrors
            raise FormatError(f"invalid JSON schema in format: {exc}") from exc
        return llama_grammar.LlamaGrammar.from_string(gbnf, verbose=False)
    raise FormatError(f"invalid format: {json.dumps(fmt)[:100]}; expected \"json\" or a JSON schema object")

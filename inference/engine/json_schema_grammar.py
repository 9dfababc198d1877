"""JSON Schema -> GBNF grammar for llama.cpp, with every constraint held by construction (pure).

``schema_to_gbnf(schema)`` follows the algorithm of llama.cpp's own converter
(``common/json-schema-to-grammar.cpp``, what Ollama uses): one rule per schema node, objects
as their declared properties in order (required ones always, optional ones each at most once),
``$ref`` as named rules (recursion allowed). It also holds what that converter leaves open:
integer and number ranges (inclusive/exclusive, see ``number_grammar``), ``pattern`` through
``regex_grammar``, string lengths counted in characters as validators count them, ``enum``
values filtered by the rest of their schema, ``allOf`` merged keyword by keyword, ``oneOf``
only when its branches cannot overlap, and extra keys of ``additionalProperties`` schemas
never spelling a declared name.

The grammar may produce a subset of what the schema allows (no extra properties unless
``additionalProperties`` gives a schema, ASCII members of ``\\d``, no February 29th, ...), never
more. What cannot be held is a :class:`FormatError` naming the keyword (HTTP 400).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from urllib.parse import unquote

import jsonschema

from inference.engine.format_error import FormatError
from inference.engine.number_grammar import int_range, number_range
from inference.engine.regex_grammar import (
    _MUST_ESCAPE, SURROGATES, charset_json, complement, gbnf_literal, json_escaped, normalize,
    pattern_to_gbnf,
)

SPACE_RULE = '| " " | "\\n"{1,2} [ \\t]{0,20}'

PRIMITIVES = {
    "boolean": '("true" | "false") space',
    "null": '"null" space',
    "integral-part": "[0] | [1-9] [0-9]{0,15}",
    "decimal-part": "[0-9]{1,16}",
    "number": '("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)? space',
    "integer": '("-"? integral-part) space',
    # one character of a JSON string; \u escapes of lone surrogates are left out so that a
    # validator counts exactly the characters the grammar counted
    "char": '[^"\\\\\\x7F\\x00-\\x1F] | [\\\\] (["\\\\/bfnrt] | "u" ([0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} '
            '| [dD] [0-7] [0-9a-fA-F]{2}))',
    "string": '"\\"" char* "\\"" space',
    "value": "object | array | string | number | boolean | null",
    "object": '"{" space ( string ":" space value ("," space string ":" space value)* )? "}" space',
    "array": '"[" space ( value ("," space value)* )? "]" space',
}
PRIMITIVE_DEPS = {
    "number": ["integral-part", "decimal-part"], "integer": ["integral-part"], "string": ["char"],
    "value": ["object", "array", "string", "number", "boolean", "null"],
    "object": ["string", "value"], "array": ["value"],
}

_TWO = '[0-9]{2}'
_DAY_31 = '("0" [1-9] | [12] [0-9] | "3" [01])'
_DAY_30 = '("0" [1-9] | [12] [0-9] | "30")'
_DAY_28 = '("0" [1-9] | "1" [0-9] | "2" [0-8])'
DATE = (f'[0-9]{{4}} "-" (("0" [13578] | "1" [02]) "-" {_DAY_31} | ("0" [469] | "11") "-" '
        f'{_DAY_30} | "02" "-" {_DAY_28})')
TIME = ('([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? '
        '("Z" | [+\\-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])')
_HEX = "[0-9a-fA-F]"
_OCTET = int_range(0, 255)
STRING_FORMATS = {
    "date": DATE,
    "time": TIME,
    "date-time": f'{DATE} "T" {TIME}',
    "uuid": f'{_HEX}{{8}} "-" {_HEX}{{4}} "-" {_HEX}{{4}} "-" {_HEX}{{4}} "-" {_HEX}{{12}}',
    "email": '[a-zA-Z0-9._%+\\-]{1,32} "@" [a-zA-Z0-9] [a-zA-Z0-9\\-]{0,30} ("." [a-zA-Z]{2,12}){1,3}',
    "ipv4": f'{_OCTET} "." {_OCTET} "." {_OCTET} "." {_OCTET}',
}

ANNOTATIONS = {
    "$schema", "$id", "$anchor", "$comment", "$defs", "definitions", "title", "description",
    "default", "examples", "deprecated", "readOnly", "writeOnly", "contentMediaType",
    "contentEncoding", "contentSchema", "$vocabulary", "$dynamicAnchor", "discriminator",
    "nullable", "unevaluatedProperties", "unevaluatedItems", "xml", "externalDocs", "example",
}
TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
TYPE_KEYWORDS = {
    "object": {"properties", "required", "additionalProperties", "minProperties", "maxProperties",
               "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas",
               "dependencies"},
    "array": {"items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems",
              "contains", "minContains", "maxContains"},
    "string": {"minLength", "maxLength", "pattern", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
}
# Keywords whose constraint no grammar of ours can hold.
UNSUPPORTED = {
    "not": "'not'", "if": "'if'/'then'/'else'", "then": "'if'/'then'/'else'",
    "else": "'if'/'then'/'else'", "contains": "'contains'", "minContains": "'contains'",
    "maxContains": "'contains'", "patternProperties": "'patternProperties'",
    "dependentRequired": "'dependentRequired'", "dependentSchemas": "'dependentSchemas'",
    "dependencies": "'dependencies'", "$dynamicRef": "'$dynamicRef'",
    "$recursiveRef": "'$recursiveRef'",
}
MAX_REF_DEPTH = 64


def schema_to_gbnf(schema) -> str:
    """A GBNF grammar (root rule ``root``) whose every string is JSON valid against ``schema``.

    Raises :class:`FormatError` for an invalid schema or a constraint it cannot hold.
    """
    if schema is True:
        schema = {}
    if not isinstance(schema, dict):
        raise FormatError("a JSON schema in format must be an object")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise FormatError(f"invalid JSON schema in format{' at ' + where if where else ''}: "
                          f"{exc.message}") from None
    except jsonschema.exceptions.UnknownType as exc:  # pragma: no cover - defensive
        raise FormatError(f"invalid JSON schema in format: {exc}") from None
    return _Converter(schema).convert()


def _sanitize(name: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9-]+", "-", name).strip("-")
    return name or "r"


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _decimal(value) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


class _Converter:
    def __init__(self, root: dict):
        self.root = root
        self.rules: dict[str, str] = {}
        self.by_body: dict[str, str] = {}
        self.ref_rules: dict[str, str] = {}
        # $refs entered since the last character the grammar must consume: meeting one again
        # would be left recursion, which llama.cpp cannot compile
        self.unconsumed_refs: list[str] = []

    # ------------------------------------------------------------------ rules
    def convert(self) -> str:
        expr = self.visit(self.root, "root")
        if expr != "root":
            self.rules["root"] = expr
        lines = [f"root ::= {self.rules['root']}"]
        lines += [f"{name} ::= {body}" for name, body in self.rules.items() if name != "root"]
        return "\n".join(lines) + "\n"

    def prim(self, name: str) -> str:
        if name not in self.rules:
            if name == "space":
                self.rules[name] = SPACE_RULE
            else:
                self.rules[name] = PRIMITIVES[name]
                for dep in PRIMITIVE_DEPS.get(name, []):
                    self.prim(dep)
                self.prim("space")
        return name

    def add(self, hint: str, body: str) -> str:
        """A rule for ``body`` (reusing one with the same body); returns its name."""
        if body in self.by_body:
            return self.by_body[body]
        base = _sanitize(hint)
        name, n = base, 1
        while name in self.rules or name in PRIMITIVES or name == "space":
            n += 1
            name = f"{base}-{n}"
        self.rules[name] = body
        self.by_body[body] = name
        return name

    # ------------------------------------------------------------------ $ref
    def resolve(self, ref: str):
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise FormatError(f"$ref {ref!r}: only references inside the schema ('#/$defs/...') "
                              f"are supported")
        node = self.root
        pointer = unquote(ref[1:])
        if pointer:
            if not pointer.startswith("/"):
                raise FormatError(f"$ref {ref!r}: anchors are not supported, use a JSON pointer")
            for part in pointer[1:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                elif isinstance(node, dict) and part in node:
                    node = node[part]
                else:
                    raise FormatError(f"$ref {ref!r} points at nothing in the schema")
        return node

    def ref_rule(self, ref: str) -> str:
        if ref in self.unconsumed_refs:
            raise FormatError(f"$ref {ref!r} refers to itself before any object, array or string "
                              f"starts: no JSON value can end that recursion")
        if ref in self.ref_rules:
            return self.ref_rules[ref]
        target = self.resolve(ref)
        base = "root-ref" if ref == "#" else _sanitize(ref.rsplit("/", 1)[-1])
        name, n = base, 1
        while name in self.rules or name in PRIMITIVES or name in ("space", "root"):
            n += 1
            name = f"{base}-{n}"
        self.ref_rules[ref] = name
        self.rules[name] = ""  # reserved: a recursive reference finds the name
        self.unconsumed_refs.append(ref)
        try:
            self.rules[name] = self.visit(target, name)
        finally:
            self.unconsumed_refs.remove(ref)
        return name

    def deref(self, schema, seen=()):
        """Follow a top-level ``$ref`` (merging its siblings) until the schema has none."""
        if schema is True:
            return {}
        if schema is False:
            return False
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen or len(seen) > MAX_REF_DEPTH:
                raise FormatError(f"$ref {ref!r} refers to itself through allOf; cannot merge")
            seen = seen + (ref,)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            target = self.deref(self.resolve(ref), seen)
            schema = target if not _constraining(rest) else self.merge(target, rest, seen)
        return schema

    # ------------------------------------------------------------------ allOf
    def flatten(self, schema, seen=()) -> dict | bool:
        schema = self.deref(schema, seen)
        if not isinstance(schema, dict) or "allOf" not in schema:
            return schema
        out = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            out = self.merge(out, part, seen)
        return out

    def merge(self, a, b, seen=()) -> dict | bool:
        a, b = self.flatten(a, seen), self.flatten(b, seen)
        if a is False or b is False:
            return False
        out = {k: v for k, v in a.items() if k not in ANNOTATIONS}
        a = out.copy()
        for key, bv in b.items():
            if key in ANNOTATIONS:
                continue
            if key not in a:
                out[key] = bv
                continue
            av = a[key]
            if _canonical(av) == _canonical(bv):
                continue
            if key == "type":
                ta, tb = _type_set(av), _type_set(bv)
                both = {t for t in ta if t in tb} | ({"integer"} if ("integer" in ta and "number" in tb)
                                                       or ("number" in ta and "integer" in tb) else set())
                if not both:
                    raise FormatError(f"allOf asks for types {sorted(ta)} and {sorted(tb)} at once")
                out[key] = sorted(both)
            elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"):
                out[key] = max(av, bv)
            elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"):
                out[key] = min(av, bv)
            elif key == "required":
                out[key] = list(dict.fromkeys(list(av) + list(bv)))
            elif key in ("enum", "const"):
                va = av if key == "enum" else [av]
                keys = {_canonical(v) for v in (bv if key == "enum" else [bv])}
                out.pop("const", None)
                out["enum"] = [v for v in va if _canonical(v) in keys]
            elif key in ("items", "additionalItems", "propertyNames", "contains"):
                out[key] = {"allOf": [av, bv]}
            elif key in ("anyOf", "oneOf"):
                out[key] = [{"allOf": [x, y]} for x in av for y in bv]
                if len(out[key]) > 64:
                    raise FormatError(f"allOf of two {key} lists is too large to express")
            elif key in ("properties", "additionalProperties", "prefixItems"):
                continue  # below
            else:
                raise FormatError(f"allOf combines two different '{key}' values; cannot merge")
        if "const" in a and "enum" in b:
            out["enum"] = [v for v in b["enum"] if _canonical(v) == _canonical(a["const"])]
            out.pop("const", None)
        if "properties" in a or "properties" in b or "additionalProperties" in a or "additionalProperties" in b:
            self._merge_object(out, a, b)
        if "prefixItems" in a and "prefixItems" in b:
            pa, pb = a["prefixItems"], b["prefixItems"]
            if len(pa) != len(pb):
                raise FormatError("allOf combines prefixItems of different lengths; cannot merge")
            out["prefixItems"] = [{"allOf": [x, y]} for x, y in zip(pa, pb)]
        return out

    def _merge_object(self, out: dict, a: dict, b: dict) -> None:
        pa, pb = a.get("properties", {}), b.get("properties", {})
        xa, xb = a.get("additionalProperties", True), b.get("additionalProperties", True)
        required = set(out.get("required", []))
        props = {}
        for key in list(dict.fromkeys(list(pa) + list(pb))):
            parts = [pa[key] if key in pa else xa, pb[key] if key in pb else xb]
            if any(p is False for p in parts):
                if key in required:
                    raise FormatError(f"allOf requires property {key!r} that additionalProperties: "
                                      f"false forbids")
                continue
            parts = [p for p in parts if p is not True and p != {}]
            props[key] = parts[0] if len(parts) == 1 else ({"allOf": parts} if parts else {})
        if props or "properties" in a or "properties" in b:
            out["properties"] = props
        if "additionalProperties" in a or "additionalProperties" in b:
            if xa is False or xb is False:
                out["additionalProperties"] = False
            else:
                parts = [p for p in (xa, xb) if p is not True]
                out["additionalProperties"] = ({"allOf": parts} if len(parts) > 1
                                               else parts[0] if parts else True)

    # ------------------------------------------------------------------ visiting
    def visit(self, schema, hint: str) -> str:
        if schema is True or schema == {}:
            return self.prim("value")
        if schema is False:
            raise FormatError(f"schema at '{hint}' is false: nothing can satisfy it")
        if not isinstance(schema, dict):
            raise FormatError(f"schema at '{hint}' must be an object")
        if "$ref" in schema:
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            if not _constraining(rest):
                return self.ref_rule(schema["$ref"])
            return self.visit(self.deref(schema), hint)
        if "allOf" in schema:
            return self.visit(self.flatten(schema), hint)
        for key, what in UNSUPPORTED.items():
            if key in schema:
                raise FormatError(f"{what} in format schema (at '{hint}') cannot be enforced by a "
                                  f"grammar")
        if "anyOf" in schema or "oneOf" in schema:
            return self.visit_alternatives(schema, hint)
        if "const" in schema or "enum" in schema:
            return self.visit_enum(schema, hint)
        types = self.types_of(schema)
        alts = []
        for t in types:
            alts.append(self.visit_type(t, schema, hint if len(types) == 1 else f"{hint}-{t}"))
        if len(alts) == 1:
            return alts[0]
        return self.add(hint, " | ".join(alts))

    def types_of(self, schema: dict) -> list[str]:
        if "type" in schema:
            types = _type_set(schema["type"])
            if "integer" in types and "number" in types:
                types = [t for t in types if t != "integer"]
            return [t for t in TYPES if t in types]
        implied = [t for t, keys in TYPE_KEYWORDS.items() if keys & set(schema)]
        return implied or ["value"]

    def visit_alternatives(self, schema: dict, hint: str) -> str:
        if "anyOf" in schema and "oneOf" in schema:
            raise FormatError(f"anyOf together with oneOf (at '{hint}') is not supported")
        key = "anyOf" if "anyOf" in schema else "oneOf"
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        branches = []
        for branch in schema[key]:
            merged = self.merge(base, branch) if _constraining(base) else branch
            if merged is False:
                continue
            branches.append(merged)
        if not branches:
            raise FormatError(f"no branch of {key} (at '{hint}') can be satisfied")
        if key == "oneOf":
            for i in range(len(branches)):
                for j in range(i + 1, len(branches)):
                    if not self.disjoint(branches[i], branches[j]):
                        raise FormatError(
                            f"oneOf (at '{hint}'): branches {i} and {j} can match the same value, "
                            f"so 'exactly one' cannot be enforced; use anyOf, or tell them apart "
                            f"by type or by a required property with a const value")
        alts = [self.visit(b, f"{hint}-{i}") for i, b in enumerate(branches)]
        return alts[0] if len(alts) == 1 else self.add(hint, " | ".join(alts))

    def disjoint(self, a, b, depth: int = 0) -> bool:
        """True when no JSON value can satisfy both ``a`` and ``b`` (a safe, partial test)."""
        if depth > 8:
            return False
        a, b = self.flatten(a), self.flatten(b)
        if a is False or b is False:
            return True
        ta = set(self.types_of(a)) if "type" in a else None
        tb = set(self.types_of(b)) if "type" in b else None
        if ta is not None and tb is not None:
            ta = ta | ({"integer"} if "number" in ta else set())
            tb = tb | ({"integer"} if "number" in tb else set())
            if not ta & tb:
                return True
        for one, other in ((a, b), (b, a)):
            values = one.get("enum", [one["const"]] if "const" in one else None)
            if values is not None and all(not self.accepts(other, v) for v in values):
                return True
        pa, pb = a.get("properties", {}), b.get("properties", {})
        shared = set(a.get("required", [])) & set(b.get("required", []))
        return any(k in pa and k in pb and self.disjoint(pa[k], pb[k], depth + 1) for k in shared)

    def accepts(self, schema, value) -> bool:
        """Does ``value`` satisfy ``schema`` (with this document's $defs), per jsonschema?"""
        if schema is True:
            return True
        if schema is False:
            return False
        doc = dict(schema)
        for key in ("$defs", "definitions"):
            if key in self.root and key not in doc:
                doc[key] = self.root[key]
        if "$schema" in self.root:
            doc.setdefault("$schema", self.root["$schema"])
        try:
            cls = jsonschema.validators.validator_for(doc)
            return cls(doc).is_valid(value)
        except Exception:  # an unresolvable $ref and the like: treat as "not accepted" (safe)
            return False

    def visit_enum(self, schema: dict, hint: str) -> str:
        values = schema.get("enum", [])
        if "const" in schema:
            values = [schema["const"]] if "enum" not in schema else [
                v for v in values if _canonical(v) == _canonical(schema["const"])]
        rest = {k: v for k, v in schema.items() if k not in ("enum", "const")}
        kept = [v for v in values if self.accepts(rest, v)] if _constraining(rest) else list(values)
        if not kept:
            raise FormatError(f"no value of enum/const (at '{hint}') satisfies the rest of its schema")
        self.prim("space")
        seen, alts = set(), []
        for v in kept:
            text = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
            if text in seen:
                continue
            seen.add(text)
            alts.append(gbnf_literal(text))
        return self.add(hint, "(" + " | ".join(alts) + ") space")

    def visit_type(self, t: str, schema: dict, hint: str) -> str:
        if t == "value":
            return self.prim("value")
        if t in ("boolean", "null"):
            return self.prim(t)
        if t == "string":
            return self.visit_string(schema, hint)
        if t in ("integer", "number"):
            return self.visit_number(t, schema, hint)
        pending, self.unconsumed_refs = self.unconsumed_refs, []  # "{" or "[" comes first
        try:
            return self.visit_object(schema, hint) if t == "object" else self.visit_array(schema, hint)
        finally:
            self.unconsumed_refs = pending

    # ------------------------------------------------------------------ strings
    def visit_string(self, schema: dict, hint: str) -> str:
        lo, hi = schema.get("minLength", 0), schema.get("maxLength")
        pattern, fmt = schema.get("pattern"), schema.get("format")
        has_length = lo > 0 or hi is not None
        if hi is not None and lo > hi:
            raise FormatError(f"minLength {lo} > maxLength {hi} (at '{hint}')")
        self.prim("space")
        if pattern is not None:
            if fmt in STRING_FORMATS:
                raise FormatError(f"pattern together with format {fmt!r} (at '{hint}') is not supported")
            return self.add(hint, f'"\\"" {pattern_to_gbnf(pattern, lo, hi)} "\\"" space')
        if fmt in STRING_FORMATS:
            if has_length:
                raise FormatError(f"format {fmt!r} together with minLength/maxLength (at '{hint}') "
                                  f"is not supported")
            return self.add(f"{fmt}-string", f'"\\"" {STRING_FORMATS[fmt]} "\\"" space')
        if not has_length:
            return self.prim("string")
        self.prim("char")
        rep = f"{{{lo},}}" if hi is None else (f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}")
        return self.add(hint, f'"\\"" char{rep} "\\"" space')

    # ------------------------------------------------------------------ numbers
    def visit_number(self, t: str, schema: dict, hint: str) -> str:
        lo, lo_incl, hi, hi_incl = _bounds(schema)
        mult = schema.get("multipleOf")
        if mult is not None:
            if mult == 1:
                t = "integer"
            else:
                raise FormatError(f"multipleOf {mult} (at '{hint}') cannot be enforced by a grammar")
        if lo is None and hi is None:
            return self.prim(t)
        self.prim("space")
        if t == "integer":
            ilo = None if lo is None else _ceil(lo) if lo_incl else _floor(lo) + 1
            ihi = None if hi is None else _floor(hi) if hi_incl else _ceil(hi) - 1
            return self.add(hint, f"{int_range(ilo, ihi)} space")
        return self.add(hint, f"{number_range(lo, lo_incl, hi, hi_incl)} space")

    # ------------------------------------------------------------------ objects
    def visit_object(self, schema: dict, hint: str) -> str:
        props: dict = dict(schema.get("properties", {}))
        required = list(dict.fromkeys(schema.get("required", [])))
        extra = schema.get("additionalProperties")
        for name in required:
            if name not in props:
                if extra is False:
                    raise FormatError(f"required property {name!r} (at '{hint}') is forbidden by "
                                      f"additionalProperties: false")
                props[name] = extra if isinstance(extra, dict) else {}
        names = list(props)
        if "propertyNames" in schema:
            bad = [n for n in names if not self.accepts(schema["propertyNames"], n)]
            if bad:
                raise FormatError(f"property {bad[0]!r} (at '{hint}') does not satisfy propertyNames")
            if isinstance(extra, dict) or (extra is None and not names):
                raise FormatError(f"propertyNames (at '{hint}') together with additional properties "
                                  f"is not supported; list the properties")
            extra = False
        if not names and (extra is None or extra is True):
            if schema.get("minProperties", 0) > 0:
                raise FormatError(f"minProperties (at '{hint}') without properties is not supported")
            if "maxProperties" in schema:
                raise FormatError(f"maxProperties (at '{hint}') without properties is not supported")
            return self.prim("object")
        # as llama.cpp: no extra keys unless additionalProperties says so (true or a schema)
        extra_schema = {} if extra is True else extra if isinstance(extra, dict) else None
        min_props, max_props = schema.get("minProperties", 0), schema.get("maxProperties")
        if min_props > len(required):
            raise FormatError(f"minProperties {min_props} (at '{hint}') above the number of required "
                              f"properties is not supported; list them in required")
        if max_props is not None and (extra_schema is not None or max_props < len(names)):
            if max_props < len(required):
                raise FormatError(f"maxProperties {max_props} (at '{hint}') is below the number of "
                                  f"required properties")
            # keep the required ones and drop optional ones until the count fits
            optional = [n for n in names if n not in required]
            keep = set(required) | set(optional[:max_props - len(required)])
            names = [n for n in names if n in keep]
            extra_schema = None
        self.prim("space")
        kv = {}
        for name in names:
            value = self.visit(props[name], f"{hint}-{name}")
            kv[name] = self.add(f"{hint}-{name}-kv",
                                f'{gbnf_literal(json.dumps(name, ensure_ascii=False))} space ":" space {value}')
        req = [n for n in names if n in required]
        opt = [n for n in names if n not in required]
        extra_kv = None
        if extra_schema is not None:
            key = self.not_names_key(names, f"{hint}-additional-key")
            value = self.visit(extra_schema, f"{hint}-additional-value")
            extra_kv = self.add(f"{hint}-additional-kv", f'{key} ":" space {value}')
        extra_tail = f'("," space {extra_kv})*' if extra_kv else None
        parts = ['"{" space']
        if req:
            # declared order (the order a model tends to write them): optional properties
            # before the first required one carry their comma after, later ones before
            first = names.index(req[0])
            for name in names[:first]:
                parts.append(f'({kv[name]} "," space)?')
            parts.append(kv[req[0]])
            for name in names[first + 1:]:
                parts.append(f'"," space {kv[name]}' if name in required else f'("," space {kv[name]})?')
            if extra_tail:
                parts.append(extra_tail)
        else:
            # no required ones: optional properties in order, each at most once, then extras
            tail_after: dict[int, str] = {}
            next_tail = extra_tail
            for i in range(len(opt) - 1, 0, -1):  # the tail after each optional one but the first
                body = f'("," space {kv[opt[i]]})?' + (f" {next_tail}" if next_tail else "")
                tail_after[i] = self.add(f"{hint}-{opt[i]}-rest", body) if next_tail else body
                next_tail = tail_after[i]
            firsts = []
            for i, name in enumerate(opt):
                rest = tail_after.get(i + 1) if i + 1 < len(opt) else extra_tail
                firsts.append(kv[name] + (f" {rest}" if rest else ""))
            if extra_kv:
                firsts.append(f"{extra_kv} {extra_tail}")
            if firsts:
                parts.append("(" + " | ".join(firsts) + ")?")
        parts.append('"}" space')
        return self.add(hint, " ".join(parts))

    def not_names_key(self, names: list[str], hint: str) -> str:
        """A JSON string key (with ``space``) that is none of ``names``: a trie of the names
        where leaving the trie (or stopping at a node that is no name's end) is allowed."""
        self.prim("char")
        trie: dict = {}
        for name in names:
            node = trie
            for ch in name:
                node = node.setdefault(ch, {})
            node[None] = True
        counter = [0]

        def node_rule(node: dict) -> str:
            children = sorted(k for k in node if k is not None)
            alts = []
            if None not in node:
                alts.append('"\\""')
            for ch in children:
                alts.append(f"{gbnf_literal(json_escaped(ch))} {node_rule(node[ch])}")
            other = complement(normalize([(ord(c), ord(c)) for c in children] + list(_MUST_ESCAPE)
                                         + [SURROGATES]))
            if other:
                alts.append(f'{charset_json(other)} char* "\\""')
            counter[0] += 1
            return self.add(f"{hint}-{counter[0]}", " | ".join(alts))

        return self.add(hint, f'"\\"" {node_rule(trie)} space')

    # ------------------------------------------------------------------ arrays
    def visit_array(self, schema: dict, hint: str) -> str:
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")
        if hi is not None and lo > hi:
            raise FormatError(f"minItems {lo} > maxItems {hi} (at '{hint}')")
        if schema.get("uniqueItems") and (hi is None or hi > 1):
            raise FormatError(f"uniqueItems (at '{hint}') cannot be enforced by a grammar; "
                              f"use maxItems: 1 or drop it")
        self.prim("space")
        prefix = list(prefix or [])
        count = len(prefix) if hi is None else min(len(prefix), hi)
        elems = [self.visit(s, f"{hint}-{i}") for i, s in enumerate(prefix[:count])]
        rest_lo = max(lo - count, 0)
        rest_hi = None if hi is None else hi - count
        rest_allowed = count == len(prefix) and items is not False and rest_hi != 0
        if not rest_allowed and rest_lo > 0:
            raise FormatError(f"minItems {lo} (at '{hint}') cannot be met: items are forbidden "
                              f"past prefixItems")
        if count < lo and count < len(prefix):  # pragma: no cover - count == min(len, hi) >= lo
            raise FormatError(f"minItems {lo} (at '{hint}') cannot be met")
        item = self.visit(items if items not in (None, True) else {}, f"{hint}-item") if rest_allowed else None
        parts = ['"[" space']
        seq = ' "," space '.join(elems)
        if item is None:
            parts.append(seq)
        elif elems:
            parts.append(seq)
            parts.append(_repeat(f'"," space {item}', rest_lo, rest_hi))
        else:
            if rest_lo > 0:
                parts.append(item)
                more = _repeat(f'"," space {item}', rest_lo - 1, None if rest_hi is None else rest_hi - 1)
                if more:
                    parts.append(more)
            else:
                more = _repeat(f'"," space {item}', 0, None if rest_hi is None else rest_hi - 1)
                parts.append(f"({item}{(' ' + more) if more else ''})?")
        parts.append('"]" space')
        return self.add(hint, " ".join(p for p in parts if p))


def _repeat(body: str, lo: int, hi: int | None) -> str:
    if hi == 0:
        return ""
    if hi is None:
        return f"({body})*" if lo == 0 else (f"({body})+" if lo == 1 else f"({body}){{{lo},}}")
    if lo == hi:
        return f"({body}){{{lo}}}"
    return f"({body})?" if (lo, hi) == (0, 1) else f"({body}){{{lo},{hi}}}"


def _type_set(value) -> list[str]:
    types = [value] if isinstance(value, str) else list(value)
    for t in types:
        if t not in TYPES:
            raise FormatError(f"unknown type {t!r} in format schema")
    return types


def _constraining(schema: dict) -> bool:
    return any(k not in ANNOTATIONS for k in schema)


def _bounds(schema: dict):
    """(lo, lo_inclusive, hi, hi_inclusive) as Decimals, drafts 4 and 6+ alike."""
    lo = hi = None
    lo_incl = hi_incl = True
    if "minimum" in schema:
        lo = _decimal(schema["minimum"])
        if schema.get("exclusiveMinimum") is True:  # draft 4
            lo_incl = False
    if "maximum" in schema:
        hi = _decimal(schema["maximum"])
        if schema.get("exclusiveMaximum") is True:
            hi_incl = False
    em, eM = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if not isinstance(em, bool) and em is not None:
        em = _decimal(em)
        if lo is None or em >= lo:
            lo, lo_incl = em, False
    if not isinstance(eM, bool) and eM is not None:
        eM = _decimal(eM)
        if hi is None or eM <= hi:
            hi, hi_incl = eM, False
    return lo, lo_incl, hi, hi_incl


def _floor(d: Decimal) -> int:
    return int(d.to_integral_value(rounding="ROUND_FLOOR"))


def _ceil(d: Decimal) -> int:
    return int(d.to_integral_value(rounding="ROUND_CEILING"))

"""Turn /api/generate and /api/chat requests into prompt text, as Ollama does.

Template choice (first that applies):

1. the request's ``template`` (Go text/template syntax);
2. the model's TEMPLATE layer (``record.template``, Go syntax);
3. the GGUF's Jinja chat template (``tokenizer.chat_template``), rendered in a sandbox;
4. a fallback: ``{{ .Prompt }}`` for generate, BASE_MODEL_TEMPLATE's transcript for chat.

Go templates follow Ollama's ``template.Execute``: templates that reference ``.Messages`` get
``System`` (all system messages joined), ``Messages`` (consecutive same-role messages
merged), ``Tools``, ``Think``...; older templates get the legacy ``.System/.Prompt/.Response``
form, executed once per exchange with the last one cut right after ``.Response``; a template
that references neither ``.Messages`` nor ``.Response`` gets ``{{ .Response }}`` appended.

One documented extension: for /api/generate, messages-style templates also see ``.Prompt``
(the request's prompt). Ollama's own templates never read it in their messages branch, so
they render exactly as in Ollama; it lets one template render generate as a plain completion
and chat as a transcript (see inference/prompts/base_template.py).

The returned text never starts with the model's BOS token: the runtime adds BOS when it
tokenizes (as Ollama's runner does), so a leading BOS from a Jinja template is removed.

Chat history that does not fit ``num_ctx`` loses its oldest non-system messages first (a
tool result is never separated from the assistant turn that called the tool); system
messages and the last message always stay. Unlike Ollama, the count of dropped messages is
reported in ``ChatPrompt.dropped_messages``.

Pure logic: the only I/O is ``inference.models.gguf_info.read_metadata`` (cached per file) for
models without a TEMPLATE layer.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import logging
from dataclasses import dataclass, field

from inference.prompts import gotemplate
from inference.prompts.base_template import BASE_MODEL_TEMPLATE
from inference.prompts.gotemplate import GoTemplateError, OrderedJSON, go_json

__all__ = [
    "PromptError",
    "ChatPrompt",
    "generate_prompt",
    "chat_prompt",
    "render_go_template",
    "render_jinja_chat",
    "normalize_messages",
    "DEFAULT_TEMPLATE",
]

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "{{ .Prompt }}"


class PromptError(ValueError):
    """The request cannot be turned into a prompt (bad template, bad messages, unsupported
    suffix...). The server answers 400 with str(e)."""


@dataclass
class ChatPrompt:
    text: str
    dropped_messages: int
    token_count: int | None = None  # tokens of ``text`` when counted (None if not needed)
    kept_messages: int = 0  # messages rendered (after the model's system/MESSAGE layers)
    template_kind: str = ""  # "go", "jinja" or "fallback"


# ---------------------------------------------------------------------------------------
# Go-side values (field names as Ollama's template structs)
# ---------------------------------------------------------------------------------------


class JSONMap(dict):
    """A Go map whose String() is its JSON (Ollama's templateArgs/templateProperties)."""

    def __go_string__(self) -> str:
        return go_json(dict(self)) if self else "{}"


class PropertyType(list):
    """api.PropertyType: prints a single type as itself, marshals one type as a string."""

    def __go_string__(self) -> str:
        if not self:
            return ""
        if len(self) == 1:
            return str(self[0])
        return "[" + " ".join(str(t) for t in self) + "]"

    def __go_json__(self):
        return self[0] if len(self) == 1 else list(self)


class ToolProperty:
    """api.ToolProperty (a JSON-schema property) with Go field names."""

    def __init__(self, schema: dict):
        schema = schema if isinstance(schema, dict) else {}
        self._schema = schema
        t = schema.get("type")
        self.Type = PropertyType(t if isinstance(t, list) else [t] if t else [])
        self.Items = schema.get("items")
        self.Description = schema.get("description", "") or ""
        self.Enum = schema.get("enum")
        self.AnyOf = [ToolProperty(s) for s in schema.get("anyOf") or []]
        props = schema.get("properties")
        self.Properties = JSONMap({k: ToolProperty(v) for k, v in props.items()}) if isinstance(props, dict) else None

    def __go_json__(self):
        out = OrderedJSON()
        if self.AnyOf:
            out["anyOf"] = self.AnyOf
        if self.Type:
            out["type"] = self.Type
        if self.Items is not None:
            out["items"] = self.Items
        if self.Description:
            out["description"] = self.Description
        if self.Enum:
            out["enum"] = self.Enum
        if self.Properties:
            out["properties"] = self.Properties
        return out


@dataclass
class ToolFunctionParameters:
    Type: str = ""
    Defs: object = None
    Items: object = None
    Required: list | None = None
    Properties: JSONMap = field(default_factory=JSONMap)

    def __go_json__(self):
        out = OrderedJSON(type=self.Type)
        if self.Defs is not None:
            out["$defs"] = self.Defs
        if self.Items is not None:
            out["items"] = self.Items
        if self.Required:
            out["required"] = self.Required
        out["properties"] = self.Properties
        return out


@dataclass
class ToolFunction:
    Name: str = ""
    Description: str = ""
    Parameters: ToolFunctionParameters = field(default_factory=ToolFunctionParameters)

    def __go_json__(self):
        return OrderedJSON(name=self.Name, description=self.Description, parameters=self.Parameters)

    def __go_string__(self) -> str:  # api.ToolFunction.String(): its JSON
        return go_json(self)


@dataclass
class Tool:
    Type: str = ""
    Items: object = None
    Function: ToolFunction = field(default_factory=ToolFunction)

    def __go_json__(self):
        out = OrderedJSON(type=self.Type)
        if self.Items is not None:
            out["items"] = self.Items
        out["function"] = self.Function
        return out

    def __go_string__(self) -> str:  # api.Tool.String(): its JSON
        return go_json(self)


class Tools(list):
    """templateTools: prints as its JSON."""

    def __go_string__(self) -> str:
        return go_json(list(self))


@dataclass
class ToolCallFunction:
    Index: int = 0
    Name: str = ""
    Arguments: JSONMap = field(default_factory=JSONMap)

    def __go_json__(self):
        return OrderedJSON(Index=self.Index, Name=self.Name, Arguments=self.Arguments)


@dataclass
class ToolCall:
    ID: str = ""
    Function: ToolCallFunction = field(default_factory=ToolCallFunction)


@dataclass
class Message:
    """Ollama's templateMessage."""

    Role: str = ""
    Content: str = ""
    Thinking: str = ""
    Images: list | None = None
    ToolCalls: list | None = None
    ToolName: str = ""
    ToolCallID: str = ""


def _tool_from_json(obj) -> Tool:
    if not isinstance(obj, dict):
        raise PromptError("invalid tool: expected an object")
    fn = obj.get("function") or {}
    if not isinstance(fn, dict):
        raise PromptError("invalid tool: 'function' must be an object")
    params = fn.get("parameters") or {}
    if not isinstance(params, dict):
        raise PromptError("invalid tool: 'parameters' must be an object")
    props = params.get("properties") or {}
    if not isinstance(props, dict):
        raise PromptError("invalid tool: 'properties' must be an object")
    required = params.get("required")
    return Tool(
        Type=str(obj.get("type") or ""),
        Items=obj.get("items"),
        Function=ToolFunction(
            Name=str(fn.get("name") or ""),
            Description=str(fn.get("description") or ""),
            Parameters=ToolFunctionParameters(
                Type=str(params.get("type") or ""),
                Defs=params.get("$defs"),
                Items=params.get("items"),
                Required=list(required) if isinstance(required, list) else None,
                Properties=JSONMap({str(k): ToolProperty(v) for k, v in props.items()}),
            ),
        ),
    )


def _arguments(value) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            raise PromptError("invalid tool call: arguments are not valid JSON") from None
        if isinstance(parsed, dict):
            return parsed
    if value in (None, ""):
        return {}
    raise PromptError("invalid tool call: arguments must be an object")


def _to_template_message(m: dict) -> Message:
    calls = None
    if m.get("tool_calls"):
        calls = []
        for i, tc in enumerate(m["tool_calls"]):
            fn = tc.get("function") or {}
            calls.append(ToolCall(
                ID=str(tc.get("id") or ""),
                Function=ToolCallFunction(
                    Index=fn.get("index", i) if isinstance(fn.get("index"), int) else i,
                    Name=str(fn.get("name") or ""),
                    Arguments=JSONMap(_arguments(fn.get("arguments"))),
                ),
            ))
    return Message(
        Role=m["role"],
        Content=m["content"],
        Thinking=m.get("thinking") or "",
        Images=m.get("images") or None,
        ToolCalls=calls,
        ToolName=m.get("tool_name") or "",
        ToolCallID=m.get("tool_call_id") or "",
    )


# ---------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------


def normalize_messages(messages, *, where: str = "messages") -> list[dict]:
    """Validate chat messages; returns copies with ``role`` and ``content`` (str) set."""
    if messages is None:
        return []
    if not isinstance(messages, (list, tuple)):
        raise PromptError(f"invalid {where}: expected an array of messages")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise PromptError(f"invalid {where}[{i}]: expected an object")
        role = m.get("role")
        if not isinstance(role, str) or not role:
            raise PromptError(f"invalid {where}[{i}]: 'role' must be a non-empty string")
        content = m.get("content")
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise PromptError(f"invalid {where}[{i}]: 'content' must be a string")
        tool_calls = m.get("tool_calls")
        if tool_calls is not None:
            if not isinstance(tool_calls, list) or not all(isinstance(t, dict) for t in tool_calls):
                raise PromptError(f"invalid {where}[{i}]: 'tool_calls' must be an array of objects")
            for t in tool_calls:
                fn = t.get("function")
                if fn is not None and not isinstance(fn, dict):
                    raise PromptError(f"invalid {where}[{i}]: tool call 'function' must be an object")
        images = m.get("images")
        if images is not None and not isinstance(images, list):
            raise PromptError(f"invalid {where}[{i}]: 'images' must be an array")
        copy = dict(m)
        copy["role"] = role
        copy["content"] = content
        out.append(copy)
    return out


def _collate(messages: list[dict]) -> tuple[str, list[dict]]:
    """Ollama's collate: all system texts joined by a blank line; consecutive messages of the
    same role (except tool) merged with a blank line."""
    system = []
    collated: list[dict] = []
    for m in messages:
        if m["role"] == "system":
            system.append(m["content"])
        if collated and collated[-1]["role"] == m["role"] and m["role"] != "tool":
            collated[-1] = dict(collated[-1], content=collated[-1]["content"] + "\n\n" + m["content"])
        else:
            collated.append(dict(m))
    return "\n\n".join(system), collated


def _think_values(think) -> dict:
    if think is None:
        return {"Think": False, "ThinkLevel": "", "IsThinkSet": False}
    if isinstance(think, bool):
        return {"Think": think, "ThinkLevel": "", "IsThinkSet": True}
    if isinstance(think, str) and think in ("low", "medium", "high"):
        return {"Think": True, "ThinkLevel": think, "IsThinkSet": True}
    raise PromptError(f"invalid think value: {think!r} (expected true, false, \"low\", \"medium\" or \"high\")")


# ---------------------------------------------------------------------------------------
# Go templates (Ollama's Template.Execute)
# ---------------------------------------------------------------------------------------


def _parse_go(source: str, what: str) -> gotemplate.Template:
    try:
        return _ollama_template(source)
    except GoTemplateError as err:
        raise PromptError(f"invalid {what}: {err}") from None


def _ollama_template(source: str) -> gotemplate.Template:
    """Parse like Ollama's template.Parse: append {{ .Response }} to templates that reference
    neither .Messages nor .Response. Cached on the parsed template."""
    tmpl = gotemplate.parse(source)
    cached = tmpl.derived.get("ollama")
    if cached is None:
        cached = tmpl.derived["ollama"] = _with_response(tmpl)
    return cached


def _with_response(tmpl: gotemplate.Template) -> gotemplate.Template:
    source = tmpl.source
    ids = tmpl.identifiers()
    if "messages" not in ids and "response" not in ids:
        end = len(source)
        response = gotemplate.Action(end, gotemplate.Pipe(end, [], False, [
            gotemplate.Command(end, [gotemplate.Field(end, ["Response"])])]))
        tmpl = gotemplate.Template(source, tmpl.nodes + [response])
    return tmpl


def _cut_after_response(tmpl: gotemplate.Template) -> gotemplate.Template:
    """Ollama's deleteNode: drop every node after the first ``.Response`` field, in document
    order (branch conditions are not searched, as in Ollama). Cached on the template."""
    cached = tmpl.derived.get("cut")
    if cached is None:
        cached = tmpl.derived["cut"] = _build_cut(tmpl)
    return cached


def _build_cut(tmpl: gotemplate.Template) -> gotemplate.Template:
    cut = False

    def hit(node) -> bool:
        nonlocal cut
        if isinstance(node, gotemplate.Field) and "Response" in node.idents:
            cut = True
            return False
        return cut

    def walk_list(nodes):
        if cut:
            return []
        out = []
        for n in nodes:
            w = walk(n)
            if w is not None:
                out.append(w)
        return out

    def walk(node):
        if hit(node):
            return None
        if isinstance(node, gotemplate.Branch):
            body = walk_list(node.body)
            else_body = walk_list(node.else_body) if node.else_body is not None else None
            return gotemplate.Branch(node.kind, node.pos, node.pipe, body, else_body)
        if isinstance(node, gotemplate.Action):
            pipe = walk(node.pipe)
            return None if pipe is None else gotemplate.Action(node.pos, pipe)
        if isinstance(node, gotemplate.Pipe):
            cmds = []
            for c in node.cmds:
                args = [a for a in (walk(x) for x in c.args) if a is not None]
                if not args:
                    return None
                cmds.append(gotemplate.Command(c.pos, args))
            if not cmds:
                return None
            return gotemplate.Pipe(node.pos, node.decl, node.is_assign, cmds)
        return node

    return tmpl.with_nodes(walk_list(tmpl.nodes))


def render_go_template(
    source: str,
    messages: list[dict] | None = None,
    *,
    tools=None,
    think=None,
    prompt: str = "",
    suffix: str = "",
    expose_prompt: bool = False,
    what: str = "template",
) -> str:
    """Render an Ollama TEMPLATE with Ollama's Values semantics (see the module docstring)."""
    tmpl = _parse_go(source, what)
    messages = normalize_messages(messages)
    think_values = _think_values(think)
    try:
        if prompt and suffix:
            return tmpl.execute({"Prompt": prompt, "Suffix": suffix, "Response": "", **think_values})
        system, collated = _collate(messages)
        if tmpl.references("messages"):
            data = {
                "System": system,
                "Messages": [_to_template_message(m) for m in collated],
                "Tools": Tools(_tool_from_json(t) for t in tools) if tools else None,
                "Response": "",
                **think_values,
            }
            if expose_prompt:
                data["Prompt"] = prompt
            return tmpl.execute(data)
        return _render_legacy(tmpl, collated, think_values)
    except GoTemplateError as err:
        raise PromptError(f"error rendering {what}: {err}") from None


def _render_legacy(tmpl: gotemplate.Template, collated: list[dict], think_values: dict) -> str:
    out = []
    system = prompt = response = ""

    def execute():
        nonlocal system, prompt, response
        out.append(tmpl.execute({"System": system, "Prompt": prompt, "Response": response, **think_values}))
        system = prompt = response = ""

    for m in collated:
        role = m["role"]
        if role == "system":
            if prompt or response:
                execute()
            system = m["content"]
        elif role == "user":
            if response:
                execute()
            prompt = m["content"]
        elif role == "assistant":
            response = m["content"]
    out.append(_cut_after_response(tmpl).execute(
        {"System": system, "Prompt": prompt, "Response": response, **think_values}))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# Jinja chat templates from GGUF metadata
# ---------------------------------------------------------------------------------------


class _TemplateRaised(Exception):
    pass


def _raise_exception(message):
    raise _TemplateRaised(str(message))


def _tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return _dt.datetime.now().strftime(fmt)


@functools.lru_cache(maxsize=1)
def _jinja_env():
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.filters["tojson"] = _tojson
    return env


@functools.lru_cache(maxsize=32)
def _jinja_template(source: str):
    import jinja2

    try:
        return _jinja_env().from_string(source)
    except jinja2.TemplateError as err:
        raise PromptError(f"invalid chat template in the model: {err}") from None


def _jinja_message(m: dict) -> dict:
    out = {"role": m["role"], "content": m["content"]}
    if m.get("tool_calls"):
        out["tool_calls"] = [
            {
                "type": "function",
                **({"id": tc["id"]} if tc.get("id") else {}),
                "function": {
                    "name": (tc.get("function") or {}).get("name", ""),
                    "arguments": _arguments((tc.get("function") or {}).get("arguments")),
                },
            }
            for tc in m["tool_calls"]
        ]
    for key in ("tool_name", "tool_call_id", "thinking"):
        if m.get(key):
            out[key] = m[key]
    if m.get("tool_name") and "name" not in out:
        out["name"] = m["tool_name"]
    return out


def special_tokens(metadata: dict | None) -> dict:
    """BOS/EOS token texts from GGUF metadata when the token list is available."""
    md = metadata or {}
    if isinstance(md.get("_special_tokens"), dict):
        return dict(md["_special_tokens"])
    tokens = md.get("tokenizer.ggml.tokens")
    out = {"bos_token": "", "eos_token": ""}
    if isinstance(tokens, (list, tuple)):
        for name, key in (("bos_token", "tokenizer.ggml.bos_token_id"),
                          ("eos_token", "tokenizer.ggml.eos_token_id")):
            idx = md.get(key)
            if isinstance(idx, int) and 0 <= idx < len(tokens) and isinstance(tokens[idx], str):
                out[name] = tokens[idx]
    return out


def render_jinja_chat(
    source: str,
    messages: list[dict],
    *,
    metadata: dict | None = None,
    bos_token: str | None = None,
    eos_token: str | None = None,
    tools=None,
    think=None,
    add_generation_prompt: bool = True,
) -> str:
    """Render a Hugging Face style Jinja chat template (sandboxed), as llama.cpp would.

    Consecutive messages of one role are merged first (many templates insist that roles
    alternate); a leading BOS is stripped because the runtime adds BOS itself.
    """
    import jinja2

    tmpl = _jinja_template(source)
    tokens = special_tokens(metadata)
    bos = bos_token if bos_token is not None else tokens["bos_token"]
    eos = eos_token if eos_token is not None else tokens["eos_token"]
    _, collated = _collate(normalize_messages(messages))
    ctx = {
        "messages": [_jinja_message(m) for m in collated],
        "add_generation_prompt": add_generation_prompt,
        "bos_token": bos,
        "eos_token": eos,
    }
    ctx["tools"] = tools or None  # as transformers does: templates test `tools is not none`
    if think is not None:
        ctx["enable_thinking"] = bool(think)
    try:
        text = tmpl.render(**ctx)
    except _TemplateRaised as err:
        raise PromptError(f"the model's chat template refused the messages: {err}") from None
    except jinja2.TemplateError as err:
        raise PromptError(f"error rendering the model's chat template: {err}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
        raise PromptError(f"error rendering the model's chat template: {err}") from None
    if bos and text.startswith(bos):
        text = text[len(bos):]
    return text


def _gguf_chat_template(record) -> tuple[str | None, dict]:
    """The GGUF's Jinja chat template and the metadata to render it with (BOS/EOS texts)."""
    path = getattr(record, "model_path", None)
    if path is None:
        return None, {}
    from inference.models import gguf_info

    try:
        md = gguf_info.read_metadata(path)
    except (OSError, ValueError) as err:
        log.warning("cannot read GGUF metadata of %s: %s", path, err)
        return None, {}
    tmpl = gguf_info.chat_template(md)
    if not tmpl:
        return None, md
    tokens = special_tokens(md)
    wants = [name for name in ("bos_token", "eos_token") if name in tmpl and not tokens[name]]
    if wants and md.get("tokenizer.ggml.tokens") is None:
        # The short metadata leaves out the vocabulary; read it once to name BOS/EOS.
        try:
            tokens = special_tokens(gguf_info.read_metadata(path, max_array=None))
        except (OSError, ValueError, TypeError) as err:
            log.warning("cannot read the vocabulary of %s: %s", path, err)
    return tmpl, {**md, "_special_tokens": tokens}


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------


def _record_messages(record) -> list[dict]:
    return normalize_messages(getattr(record, "messages", None) or [], where="model messages")


def _system_message(text) -> list[dict]:
    return [{"role": "system", "content": text}] if text else []


def generate_prompt(
    record,
    prompt: str,
    *,
    system=None,
    template=None,
    suffix=None,
    raw: bool = False,
    think=None,
    include_model_messages: bool = True,
    bos_token: str | None = None,
    eos_token: str | None = None,
) -> str:
    """The prompt text for /api/generate.

    ``raw`` returns ``prompt`` unchanged. Otherwise the system prompt is the request's (if
    non-empty) else the model's; the model's MESSAGE layers come before the prompt unless
    ``include_model_messages`` is False (Ollama skips them when the request has a context).
    With ``suffix`` the template must reference ``.Suffix`` (fill-in-the-middle), else
    PromptError.
    """
    prompt = "" if prompt is None else prompt
    if not isinstance(prompt, str):
        raise PromptError("invalid prompt: expected a string")
    if raw:
        return prompt
    for name, value in (("system", system), ("template", template), ("suffix", suffix)):
        if value is not None and not isinstance(value, str):
            raise PromptError(f"invalid {name}: expected a string")
    system_text = system or getattr(record, "system", None) or ""
    messages = _system_message(system_text)
    if include_model_messages:
        messages += _record_messages(record)
    messages.append({"role": "user", "content": prompt})

    go_source, what = _go_source(record, template)
    if go_source is None:
        jinja_source, md = _gguf_chat_template(record)
        if jinja_source is not None:
            if suffix:
                raise PromptError(f"{_model_name(record)} does not support insert")
            return render_jinja_chat(jinja_source, messages, metadata=md, bos_token=bos_token,
                                     eos_token=eos_token, think=think)
        go_source, what = DEFAULT_TEMPLATE, "template"
    if suffix:
        if not _parse_go(go_source, what).references("suffix"):
            raise PromptError(f"{_model_name(record)} does not support insert")
        if prompt:
            return render_go_template(go_source, prompt=prompt, suffix=suffix, think=think, what=what)
    return render_go_template(go_source, messages, prompt=prompt, expose_prompt=True,
                              think=think, what=what)


def chat_prompt(
    record,
    messages: list[dict],
    *,
    count_tokens,
    num_ctx: int,
    template=None,
    reserve: int = 0,
    tools=None,
    think=None,
    truncate: bool = True,
    bos_token: str | None = None,
    eos_token: str | None = None,
) -> ChatPrompt:
    """The prompt text for /api/chat, trimmed to fit ``num_ctx - reserve`` tokens.

    The model's MESSAGE layers come first; the model's system prompt is prepended unless the
    first request message is a system message. ``count_tokens(text) -> int`` counts tokens
    with the model's tokenizer.
    """
    request_messages = normalize_messages(messages)
    if tools is not None and not isinstance(tools, list):
        raise PromptError("invalid tools: expected an array")
    all_messages = _record_messages(record) + request_messages
    record_system = getattr(record, "system", None) or ""
    if record_system and not (request_messages and request_messages[0]["role"] == "system"):
        all_messages = _system_message(record_system) + all_messages

    go_source, what = _go_source(record, template)
    kind = "go"
    if go_source is not None:
        def render(msgs):
            return render_go_template(go_source, msgs, tools=tools, think=think, what=what)
    else:
        jinja_source, md = _gguf_chat_template(record)
        if jinja_source is not None:
            kind = "jinja"

            def render(msgs):
                return render_jinja_chat(jinja_source, msgs, metadata=md, bos_token=bos_token,
                                         eos_token=eos_token, tools=tools, think=think)
        else:
            kind = "fallback"

            def render(msgs):
                return render_go_template(BASE_MODEL_TEMPLATE, msgs, tools=tools, think=think)

    return _fit(all_messages, render, count_tokens, num_ctx, reserve, truncate, kind)


def _fit(msgs, render, count_tokens, num_ctx, reserve, truncate, kind) -> ChatPrompt:
    budget = int(num_ctx) - int(reserve or 0)

    def candidate(start: int) -> list[dict]:
        return [m for m in msgs[:start] if m["role"] == "system"] + msgs[start:]

    def dropped(start: int) -> int:
        return sum(1 for m in msgs[:start] if m["role"] != "system")

    text = render(msgs)
    if not truncate or not msgs:
        return ChatPrompt(text, 0, None, len(msgs), kind)
    n = _count(count_tokens, text)
    if n <= budget:
        return ChatPrompt(text, 0, n, len(msgs), kind)

    # Drop from the front, one message at a time (in effect): find the smallest start index
    # whose prompt fits. The token count shrinks as the start moves on, so a binary search
    # over the start finds the same index as Ollama's linear scan with O(log n) renders.
    last = len(msgs) - 1
    starts = sorted({_tool_block_start(msgs, i) for i in range(1, last + 1)})
    starts = [s for s in starts if dropped(s) > 0] or [last]
    cache: dict[int, tuple[str, int]] = {}

    def fits(idx: int) -> bool:
        s = starts[idx]
        if s not in cache:
            t = render(candidate(s))
            cache[s] = (t, _count(count_tokens, t))
        return cache[s][1] <= budget

    lo, hi = 0, len(starts) - 1
    if not fits(hi):
        chosen = starts[hi]  # even system + last message do not fit: keep them anyway
    else:
        while lo < hi:
            mid = (lo + hi) // 2
            if fits(mid):
                hi = mid
            else:
                lo = mid + 1
        chosen = starts[lo]
    text, n = cache[chosen]
    kept = candidate(chosen)
    n_dropped = dropped(chosen)
    log.info("chat history trimmed to fit num_ctx=%d: dropped %d of %d messages (%d tokens)",
             num_ctx, n_dropped, len(msgs), n)
    return ChatPrompt(text, n_dropped, n, len(kept), kind)


def _count(count_tokens, text: str) -> int:
    n = count_tokens(text)
    if isinstance(n, (list, tuple)):
        return len(n)
    return int(n)


def _tool_block_start(msgs: list[dict], idx: int) -> int:
    """Never start on a tool result: back up to the assistant turn that called the tools."""
    if idx <= 0 or idx >= len(msgs) or msgs[idx]["role"] != "tool":
        return idx
    start = idx
    while start > 0 and msgs[start - 1]["role"] == "tool":
        start -= 1
    assistant = start - 1
    if assistant >= 0 and msgs[assistant]["role"] == "assistant" and msgs[assistant].get("tool_calls"):
        return assistant
    return idx


def _go_source(record, template) -> tuple[str | None, str]:
    if template:
        if not isinstance(template, str):
            raise PromptError("invalid template: expected a string")
        return template, "template"
    model_template = getattr(record, "template", None)
    if model_template:
        return model_template, "model template"
    return None, ""


def _model_name(record) -> str:
    name = getattr(record, "name", None)
    display = getattr(name, "display", None)
    return f'"{display or name or "model"}"'

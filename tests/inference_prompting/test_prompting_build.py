"""Prompt building for /api/generate and /api/chat with real model records (a real
ModelStore in a temp dir, tiny real GGUF files written with the gguf package)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.prompts.base_template import BASE_MODEL_TEMPLATE
from inference.prompts.prompting import (
    ChatPrompt,
    PromptError,
    chat_prompt,
    generate_prompt,
    render_go_template,
    render_jinja_chat,
)

CHATML = ("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
          "{{ end }}<|im_start|>assistant\n")
LEGACY = "{{ if .System }}<<{{ .System }}>>{{ end }}{{ .Prompt }}"
JINJA = ("{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}"
         "{% if add_generation_prompt %}[assistant]{% endif %}")
# One bracketed item per message: easy to read back which messages were kept.
MARKED = "{{ range .Messages }}[{{ .Role }}:{{ .Content }}]{{ end }}"


def chars(text: str) -> int:
    return len(text)


# --- generate -------------------------------------------------------------------------------

def test_raw_returns_the_prompt_untouched(make_record):
    record = make_record(template=CHATML, system="model system")
    assert generate_prompt(record, "  raw {{ .Prompt }} text\n", raw=True) == "  raw {{ .Prompt }} text\n"


def test_system_precedence(make_record):
    record = make_record(template=LEGACY, system="model system")
    assert generate_prompt(record, "hi") == "<<model system>>hi"
    assert generate_prompt(record, "hi", system="request system") == "<<request system>>hi"
    assert generate_prompt(record, "hi", system="") == "<<model system>>hi"  # empty = not given
    assert generate_prompt(make_record(template=LEGACY), "hi") == "hi"


def test_request_template_overrides_the_models(make_record):
    record = make_record(template=LEGACY, system="sys")
    assert generate_prompt(record, "hi", template="Q: {{ .Prompt }} ({{ .System }})") == "Q: hi (sys)"
    # a messages-style override gets the system and the prompt as messages
    assert generate_prompt(record, "hi", template=CHATML) == \
        "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_generate_includes_model_message_layers_unless_told_not_to(make_record):
    record = make_record(template=CHATML, messages=[
        {"role": "user", "content": "example q"}, {"role": "assistant", "content": "example a"}])
    assert generate_prompt(record, "real q") == (
        "<|im_start|>user\nexample q<|im_end|>\n<|im_start|>assistant\nexample a<|im_end|>\n"
        "<|im_start|>user\nreal q<|im_end|>\n<|im_start|>assistant\n")
    # Ollama leaves the MESSAGE layers out when the request carries a context
    assert generate_prompt(record, "real q", include_model_messages=False) == \
        "<|im_start|>user\nreal q<|im_end|>\n<|im_start|>assistant\n"


def test_generate_without_template_uses_the_gguf_chat_template(make_record):
    record = make_record(chat_template=JINJA, system="be brief")
    # one user message (plus the system), generation prompt on, leading BOS removed
    assert generate_prompt(record, "hi") == "[system]be brief</s>[user]hi</s>[assistant]"


def test_generate_without_any_template_is_the_plain_prompt(make_record):
    record = make_record(system="ignored, as in Ollama's {{ .Prompt }} default")
    assert generate_prompt(record, "just this") == "just this"


def test_suffix_needs_a_template_with_suffix(make_record):
    fim = "{{- if .Suffix }}<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>{{- else }}{{ .Prompt }}{{- end }}"
    record = make_record(template=fim)
    assert generate_prompt(record, "def add(", suffix="return x") == "<PRE> def add( <SUF>return x <MID>"
    with pytest.raises(PromptError, match="does not support insert"):
        generate_prompt(make_record(template=LEGACY), "def add(", suffix="return x")
    with pytest.raises(PromptError, match="does not support insert"):
        generate_prompt(make_record(chat_template=JINJA), "x", suffix="y")


def test_bad_request_template_is_a_prompt_error_with_position(make_record):
    record = make_record(template=LEGACY)
    with pytest.raises(PromptError) as err:
        generate_prompt(record, "hi", template="ok\n{{ if .Prompt }}never closed")
    assert "invalid template" in str(err.value) and "line 2" in str(err.value)
    with pytest.raises(PromptError, match="invalid prompt"):
        generate_prompt(record, ["not", "a", "string"])


def test_base_model_template_generate_is_a_plain_completion(make_record):
    record = make_record(template=BASE_MODEL_TEMPLATE)
    few_shot = "Text: teh cat sat\nCorrected: the cat sat\nText: i has a dog\nCorrected:"
    assert generate_prompt(record, few_shot) == few_shot
    assert generate_prompt(record, "Continue this", system="You write poems.") == \
        "You write poems.\n\nContinue this"


# --- chat -----------------------------------------------------------------------------------

def test_model_system_is_prepended_unless_the_first_message_is_system(make_record):
    record = make_record(template=MARKED, system="model sys")
    user = [{"role": "user", "content": "hi"}]
    assert chat_prompt(record, user, count_tokens=chars, num_ctx=10_000).text == \
        "[system:model sys][user:hi]"
    own = [{"role": "system", "content": "mine"}, {"role": "user", "content": "hi"}]
    assert chat_prompt(record, own, count_tokens=chars, num_ctx=10_000).text == "[system:mine][user:hi]"


def test_model_message_layers_come_first(make_record):
    record = make_record(template=MARKED, system="sys", messages=[
        {"role": "user", "content": "ex q"}, {"role": "assistant", "content": "ex a"}])
    out = chat_prompt(record, [{"role": "user", "content": "q"}], count_tokens=chars, num_ctx=10_000)
    assert out.text == "[system:sys][user:ex q][assistant:ex a][user:q]"
    assert out.dropped_messages == 0 and out.template_kind == "go"


def test_chat_uses_the_gguf_jinja_template(make_record):
    record = make_record(chat_template=JINJA)
    msgs = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"}]
    out = chat_prompt(record, msgs, count_tokens=chars, num_ctx=10_000)
    assert out.text == "[user]a</s>[assistant]b</s>[user]c</s>[assistant]"
    assert out.template_kind == "jinja"


def test_jinja_bos_and_eos_come_from_the_full_vocabulary_when_metadata_is_short(make_record):
    # 100 tokens: gguf_info's short metadata drops the vocabulary; prompting reads it once
    record = make_record(chat_template=JINJA, vocab=100)
    out = chat_prompt(record, [{"role": "user", "content": "x"}], count_tokens=chars, num_ctx=10_000)
    assert out.text == "[user]x</s>[assistant]"


def test_chat_fallback_transcript_for_models_without_templates(make_record):
    record = make_record(system="Be helpful.")
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "how are you?"}]
    out = chat_prompt(record, msgs, count_tokens=chars, num_ctx=10_000)
    assert out.text == "Be helpful.\n\nUser: hi\nAssistant: hello\nUser: how are you?\nAssistant:"
    assert out.template_kind == "fallback"


def test_invalid_messages_are_prompt_errors(make_record):
    record = make_record(template=MARKED)
    for bad, match in [
        ("not a list", "expected an array"),
        ([{"content": "no role"}], "'role'"),
        ([{"role": "user", "content": 5}], "'content' must be a string"),
        (["text"], "expected an object"),
        ([{"role": "assistant", "content": "", "tool_calls": "x"}], "tool_calls"),
    ]:
        with pytest.raises(PromptError, match=match):
            chat_prompt(record, bad, count_tokens=chars, num_ctx=100)


# --- Jinja chat templates from metadata -----------------------------------------------------

def test_render_jinja_chat_from_a_metadata_dict():
    md = {
        "tokenizer.chat_template": JINJA,
        "tokenizer.ggml.tokens": ["<unk>", "<bos>", "<eos>"],
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
    }
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert render_jinja_chat(JINJA, msgs, metadata=md) == "[system]s<eos>[user]u<eos>[assistant]"
    assert render_jinja_chat(JINJA, msgs, metadata=md, add_generation_prompt=False) == \
        "[system]s<eos>[user]u<eos>"
    # explicit token texts win over metadata
    assert render_jinja_chat(JINJA, msgs[1:], metadata=md, bos_token="B", eos_token="E") == "[user]uE[assistant]"


def test_jinja_helpers_hf_templates_rely_on():
    tmpl = ("{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system') }}{% endif %}"
            "{% if loop.index0 > 0 %}{% break %}{% endif %}{{ m.content | tojson }}"
            "{{ strftime_now('%Y') | length }}{% endfor %}")
    assert render_jinja_chat(tmpl, [{"role": "user", "content": "é\""}, {"role": "user", "content": "x"},
                                    {"role": "assistant", "content": "y"}]) == '"é\\"\\n\\nx"4'
    with pytest.raises(PromptError, match="no system"):
        render_jinja_chat(tmpl, [{"role": "system", "content": "s"}])


def test_jinja_templates_are_sandboxed():
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(PromptError):
        render_jinja_chat(evil, [{"role": "user", "content": "x"}])
    with pytest.raises(PromptError, match="invalid chat template"):
        render_jinja_chat("{% for %}", [{"role": "user", "content": "x"}])


# --- truncation -----------------------------------------------------------------------------

def conversation(n_pairs: int, *, system: bool = True) -> list[dict]:
    msgs = [{"role": "system", "content": "S"}] if system else []
    for i in range(n_pairs):
        msgs.append({"role": "user", "content": f"u{i}"})
        msgs.append({"role": "assistant", "content": f"a{i}"})
    msgs.append({"role": "user", "content": "last"})
    return msgs


def test_everything_fits_nothing_dropped(make_record):
    record = make_record(template=MARKED)
    out = chat_prompt(record, conversation(3), count_tokens=chars, num_ctx=10_000)
    assert out.dropped_messages == 0
    assert out.token_count == len(out.text)


def test_oldest_non_system_messages_are_dropped_first(make_record):
    record = make_record(template=MARKED)
    msgs = conversation(3)  # S u0 a0 u1 a1 u2 a2 last
    full = "[system:S][user:u0][assistant:a0][user:u1][assistant:a1][user:u2][assistant:a2][user:last]"
    budget = len(full) - len("[user:u0][assistant:a0]")  # room for all but the first pair
    out = chat_prompt(record, msgs, count_tokens=chars, num_ctx=budget)
    assert out.text == "[system:S][user:u1][assistant:a1][user:u2][assistant:a2][user:last]"
    assert out.dropped_messages == 2
    # one character less: u1 must go too
    out = chat_prompt(record, msgs, count_tokens=chars, num_ctx=budget - 1)
    assert out.text == "[system:S][assistant:a1][user:u2][assistant:a2][user:last]"
    assert out.dropped_messages == 3


def test_reserve_leaves_room_for_the_reply(make_record):
    record = make_record(template=MARKED)
    msgs = conversation(2)
    full = chat_prompt(record, msgs, count_tokens=chars, num_ctx=10_000).text
    assert chat_prompt(record, msgs, count_tokens=chars, num_ctx=len(full)).dropped_messages == 0
    assert chat_prompt(record, msgs, count_tokens=chars, num_ctx=len(full), reserve=1).dropped_messages > 0


def test_system_and_last_message_survive_even_when_nothing_fits(make_record):
    record = make_record(template=MARKED, system="model system prompt")
    out = chat_prompt(record, conversation(2, system=False), count_tokens=chars, num_ctx=5)
    assert out.text == "[system:model system prompt][user:last]"
    assert out.dropped_messages == 4
    assert out.token_count > 5  # reported, so the server can warn


def test_tool_results_stay_with_the_call_that_produced_them(make_record):
    record = make_record(template=MARKED)
    msgs = [
        {"role": "user", "content": "old"},
        {"role": "assistant", "content": "call", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
        {"role": "tool", "content": "r1"},
        {"role": "tool", "content": "r2"},
    ]
    # room for the last three but not for all four: dropping only "old" leaves them together
    budget = len("[assistant:call][tool:r1][tool:r2]")
    out = chat_prompt(record, msgs, count_tokens=chars, num_ctx=budget)
    assert out.text == "[assistant:call][tool:r1][tool:r2]" and out.dropped_messages == 1
    # with less room the call is not dropped while its results are kept: the whole block stays
    out = chat_prompt(record, msgs, count_tokens=chars, num_ctx=budget - 3)
    assert out.text == "[assistant:call][tool:r1][tool:r2]" and out.dropped_messages == 1


def test_truncate_false_renders_everything(make_record):
    record = make_record(template=MARKED)
    out = chat_prompt(record, conversation(3), count_tokens=chars, num_ctx=5, truncate=False)
    assert out.dropped_messages == 0 and "[user:u0]" in out.text


def test_count_tokens_may_return_a_token_list(make_record):
    record = make_record(template=MARKED)
    out = chat_prompt(record, conversation(1), count_tokens=lambda t: list(t.encode()), num_ctx=10_000)
    assert out.token_count == len(out.text.encode())


ROLES = st.sampled_from(["system", "user", "assistant"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(roles=st.lists(ROLES, min_size=1, max_size=14), sizes=st.data(), num_ctx=st.integers(1, 400))
def test_truncation_never_drops_system_or_last_message(make_record, roles, sizes, num_ctx):
    record = _marked_record(make_record)
    msgs = [{"role": r, "content": f"<{i}>" + "x" * sizes.draw(st.integers(0, 20))} for i, r in enumerate(roles)]
    out = chat_prompt(record, msgs, count_tokens=chars, num_ctx=num_ctx)
    assert isinstance(out, ChatPrompt)
    kept = [m for i, m in enumerate(msgs) if f"<{i}>" in out.text]
    # system messages and the last message are always kept
    assert all(m in kept for m in msgs if m["role"] == "system")
    assert msgs[-1] in kept
    # what is dropped is a prefix of the non-system messages, and the count is reported
    dropped = [m for m in msgs if m not in kept]
    non_system = [m for m in msgs if m["role"] != "system"]
    assert dropped == non_system[:len(dropped)]
    assert out.dropped_messages == len(dropped)
    assert out.text == render_go_template(MARKED, kept)
    # it fits whenever the minimum (system + last) fits, and drops no more than needed
    minimum = [m for m in msgs if m["role"] == "system" or m is msgs[-1]]
    if len(render_go_template(MARKED, minimum)) <= num_ctx:
        assert len(out.text) <= num_ctx
    if dropped:
        keep_one_more = [m for m in msgs if m in kept or m is dropped[-1]]
        assert len(render_go_template(MARKED, keep_one_more)) > num_ctx


_RECORDS = {}


def _marked_record(make_record):
    # hypothesis re-runs the test body many times; create the store record once per test
    key = id(make_record)
    if key not in _RECORDS:
        _RECORDS.clear()
        _RECORDS[key] = make_record(template=MARKED)
    return _RECORDS[key]


# The chat template shipped in Gemma 3 instruct GGUFs (tokenizer.chat_template).
GEMMA3_JINJA = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
"""


def test_real_gemma3_jinja_template():
    md = {"tokenizer.ggml.tokens": ["<pad>", "<eos>", "<bos>"], "tokenizer.ggml.bos_token_id": 2,
          "tokenizer.ggml.eos_token_id": 1}
    msgs = [{"role": "system", "content": "Be helpful."}, {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": " Hi! "}, {"role": "user", "content": "Bye"}]
    assert render_jinja_chat(GEMMA3_JINJA, msgs, metadata=md) == (
        "<start_of_turn>user\nBe helpful.\n\nHello<end_of_turn>\n<start_of_turn>model\nHi!<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n")
    # two user messages in a row are merged first, so the template's alternation check passes
    two = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    assert render_jinja_chat(GEMMA3_JINJA, two, metadata=md) == \
        "<start_of_turn>user\na\n\nb<end_of_turn>\n<start_of_turn>model\n"
    with pytest.raises(PromptError, match="roles must alternate"):
        render_jinja_chat(GEMMA3_JINJA, [{"role": "assistant", "content": "x"}], metadata=md)

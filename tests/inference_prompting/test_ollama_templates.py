"""Real Ollama TEMPLATE layers rendered through prompting.render_go_template.

The templates are the ones Ollama ships for these model families (template/*.gotmpl in the
ollama repository, and the qwen2.5 library template). Expected outputs were derived by
walking each template with Go's text/template rules (trim markers, range variables, $),
and Ollama's Values rules (collated messages, .System = joined system messages, legacy
.Prompt/.Response execution with the final turn cut after .Response).
"""

import pytest

from inference.prompts.prompting import PromptError, render_go_template

LLAMA3 = (
    "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>\n"
    "{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
)
GEMMA3 = (
    "{{- range $i, $_ := .Messages }}\n"
    "{{- $last := eq (len (slice $.Messages $i)) 1 }}\n"
    '{{- if eq .Role "user" }}<start_of_turn>user\n'
    "{{- if and (eq $i 1) $.System }}\n{{ $.System }}\n{{ end }}\n"
    "{{ .Content }}<end_of_turn>\n"
    '{{ else if eq .Role "assistant" }}<start_of_turn>model\n{{ .Content }}<end_of_turn>\n{{ end }}\n'
    "{{- if $last }}<start_of_turn>model\n{{ end }}\n"
    "{{- end }}\n"
)
MISTRAL = (
    "[INST] {{ range $index, $_ := .Messages }}\n"
    '{{- if eq .Role "system" }}{{ .Content }}\n\n'
    '{{ else if eq .Role "user" }}{{ .Content }}[/INST]\n'
    '{{- else if eq .Role "assistant" }} {{ .Content }}</s>[INST] {{ end }}\n'
    "{{- end }}"
)
CHATML = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
    "{{ end }}<|im_start|>assistant\n"
)
ALPACA = (
    '{{- $system := "" }}\n'
    "{{- range .Messages }}\n"
    '{{- if eq .Role "system" }}\n'
    "{{- if not $system }}{{ $system = .Content }}\n"
    '{{- else }}{{ $system = printf "%s\\n\\n%s" $system .Content }}\n'
    "{{- end }}\n"
    '{{- else if eq .Role "user" }}\n'
    '{{- if $system }}{{ $system }}\n\n{{ $system = "" }}\n'
    "{{- end }}### Instruction:\n{{ .Content }}\n\n"
    '{{ else if eq .Role "assistant" }}### Response:\n{{ .Content }}\n\n'
    "{{ end }}\n"
    "{{- end }}### Response:\n"
)
# A legacy template (no .Messages): rendered once per exchange, Ollama's pre-0.3 form.
PHI3_LEGACY = (
    "{{ if .System }}<|system|>\n{{ .System }}<|end|>\n{{ end }}"
    "{{ if .Prompt }}<|user|>\n{{ .Prompt }}<|end|>\n{{ end }}"
    "<|assistant|>\n{{ .Response }}<|end|>"
)
# The llama3 template of Ollama 0.2/0.3: a messages branch plus a legacy else branch.
LLAMA3_BOTH = (
    "{{- if .Messages }}\n"
    "{{- if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>\n{{- end }}\n"
    "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>\n"
    "{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
    "{{ else -}}\n"
    "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}"
    "{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>{{ end }}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Response }}<|eot_id|>\n"
    "{{- end -}}"
)
QWEN25 = (
    "{{- if .Messages }}\n"
    "{{- if or .System .Tools }}<|im_start|>system\n"
    "{{- if .System }}\n{{ .System }}\n{{- end }}\n"
    "{{- if .Tools }}\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    "{{- range .Tools }}\n"
    '{"type": "function", "function": {{ .Function }}}\n'
    "{{- end }}\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n'
    "{{- end }}<|im_end|>\n{{ end }}\n"
    "{{- range $i, $_ := .Messages }}\n"
    "{{- $last := eq (len (slice $.Messages $i)) 1 -}}\n"
    '{{- if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n'
    '{{ else if eq .Role "assistant" }}<|im_start|>assistant\n'
    "{{ if .Content }}{{ .Content }}\n"
    "{{- else if .ToolCalls }}<tool_call>\n"
    '{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}\n'
    "{{ end }}</tool_call>\n"
    "{{- end }}{{ if not $last }}<|im_end|>\n{{ end }}\n"
    '{{- else if eq .Role "tool" }}<|im_start|>user\n<tool_response>\n{{ .Content }}\n</tool_response><|im_end|>\n'
    "{{ end }}\n"
    '{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant\n{{ end }}\n'
    "{{- end }}\n"
    "{{- else }}\n"
    "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"
    "{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}"
)

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
USER1 = {"role": "user", "content": "Hello, how are you?"}
ASSISTANT1 = {"role": "assistant", "content": "I'm doing great. How can I help you today?"}
USER2 = {"role": "user", "content": "I'd like to show off how chat templating works!"}
CONVERSATIONS = {
    "user": [USER1],
    "user-assistant-user": [USER1, ASSISTANT1, USER2],
    "system-user-assistant-user": [SYSTEM, USER1, ASSISTANT1, USER2],
}

EXPECTED = {
    ("llama3", "user"):
        "<|start_header_id|>user<|end_header_id|>\n\nHello, how are you?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    ("llama3", "system-user-assistant-user"):
        "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHello, how are you?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nI'm doing great. How can I help you today?<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nI'd like to show off how chat templating works!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    ("gemma3", "user"):
        "<start_of_turn>user\nHello, how are you?<end_of_turn>\n<start_of_turn>model\n\n",
    ("gemma3", "user-assistant-user"):
        "<start_of_turn>user\nHello, how are you?<end_of_turn>\n"
        "<start_of_turn>model\nI'm doing great. How can I help you today?<end_of_turn>\n"
        "<start_of_turn>user\nI'd like to show off how chat templating works!<end_of_turn>\n"
        "<start_of_turn>model\n\n",
    # the system text joins the first user turn ($i == 1 because messages[0] is the system)
    ("gemma3", "system-user-assistant-user"):
        "<start_of_turn>user\nYou are a helpful assistant.\n\nHello, how are you?<end_of_turn>\n"
        "<start_of_turn>model\nI'm doing great. How can I help you today?<end_of_turn>\n"
        "<start_of_turn>user\nI'd like to show off how chat templating works!<end_of_turn>\n"
        "<start_of_turn>model\n\n",
    ("mistral", "user"): "[INST] Hello, how are you?[/INST]",
    ("mistral", "system-user-assistant-user"):
        "[INST] You are a helpful assistant.\n\nHello, how are you?[/INST] I'm doing great. How can I "
        "help you today?</s>[INST] I'd like to show off how chat templating works![/INST]",
    ("chatml", "user-assistant-user"):
        "<|im_start|>user\nHello, how are you?<|im_end|>\n"
        "<|im_start|>assistant\nI'm doing great. How can I help you today?<|im_end|>\n"
        "<|im_start|>user\nI'd like to show off how chat templating works!<|im_end|>\n"
        "<|im_start|>assistant\n",
    ("chatml", "system-user-assistant-user"):
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHello, how are you?<|im_end|>\n"
        "<|im_start|>assistant\nI'm doing great. How can I help you today?<|im_end|>\n"
        "<|im_start|>user\nI'd like to show off how chat templating works!<|im_end|>\n"
        "<|im_start|>assistant\n",
    ("alpaca", "user"): "### Instruction:\nHello, how are you?\n\n### Response:\n",
    ("alpaca", "system-user-assistant-user"):
        "You are a helpful assistant.\n\n### Instruction:\nHello, how are you?\n\n"
        "### Response:\nI'm doing great. How can I help you today?\n\n"
        "### Instruction:\nI'd like to show off how chat templating works!\n\n### Response:\n",
    # legacy: the first exchange renders in full, the last one is cut after .Response
    ("phi3", "user"): "<|user|>\nHello, how are you?<|end|>\n<|assistant|>\n",
    ("phi3", "system-user-assistant-user"):
        "<|system|>\nYou are a helpful assistant.<|end|>\n<|user|>\nHello, how are you?<|end|>\n"
        "<|assistant|>\nI'm doing great. How can I help you today?<|end|>"
        "<|user|>\nI'd like to show off how chat templating works!<|end|>\n<|assistant|>\n",
    # the old llama3 template prints .System and then every message, the system one too
    ("llama3-both", "system-user-assistant-user"):
        "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
        "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHello, how are you?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nI'm doing great. How can I help you today?<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nI'd like to show off how chat templating works!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
}
TEMPLATES = {"llama3": LLAMA3, "gemma3": GEMMA3, "mistral": MISTRAL, "chatml": CHATML,
             "alpaca": ALPACA, "phi3": PHI3_LEGACY, "llama3-both": LLAMA3_BOTH}


@pytest.mark.parametrize("name,conversation", sorted(EXPECTED))
def test_real_templates_render_like_ollama(name, conversation):
    assert render_go_template(TEMPLATES[name], CONVERSATIONS[conversation]) == EXPECTED[(name, conversation)]


def test_consecutive_same_role_messages_are_merged():
    msgs = [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    assert render_go_template(CHATML, msgs) == \
        "<|im_start|>user\none\n\ntwo<|im_end|>\n<|im_start|>assistant\n"


def test_legacy_template_without_response_gets_it_appended():
    # Ollama appends {{ .Response }} to templates that reference neither .Messages nor
    # .Response, so earlier exchanges keep the assistant's replies.
    tmpl = "{{ if .System }}S:{{ .System }} {{ end }}Q:{{ .Prompt }} A:"
    msgs = [SYSTEM, USER1, ASSISTANT1, USER2]
    assert render_go_template(tmpl, msgs) == (
        "S:You are a helpful assistant. Q:Hello, how are you? A:I'm doing great. How can I help you today?"
        "Q:I'd like to show off how chat templating works! A:"
    )


def test_legacy_system_message_midway_starts_a_new_exchange():
    msgs = [USER1, ASSISTANT1, {"role": "system", "content": "Be brief."}, USER2]
    assert render_go_template(PHI3_LEGACY, msgs) == (
        "<|user|>\nHello, how are you?<|end|>\n<|assistant|>\nI'm doing great. How can I help you today?<|end|>"
        "<|system|>\nBe brief.<|end|>\n<|user|>\nI'd like to show off how chat templating works!<|end|>\n"
        "<|assistant|>\n"
    )


def test_qwen25_tools_tool_calls_and_tool_results():
    tools = [{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather",
            "parameters": {
                "type": "object",
                "required": ["city"],
                "properties": {"city": {"type": "string", "description": "The city"}},
            },
        },
    }]
    msgs = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
    ]
    function_json = ('{"name":"get_weather","description":"Get the weather","parameters":{"type":"object",'
                     '"required":["city"],"properties":{"city":{"type":"string","description":"The city"}}}}')
    expected = (
        "<|im_start|>system\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        '{"type": "function", "function": ' + function_json + "}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city":"Paris"}}\n'
        "</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert render_go_template(QWEN25, msgs, tools=tools) == expected
    # without tools the system block disappears
    assert render_go_template(QWEN25, [USER1]) == \
        "<|im_start|>user\nHello, how are you?<|im_end|>\n<|im_start|>assistant\n"


def test_command_r_ranges_over_tool_properties_in_key_order():
    # From Ollama's command-r template: range over a map, `continue`, nested fields.
    tmpl = (
        "{{- range .Tools }}def {{ .Function.Name }}(\n"
        "{{- range $name, $property := .Function.Parameters.Properties }}{{ $name }}: {{ $property.Type }}, {{ end }})"
        "{{ end }}|{{ range .Messages }}{{ if eq .Role \"system\" }}{{ continue }}{{ end }}{{ .Role }};{{ end }}"
    )
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
        "zeta": {"type": "integer"}, "alpha": {"type": ["string", "null"]}}}}}]
    out = render_go_template(tmpl, [SYSTEM, USER1], tools=tools)
    assert out == "def f(alpha: [string null], zeta: integer, )|user;"


def test_think_values_are_exposed():
    tmpl = "{{ range .Messages }}{{ .Content }}{{ end }}|{{ .Think }} {{ .IsThinkSet }} [{{ .ThinkLevel }}]"
    assert render_go_template(tmpl, [USER1]) == "Hello, how are you?|false false []"
    assert render_go_template(tmpl, [USER1], think=True) == "Hello, how are you?|true true []"
    assert render_go_template(tmpl, [USER1], think="high") == "Hello, how are you?|true true [high]"
    with pytest.raises(PromptError, match="invalid think"):
        render_go_template(tmpl, [USER1], think="maximum")


def test_suffix_mode_for_fill_in_the_middle():
    tmpl = "{{- if .Suffix }}<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>{{- else }}{{ .Prompt }}{{- end }}"
    assert render_go_template(tmpl, prompt="def add(", suffix="return x") == "<PRE> def add( <SUF>return x <MID>"


def test_template_errors_become_prompt_errors_with_position():
    with pytest.raises(PromptError) as err:
        render_go_template("{{ range .Messages }}\n{{ .Content ", [USER1])
    assert "invalid template" in str(err.value) and "line 2" in str(err.value)
    with pytest.raises(PromptError, match="error rendering template"):
        render_go_template("{{ range .Messages }}{{ .Nope }}{{ end }}", [USER1])

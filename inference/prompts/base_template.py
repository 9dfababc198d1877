"""Prompt template and parameters for base (non-instruct) models such as the embedded
Gemma 3 270M, which has no chat template.

The template is an Ollama TEMPLATE (Go text/template), rendered by inference.prompts.prompting:

* /api/generate: the system text (if any), a blank line, then the prompt as is, so few-shot
  completion prompts ("Text: ... / Corrected:") reach the model unchanged. prompting exposes
  the request's prompt as ``.Prompt`` to messages-style templates for generate only.
* /api/chat: a plain transcript the base model continues, ending with "Assistant:"::

      <system>

      User: <message>
      Assistant: <reply>
      User: <message>
      Assistant:

The stops end the model's turn where a base model would go on to write the next turn.
"""

BASE_MODEL_TEMPLATE = """{{- if .Prompt }}
{{- if .System }}{{ .System }}

{{ end }}{{ .Prompt }}
{{- else }}
{{- if .System }}{{ .System }}

{{ end }}
{{- range .Messages }}
{{- if eq .Role "user" }}User: {{ .Content }}
{{ else if eq .Role "assistant" }}Assistant: {{ .Content }}
{{ else if eq .Role "tool" }}Tool result: {{ .Content }}
{{ end }}
{{- end }}Assistant:
{{- end }}"""

# A base model runs on past the answer; stop it at the next turn of the transcript.
BASE_MODEL_PARAMS = {"stop": ["\nUser:", "\nAssistant:"]}

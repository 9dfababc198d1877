"""Prompt template and parameters for base (non-instruct) models such as the embedded
Gemma 3 270M, which has no chat template.

The template is an Ollama TEMPLATE (Go text/template). For /api/generate it is the system
text (if any) followed by the prompt; for /api/chat it renders the conversation as a plain
transcript that a base model continues ("User: ... / Assistant:").
"""

BASE_MODEL_TEMPLATE = """{{- if .Messages }}
{{- if .System }}{{ .System }}

{{ end }}
{{- range .Messages }}
{{- if eq .Role "user" }}User: {{ .Content }}
{{ else if eq .Role "assistant" }}Assistant: {{ .Content }}
{{ end }}
{{- end }}Assistant:
{{- else }}
{{- if .System }}{{ .System }}

{{ end }}{{ .Prompt }}
{{- end }}"""

# A base model runs on past the answer; stop it at the next turn of the transcript.
BASE_MODEL_PARAMS = {"stop": ["\nUser:", "\nAssistant:"]}

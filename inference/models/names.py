"""Ollama model names: ``[host/][namespace/]model[:tag]``.

Missing parts default to ``registry.ollama.ai`` / ``library`` / ``latest``, so ``llama3``,
``llama3:latest`` and ``registry.ollama.ai/library/llama3:latest`` are the same model.
Each part matches ``[A-Za-z0-9_][A-Za-z0-9_.-]*`` and is at most 80 characters (the host may
also carry a ``:port`` and be longer, as registry host names can be). Names compare
case-insensitively when looking up existing models (see ``ModelName.key``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

MAX_PART = 80
MAX_HOST = 350
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(:[0-9]{1,5})?")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

_RULE = "name parts may use letters, digits, '_', '.' and '-', must not start with '.' or '-', and are at most 80 characters"


class InvalidModelName(ValueError):
    """A model name that does not follow ``[host/][namespace/]model[:tag]``."""


def _check(kind: str, value: str, text: str, pattern: re.Pattern, limit: int) -> str:
    if not value:
        raise InvalidModelName(f"invalid model name {text!r}: empty {kind}")
    if len(value) > limit:
        raise InvalidModelName(
            f"invalid model name {text!r}: {kind} {value[:20]!r}... is {len(value)} characters long (at most {limit})"
        )
    if not pattern.fullmatch(value):
        raise InvalidModelName(f"invalid model name {text!r}: bad {kind} {value!r} ({_RULE})")
    return value


@dataclass(frozen=True)
class ModelName:
    host: str
    namespace: str
    model: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> "ModelName":
        """Parse ``text``; raise InvalidModelName with the reason when it is not a model name.

        A leading ``scheme://`` (as in ``https://host/ns/model``) is ignored.
        """
        if isinstance(text, ModelName):
            return text
        if not isinstance(text, str):
            raise InvalidModelName(f"invalid model name {text!r}: expected a string")
        original = text
        s = text.strip()
        if not s:
            raise InvalidModelName("invalid model name '': the name is empty")
        if "@" in s:
            raise InvalidModelName(
                f"invalid model name {original!r}: digest references (name@sha256:...) are not supported here"
            )
        s = _SCHEME.sub("", s, count=1)
        # The tag follows the last ':' that comes after the last '/' (a host may carry ':port').
        slash = s.rfind("/")
        colon = s.rfind(":")
        tag = DEFAULT_TAG
        if colon > slash:
            s, tag = s[:colon], s[colon + 1:]
            if not tag:
                raise InvalidModelName(f"invalid model name {original!r}: empty tag after ':'")
        parts = s.split("/")
        if len(parts) > 3:
            raise InvalidModelName(
                f"invalid model name {original!r}: expected [host/][namespace/]model[:tag], got {len(parts)} '/'-separated parts"
            )
        host, namespace = DEFAULT_HOST, DEFAULT_NAMESPACE
        if len(parts) == 3:
            host, namespace, model = parts
        elif len(parts) == 2:
            namespace, model = parts
        else:
            (model,) = parts
        return cls(
            host=_check("host", host, original, _HOST, MAX_HOST),
            namespace=_check("namespace", namespace, original, _PART, MAX_PART),
            model=_check("model", model, original, _PART, MAX_PART),
            tag=_check("tag", tag, original, _PART, MAX_PART),
        )

    @property
    def display(self) -> str:
        """The shortest form Ollama shows: ``gemma3:270m``, ``ns/m:tag``, ``host/ns/m:tag``."""
        if self.host.lower() == DEFAULT_HOST:
            if self.namespace.lower() == DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return self.full

    @property
    def full(self) -> str:
        """``host/namespace/model:tag``."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def key(self) -> str:
        """Case-insensitive identity: two names with the same key are the same model."""
        return self.full.casefold()

    @property
    def is_cloud(self) -> bool:
        """Ollama's remote-inference models (``*-cloud`` or ``:cloud``); refused by this server."""
        tag, model = self.tag.lower(), self.model.lower()
        return tag == "cloud" or tag.endswith("-cloud") or model.endswith("-cloud")

    def manifest_path(self, root: Path) -> Path:
        """``root/manifests/host/namespace/model/tag`` (exact case; see ModelStore for lookups)."""
        return Path(root) / "manifests" / self.host / self.namespace / self.model / self.tag

    @classmethod
    def from_manifest_path(cls, root: Path, path: Path) -> "ModelName":
        """The name of the manifest file ``path`` inside store ``root``."""
        rel = Path(path).relative_to(Path(root) / "manifests").parts
        if len(rel) != 4:
            raise InvalidModelName(f"not a manifest path: {path}")
        host, namespace, model, tag = rel
        return cls.parse(f"{host}/{namespace}/{model}:{tag}")

    def __str__(self) -> str:
        return self.display

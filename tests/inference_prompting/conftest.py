"""Fixtures for the prompting tests: small real GGUF files (written with the gguf package)
and model records from a real ModelStore in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFWriter, LlamaFileType

from inference.models.store import ModelStore

def write_prompting_gguf(path: Path, chat_template: str | None, *, context: int = 2048,
                         vocab: int = 32) -> Path:
    """A tiny real GGUF with a Jinja chat template and BOS/EOS ids (1 and 2).

    With more than 64 tokens the vocabulary is left out of gguf_info's short metadata."""
    TOKENS = ["<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(vocab - 3)]
    writer = GGUFWriter(str(path), "llama")
    writer.add_name("Prompting Test")
    writer.add_context_length(context)
    writer.add_embedding_length(8)
    writer.add_block_count(1)
    writer.add_file_type(LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(TOKENS)
    writer.add_token_scores([0.0] * len(TOKENS))
    writer.add_token_types([1] * len(TOKENS))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    if chat_template is not None:
        writer.add_chat_template(chat_template)
    writer.add_tensor("token_embd.weight", np.zeros((len(TOKENS), 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def make_record(tmp_path):
    """make_record(template=..., system=..., messages=..., chat_template=...) -> ModelRecord."""
    store = ModelStore(tmp_path / "models")
    counter = iter(range(1000))

    def make(*, template=None, system=None, messages=None, chat_template=None, params=None,
             vocab=32):
        n = next(counter)
        gguf = write_prompting_gguf(tmp_path / f"m{n}.gguf", chat_template, vocab=vocab)
        return store.create_model(f"prompting-test{n}:latest", gguf=gguf, template=template,
                                  system=system, messages=messages, params=params)

    return make

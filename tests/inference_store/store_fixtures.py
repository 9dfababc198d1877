"""Helpers for the model-store tests: tiny real GGUF files and stores laid out as Ollama does."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, LlamaFileType


def write_tiny_gguf(path: Path, *, arch: str = "llama", context: int = 2048, vocab: int = 100,
                    chat_template: str | None = "{% for m in messages %}{{ m.content }}{% endfor %}",
                    name: str = "Tiny Test", size_label: str | None = "1K",
                    seed: int = 0, file_type: LlamaFileType | None = LlamaFileType.ALL_F32) -> dict:
    """A small but real GGUF (written with the gguf package). Returns what it contains."""
    rng = np.random.default_rng(seed)
    writer = GGUFWriter(str(path), arch)
    writer.add_name(name)
    writer.add_basename("tiny-test")
    if size_label:
        writer.add_size_label(size_label)
    writer.add_context_length(context)
    writer.add_embedding_length(16)
    writer.add_block_count(1)
    if file_type is not None:
        writer.add_file_type(file_type)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"tok{i}" for i in range(vocab)])
    writer.add_token_scores([float(-i) for i in range(vocab)])
    writer.add_token_types([1] * vocab)
    writer.add_array("general.tags", ["tiny", "test"])
    if chat_template is not None:
        writer.add_chat_template(chat_template)
    tensors = {"token_embd.weight": (vocab, 16), "blk.0.attn_q.weight": (16, 16), "output_norm.weight": (16,)}
    for tname, shape in tensors.items():
        writer.add_tensor(tname, rng.standard_normal(shape).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"n_params": int(sum(int(np.prod(s)) for s in tensors.values())), "vocab": vocab,
            "context": context, "arch": arch}


class OllamaLayout:
    """Writes a store byte for byte as Ollama does, without using inference.models.store."""

    def __init__(self, root: Path):
        self.root = root
        (root / "blobs").mkdir(parents=True, exist_ok=True)
        (root / "manifests").mkdir(parents=True, exist_ok=True)

    def blob(self, data: bytes, *, legacy: bool = False) -> dict:
        hexd = hashlib.sha256(data).hexdigest()
        name = f"sha256:{hexd}" if legacy else f"sha256-{hexd}"
        (self.root / "blobs" / name).write_bytes(data)
        return {"digest": f"sha256:{hexd}", "size": len(data)}

    def model(self, host: str, ns: str, model: str, tag: str, layers: list[tuple[str, bytes]],
              config: dict | None, *, legacy: bool = False) -> bytes:
        out_layers = []
        for media, data in layers:
            out_layers.append({"mediaType": "application/vnd.ollama.image." + media, **self.blob(data, legacy=legacy)})
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
        if config is not None:
            cfg = dict(config, rootfs={"type": "layers", "diff_ids": [l["digest"] for l in out_layers]})
            manifest["config"] = {"mediaType": "application/vnd.docker.container.image.v1+json",
                                  **self.blob(json.dumps(cfg).encode(), legacy=legacy)}
        manifest["layers"] = out_layers
        raw = json.dumps(manifest, separators=(",", ":")).encode()  # Go's json.Marshal: compact
        path = self.root / "manifests" / host / ns / model / tag
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        return raw

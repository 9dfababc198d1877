"""Checks GBNF text with llama.cpp's own grammar engine (no generation, no sampling).

The grammar sampler needs a vocabulary, so the checker loads the embedded model's GGUF with
``vocab_only`` (no weights in memory). ``accepts(gbnf, text)`` feeds ``text`` token by token:
a token the grammar rejects gets a logit of -inf; at the end the end-of-generation token is
allowed only if the grammar is complete. Tokenisation does not matter: llama.cpp matches the
grammar on the tokens' characters.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import llama_cpp


class GrammarChecker:
    def __init__(self, model_path: Path):
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self.model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), params)
        if not self.model:
            raise RuntimeError(f"cannot load the vocabulary of {model_path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.eos = llama_cpp.llama_vocab_eos(self.vocab)
        self.one = (llama_cpp.llama_token_data * 1)()
        self.arr = llama_cpp.llama_token_data_array(data=self.one, size=1, selected=-1, sorted=False)

    def _sampler(self, gbnf: str):
        return llama_cpp.llama_sampler_init_grammar(self.vocab, gbnf.encode(), b"root")

    def compiles(self, gbnf: str) -> bool:
        s = self._sampler(gbnf)
        if not s:
            return False
        llama_cpp.llama_sampler_free(s)
        return True

    def tokenize(self, text: str) -> list[int]:
        data = text.encode()
        buf = (llama_cpp.llama_token * (len(data) + 8))()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, len(buf), False, False)
        if n < 0:
            raise RuntimeError("tokenize failed")
        return list(buf[:n])

    def _allowed(self, sampler, token: int) -> bool:
        self.one[0].id, self.one[0].logit, self.one[0].p = token, 0.0, 0.0
        self.arr.size, self.arr.selected, self.arr.sorted = 1, -1, False
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(self.arr))
        return self.one[0].logit != float("-inf")

    def accepts(self, gbnf: str, text: str) -> bool:
        sampler = self._sampler(gbnf)
        if not sampler:
            raise AssertionError("grammar does not compile in llama.cpp:\n" + gbnf)
        try:
            for token in self.tokenize(text):
                if not self._allowed(sampler, token):
                    return False
                llama_cpp.llama_sampler_accept(sampler, token)
            return self._allowed(sampler, self.eos)
        finally:
            llama_cpp.llama_sampler_free(sampler)

    def close(self) -> None:
        if self.model:
            llama_cpp.llama_model_free(self.model)
            self.model = None

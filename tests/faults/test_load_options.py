"""Load-time options a request cannot be served with are a 400 naming the option, never a crash,
a hang or a 500, and the model already loaded keeps serving (the official ``ollama`` client
against the live server).

Before these checks ``num_thread`` 100000 aborted the server process (llama.cpp's thread pool),
``num_batch`` -1 or 10**8 hung the request for minutes (a batch buffer of billions of rows) and
``num_batch`` 0 was silently taken as 512. A context too large for memory (a model whose GGUF
claims a 2**31-token training context, so the request's num_ctx is not capped) was a 500.
"""

from __future__ import annotations

import ollama
import pytest

from inference.engine.memory import available_bytes, kv_cache_floor_bytes
from inference.engine.options import MAX_NUM_CTX
from inference.models import gguf_info
from inference.models.store import ModelStore

MODEL = "gemma3:270m"
QUICK = {"temperature": 0, "num_predict": 2}
TIMEOUT = 60  # seconds: a hung load fails the test instead of blocking the run


@pytest.fixture(scope="module")
def client(live_server):
    c = ollama.Client(host=live_server.base_url, timeout=TIMEOUT)
    c.generate(model=MODEL, prompt="hi", options=QUICK, keep_alive=-1)  # loaded before each case
    return c


def _still_loaded(client, options=QUICK) -> None:
    """The model loaded before the bad request answers at once (no reload)."""
    r = client.generate(model=MODEL, prompt="hi", options=options, keep_alive=-1)
    assert r.done and r.load_duration == 0


@pytest.mark.parametrize("endpoint", ["generate", "chat"])
@pytest.mark.parametrize("option,value", [("num_batch", 0), ("num_batch", -1),
                                          ("num_thread", -3), ("num_thread", 100_000)])
def test_out_of_range_load_option_is_a_400_naming_it(client, endpoint, option, value):
    options = dict(QUICK, **{option: value})
    with pytest.raises(ollama.ResponseError) as caught:
        if endpoint == "generate":
            client.generate(model=MODEL, prompt="hi", options=options)
        else:
            client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], options=options)
    assert caught.value.status_code == 400
    assert f"invalid option '{option}'" in caught.value.error and str(value) in caught.value.error
    _still_loaded(client)


def test_a_num_batch_beyond_the_context_is_capped_not_allocated(client):
    r = client.generate(model=MODEL, prompt="Say yes.", options=dict(QUICK, num_batch=10**8))
    assert r.done and r.eval_count >= 1
    r = client.embed(model=MODEL, input="yes", options={"num_batch": 10**8})
    assert len(r.embeddings) == 1 and len(r.embeddings[0]) > 0


def test_a_modelfile_parameter_out_of_range_is_refused_at_create(client):
    with pytest.raises(ollama.ResponseError) as caught:
        client.create(model="badthreads:1", from_=MODEL, parameters={"num_thread": -1})
    assert caught.value.status_code == 400 and "num_thread" in caught.value.error
    assert "badthreads:1" not in {m.model for m in client.list().models}


def _huge_context_gguf(source, target):
    """A copy of the embedded GGUF whose metadata claims a 2**31-1 token training context."""
    import gguf

    target.write_bytes(source.read_bytes())
    reader = gguf.GGUFReader(str(target), "r+")
    field = reader.fields["gemma3.context_length"]
    field.parts[field.data[0]][0] = 2**31 - 1
    del reader
    return target


def test_a_context_that_cannot_fit_is_400_when_asked_for_500_when_configured(server_factory, tmp_path):
    # The copy claims a 2**31-token training context, so num_ctx is not capped: 2**24 tokens
    # need 48 GiB of cache, 2**25 (the server's OLLAMA_CONTEXT_LENGTH here) 96 GiB. Refused
    # before llama.cpp allocates anything (an allocation that fits the machine but not its
    # free memory would end in the OOM killer).
    server = server_factory({"OLLAMA_CONTEXT_LENGTH": str(MAX_NUM_CTX)})
    c = ollama.Client(host=server.base_url, timeout=TIMEOUT)
    embedded = ModelStore(server.models_dir).get(MODEL).model_path
    huge = _huge_context_gguf(embedded, tmp_path / "huge-context.gguf")
    need = kv_cache_floor_bytes(gguf_info.read_metadata(huge), MAX_NUM_CTX // 2)
    if (available_bytes() or 0) >= need:
        pytest.skip(f"this machine has {need / 2**30:.0f} GiB free: the context would fit")
    ModelStore(server.models_dir).create_model("hugectx:1", gguf=huge)  # the store the server reads
    small = dict(QUICK, num_ctx=256)
    c.generate(model=MODEL, prompt="hi", options=small, keep_alive=-1)

    with pytest.raises(ollama.ResponseError) as caught:
        c.generate(model="hugectx:1", prompt="hi", options=dict(QUICK, num_ctx=MAX_NUM_CTX // 2))
    assert caught.value.status_code == 400, caught.value.error
    assert f"num_ctx={MAX_NUM_CTX // 2}" in caught.value.error and "GiB" in caught.value.error
    with pytest.raises(ollama.ResponseError) as caught:
        c.chat(model="hugectx:1", messages=[{"role": "user", "content": "hi"}], options=QUICK)
    assert caught.value.status_code == 500, caught.value.error  # the server's setting, not the client's
    assert "OLLAMA_NUM_PARALLEL" in caught.value.error
    with pytest.raises(ollama.ResponseError) as caught:
        c.generate(model="hugectx:1", prompt="hi", options=dict(QUICK, num_ctx=MAX_NUM_CTX + 1))
    assert caught.value.status_code == 400 and "invalid option 'num_ctx'" in caught.value.error

    _still_loaded(c, small)
    assert [m.model for m in c.ps().models] == [MODEL]

"""Log-probabilities on /api/generate and /api/chat, through the official ``ollama`` client.

Greedy decoding picks the most likely token of the model's own distribution, so the chosen
token must be the first of its alternatives, and the entries' tokens must spell the answer.
"""

from __future__ import annotations

import math

import httpx
import ollama
import pytest

from server_helpers import FEW_SHOT, MODEL

pytestmark = pytest.mark.live

GREEDY = {"temperature": 0, "num_predict": 10, "repeat_penalty": 1.0}


def _check_entries(entries, top_n: int) -> None:
    assert entries, "no log-probabilities returned"
    for e in entries:
        assert e.logprob <= 0.0 and math.isfinite(e.logprob)
        tops = e.top_logprobs or []
        assert len(tops) == top_n
        values = [t.logprob for t in tops]
        assert values == sorted(values, reverse=True)
        assert sum(math.exp(v) for v in values) <= 1.0 + 1e-6
        if top_n:
            # Greedy: the chosen token is the most likely one.
            assert tops[0].token == e.token
            assert tops[0].logprob == pytest.approx(e.logprob, abs=1e-6)


def test_generate_logprobs_spell_the_answer_and_greedy_picks_the_top(client):
    r = client.generate(MODEL, FEW_SHOT, options=GREEDY, logprobs=True, top_logprobs=3)
    assert r.response
    _check_entries(r.logprobs, 3)
    assert "".join(e.token for e in r.logprobs) == r.response
    assert len(r.logprobs) == r.eval_count


def test_streamed_chunks_carry_the_logprobs_of_their_own_tokens(client):
    chunks = list(client.generate(MODEL, FEW_SHOT, options=GREEDY, logprobs=True, top_logprobs=1, stream=True))
    text_chunks = [c for c in chunks if not c.done]
    assert text_chunks
    # A chunk carries the entries of the tokens whose text it starts to show (text held back
    # as a possible stop string comes out with a later chunk), so they spell the whole answer.
    assert all(c.logprobs for c in text_chunks if c.response)
    assert "".join(e.token for c in text_chunks for e in c.logprobs) == "".join(c.response for c in text_chunks)
    whole = client.generate(MODEL, FEW_SHOT, options=GREEDY, logprobs=True, top_logprobs=1)
    streamed = [e for c in text_chunks for e in c.logprobs]
    assert [e.token for e in streamed] == [e.token for e in whole.logprobs]
    assert [e.logprob for e in streamed] == pytest.approx([e.logprob for e in whole.logprobs], abs=1e-3)


def test_chat_logprobs(client):
    r = client.chat(MODEL, messages=[{"role": "user", "content": "Say hello."}], options=GREEDY,
                    logprobs=True, top_logprobs=2)
    _check_entries(r.logprobs, 2)
    assert "".join(e.token for e in r.logprobs) == r.message.content


def test_logprobs_without_alternatives_and_off_by_default(client):
    r = client.generate(MODEL, FEW_SHOT, options=GREEDY, logprobs=True)
    _check_entries(r.logprobs, 0)
    plain = client.generate(MODEL, FEW_SHOT, options=GREEDY)
    assert not plain.logprobs


def test_stop_string_text_is_not_in_the_logprobs(client):
    base = client.generate(MODEL, "1, 2, 3, 4, 5,", raw=True, options=GREEDY)
    assert " 7" in base.response, base.response  # the model counts on; the stop below cuts it
    r = client.generate(MODEL, "1, 2, 3, 4, 5,", raw=True, options=dict(GREEDY, stop=["7"]), logprobs=True)
    assert "7" not in r.response
    assert "".join(e.token for e in r.logprobs).startswith(r.response)
    assert not any("7" in e.token for e in r.logprobs)


def test_entries_carry_the_token_bytes(http):
    """Ollama's entries also have ``bytes`` (the ollama client does not model that field)."""
    r = http.post("/api/generate", json={"model": MODEL, "prompt": FEW_SHOT, "stream": False,
                                         "options": GREEDY, "logprobs": True, "top_logprobs": 1})
    entries = r.json()["logprobs"]
    assert entries
    for e in entries:
        assert bytes(e["bytes"]).decode("utf-8", errors="replace") == e["token"]
        assert bytes(e["top_logprobs"][0]["bytes"]).decode("utf-8", errors="replace") == e["top_logprobs"][0]["token"]


@pytest.mark.parametrize("body, message", [
    ({"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
    ({"top_logprobs": -1, "logprobs": True}, "top_logprobs"),
    ({"logprobs": "yes"}, "logprobs"),
])
def test_bad_logprobs_requests_get_400_with_a_message(http, body, message):
    for path, extra in (("/api/generate", {"prompt": "hi"}), ("/api/chat", {"messages": [{"role": "user", "content": "hi"}]})):
        r = http.post(path, json={"model": MODEL, "stream": False, "options": {"num_predict": 2}, **extra, **body})
        assert r.status_code == 400 and message in r.json()["error"]


def test_the_ollama_client_sees_the_400(client):
    with pytest.raises(ollama.ResponseError) as err:
        client.chat(MODEL, messages=[{"role": "user", "content": "hi"}], options={"num_predict": 2},
                    logprobs=True, top_logprobs=25)
    assert err.value.status_code == 400 and "top_logprobs" in str(err.value)

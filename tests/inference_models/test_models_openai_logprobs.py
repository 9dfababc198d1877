"""OpenAI log-probabilities and prompt scoring (``echo``) through the official ``openai`` client."""

from __future__ import annotations

import math

import openai
import pytest

MODEL = "gemma3:270m"

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def oai(live_server):
    client = openai.OpenAI(base_url=live_server.base_url + "/v1", api_key="unused", timeout=120, max_retries=0)
    yield client
    client.close()


def score(oai, text: str, top: int = 0):
    r = oai.completions.create(model=MODEL, prompt=text, echo=True, logprobs=top, max_tokens=0)
    return r.choices[0]


def test_chat_logprobs_spell_the_message(oai):
    r = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hello."}],
                                    max_tokens=8, temperature=0, logprobs=True, top_logprobs=2)
    content = r.choices[0].logprobs.content
    assert "".join(t.token for t in content) == r.choices[0].message.content
    for t in content:
        assert t.logprob <= 0 and len(t.top_logprobs) == 2
        assert t.top_logprobs[0].token == t.token  # greedy
        assert bytes(t.bytes).decode("utf-8", errors="replace") == t.token


def test_streamed_chat_chunks_carry_logprobs(oai):
    chunks = list(oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hello."}],
                                              max_tokens=8, temperature=0, logprobs=True, stream=True))
    tokens = [t.token for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert tokens and "".join(tokens) == text


def test_completion_logprobs_offsets_follow_the_prompt(oai):
    prompt = "The capital of France is"
    r = oai.completions.create(model=MODEL, prompt=prompt, max_tokens=5, temperature=0, logprobs=3)
    lp = r.choices[0].logprobs
    assert "".join(lp.tokens) == r.choices[0].text
    assert lp.text_offset[0] == len(prompt)
    assert all(len(top) == 3 and max(top.values()) == pytest.approx(v, abs=1e-6)
               for top, v in zip(lp.top_logprobs, lp.token_logprobs))


def test_scoring_echoes_the_prompt_with_one_logprob_per_token(oai):
    text = "The cat sat on the mat."
    choice = score(oai, text, top=2)
    lp = choice.logprobs
    assert choice.text == text
    assert "".join(lp.tokens) == text
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert all(v is not None and v <= 0 for v in lp.token_logprobs[1:])
    assert lp.text_offset == [sum(len(t) for t in lp.tokens[:i]) for i in range(len(lp.tokens))]
    assert all(len(top) == 2 for top in lp.top_logprobs[1:])


def test_scores_agree_with_what_generation_reported(oai):
    """The log-probability of a token when scored is the one generation gave it. Not to the
    last bit: llama.cpp computes a row evaluated in a batch (scoring) with other kernels than a
    row evaluated alone (generation), and a 270M model at Q4 amplifies that to ~0.2 nats."""
    prompt = "The capital of France is"
    gen = oai.completions.create(model=MODEL, prompt=prompt, max_tokens=6, temperature=0, logprobs=0,
                                 extra_body={"raw": True})
    generated = gen.choices[0].logprobs
    scored = score(oai, prompt + gen.choices[0].text).logprobs
    n = len(generated.tokens)
    if scored.tokens[-n:] != generated.tokens:
        pytest.skip("the joined text tokenizes differently from the generated tokens")
    assert scored.token_logprobs[-n:] == pytest.approx(generated.token_logprobs, abs=0.3)


def test_a_misspelling_scores_lower_than_the_correct_sentence(oai):
    good = sum(score(oai, "She went to school yesterday.").logprobs.token_logprobs[1:])
    bad = sum(score(oai, "She went to scohol yesterday.").logprobs.token_logprobs[1:])
    assert math.isfinite(good) and good > bad


def test_scoring_needs_echo_and_checks_logprobs_range(oai):
    with pytest.raises(openai.BadRequestError, match="max_tokens"):
        oai.completions.create(model=MODEL, prompt="hi", max_tokens=0)
    with pytest.raises(openai.BadRequestError, match="logprobs"):
        oai.completions.create(model=MODEL, prompt="hi", echo=True, logprobs=6, max_tokens=0)
    with pytest.raises(openai.BadRequestError, match="top_logprobs"):
        oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], top_logprobs=2)

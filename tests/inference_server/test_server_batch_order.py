"""The engine's batches list generating sequences in slot order, step after step.

llama.cpp rebuilds its compute graph whenever a batch's sequences come in another order than
the previous batch's; with four requests at once on the embedded model that made a 4-token
step take 58-69 ms instead of 43-47 ms (python -m benchmarks server, 4 clients). A real
runner with four slots, the real model: the first request warms slot 0 up, so the next four
get slots in the order 1, 2, 3, 0 — the case that used to reach llama.cpp out of order.
"""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    from inference.engine.runtime import LoadOptions, ModelRunner
    from inference.models.embedded import ensure_embedded
    from inference.models.store import ModelStore

    record = ensure_embedded(ModelStore(tmp_path_factory.mktemp("store") / "models"))
    r = ModelRunner(record.model_path, LoadOptions(num_ctx=1024, num_parallel=4))
    yield r
    r.close()


def test_generating_sequences_reach_llama_cpp_in_slot_order(runner):
    batch = runner._batch
    real_decode = batch.decode
    orders: list[tuple[int, ...]] = []

    def recording_decode(ctx):  # a spy: records the rows, then runs the real decode
        n = batch.n
        if n > 1 and batch.logits[:n].all():  # a step of generating sequences only
            orders.append(tuple(int(s) for s in batch.seq[:n, 0]))
        return real_decode(ctx)

    list(runner.generate(runner.tokenize("A warm-up answer"), {"temperature": 0, "num_predict": 4}))
    batch.decode = recording_decode
    try:
        answers: dict[int, str] = {}

        def ask(i: int) -> None:
            prompt = runner.tokenize(f"Story number {i}: once upon a time")
            *_, result = runner.generate(prompt, {"temperature": 0, "num_predict": 24})
            answers[i] = result.text

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        del batch.decode
    assert sorted(answers) == [0, 1, 2, 3] and all(answers.values())
    four = [o for o in orders if len(o) == 4]
    assert four, orders  # the four requests did decode together
    assert all(list(o) == sorted(o) for o in orders), orders

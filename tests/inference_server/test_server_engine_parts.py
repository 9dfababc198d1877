"""Pure parts of the batched engine: thread counts, a sequence turning tokens into text
(stop strings held back, log-probabilities attached), and slots in the scheduler."""

from __future__ import annotations

import asyncio
import threading

from inference.engine.runtime import SamplingParams, num_parallel_from_env
from inference.engine.scheduler import Scheduler, SchedulerConfig
from inference.engine.sequence import GenerationResult, Piece, Sequence
from inference.engine.threads import physical_cores, thread_counts


def test_threads_default_to_the_physical_cores_and_num_thread_overrides(tmp_path):
    cores = physical_cores()
    assert thread_counts(None, env={}) == (cores, cores)
    assert thread_counts(3, env={}) == (3, 3)
    assert thread_counts(None, env={"HUSHTYPE_DECODE_THREADS": "1"}) == (1, cores)


def test_smt_siblings_count_once(tmp_path, monkeypatch):
    import inference.engine.threads as th

    for cpu, siblings in {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"}.items():
        d = tmp_path / f"cpu{cpu}" / "topology"
        d.mkdir(parents=True)
        (d / "thread_siblings_list").write_text(siblings + "\n")
    monkeypatch.setattr(th, "allowed_cpus", lambda: {0, 1, 2, 3})
    assert th.physical_cores(tmp_path) == 2


def test_num_parallel_from_the_environment(monkeypatch):
    monkeypatch.setenv("OLLAMA_NUM_PARALLEL", "4")
    assert num_parallel_from_env() == 4
    for bad in ("0", "-2", "many", ""):
        monkeypatch.setenv("OLLAMA_NUM_PARALLEL", bad)
        assert num_parallel_from_env() == 1


def _seq(stop=(), num_predict=-1, top_n=-1):
    out: list = []
    params = SamplingParams.from_options({"stop": list(stop), "num_predict": num_predict})
    seq = Sequence(tokens=[1, 2, 3], truncated=0, params=params, sampler=None, constrained=None,
                   emit=out.append, cancel=threading.Event(), top_n=top_n)
    return seq, out


def test_a_sequence_holds_back_a_possible_stop_string_and_cuts_at_it():
    seq, out = _seq(stop=["END"])
    assert seq.take(10, b"Hello E", False, None, 4096)
    assert out == ["Hello "]
    assert not seq.take(11, b"ND more", False, None, 4096)
    result = out[-1]
    assert isinstance(result, GenerationResult) and result.done_reason == "stop"
    assert result.text == "Hello " and result.context == [1, 2, 3, 10, 11]


def test_a_sequence_joins_utf8_across_tokens_and_attaches_logprobs_to_the_text():
    seq, out = _seq(top_n=0)
    euro = "€".encode()
    assert seq.take(5, euro[:2], False, {"token": "a"}, 4096)
    assert out == []  # half a character: nothing to show yet
    assert seq.take(6, euro[2:], False, {"token": "b"}, 4096)
    assert out == ["€"] and isinstance(out[0], Piece)
    assert [e["token"] for e in out[0].logprobs] == ["a", "b"]


def test_a_sequence_stops_at_num_predict_and_at_the_context_end():
    seq, out = _seq(num_predict=2)
    assert seq.take(5, b"a", False, None, 4096)
    assert not seq.take(6, b"b", False, None, 4096)
    assert out[-1].done_reason == "length" and out[-1].eval_count == 2
    seq, out = _seq()
    assert not seq.take(5, b"a", False, None, 4)  # 3 prompt tokens + 1 fill a 4-token context
    assert out[-1].done_reason == "length"
    seq, out = _seq()
    assert not seq.take(7, b"", True, None, 4096)  # end of generation token
    assert out[-1].done_reason == "stop" and out[-1].eval_count == 0


class _Runner:
    def __init__(self, parallel):
        self.parallel, self.n_ctx, self.size = parallel, 4096, 1

    def close(self):
        pass


def test_the_scheduler_admits_as_many_requests_as_the_engine_has_slots():
    async def main():
        sched = Scheduler(SchedulerConfig(3, 512, 300), loader=lambda record, load: _Runner(3))
        record = type("R", (), {"digest": "d" * 64, "name": type("N", (), {"display": "m"})()})()
        active = peak = 0
        order = []

        async def job(i):
            nonlocal active, peak
            await asyncio.sleep(i * 0.01)
            async with sched.use(record, {}, 300):
                active += 1
                peak = max(peak, active)
                order.append(i)
                await asyncio.sleep(0.1)
                active -= 1

        await asyncio.gather(*(job(i) for i in range(7)))
        return peak, order

    peak, order = asyncio.run(main())
    assert peak == 3 and sorted(order) == list(range(7))

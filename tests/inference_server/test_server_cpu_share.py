"""The engine decodes with as many threads as other programs leave cores free: the pure rule,
the /proc meter (a fixed /proc tree, then the real one with a real busy process), and a real
ModelRunner on the embedded model dropping to one thread while two busy processes run and
going back to all cores once the cores are free."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from inference.engine.cpu_share import CpuMeter, choose_threads
from inference.engine.threads import adaptive_threads, physical_cores


def test_two_cores_drop_to_one_thread_when_under_one_and_a_half_are_free():
    assert choose_threads(2, 2, 2.0) == 2
    assert choose_threads(2, 2, 1.6) == 2  # a desktop's background keeps both
    assert choose_threads(2, 2, 1.4) == 1
    assert choose_threads(2, 2, 0.0) == 1  # never below one


def test_the_count_goes_back_up_only_with_a_margin_so_it_does_not_flap():
    assert choose_threads(1, 2, 1.6) == 1  # between the two thresholds it stays
    assert choose_threads(1, 2, 1.75) == 2
    assert choose_threads(1, 8, 8.0) == 8
    assert choose_threads(8, 8, 4.2) == 4
    assert choose_threads(3, 2, 2.0) == 2  # never above the most


def test_a_thread_count_the_user_chose_is_never_changed():
    assert adaptive_threads(None, env={})
    assert not adaptive_threads(3, env={})
    assert not adaptive_threads(None, env={"HUSHTYPE_DECODE_THREADS": "2"})
    assert not adaptive_threads(None, env={"HUSHTYPE_ADAPTIVE_THREADS": "0"})


def _write_proc(root, busy_ticks: int, idle_ticks: int, own_ticks: int) -> None:
    (root / "self").mkdir(parents=True, exist_ok=True)
    # user nice system idle iowait irq softirq steal guest guest_nice
    (root / "stat").write_text(f"cpu  {busy_ticks} 0 0 {idle_ticks} 7 0 0 0 0 0\ncpu0 1 2 3 4\n")
    # utime and stime are fields 14 and 15; the command name may hold spaces and ")"
    (root / "self" / "stat").write_text(f"42 (my (odd) name) R 1 1 1 0 -1 0 0 0 0 0 {own_ticks} 0 0 0 20\n")


def test_the_meter_counts_every_busy_tick_but_this_process_s(tmp_path):
    hz = os.sysconf("SC_CLK_TCK")
    now = [100.0]
    _write_proc(tmp_path, busy_ticks=1000, idle_ticks=5000, own_ticks=200)
    meter = CpuMeter(tmp_path, clock=lambda: now[0])
    meter.cores = 2
    # one second later: 1.5 cores' worth of busy ticks, of which 0.5 core was this process
    now[0] += 1.0
    _write_proc(tmp_path, busy_ticks=1000 + int(1.5 * hz), idle_ticks=5000, own_ticks=200 + int(0.5 * hz))
    assert meter.others_busy() == pytest.approx(1.0, abs=0.02)
    assert meter.free_cores() == pytest.approx(1.0, abs=0.02)
    # within the sampling window the last figure is reused
    _write_proc(tmp_path, busy_ticks=10**9, idle_ticks=5000, own_ticks=0)
    now[0] += 0.1
    assert meter.others_busy() == pytest.approx(1.0, abs=0.02)


def test_without_proc_the_meter_reports_no_load(tmp_path):
    meter = CpuMeter(tmp_path / "absent")
    assert not meter.available and meter.others_busy() == 0.0


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_the_real_meter_sees_another_process_burn_a_core_and_not_this_one():
    meter = CpuMeter()
    child = multiprocessing.get_context("spawn").Process(target=_spin, args=(30.0,), daemon=True)
    child.start()
    try:
        time.sleep(1.0)  # the child is running
        meter.others_busy()  # a fresh window starts now
        time.sleep(1.2)
        assert meter.others_busy() >= 0.5
    finally:
        child.terminate()
        child.join(10)
    # this process spinning for a second is not "other programs"
    meter.others_busy()
    time.sleep(0.6)
    baseline = meter.others_busy()
    _spin(1.2)
    assert meter.others_busy() < baseline + 0.5


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    from inference.engine.runtime import LoadOptions, ModelRunner
    from inference.models.embedded import ensure_embedded
    from inference.models.store import ModelStore

    record = ensure_embedded(ModelStore(tmp_path_factory.mktemp("store") / "models"))
    r = ModelRunner(record.model_path, LoadOptions(num_ctx=1024))
    yield r
    r.close()


def _generate_for(runner, seconds: float) -> None:
    prompt = runner.tokenize("The history of the city of Rome begins")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in runner.generate(prompt, {"temperature": 0, "num_predict": 48}):
            pass


@pytest.mark.skipif(physical_cores() < 2, reason="needs two cores to have a thread to give up")
def test_the_runner_gives_up_a_thread_while_other_programs_burn_the_cores(runner):
    most = max(runner.decode_threads, runner.batch_threads)
    assert runner._meter is not None and runner.threads_now == most
    hogs = [multiprocessing.get_context("spawn").Process(target=_spin, args=(120.0,), daemon=True)
            for _ in range(physical_cores())]
    for h in hogs:
        h.start()
    try:
        time.sleep(1.0)
        _generate_for(runner, 3.0)
        assert runner.threads_now < most
        from llama_cpp import llama_n_threads

        assert llama_n_threads(runner.ctx) == runner.threads_now  # llama.cpp was told
    finally:
        for h in hogs:
            h.terminate()
        for h in hogs:
            h.join(10)
    # Going back up: the test cannot make a shared machine quiet, so a stand-in meter reports
    # every core free (the real meter's readings are tested above); llama.cpp must be told.
    class AllFree:
        def free_cores(self):
            return float(most)

    real, runner._meter = runner._meter, AllFree()
    try:
        _generate_for(runner, 0.5)
        assert runner.threads_now == most and llama_n_threads(runner.ctx) == most
    finally:
        runner._meter = real


def test_changing_the_thread_count_does_not_change_a_seeded_answer(runner):
    """Seed reproducibility holds while the count follows the load: llama.cpp gives each
    thread whole rows, so one and two threads compute the same logits."""
    class Free:
        def __init__(self, cores):
            self.cores = cores

        def free_cores(self):
            return self.cores

    prompt = runner.tokenize("Write a short story about a lighthouse keeper:")
    options = {"temperature": 0.8, "seed": 42, "num_predict": 40}
    answers = []
    real = runner._meter
    try:
        for cores in (0.0, float(max(runner.decode_threads, runner.batch_threads))):
            runner._meter = Free(cores)  # a seed also skips the prompt cache: both evaluate it all
            *_, result = runner.generate(prompt, options)
            answers.append((runner.threads_now, result.text))
    finally:
        runner._meter = real
    (one, first), (most, second) = answers
    assert one == 1 and most >= 1 and first and first == second

"""The benchmark harness's own logic (the timings themselves are in benchmarks/results/)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import handwritten  # noqa: E402
import run  # noqa: E402
import worker  # noqa: E402


def test_the_work_counter_finds_the_toy_steps_matrix_flops():
    b, w = 32, 16
    h = handwritten.HandWritten("plain", batch=b, width=w)
    h.step()
    work = worker.count_step(h.step)
    # D step: G forward, D forward on 2B, D weight and hidden-input gradients; G step: D forward and
    # input gradients, G weight and hidden-input gradients (see benchmarks/README.md): 2B(11w^2 + 30w)
    assert work["flops"] == 2 * b * (11 * w * w + 30 * w)
    assert work["elements"]["tanh"] == 2 * w * (b + 2 * b + b) and work["elements"]["tanh_backward"] > 0


def test_gancompanion_does_no_more_matrix_work_than_the_hand_written_loop():
    for variant in ("plain", "roth", "wgan_gp"):
        gc = worker.make_gancompanion(variant, batch=32, width=16)
        gc(2)
        h = handwritten.HandWritten(variant, batch=32, width=16)
        h.step()
        assert worker.count_step(lambda: gc(1))["flops"] == worker.count_step(h.step)["flops"], variant


def test_the_floor_runs_and_reports_its_work():
    floor = worker.make_floor("roth", batch=32, width=16)
    floor(2)
    assert floor.info["flops"] > 0 and floor.info["matmul_calls"] > 0


def test_paired_ratios_and_targets():
    class W:
        def __init__(self, times):
            self.times, self.error = times, None

    r = run.paired(W([2.0, 4.0, 3.0]), W([1.0, 2.0, 2.0]))
    assert r["median"] == pytest.approx(2.0) and r["min"] == pytest.approx(1.5) and r["max"] == pytest.approx(2.0)
    res = {"toy": {"ratios": {"plain": {"handwritten_over_gc": {"median": 1.1}, "gc_over_floor": {"median": 1.4}}},
                   "peers": {p: {"variants": {}} for p in run.PEERS}},
           "seeds": {"threads=2": {"speedup": {"16": {"median": 1.7}}}}}
    got = {t["target"]: t["pass"] for t in run.targets(res)}
    assert got["CPU 1 thread, plain: gancompanion speed / hand-written"] is True
    assert got["CPU 1 thread, plain: gancompanion time / compute floor"] is False
    assert got["CPU 2 threads: seed-steps/s of 16 seeds / of 1 seed"] is True
    assert got["GPU: cost of a step of 64 seeds / of 1 seed"] is None


def test_targets_of_a_partial_run_leave_the_sections_not_run_unmeasured():
    # `run.py --only seeds --out new.json`: no toy section at all
    res = {"seeds": {"threads=2": {"speedup": {"16": {"median": 1.2}}}}}
    got = {t["target"]: (t["value"], t["pass"]) for t in run.targets(res)}
    assert got["CPU 2 threads: seed-steps/s of 16 seeds / of 1 seed"] == (1.2, False)
    assert got["CPU 1 thread, plain: gancompanion speed / hand-written"] == (None, None)


def test_every_peer_and_variant_says_whether_it_can_be_expressed():
    from peers.adapters import EXPRESSIBLE

    assert {(p, v) for p in run.PEERS for v in ("plain", "roth", "wgan_gp")} == set(EXPRESSIBLE)


def test_the_committed_results_hold_what_the_performance_page_reads():
    res = json.loads((ROOT / "benchmarks" / "results" / "cpu-2core.json").read_text())
    for key in ("machine", "toy", "seeds", "scaling", "dcgan", "compile", "chapters", "targets"):
        assert key in res, key
    for v in ("plain", "roth", "wgan_gp"):
        assert {"handwritten_over_gc", "gc_over_floor", "matmul_gflops", "flops"} <= set(res["toy"]["ratios"][v])
    assert set(res["toy"]["ratios"]["penalty_over_plain"]) == {"roth", "r1", "wgan_gp"}
    assert res["machine"]["torch"] and res["machine"]["cores"]


def test_the_committed_constraint_costs_hold_what_the_performance_page_reads():
    for scale in ("book", "paper"):
        pc = json.loads((ROOT / "benchmarks" / "results" / f"parts_ch2-{scale}.json").read_text())
        assert pc["scale"] == scale and {"seeds", "hidden", "depth", "batch_size"} <= set(pc)
        assert set(pc["steps"]) == {"plain", "spectral norm", "weight clipping", "WGAN-GP"}
        for rec in pc["steps"].values():
            assert rec["ms_per_step"] > 0 and {"median", "min", "max"} <= set(rec["time_vs_plain"])
        assert pc["steps"]["spectral norm"]["target"] == 1.15 and pc["steps"]["WGAN-GP"]["target"] == 1.6

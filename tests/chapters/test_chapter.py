"""``VariantRuns.split``: one model's runs (e.g. one learning rate per run) as several variants."""

import numpy as np
import pytest
import pandas as pd

from gancompanion.chapters.chapter import VariantRuns


def test_split_gives_each_slice_of_runs_its_own_variant():
    seeds = [0, 1, 0, 1]  # two rates x two seeds, as one model
    values = {0: {"modes": np.array([1.0, 2, 3, 4]), "samples": np.zeros((4, 5, 2))},
              10: {"modes": np.array([5.0, 6, 7, 8]), "samples": np.ones((4, 5, 2))}}
    rows = [{"variant": "SN", "seed": s, "step": step, "modes": float(v["modes"][i])}
            for step, v in sorted(values.items()) for i, s in enumerate(seeds)]
    rows += [{"variant": "other", "seed": 0, "step": 0, "modes": 9.0}]
    runs = VariantRuns(pd.DataFrame(rows), {"SN": values, "other": {}}, {"SN": 4.0, "other": 1.0}, {"SN": {1: 7}})
    out = runs.split("SN", {"SN 1x": slice(0, 2), "SN 3x": slice(2, 4)})
    t = out.table
    assert set(t.variant) == {"other", "SN 1x", "SN 3x"}
    last = t[t.step == 10].set_index(["variant", "seed"]).modes
    assert last["SN 1x", 0] == 5 and last["SN 1x", 1] == 6 and last["SN 3x", 0] == 7 and last["SN 3x", 1] == 8
    assert out.records["SN 3x"][10]["samples"].shape == (2, 5, 2) and out.records["SN 3x"][0]["modes"].tolist() == [3, 4]
    assert out.seconds == {"other": 1.0, "SN 1x": 2.0, "SN 3x": 2.0}
    assert out.diverged["SN 3x"] == {1: 7} and "SN" not in out.records


def test_cost_blocks_add_up_into_the_claims_record(in_tmp, capsys):
    import torch

    from gancompanion.chapters.chapter import Chapter
    from gancompanion.evaluation.verdicts import Result

    ch = Chapter("ch5", "book", 0, torch.device("cpu"))
    with ch.cost("ch5.semi-supervised-helps", runs=4, steps=100):
        pass
    with ch.cost("ch5.semi-supervised-helps", runs=2, steps=50):
        pass
    result = Result("REPRODUCED", 1.0, 0.5, 1.5, 4, 0.0, 1, "error")
    ch.report("ch5.semi-supervised-helps", result)
    cost = ch.verdicts["ch5.semi-supervised-helps"]["cost"]
    assert cost["runs"] == 6 and cost["steps"] == 4 * 100 + 2 * 50 and cost["seconds"] >= 0
    assert "seconds" not in capsys.readouterr().out  # a CLAIM line holds no timings
    with pytest.raises(ValueError, match="runs"):
        with ch.cost("ch5.semi-supervised-helps", runs=-1):
            pass

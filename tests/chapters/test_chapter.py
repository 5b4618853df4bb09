"""``VariantRuns.split``: one model's runs (e.g. one learning rate per run) as several variants."""

import numpy as np
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

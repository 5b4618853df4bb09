"""Chapter 6's verdicts: each reads its thresholds from the claim and fails on the wrong side of them."""

import numpy as np
import pytest

from gancompanion.chapters import ch6
from gancompanion.chapters.checks import Verdict
from gancompanion.pipeline.claims import CATALOGUE


def test_annealed_noise_verdict():
    final = {"baseline": np.array([0.5, 0.6]), "fixed noise": np.array([0.2, 0.3]),
             "annealed noise": np.array([0.3, 0.4])}
    v = ch6.annealed_noise_helps(final)
    assert isinstance(v, Verdict) and v.passed is True
    assert v.evidence == "median final HQ fraction annealed 0.350 vs fixed 0.250 (none: 0.550)"
    assert v.values["annealed noise"] == [0.3, 0.4]
    assert not ch6.annealed_noise_helps({**final, "annealed noise": final["fixed noise"]}).passed
    assert not ch6.annealed_noise_helps({**final, "annealed noise": np.array([np.nan, 1.0])}).passed


def test_sn_robust_compares_the_worst_learning_rate_at_the_claims_factors():
    factors = CATALOGUE["ch6.sn-robust"].threshold["lr_factors"]
    modes = {(k, f): np.array([20, 22]) for k in ("plain", "SN") for f in factors}
    modes["plain", factors[-1]] = np.array([3, 5])
    v = ch6.sn_robust(modes)
    assert v.passed and v.evidence == f"worst median final modes over lr x{list(factors)}: SN 21.0 vs plain 4.0"
    modes["SN", factors[0]] = np.array([3, 5])
    assert not ch6.sn_robust(modes).passed  # equal worst: strictly higher is needed
    with pytest.raises(KeyError):
        ch6.sn_robust({("SN", 1): np.array([1])})


def test_truncation_verdict_at_the_claims_threshold():
    t = CATALOGUE["ch6.truncation-tradeoff"].threshold["truncation"]
    trunc = {None: {"precision": np.array([0.5, 0.6]), "recall": np.array([0.8, 0.9])},
             t: {"precision": np.array([0.7, 0.8]), "recall": np.array([0.4, 0.5])}}
    v = ch6.truncation_tradeoff(trunc)
    assert v.passed and set(v.values) == {"None", str(t)}
    assert v.evidence == ("threshold 0.5 vs none: precision up in 2/2 seeds, recall down in 2/2 (medians P 0.55 -> "
                          "0.75, R 0.85 -> 0.45)")
    trunc[t]["precision"] = np.array([0.7, 0.6])  # one seed not up
    assert not ch6.truncation_tradeoff(trunc).passed


def test_refinement_verdict_allows_the_claims_mode_loss_only():
    loss = CATALOGUE["ch6.refinement-improves-quality-drs"].threshold["max_mode_loss"]
    plain = {"hq_fraction": np.array([0.5, 0.6]), "modes": np.array([20, 20])}
    better = {"hq_fraction": np.array([0.6, 0.7]), "modes": np.array([20 - loss, 20 - loss])}
    v = ch6.refinement_improves_quality("DRS", plain, better)
    assert v.passed and v.values == {"plain": [0.5, 0.6], "refined": [0.6, 0.7]}
    assert v.evidence == "HQ fraction up in 2/2 seeds (median 0.550 -> 0.650), median modes 20 -> 19"
    assert not ch6.refinement_improves_quality("DDLS", plain, {**better, "modes": np.array([18, 18])}).passed
    assert not ch6.refinement_improves_quality("DGFlow", plain, {**better, "hq_fraction": np.array([0.6, 0.6])}).passed


def test_drs_costlier_and_helps():
    v = ch6.drs_costlier({"DRS": np.array([60.0, 70.0]), "DDLS": 50.0, "DGFlow": 25.0})
    assert v.passed and v.values == {}
    assert v.evidence == "D evaluations per returned sample: DRS 65.0, DDLS 50, DGFlow 25"
    assert not ch6.drs_costlier({"DRS": np.array([1.2, 1.3]), "DDLS": 50.0, "DGFlow": 25.0}).passed
    h = ch6.helps(np.array([0.6, 0.7]), np.array([20, 21]), np.array([0.5, 0.6]), np.array([19, 19]))
    assert h.passed and h.evidence == "median final HQ fraction 0.650 vs baseline 0.550 (modes 20 vs 19)"
    assert not ch6.helps(np.array([0.5, 0.6]), np.array([20, 21]), np.array([0.5, 0.6]), np.array([19, 19])).passed


def test_readings_name_what_happened():
    scores = {"grid": {"plain": {"modes": np.array([20, 20])}, "DRS": {"modes": np.array([20, 20])},
                       "DDLS": {"modes": np.array([20, 20])}, "DGFlow": {"modes": np.array([10, 12])}}}
    reading = ch6.refinement_reading(scores)
    assert reading.startswith("DGFlow moves latents") and "DGFlow: 11 against 20" in reading
    assert reading.endswith("Rejection sampling only removes samples: it moves none of them.")

"""Chapter 5's verdicts: each reads its thresholds from the claim and fails on the wrong side of them."""

import numpy as np
import pandas as pd
import pytest

from gancompanion.chapters import ch5, ch5_semisupervised
from gancompanion.chapters.checks import Verdict
from gancompanion.pipeline.claims import CATALOGUE
from gancompanion.pipeline.scales import Settings
from gancompanion.pipeline.scales import settings as gc_settings


def test_predicted_rate_is_the_linearised_theory():
    assert ch5.predicted_rate(1.0) == -0.5  # w = 2 * 1 / f'(1) = 1
    assert np.isclose(ch5.predicted_rate(2.0), -1 / (1 + 4))
    assert np.isnan(ch5.predicted_rate(0.0))  # no averaging, no rate
    with pytest.raises(ValueError, match="weight"):
        ch5.predicted_rate(-1.0)


def test_fitted_rate_recovers_a_power_law():
    t = np.arange(1001, dtype=float)
    assert np.isclose(ch5.fitted_rate(3.0 * np.maximum(t, 1) ** -0.7), -0.7)
    assert np.isclose(ch5.fitted_rate(np.ones(1001)), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="distance"):
        ch5.fitted_rate(np.ones(2))


def _power_law(a, steps=1000):
    return np.maximum(np.arange(steps + 1, dtype=float), 1.0) ** a


def test_historical_averaging_reads_its_thresholds():
    th = CATALOGUE["ch5.historical-averaging-converges"].threshold
    bound = ch5.predicted_rate(1.0) + th["rate_tolerance"]
    orbit = np.ones(1001)
    ok = ch5.historical_averaging_converges({0.0: orbit, 1.0: _power_law(bound - 0.01)}, 1.0)
    assert isinstance(ok, Verdict) and ok.passed is True
    assert np.isclose(ok.values["rate"], bound - 0.01) and ok.values["predicted"] == -0.5
    assert ok.evidence.startswith("final / initial distance to (1, 1) 1.00 without averaging (>= 0.5 needed); ")
    assert ok.evidence.endswith("over steps 500-1000 (theory -1/(1+w^2) = -0.500; <= -0.400 needed)")
    assert not ch5.historical_averaging_converges({0.0: orbit, 1.0: _power_law(bound + 0.01)}, 1.0).passed  # too slow
    shrinking = _power_law(-1.0)  # plain descent that converged: no orbit to compare against
    assert not ch5.historical_averaging_converges({0.0: shrinking, 1.0: _power_law(-0.5)}, 1.0).passed
    assert not ch5.historical_averaging_converges({0.0: orbit * np.nan, 1.0: _power_law(-0.5)}, 1.0).passed


def test_the_toy_game_orbits_without_and_converges_with_averaging():
    cfg = Settings(start=(0.5, 0.5), lr=0.01, steps=2000, weight=1.0)
    out = ch5.game(cfg)
    assert out["gd_ratio"] > 0.5 and out["ha_ratio"] < out["gd_ratio"] and out["predicted"] == -0.5
    assert set(ch5.game_numbers(out, cfg)) >= {"game_gd_ratio", "game_ha_ratio", "game_rate", "game_predicted"}


def test_the_game_check_fails_without_averaging_or_at_weight_zero():
    """The chapter's game at its settings; the check fails with the averaging removed (its path replaced by plain
    descent's) and with a zero weight (the same plain descent, and no predicted rate)."""
    cfg = gc_settings("ch5.game", "smoke")
    out = ch5.game(cfg)
    dist = out["distance"]
    removed = {0.0: dist[0.0], cfg.weight: dist[0.0]}
    assert not ch5.historical_averaging_converges(removed, cfg.weight).passed
    zero = ch5.game(Settings(cfg, weight=0.0))
    assert not ch5.historical_averaging_converges(zero["distance"], 0.0).passed


def test_label_smoothing_verdict_and_evidence():
    th = CATALOGUE["ch5.label-smoothing-less-confident"].threshold
    plain, smooth, fake = np.array([0.999, 0.998]), np.array([th["real_target"], 0.89]), np.array([1e-3, 2e-3])
    v = ch5.label_smoothing_less_confident(plain, smooth, fake)
    assert v.passed and v.values == {"plain": plain.tolist(), "smooth": smooth.tolist(), "smooth_fake": fake.tolist()}
    assert v.evidence == ("mean D(x) on real samples: 0.900 at most with target 0.9 (<= 0.91 needed), 0.998 at least "
                          "without (> 0.99 needed); mean D(G(z)) with smoothing 0.002 at most (< 0.01 needed)")
    assert not ch5.label_smoothing_less_confident(plain, smooth + 0.05, fake).passed  # above the smoothed target
    assert not ch5.label_smoothing_less_confident(plain, smooth, fake + 0.5).passed  # two-sided: D(G(z)) lifted


def _toy_table(base_modes, mbd_modes, base_hop, fm_hop, base_hq=None):
    rows = []
    n = len(base_modes)
    base_hq = [0.9] * n if base_hq is None else base_hq
    for v, modes, hop, hq in (("baseline", base_modes, base_hop, base_hq),
                              ("minibatch discrimination", mbd_modes, base_hop, [0.9] * n),
                              ("feature matching", base_modes, fm_hop, [0.9] * n)):
        rows += [dict(variant=v, seed=s, modes_k=m, modes=m, hq=q, reverse_kl=0.1, hopping=h, p_real=0.5)
                 for s, m, h, q in zip(range(3, 3 + n), modes, hop, hq)]
    return pd.DataFrame(rows)


TEN_BASE = [6, 7, 7, 6, 7, 8, 6, 7, 7, 6]


def test_minibatch_verdict_is_judged_on_the_declared_effect_and_gated():
    hop = [0.2] * 10
    better = [m + 2 for m in TEN_BASE]  # two more modes on every seed
    table = _toy_table(TEN_BASE, [min(m, 8) for m in better], hop, hop)
    base = ch5.toy_baseline_trained(table)
    assert base.outcome == "REPRODUCED"
    v = ch5.minibatch_reduces_collapse(table, base)
    assert v.outcome == "REPRODUCED" and v.n == 10
    # the technique removed: the variant's runs are the baseline's, effect 0 < 0.5
    same = _toy_table(TEN_BASE, TEN_BASE, hop, hop)
    assert ch5.minibatch_reduces_collapse(same, base).outcome == "NOT REPRODUCED"
    # the sign flipped: fewer modes with the layer
    worse = _toy_table(TEN_BASE, [m - 2 for m in TEN_BASE], hop, hop)
    assert ch5.minibatch_reduces_collapse(worse, base).outcome == "NOT REPRODUCED"
    # a baseline that did not train (HQ 0.3 on every seed) makes the comparison INCONCLUSIVE
    untrained = _toy_table(TEN_BASE, [min(m, 8) for m in better], hop, hop, base_hq=[0.3] * 10)
    gate = ch5.toy_baseline_trained(untrained)
    assert gate.outcome == "NOT REPRODUCED"
    v = ch5.minibatch_reduces_collapse(untrained, gate)
    assert v.outcome == "INCONCLUSIVE" and "did not train" in v.reason
    # a baseline that covers too few modes does not pass either
    assert ch5.toy_baseline_trained(_toy_table([3] * 10, TEN_BASE, hop, hop)).outcome == "NOT REPRODUCED"


def test_feature_matching_verdict():
    table = _toy_table([5, 6], [7, 6], [0.2, 0.4], [0.1, 0.2])
    fm = ch5.feature_matching_stabilises(table)
    assert fm.passed and fm.evidence.startswith("median mode hopping 0.150 with feature matching, 0.300 without")
    equal = _toy_table([5, 6], [5, 6], [0.2, 0.4], [0.2, 0.4])  # strictly better is needed
    assert not ch5.feature_matching_stabilises(equal).passed
    assert not ch5.feature_matching_stabilises(_toy_table([5, 6], [5, 6], [0.2, 0.4], [np.nan, 0.1])).passed


def test_toy_summary_gives_mean_median_and_range_per_variant():
    table = pd.DataFrame([dict(variant=v, seed=s, modes_k=s + 1, modes=s + 1, hq=0.5, reverse_kl=0.1, hopping=0.1,
                               p_real=0.9) for v in ch5.VARIANTS for s in (0, 1, 2)])
    out = ch5.toy_summary(table)
    assert list(out.index) == list(ch5.VARIANTS) and out.loc["baseline", "modes of 8"] == "2 [1, 3]"
    assert out.loc["baseline", "mean modes"] == "2.0"


def test_standardised_ring_has_unit_spread():
    from gancompanion import data

    ring, factor = ch5.standardised(data.ring())
    assert abs(factor - 0.5 ** 0.5) < 1e-6 and abs(float(ring.centers.pow(2).mean()) - 1) < 1e-6
    assert abs(ring.std - 0.01 / factor) < 1e-9


def test_classifier_score_verdict():
    th = CATALOGUE["ch5.classifier-score-real-highest"].threshold
    table = pd.DataFrame(dict(variant=["baseline", "all together"], seed=[0, 0], score=[3.0, 4.5], fd=[1.0, 2.0]))
    v = ch5.classifier_score_real_highest(th["min_accuracy"], 5.0, table)
    assert v.passed and v.values["real"] == 5.0 and v.values["gans"]["score"] == [3.0, 4.5]
    assert v.evidence.endswith("held-out digits score 5.00, the best GAN variant and seed 4.50 (strictly lower needed)")
    assert not ch5.classifier_score_real_highest(th["min_accuracy"] - 0.01, 5.0, table).passed
    assert not ch5.classifier_score_real_highest(th["min_accuracy"], 4.5, table).passed


def test_semi_supervised_verdict_needs_every_count():
    rng = np.random.default_rng(0)

    def table(gan, sup, n=5):
        rows = []
        for labels, g, u in zip((20, 50), gan, sup):
            for s in range(n):
                noise = 0.005 * rng.standard_normal()
                rows += [dict(labels=labels, model="K+1 GAN", seed=s, error=g + noise),
                         dict(labels=labels, model="labels only", seed=s, error=u + noise),
                         dict(labels=labels, model="1-NN on the labels", seed=s, error=u)]
        return pd.DataFrame(rows)
    v = ch5_semisupervised.semi_supervised_helps(table([0.10, 0.05], [0.25, 0.15]))
    assert v.outcome == "REPRODUCED" and "20 labels" in v.reason and "50 labels" in v.reason
    # the GAN removed (its errors are the labels-only network's): NOT REPRODUCED
    assert ch5_semisupervised.semi_supervised_helps(table([0.25, 0.15], [0.25, 0.15])).outcome == "NOT REPRODUCED"
    # it helps at one count only: not at every count
    assert ch5_semisupervised.semi_supervised_helps(table([0.10, 0.15], [0.25, 0.15])).outcome == "NOT REPRODUCED"
    # the sign flipped
    assert ch5_semisupervised.semi_supervised_helps(table([0.25, 0.15], [0.10, 0.05])).outcome == "NOT REPRODUCED"
    assert list(ch5_semisupervised.error_table(table([0.1, 0.05], [0.2, 0.1])).columns) == [
        "K+1 GAN (% error)", "labels only (% error)", "1-NN on the labels (% error)"]

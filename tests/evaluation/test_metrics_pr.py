"""Precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et al. 2020) on known answers."""

import numpy as np
import pytest

from gancompanion.evaluation import metrics


def _points(n, seed, shift=0.0):
    return np.random.default_rng(seed).normal(size=(n, 2)) + shift


def test_identical_sets():
    x = _points(500, 0)
    pr = metrics.precision_recall(x, x[None])
    assert pr["precision"][0] == 1.0 and pr["recall"][0] == 1.0
    dc = metrics.density_coverage(x, x[None], k=5)
    assert dc["coverage"][0] == 1.0
    # every point lies in its own ball and in those of the k points it is a neighbour of, on average k + 1
    assert dc["density"][0] == pytest.approx(6 / 5)


def test_far_away_sets():
    x, y = _points(300, 1), _points(300, 2, shift=100.0)
    pr, dc = metrics.precision_recall(x, y), metrics.density_coverage(x, y)
    assert pr["precision"][0] == 0 and pr["recall"][0] == 0
    assert dc["density"][0] == 0 and dc["coverage"][0] == 0


def test_collapsed_generator_is_precise_but_not_diverse():
    x = _points(1000, 3)
    y = np.zeros((2, 1000, 2))  # both runs put every sample at the data's mode
    y[1] += 1e-3 * np.random.default_rng(4).normal(size=(1000, 2))
    pr, dc = metrics.precision_recall(x, y), metrics.density_coverage(x, y)
    assert np.all(pr["precision"] == 1.0) and np.all(pr["recall"] < 0.05)
    assert np.all(dc["coverage"] < 0.05)
    # every generated sample sits at the origin: density = (real balls holding the origin) / k
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    radii = np.sort(d, axis=1)[:, 5]
    assert dc["density"][0] == pytest.approx((np.linalg.norm(x, axis=1) <= radii).sum() / 5)


def test_same_distribution_scores_near_one():
    x, y = _points(2000, 5), _points(2000, 6)
    pr, dc = metrics.precision_recall(x, y[None]), metrics.density_coverage(x, y[None])
    assert pr["precision"][0] > 0.9 and pr["recall"][0] > 0.9
    assert dc["density"][0] == pytest.approx(1.0, abs=0.1) and dc["coverage"][0] > 0.9


def test_bad_inputs():
    with pytest.raises(ValueError, match="k"):
        metrics.precision_recall(_points(3, 0), _points(3, 1), k=3)
    with pytest.raises(ValueError, match="k"):
        metrics.density_coverage(_points(30, 0), _points(30, 1), k=0)
    with pytest.raises(ValueError, match="dim"):
        metrics.precision_recall(_points(30, 0), np.zeros((30, 3)))

"""Metrics on hand-made samples whose answers are known."""

import math

import numpy as np
import pytest
import torch

from gancompanion import data
from gancompanion.evaluation import metrics


@pytest.fixture
def ring():
    return data.ring(n_modes=4, radius=1.0, std=0.01)  # centres (1,0), (0,1), (-1,0), (0,-1)


def test_high_quality_and_modes_covered_by_hand(ring):
    run0 = [[1.0, 0.0], [0.0, 1.029], [0.0, 1.031], [-0.5, 0.0]]  # 2 HQ (modes 0, 1), 1 just out, 1 far
    run1 = [[1.0, 0.02], [0.99, 0.0], [1.0, -0.01], [1.0, 0.0]]  # all HQ, all on mode 0 (collapse)
    x = np.array([run0, run1])
    mask, mode = metrics.high_quality(x, ring)
    assert mask.tolist() == [[True, True, False, False], [True, True, True, True]]
    assert mode[0, :3].tolist() == [0, 1, 1]
    assert metrics.modes_covered(x, ring).tolist() == [2, 1]
    assert metrics.high_quality_fraction(x, ring).tolist() == [0.5, 1.0]
    # a looser threshold (4 std) lets the third sample of run 0 in
    assert metrics.high_quality_fraction(x, ring, k=4).tolist() == [0.75, 1.0]


def test_all_modes_covered_and_tensor_input(ring):
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [5.0, 5.0]]])
    assert metrics.modes_covered(x, ring).tolist() == [4]
    assert metrics.high_quality_fraction(x, ring).tolist() == [0.8]
    # (n, dim) is one run
    assert metrics.modes_covered(x[0], ring).shape == (1,)


def test_embedded_distance_is_measured_in_the_embedding_space():
    dist = data.ring7_3d()
    centers = dist.centers.numpy()  # (7, 3)
    normal = np.cross(dist.matrix[0].numpy(), dist.matrix[1].numpy())  # unit normal of the plane
    on = centers[None]  # every centre exactly: all 7 covered, nothing off the plane
    assert metrics.modes_covered(on, dist).tolist() == [7]
    assert metrics.distance_off(on, dist) == pytest.approx([0.0], abs=1e-6)
    # lifted 0.02 off the plane: still HQ (0.02 < 3 std = 0.03); lifted 0.05: not HQ, though its
    # projection sits exactly on the centre
    lifted = np.stack([centers + 0.02 * normal, centers + 0.05 * normal])
    assert metrics.modes_covered(lifted, dist).tolist() == [7, 0]
    assert metrics.distance_off(lifted, dist) == pytest.approx([0.02, 0.05], rel=1e-5)
    out = metrics.evaluate(lifted, dist)
    assert set(out) == {"modes", "modes_k", "hq_fraction", "reverse_kl", "off_plane"}
    assert out["hq_fraction"].tolist() == [1.0, 0.0]


def test_real_samples_score_as_the_convention_predicts():
    dist = data.ring7_3d()
    x = dist.sample((2, 5000), torch.Generator().manual_seed(0))
    assert metrics.modes_covered(x, dist).tolist() == [7, 7]
    # in-plane 2-D Gaussian: P(|e| > 3 std) = exp(-9/2) = 1.1%
    hq = metrics.high_quality_fraction(x, dist)
    assert np.all(np.abs(hq - (1 - math.exp(-4.5))) < 0.005)
    assert np.all(metrics.distance_off(x, dist) < 1e-6)


def test_first_full_coverage_and_kept_fraction_by_hand():
    steps = [0, 10, 20, 30, 40, 50]
    modes = np.array([
        [3, 7, 2],
        [7, 7, 4],
        [6, 7, 5],
        [7, 7, 6],
        [7, 6, 6],
        [7, 7, 6],
    ])  # run 0 first full at 10, then 3 of 4 later; run 1 at 0, then 4 of 5; run 2 never
    first = metrics.first_full_coverage(steps, modes, 7)
    assert first.tolist() == [10.0, 0.0, math.inf]
    assert metrics.kept_fraction(steps, modes, 7).tolist() == pytest.approx([0.75, 0.8, 0.0])
    # covering all modes only at the last snapshot shows nothing about staying there
    assert metrics.kept_fraction([0, 1], [[6], [7]], 7).tolist() == [0.0]
    assert metrics.first_full_coverage([0, 1], [6, 7], 7).tolist() == [1.0]


def test_bad_inputs_name_the_problem(ring):
    with pytest.raises(ValueError, match="samples must be shaped"):
        metrics.modes_covered(np.zeros(3), ring)
    with pytest.raises(ValueError, match="centers must be"):
        metrics.modes_covered(np.zeros((1, 2, 3)), ring)
    with pytest.raises(ValueError, match="k must be a number >= 0"):
        metrics.modes_covered(np.zeros((1, 2, 2)), ring, k=-1)
    with pytest.raises(ValueError, match="embedded mixture"):
        metrics.distance_off(np.zeros((1, 2, 2)), ring)
    with pytest.raises(ValueError, match="strictly increasing"):
        metrics.first_full_coverage([0, 0], [7, 7], 7)
    with pytest.raises(ValueError, match="steps must be"):
        metrics.kept_fraction([0, 1, 2], [7, 7], 7)


# --- metrics that noise fails: the covering count k = ceil(n / (10 K)) against data, blobs and a collapse ---

N_EVAL, N_SEEDS = 2500, 10  # the chapters' evaluation size; several seeds as the runs axis


def _cases(dist, seed: int = 0) -> dict[str, torch.Tensor]:
    """(N_SEEDS, N_EVAL, 2) samples of: the data; a uniform blob over its bounding box (centres +- 3 std);
    an isotropic Gaussian of its mean and spread; a collapse onto one mode (that mode's Gaussian)."""
    g = torch.Generator().manual_seed(seed)
    shape = (N_SEEDS, N_EVAL)
    real = dist.sample(shape, g)
    lo, hi = dist.centers.min(0).values - 3 * dist.std, dist.centers.max(0).values + 3 * dist.std
    uniform = lo + (hi - lo) * torch.rand(*shape, 2, generator=g)
    big = dist.sample(100_000, g)
    spread = big.var(0).mean().sqrt()  # isotropic: the mean per-coordinate std of the data
    blob = big.mean(0) + spread * torch.randn(*shape, 2, generator=g)
    collapse = dist.centers[3] + dist.std * torch.randn(*shape, 2, generator=g)
    return {"data": real, "uniform": uniform, "isotropic": blob, "collapse": collapse}


@pytest.mark.parametrize("name, dist", [("grid", data.grid()), ("ring", data.ring())])
def test_noise_fails_mode_coverage_and_data_passes(name, dist):
    n_modes = len(dist.centers)
    assert metrics.min_count(N_EVAL, n_modes) == {"grid": 10, "ring": 32}[name]
    out = {case: metrics.mixture_metrics(x, dist) for case, x in _cases(dist).items()}
    assert out["data"]["modes_k"].tolist() == [n_modes] * N_SEEDS
    assert np.all(out["data"]["hq_fraction"] > 0.97)  # 1 - exp(-9/2) = 0.989 in 2-D
    assert np.all(out["data"]["reverse_kl"] < 0.02)
    for case in ("uniform", "isotropic", "collapse"):
        assert np.all(out[case]["modes_k"] <= 2), (case, out[case]["modes_k"])
    assert np.all(out["collapse"]["reverse_kl"] == pytest.approx(math.log(n_modes)))
    # the old count ("at least one HQ sample") is fooled by the uniform blob on the grid
    if name == "grid":
        assert np.median(out["uniform"]["modes"]) > 15


def test_mode_histogram_and_reverse_kl_by_hand(ring):
    x = np.array([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])  # modes 0, 0, 1 and one far sample
    assert metrics.mode_histogram(x, ring).tolist() == [[2, 1, 0, 0]]
    p = np.array([2 / 3, 1 / 3])
    assert metrics.reverse_kl([[2, 1, 0, 0]]) == pytest.approx([math.log(4) + (p * np.log(p)).sum()])
    assert metrics.reverse_kl([[3, 3, 3, 3], [0, 0, 0, 0]]) == pytest.approx([0.0, math.log(4)])
    out = metrics.mixture_metrics(x, ring, count=2)
    assert out["modes"].tolist() == [2] and out["modes_k"].tolist() == [1]
    with pytest.raises(ValueError, match="count"):
        metrics.mixture_metrics(x, ring, count=0)
    with pytest.raises(ValueError, match="n_modes"):
        metrics.min_count(2500, 0)
    with pytest.raises(ValueError, match="histogram"):
        metrics.reverse_kl([[-1, 2]])


def test_mixture_metrics_add_precision_and_recall_given_data():
    dist = data.grid()
    cases = _cases(dist)
    real = dist.sample((N_SEEDS, N_EVAL), torch.Generator().manual_seed(1))
    on_data = metrics.mixture_metrics(cases["data"][:2], dist, real=real[:2])
    collapse = metrics.mixture_metrics(cases["collapse"][:2], dist, real=real[:2])
    assert np.all(on_data["precision"] > 0.9) and np.all(on_data["recall"] > 0.9)
    assert np.all(collapse["precision"] > 0.9) and np.all(collapse["recall"] < 0.1)  # one mode of 25
    assert "precision" not in metrics.mixture_metrics(cases["data"][:1], dist)

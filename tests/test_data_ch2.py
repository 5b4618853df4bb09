import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_swiss_roll

from gancompanion import data
from gancompanion.evaluation import metrics


def test_wgan_gp_scaling():
    eight = data.wgan_gp_8gaussians()
    assert torch.allclose(eight.centers.norm(dim=1), torch.full((8,), 2 / 1.414))
    assert eight.std == pytest.approx(0.02 / 1.414)
    grid = data.wgan_gp_25gaussians()
    assert grid.centers.shape == (25, 2)
    assert grid.centers.max().item() == pytest.approx(4 / 2.828)
    assert grid.std == pytest.approx(0.05 / 2.828)
    x = grid.sample((1, 2500), torch.Generator().manual_seed(0))
    assert metrics.modes_covered(x, grid)[0] == 25


def test_swiss_roll_matches_sklearn_moments():
    x = data.SwissRoll().sample(20000, torch.Generator().manual_seed(0)).numpy()
    ref = make_swiss_roll(20000, noise=0.25, random_state=0)[0][:, [0, 2]] / 7.5
    assert np.allclose(x.mean(0), ref.mean(0), atol=0.03)
    assert np.allclose(x.std(0), ref.std(0), rtol=0.03)
    radius = np.linalg.norm(x, axis=1)
    assert radius.max() < (4.5 * math.pi + 1.5) / 7.5


def test_fixed_generator_adds_unit_noise():
    f = data.FixedGenerator(data.wgan_gp_8gaussians(), 1.0)
    x = f.sample(50000, torch.Generator().manual_seed(1))
    assert x.shape == (50000, 2) and f.dim == 2
    assert x.var(0).sub(1 + (2 / 1.414) ** 2 / 2).abs().max() < 0.05
    with pytest.raises(ValueError, match="std"):
        data.FixedGenerator(data.SwissRoll(), -1.0)
    with pytest.raises(ValueError, match="unknown dataset"):
        data.wgan_gp_toy("moons")


def test_segment():
    x = data.Segment(0.5).sample((3, 100), torch.Generator().manual_seed(0))
    assert x.shape == (3, 100, 2)
    assert torch.all(x[..., 0] == 0.5) and torch.all((x[..., 1] >= 0) & (x[..., 1] <= 1))

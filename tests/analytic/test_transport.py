import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from gancompanion.analytic import transport


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lp_matches_scipy_in_1d(seed):
    rng = np.random.default_rng(seed)
    x_p, x_q = rng.normal(size=6), rng.normal(1.0, 2.0, size=5)
    p, q = rng.random(6), rng.random(5)
    p, q = p / p.sum(), q / q.sum()
    res = transport.earth_movers(p, q, x_p, x_q)
    ref = wasserstein_distance(x_p, x_q, p, q)
    assert res.cost == pytest.approx(ref, rel=1e-9, abs=1e-12)
    assert transport.wasserstein_1d(x_p, p, x_q, q) == pytest.approx(ref, rel=1e-9, abs=1e-12)
    assert np.allclose(res.plan.sum(1), p) and np.allclose(res.plan.sum(0), q)
    assert np.all(res.plan >= 0)


def test_known_plan():
    # all the earth at 0 goes to 1 and 2: cost 0.5 * 1 + 0.5 * 2
    res = transport.earth_movers([1.0], [0.5, 0.5], [0.0], [1.0, 2.0])
    assert res.cost == pytest.approx(1.5)
    assert np.allclose(res.plan, [[0.5, 0.5]])
    same = transport.earth_movers([0.2, 0.8], [0.2, 0.8], [[0, 0], [1, 1]])
    assert same.cost == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(same.plan, np.diag([0.2, 0.8]))


def test_2d_distance_is_euclidean():
    res = transport.earth_movers([1.0], [1.0], [[0.0, 0.0]], [[3.0, 4.0]])
    assert res.cost == pytest.approx(5.0)


def test_unequal_mass_names_the_parameters():
    with pytest.raises(ValueError, match="p and q must have the same total mass"):
        transport.earth_movers([0.5, 0.5], [0.5, 0.4], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="q must be"):
        transport.earth_movers([1.0], [-1.0, 2.0], [0], [0, 1])
    with pytest.raises(ValueError, match="x_q must hold 2"):
        transport.earth_movers([1.0], [0.5, 0.5], [0], [0, 1, 2])


def test_negative_or_non_finite_ground_costs_are_refused():
    with pytest.raises(ValueError, match="distances must be finite and >= 0"):
        transport.earth_movers([1.0], [1.0], None, distances=[[-1.0]])
    with pytest.raises(ValueError, match="distances must be finite and >= 0"):
        transport.earth_movers([1.0], [1.0], None, distances=[[np.nan]])


def test_wasserstein_1d_names_zero_mass_and_a_length_mismatch():
    with pytest.raises(ValueError, match="p must have a positive total mass"):
        transport.wasserstein_1d([0.0, 1.0], [0.0, 0.0], [0.5], [1.0])
    with pytest.raises(ValueError, match="x_q and q must have the same length"):
        transport.wasserstein_1d([0.0, 1.0], [0.5, 0.5], [0.5, 2.0], [1.0])

"""Dirac-GAN fields, update schemes and eigenvalues against torch autograd, quadrature and algebra."""

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import expit

from gancompanion.analytic import dirac


POINTS = [(0.0, 0.0), (0.7, -0.4), (1.3, 0.9), (-2.0, 0.25)]


# --- the same fields written independently in torch -------------------------------------------

def _torch_gan(z):
    th, ps = z[0], z[1]
    return torch.stack([-ps * torch.sigmoid(-ps * th), th * torch.sigmoid(-ps * th)])


def _torch_nsgan(z):
    th, ps = z[0], z[1]
    return torch.stack([-ps * torch.sigmoid(ps * th), th * torch.sigmoid(-ps * th)])


def _torch_r1(gamma):
    # D maximises L - (gamma / 2) psi^2
    return lambda z: _torch_gan(z) - torch.stack([torch.zeros((), dtype=z.dtype), gamma * z[1]])


def _torch_consensus(gamma):
    # both players descend gamma |v|^2 / 2, its gradient taken by autograd
    def field(z):
        z = z if z.requires_grad else z.clone().requires_grad_(True)
        v = _torch_gan(z)
        (grad,) = torch.autograd.grad(0.5 * (v**2).sum(), z, create_graph=True)
        return v - gamma * grad

    return field


TORCH_FIELDS = [
    ("gan", {}, _torch_gan),
    ("nsgan", {}, _torch_nsgan),
    ("r1", {"gamma": 0.3}, _torch_r1(0.3)),
    ("r1", {"gamma": 1.0}, _torch_r1(1.0)),
    ("consensus", {"gamma": 1.0}, _torch_consensus(1.0)),
]


@pytest.mark.parametrize("name,params,torch_field", TORCH_FIELDS)
@pytest.mark.parametrize("point", POINTS)
def test_field_and_jacobian_match_torch_autograd(name, params, torch_field, point):
    field = dirac.make_field(name, **params)
    z = torch.tensor(point, dtype=torch.float64)
    np.testing.assert_allclose(field(*point), torch_field(z).detach().numpy(), rtol=1e-12, atol=1e-14)
    J_torch = torch.autograd.functional.jacobian(torch_field, z).numpy()
    np.testing.assert_allclose(dirac.jacobian(field, point), J_torch, rtol=1e-8, atol=1e-9)


def test_wgan_fields_by_hand():
    th, ps = 0.5, 0.2
    assert dirac.make_field("wgan")(th, ps) == pytest.approx((-0.2, 0.5))
    # v_psi = theta - gamma (|psi| - g0) sign(psi) = 0.5 - 0.7 * (0.2 - 1) = 1.06
    assert dirac.make_field("wgan_gp", gamma=0.7, g0=1.0)(th, ps) == pytest.approx((-0.2, 1.06))
    assert dirac.make_field("wgan", clip=0.3).project(1.0, -2.0) == (1.0, -0.3)


def test_fields_broadcast_over_a_grid():
    th, ps = np.meshgrid(np.linspace(-2, 2, 10), np.linspace(-2, 2, 7))
    for name in dirac.FIELDS:
        v_th, v_ps = dirac.make_field(name)(th, ps)
        assert np.shape(v_th) == np.shape(v_ps) == (7, 10), name


def _gauss_mean(g):
    """E g(Z), Z ~ N(0, 1), by quadrature."""
    return integrate.quad(lambda e: g(e) * np.exp(-e * e / 2) / np.sqrt(2 * np.pi), -12, 12,
                          epsabs=1e-13)[0]


@pytest.mark.parametrize("point", [(0.8, -0.5), (-1.5, 1.2), (0.3, 2.0)])
def test_instance_noise_field_matches_quadrature_within_monte_carlo_error(point):
    th, ps, s, n = *point, 0.7, 1000
    # v_theta = -psi E f'(psi (theta + s e)), v_psi = E (theta + s e) f'(psi (theta + s e)) - E s e f'(-s e psi)
    g_th = lambda e: -ps * expit(-ps * (th + s * e))
    g_ps = lambda e: (th + s * e) * expit(-ps * (th + s * e)) - s * e * expit(s * e * ps)
    got = dirac.make_field("instance_noise", sigma=s, n_draws=n)(th, ps)
    for g, value in zip((g_th, g_ps), got):
        mean = _gauss_mean(g)
        sd = np.sqrt(_gauss_mean(lambda e: (g(e) - mean) ** 2))
        # antithetic pairs: Var(mean) <= 2 Var / n; 5 standard errors
        assert abs(value - mean) < 5 * np.sqrt(2) * sd / np.sqrt(n)


def test_instance_noise_field_is_deterministic_and_seeded():
    a = dirac.make_field("instance_noise", sigma=0.7)(0.8, -0.5)
    b = dirac.make_field("instance_noise", sigma=0.7)(0.8, -0.5)
    c = dirac.make_field("instance_noise", sigma=0.7, seed=1)(0.8, -0.5)
    assert a == b
    assert a != c


# --- eigenvalues at the equilibrium ------------------------------------------------------------

EIGEN_CASES = (
    [("gan", {}), ("nsgan", {}), ("wgan", {})]
    + [("r1", {"gamma": g}) for g in (0.0, 0.3, 0.9, 1.0, 1.1, 2.0)]
    + [("nsgan_r1", {"gamma": g}) for g in (0.5, 1.5)]
    + [("instance_noise", {"sigma": s}) for s in (0.0, 0.3, 0.7, 1.0, 1.5, 2.0)]
    + [("consensus", {"gamma": g}) for g in (0.3, 1.0)]
)


@pytest.mark.parametrize("name,params", EIGEN_CASES)
def test_closed_form_eigenvalues_match_numerical_jacobian(name, params):
    numeric = np.sort_complex(np.linalg.eigvals(dirac.jacobian(dirac.make_field(name, **params))))
    closed = np.sort_complex(dirac.eigenvalues(name, **params))
    # at gamma = 1 the Jacobian is defective: a 1e-11 error in J moves the eigenvalues by ~1e-6
    tol = 1e-5 if params.get("gamma") == 1.0 else 1e-8
    np.testing.assert_allclose(numeric, closed, atol=tol)


@pytest.mark.parametrize("sigma", [0.3, 0.7, 1.2])
def test_instance_noise_jacobian_has_both_noise_terms(sigma):
    # J = [[0, -f'(0)], [f'(0), 2 sigma^2 f''(0)]]: real and fake noise each add sigma^2 f''(0)
    J = dirac.jacobian(dirac.make_field("instance_noise", sigma=sigma))
    np.testing.assert_allclose(J, [[0, -0.5], [0.5, -sigma**2 / 2]], atol=1e-9)
    assert dirac.eigenvalues("instance_noise", sigma=sigma).real == pytest.approx([-sigma**2 / 4] * 2)


def test_r1_critical_gamma_is_one():
    ev = dirac.eigenvalues("r1", gamma=np.array([0.5, 0.99, 1.0, 1.01, 2.0]))  # (5, 2)
    assert ev.shape == (5, 2)
    np.testing.assert_array_equal(np.abs(ev.imag) > 0, [[True] * 2] * 2 + [[False] * 2] * 3)
    np.testing.assert_allclose(ev[2], [-0.5, -0.5])


# --- update schemes -----------------------------------------------------------------------------

def test_trajectory_shapes_defaults_and_start():
    gan = dirac.make_field("gan")
    for scheme in (dirac.simultaneous, dirac.alternating):
        traj = scheme(gan)
        assert traj.shape == (501, 2)
        np.testing.assert_array_equal(traj[0], [1.0, 1.0])
    assert dirac.alternating(gan, (0.3, -0.2), 0.1, 7, d_steps=5).shape == (8, 2)
    # the start is projected, as in the authors' code
    np.testing.assert_array_equal(dirac.simultaneous(dirac.make_field("wgan"), (1, 3), 0.2, 0)[0], [1, 1])


def test_alternating_is_generator_first_then_discriminator():
    th, ps, h = 0.6, -0.8, 0.3
    gan = dirac.make_field("gan")
    th1 = th + h * gan(th, ps)[0]
    ps1 = ps + h * gan(th1, ps)[1]
    ps2 = ps1 + h * gan(th1, ps1)[1]
    np.testing.assert_allclose(dirac.alternating(gan, (th, ps), h, 1, d_steps=2)[1], [th1, ps2])


@pytest.mark.parametrize("h", [0.1, 0.2, 0.5])
def test_simultaneous_gd_spirals_out_by_sqrt_one_plus_h2_over_4(h):
    gan = dirac.make_field("gan")
    traj = dirac.simultaneous(gan, (3e-5, -4e-5), h, 60)
    r = np.hypot(*traj.T)
    np.testing.assert_allclose(r[1:] / r[:-1], np.sqrt(1 + h**2 / 4), rtol=1e-8)
    # globally, z . v = 0 for this game, so |z_{k+1}|^2 = |z_k|^2 + h^2 |v(z_k)|^2 exactly
    traj = dirac.simultaneous(gan, (1.0, 1.0), h, 200)
    v = np.stack(gan(*traj[:-1].T), axis=1)
    np.testing.assert_allclose(np.diff(r2 := (traj**2).sum(1)), h**2 * (v**2).sum(1), rtol=1e-9)
    assert np.all(np.diff(r2) > 0)  # the radius grows at every step, from any start


@pytest.mark.parametrize("h", [0.2, 0.5])
def test_alternating_gd_cycles_near_the_equilibrium(h):
    # the linearised alternating map has det 1 and conserves Q = theta^2 + psi^2 - (h/2) theta psi
    traj = dirac.alternating(dirac.make_field("gan"), (1e-3, 0.0), h, 2000)
    Q = (traj**2).sum(1) - h / 2 * traj[:, 0] * traj[:, 1]
    np.testing.assert_allclose(Q / Q[0], 1.0, atol=1e-5)


def test_alternating_gd_unregularised_neither_diverges_nor_converges():
    r = np.hypot(*dirac.alternating(dirac.make_field("gan")).T)  # (1, 1), h = 0.2, 500 steps
    assert r.max() < 1.1 * np.sqrt(2)
    assert r[-100:].min() > 0.9 * np.sqrt(2)


@pytest.mark.parametrize("name,params", [("r1", {"gamma": 0.3}), ("r1", {"gamma": 1.0}),
                                         ("instance_noise", {"sigma": 0.7})])
def test_regularised_alternating_gd_converges(name, params):
    traj = dirac.alternating(dirac.make_field(name, **params))  # (1, 1), h = 0.2, 500 steps
    assert np.hypot(*traj[-1]) < 1e-4


def test_r1_converges_at_the_linearised_rate():
    h, gamma = 0.2, 0.3
    traj = dirac.alternating(dirac.make_field("r1", gamma=gamma), (1, 1), h, 500)
    # linearised alternating map at (0, 0) with J = [[0, -1/2], [1/2, -gamma]]
    M_g = np.array([[1, -h / 2], [0, 1]])
    M_d = np.array([[1, 0], [h / 2, 1 - h * gamma]])
    rho = np.abs(np.linalg.eigvals(M_d @ M_g)).max()
    r = np.hypot(*traj.T)
    assert (r[-1] / r[-101]) ** (1 / 100) == pytest.approx(rho, rel=2e-3)


@pytest.mark.parametrize("scheme", ["simultaneous", "alternating-1", "alternating-5"])
def test_wgan_with_clipping_does_not_converge(scheme):
    wgan = dirac.make_field("wgan", clip=1.0)
    if scheme == "simultaneous":
        traj = dirac.simultaneous(wgan, (1, 1), 0.2, 500)
    else:
        traj = dirac.alternating(wgan, (1, 1), 0.2, 500, d_steps=int(scheme[-1]))
    assert np.abs(traj[:, 1]).max() == 1.0  # the clip is hit and never exceeded
    assert np.hypot(*traj[-100:].T).min() > 0.3


# --- bad inputs ---------------------------------------------------------------------------------

def test_unknown_field_names_the_choices():
    with pytest.raises(ValueError, match="field") as err:
        dirac.make_field("lsgan")
    for name in dirac.FIELDS:
        assert name in str(err.value)


@pytest.mark.parametrize("name,params,word", [
    ("instance_noise", {"sigma": -0.1}, "sigma"),
    ("r1", {"gamma": -1.0}, "gamma"),
    ("wgan", {"clip": -1.0}, "clip"),
    ("wgan", {"clip": 0.0}, "clip"),
    ("r1", {"sigma": 0.5}, "sigma"),  # unknown parameter: names it and the allowed ones
    ("instance_noise", {"n_draws": 999}, "n_draws"),
])
def test_bad_field_parameters_raise(name, params, word):
    with pytest.raises(ValueError, match=word):
        dirac.make_field(name, **params)


def test_unknown_parameter_lists_allowed():
    with pytest.raises(ValueError, match=r"'sigma'.*\['gamma'\]"):
        dirac.make_field("r1", sigma=0.5)


def test_bad_scheme_and_eigenvalue_arguments_raise():
    gan = dirac.make_field("gan")
    with pytest.raises(ValueError, match="d_steps"):
        dirac.alternating(gan, d_steps=0)
    with pytest.raises(ValueError, match="h must"):
        dirac.simultaneous(gan, h=0.0)
    with pytest.raises(ValueError, match="steps"):
        dirac.simultaneous(gan, steps=-1)
    with pytest.raises(ValueError, match="wgan_gp"):
        dirac.eigenvalues("wgan_gp")
    with pytest.raises(ValueError, match="gamma"):
        dirac.eigenvalues("r1", gamma=[0.5, -0.5])

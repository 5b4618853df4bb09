"""Divergences against hand computations, Monte Carlo, Gauss-Hermite and finite differences."""

import numpy as np
import pytest
from scipy import integrate

from gancompanion.analytic import divergences as dv
from gancompanion.analytic.divergences import Mixture1D

LOG2 = np.log(2)


# --- discrete -----------------------------------------------------------------------------------

def test_discrete_divergences_by_hand():
    p, q = [0.5, 0.5], [0.25, 0.75]
    assert dv.kl(p, q) == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(2 / 3), rel=1e-14)
    assert dv.kl(q, p) == pytest.approx(0.25 * np.log(0.5) + 0.75 * np.log(1.5), rel=1e-14)
    # m = (3/8, 5/8)
    expected_js = 0.5 * (0.5 * np.log(4 / 3) + 0.5 * np.log(4 / 5)) \
        + 0.5 * (0.25 * np.log(2 / 3) + 0.75 * np.log(6 / 5))
    assert dv.js(p, q) == pytest.approx(expected_js, rel=1e-14)
    assert dv.tv(p, q) == pytest.approx(0.25, rel=1e-14)


def test_discrete_disjoint_supports():
    p, q = [0.6, 0.4, 0.0], [0.0, 0.0, 1.0]
    assert dv.js(p, q) == pytest.approx(LOG2, rel=1e-14)
    assert dv.kl(p, q) == np.inf
    assert dv.tv(p, q) == pytest.approx(1.0)
    assert dv.js(p, p) == dv.kl(p, p) == dv.tv(p, p) == 0.0


def test_js_bounded_symmetric_and_below_kl_and_tv_bounds():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.full(6, 0.3), size=(2, 200))  # (200, 6) each, many near-disjoint pairs
    js = dv.js(p, q)
    assert js.shape == (200,)
    assert np.all(js >= 0) and np.all(js <= LOG2)
    np.testing.assert_allclose(js, dv.js(q, p), rtol=1e-13)
    assert np.all(js <= LOG2 * dv.tv(p, q) + 1e-15)  # JS <= log 2 * TV
    assert np.all(dv.tv(p, q) <= np.sqrt(dv.kl(p, q) / 2) + 1e-15)  # Pinsker


@pytest.mark.parametrize("p,q,word", [
    ([0.5, 0.6], [0.5, 0.5], "p must"),
    ([0.5, 0.5], [1.5, -0.5], "q must"),
    ([0.5, 0.5], [1.0, 0.0, 0.0], "same number"),
])
def test_discrete_bad_inputs(p, q, word):
    with pytest.raises(ValueError, match=word):
        dv.js(p, q)


# --- mixtures -----------------------------------------------------------------------------------

def test_mixture_convolve_pdf_and_score():
    mix = Mixture1D([0.0, 2.0], [0.0, 0.5], [0.3, 0.7])
    smooth = mix.convolve(0.4)
    assert smooth.stds == pytest.approx((0.4, np.sqrt(0.25 + 0.16)))
    assert smooth.means == (0.0, 2.0) and smooth.weights == (0.3, 0.7)
    x = np.array([-1.0, 0.3, 2.2])
    by_hand = sum(w * np.exp(-(x - m) ** 2 / (2 * s * s)) / (s * np.sqrt(2 * np.pi))
                  for m, s, w in zip(smooth.means, smooth.stds, smooth.weights))
    np.testing.assert_allclose(smooth.pdf(x), by_hand, rtol=1e-13)
    assert integrate.quad(smooth.pdf, -10, 12, points=[0, 2])[0] == pytest.approx(1, abs=1e-10)
    eps = 1e-6
    fd = (smooth.logpdf(x + eps) - smooth.logpdf(x - eps)) / (2 * eps)
    np.testing.assert_allclose(smooth.score(x), fd, rtol=1e-7)


def test_mixture_bad_inputs():
    with pytest.raises(ValueError, match="sigma"):
        Mixture1D.gaussian().convolve(-0.1)
    with pytest.raises(ValueError, match="weights"):
        Mixture1D([0, 1], [1, 1], [0.5, 0.6])
    with pytest.raises(ValueError, match="stds"):
        Mixture1D([0], [-1], [1])
    with pytest.raises(ValueError, match="Dirac"):
        Mixture1D.dirac(0.0).pdf(0.0)


# --- smoothed JS --------------------------------------------------------------------------------

def test_js_smoothed_of_diracs_without_noise():
    d0, d1 = Mixture1D.dirac(0.0), Mixture1D.dirac(1.0)
    assert dv.js_smoothed(d0, d1, 0.0) == pytest.approx(LOG2, rel=1e-15)
    assert dv.js_smoothed(d0, d0, 0.0) == 0.0
    assert dv.js_smoothed(d0, Mixture1D.gaussian(0.0, 1.0), 0.0) == pytest.approx(LOG2, rel=1e-12)
    # P = delta_0 / 2 + N(0, 1) / 2, Q = delta_0: the atom at 0 has masses 1/2 and 1 (mid 3/4) and the
    # density part of P alone adds (1/2) (1/2) log 2
    p = Mixture1D([0.0, 0.0], [0.0, 1.0], [0.5, 0.5])
    expected = 0.5 * (0.5 * np.log(0.5 / 0.75) + np.log(1 / 0.75)) + 0.25 * LOG2
    assert dv.js_smoothed(p, d0, 0.0) == pytest.approx(expected, rel=1e-12)
    assert dv.js_dirac([0.0, 1e-9, -3.0], 0.0) == pytest.approx([0.0, LOG2, LOG2])


def test_js_smoothed_matches_monte_carlo():
    p = Mixture1D([0.0, 1.5], [0.2, 0.5], [0.3, 0.7])
    q = Mixture1D.gaussian(0.8, 0.6)
    sigma, n = 0.3, 40_000
    exact = dv.js_smoothed(p, q, sigma)
    ps, qs = p.convolve(sigma), q.convolve(sigma)
    rng = np.random.default_rng(1)
    xp, xq = ps.sample(n, rng), qs.sample(n, rng)
    # JS = E_P[log 2p/(p+q)] / 2 + E_Q[log 2q/(p+q)] / 2
    a = LOG2 + ps.logpdf(xp) - np.logaddexp(ps.logpdf(xp), qs.logpdf(xp))
    b = LOG2 + qs.logpdf(xq) - np.logaddexp(ps.logpdf(xq), qs.logpdf(xq))
    estimate = (a.mean() + b.mean()) / 2
    stderr = np.sqrt(a.var() / n + b.var() / n) / 2
    assert 0 < exact < LOG2
    assert abs(estimate - exact) < 4 * stderr


@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0])
def test_js_dirac_agrees_with_general_quadrature(sigma):
    thetas = [1e-3, 0.3, 1.0, 2.5]
    general = [dv.js_smoothed(Mixture1D.dirac(0.0), Mixture1D.dirac(t), sigma) for t in thetas]
    np.testing.assert_allclose(dv.js_dirac(thetas, sigma), general, rtol=1e-9, atol=1e-15)
    # the same with both Diracs shifted and swapped
    np.testing.assert_allclose(dv.js_dirac(thetas, sigma),
                               [dv.js_smoothed(Mixture1D.dirac(1 + t), Mixture1D.dirac(1), sigma) for t in thetas],
                               rtol=1e-9, atol=1e-15)


def test_js_dirac_limits():
    # small separation: JS ~ d^2 / 8 with d = theta / sigma (Fisher information 1 / sigma^2)
    assert dv.js_dirac(1e-3, 1.0) == pytest.approx(1e-6 / 8, rel=1e-6)
    assert dv.js_dirac(50.0, 1.0) == pytest.approx(LOG2, rel=1e-15)
    js = dv.js_dirac(np.linspace(-4, 4, 81), 0.5)
    assert np.all((js >= 0) & (js <= LOG2))
    np.testing.assert_allclose(js, js[::-1], rtol=1e-12)


@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0])
def test_js_dirac_gradient_positive_and_matches_finite_differences(sigma):
    theta = np.linspace(0.02, 3.0, 25)
    grad = dv.js_dirac_grad(theta, sigma)
    assert np.all(grad > 0)
    np.testing.assert_allclose(dv.js_dirac_grad(-theta, sigma), -grad, rtol=1e-12)
    eps = 1e-5 * sigma
    fd = (dv.js_dirac(theta + eps, sigma) - dv.js_dirac(theta - eps, sigma)) / (2 * eps)
    big = grad > 1e-6  # where differences of JS values near log 2 are not lost to rounding
    assert big.sum() >= 5
    np.testing.assert_allclose(grad[big], fd[big], rtol=1e-5)
    # without noise the JS is flat away from 0
    assert np.all(dv.js_dirac_grad(theta, 0.0) == 0)


def test_js_bad_sigma():
    with pytest.raises(ValueError, match="sigma"):
        dv.js_smoothed(Mixture1D.dirac(0.0), Mixture1D.dirac(1.0), -1.0)
    with pytest.raises(ValueError, match="sigma"):
        dv.js_dirac([1.0], -0.5)


# --- the Taylor connection (Roth et al. 2017) ----------------------------------------------------

PAIRS = [
    (Mixture1D.gaussian(0.0, 1.0), Mixture1D.gaussian(1.0, 1.0)),  # linear phi*
    (Mixture1D.gaussian(0.0, 1.0), Mixture1D.gaussian(0.5, 1.5)),  # quadratic phi*
]


@pytest.mark.parametrize("p,q", PAIRS)
def test_taylor_gap_is_fourth_order(p, q):
    sigmas = np.logspace(-2, -1, 4)
    gaps = dv.taylor_gap(p, q, sigmas)
    assert np.all(gaps > 0)
    assert 3.8 < dv.loglog_slope(sigmas, gaps) < 4.2  # theory: 4; an O(sigma^2) error would give 2


def _gauss_hermite_gap(mp, sp, mq, sq, sigma, n=200):
    """The same gap from separate Gauss-Hermite expectations of F_sigma, F and Omega."""
    z, w = np.polynomial.hermite.hermgauss(n)
    w = w / np.sqrt(np.pi)
    E = lambda m, v, g: np.sum(w * g(m + np.sqrt(2 * v) * z))
    log_n = lambda x, m, s: -((x - m) / s) ** 2 / 2 - np.log(s * np.sqrt(2 * np.pi))
    phi = lambda x: log_n(x, mp, sp) - log_n(x, mq, sq)
    dphi = lambda x: -(x - mp) / sp**2 + (x - mq) / sq**2
    log_sig = lambda t: -np.logaddexp(0, -t)
    D = lambda x: np.exp(log_sig(phi(x)))
    F = lambda v: E(mp, sp**2 + v, lambda x: log_sig(phi(x))) + E(mq, sq**2 + v, lambda x: log_sig(-phi(x)))
    omega = E(mp, sp**2, lambda x: (1 - D(x)) ** 2 * dphi(x) ** 2) + E(mq, sq**2, lambda x: D(x) ** 2 * dphi(x) ** 2)
    omega_sym = sum(E(m, s**2, lambda x: D(x) * (1 - D(x)) * dphi(x) ** 2) for m, s in ((mp, sp), (mq, sq)))
    return abs(F(sigma**2) - F(0.0) + sigma**2 / 2 * omega), omega, omega_sym


@pytest.mark.parametrize("sigma", [0.05, 0.1, 0.2])
def test_taylor_gap_matches_gauss_hermite(sigma):
    gap, omega, omega_sym = _gauss_hermite_gap(0.0, 1.0, 0.5, 1.5, sigma)
    assert omega == pytest.approx(omega_sym, rel=1e-10)  # Omega(phi*) = E_{P+Q}[D(1-D) phi'^2]
    assert dv.taylor_gap(Mixture1D.gaussian(0.0, 1.0), Mixture1D.gaussian(0.5, 1.5), sigma) \
        == pytest.approx(gap, rel=1e-6)


def test_loglog_slope_and_bad_inputs():
    x = np.array([0.01, 0.1, 1.0, 3.0])
    assert dv.loglog_slope(x, 3 * x**2.5) == pytest.approx(2.5, rel=1e-12)
    with pytest.raises(ValueError, match="y must"):
        dv.loglog_slope(x, -x)
    with pytest.raises(ValueError, match="p must"):
        dv.taylor_gap(Mixture1D.dirac(0.0), Mixture1D.gaussian(), [0.1])
    with pytest.raises(ValueError, match="sigmas"):
        dv.taylor_gap(Mixture1D.gaussian(), Mixture1D.gaussian(1.0), [-0.1])


@pytest.mark.parametrize("mq,sq", [(1.0, 1.0), (0.5, 1.5)])
def test_roth_omega_matches_gauss_hermite_and_its_symmetric_form(mq, sq):
    _, omega, omega_sym = _gauss_hermite_gap(0.0, 1.0, mq, sq, 0.1)
    got = dv.roth_omega(Mixture1D.gaussian(0.0, 1.0), Mixture1D.gaussian(mq, sq))
    assert got == pytest.approx(omega, rel=1e-8)
    assert got == pytest.approx(omega_sym, rel=1e-8)


def test_roth_omega_is_the_second_order_term_of_the_noisy_objective():
    # (F_sigma - F) / sigma^2 -> -Omega / 2 as sigma -> 0; here with F_sigma - F from Gauss-Hermite
    p, q = Mixture1D.gaussian(0.0, 1.0), Mixture1D.gaussian(0.5, 1.5)
    omega = dv.roth_omega(p, q)
    z, w = np.polynomial.hermite.hermgauss(200)
    w = w / np.sqrt(np.pi)
    phi = lambda x: p.logpdf(x) - q.logpdf(x)
    F = lambda v: np.sum(w * -np.logaddexp(0, -phi(np.sqrt(2 * (1 + v)) * z))) + \
        np.sum(w * -np.logaddexp(0, phi(0.5 + np.sqrt(2 * (1.5**2 + v)) * z)))
    sigma = 0.01
    assert (F(sigma**2) - F(0.0)) / sigma**2 == pytest.approx(-omega / 2, rel=1e-3)
    with pytest.raises(ValueError, match="q must"):
        dv.roth_omega(p, Mixture1D.dirac(0.0))

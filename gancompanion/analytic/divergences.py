"""Exact divergences by closed form and quadrature, and the noise-to-regulariser Taylor connection.

Discrete KL, JS and TV (natural logarithms); JS between 1-D Gaussian mixtures smoothed by
Gaussian instance noise (a Dirac is a component of std 0), as in Huszar's "From instance noise to
gradient regularisation" and Roth et al. (2017); and the gap between the noisy discriminator
objective and its second-order Taylor expansion, whose leading term is Roth et al.'s regulariser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate
from scipy.special import rel_entr

from ..validation import nonnegative

LOG2 = float(np.log(2.0))


# --- discrete distributions -----------------------------------------------------------------------

def _distribution(name, p):
    p = np.asarray(p, dtype=float)
    if p.ndim == 0 or p.shape[-1] == 0 or np.any(~(p >= 0)) or np.any(np.abs(p.sum(-1) - 1) > 1e-9):
        raise ValueError(f"{name} must be a non-empty array of probabilities >= 0 summing to 1 "
                         f"along the last axis, got {p!r}")
    return p


def _pair(p, q):
    p, q = _distribution("p", p), _distribution("q", q)
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same number of outcomes, got {p.shape} and {q.shape}")
    return p, q


def kl(p, q):
    """KL[p || q] = sum p log(p / q) of discrete distributions (last axis); inf if p is not << q."""
    p, q = _pair(p, q)
    return rel_entr(p, q).sum(-1)


def js(p, q):
    """JS[p || q] = KL[p || m] / 2 + KL[q || m] / 2, m = (p + q) / 2; in [0, log 2], symmetric."""
    p, q = _pair(p, q)
    s = p + q  # not (p + q) / 2: halving a subnormal probability can round it to 0 and give inf
    return (rel_entr(2 * p, s).sum(-1) + rel_entr(2 * q, s).sum(-1)) / 4


def tv(p, q):
    """Total variation ``sup_A |p(A) - q(A)| = sum |p - q| / 2`` of discrete distributions."""
    p, q = _pair(p, q)
    return np.abs(p - q).sum(-1) / 2


# --- 1-D Gaussian mixtures ------------------------------------------------------------------------

@dataclass(frozen=True)
class Mixture1D:
    """A 1-D Gaussian mixture; a component with std 0 is a Dirac at its mean.

    Attributes:
        means, stds, weights: tuples of floats of one length; stds >= 0, weights >= 0 summing to 1.
    """

    means: tuple
    stds: tuple
    weights: tuple

    def __post_init__(self):
        m, s, w = (tuple(float(v) for v in np.atleast_1d(a)) for a in (self.means, self.stds, self.weights))
        if not len(m) == len(s) == len(w) >= 1:
            raise ValueError(f"means, stds and weights must have one non-zero length, got {len(m)}, {len(s)}, {len(w)}")
        if not all(np.isfinite(m)) or not all(v >= 0 for v in s) or not all(np.isfinite(s)):
            raise ValueError(f"means must be finite and stds finite numbers >= 0, got {m}, {s}")
        if not all(v >= 0 for v in w) or abs(sum(w) - 1) > 1e-9:
            raise ValueError(f"weights must be numbers >= 0 summing to 1, got {w}")
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "stds", s)
        object.__setattr__(self, "weights", w)

    @classmethod
    def dirac(cls, x: float = 0.0) -> "Mixture1D":
        """The point mass at ``x``."""
        return cls((x,), (0.0,), (1.0,))

    @classmethod
    def gaussian(cls, mean: float = 0.0, std: float = 1.0) -> "Mixture1D":
        """A single Gaussian N(mean, std^2)."""
        return cls((mean,), (std,), (1.0,))

    @property
    def is_continuous(self) -> bool:
        """True when every component has std > 0 (so the mixture has a density)."""
        return min(self.stds) > 0

    def convolve(self, sigma: float) -> "Mixture1D":
        """The law of X + sigma N(0, 1): each variance grows by sigma^2."""
        sigma = nonnegative("sigma", sigma)
        return Mixture1D(self.means, tuple(np.hypot(self.stds, sigma)), self.weights)

    def _arrays(self):
        return np.array(self.means), np.array(self.stds), np.array(self.weights)

    def _need_density(self):
        if not self.is_continuous:
            raise ValueError(f"this mixture has a Dirac component (std 0; stds={self.stds}), so no "
                             "density; convolve(sigma) with sigma > 0 first")

    def _logpdf_and_score(self, x):
        self._need_density()
        m, s, w = self._arrays()
        x = np.asarray(x, dtype=float)[..., None]  # (..., K)
        with np.errstate(divide="ignore"):
            logc = np.log(w / (s * np.sqrt(2 * np.pi))) - ((x - m) / s) ** 2 / 2  # (..., K)
        top = logc.max(axis=-1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        c = np.exp(logc - top)  # (..., K)
        total = c.sum(axis=-1)
        with np.errstate(divide="ignore"):
            logp = np.log(total) + top[..., 0]
        score = np.sum(c * (m - x) / s**2, axis=-1) / total  # responsibilities times component scores
        return logp, score

    def logpdf(self, x):
        """Log density at ``x`` (any shape); raises ValueError if a component is a Dirac."""
        return self._logpdf_and_score(x)[0]

    def pdf(self, x):
        """Density at ``x`` (any shape); raises ValueError if a component is a Dirac."""
        return np.exp(self.logpdf(x))

    def score(self, x):
        """d/dx log p(x) at ``x`` (any shape)."""
        return self._logpdf_and_score(x)[1]

    def sample(self, n: int, rng: np.random.Generator):
        """``n`` draws, shape ``(n,)``."""
        m, s, w = self._arrays()
        k = rng.choice(len(w), size=n, p=w)
        return m[k] + s[k] * rng.standard_normal(n)

    def _span(self, width=12.0):
        m, s, _ = self._arrays()
        return float(np.min(m - width * s)), float(np.max(m + width * s))


def _js_atoms(p: Mixture1D, q: Mixture1D):
    """JS contribution of the point masses (std-0 components), grouped by location."""
    atoms = {}
    for i, d in enumerate((p, q)):
        for m, s, w in zip(d.means, d.stds, d.weights):
            if s == 0:
                atoms.setdefault(m, [0.0, 0.0])[i] += w
    a = np.array(list(atoms.values())).reshape(-1, 2)
    mid = a.mean(axis=1)
    return float((rel_entr(a[:, 0], mid) + rel_entr(a[:, 1], mid)).sum() / 2)


def _continuous_part(d: Mixture1D):
    keep = [i for i, s in enumerate(d.stds) if s > 0]
    if not keep:
        return None, 0.0
    mass = sum(d.weights[i] for i in keep)
    part = Mixture1D([d.means[i] for i in keep], [d.stds[i] for i in keep],
                     [d.weights[i] / mass for i in keep])
    return part, mass


def js_smoothed(p: Mixture1D, q: Mixture1D, sigma: float = 0.0) -> float:
    """JS[P * N_sigma || Q * N_sigma] by adaptive quadrature (natural log).

    Point masses that survive (``sigma = 0``) are singular to the densities, so JS splits into a
    discrete part over atoms and an integral over the continuous parts: two different Diracs give
    ``log 2``, equal ones 0. The integral runs over 12 std beyond the outermost components
    (neglected mass < 1e-32) with ``scipy.integrate.quad`` at absolute tolerance 1e-13.

    Args:
        p, q: ``Mixture1D``.
        sigma: noise std, >= 0.

    Returns:
        float in ``[0, log 2]``.
    """
    sigma = nonnegative("sigma", sigma)
    p, q = p.convolve(sigma), q.convolve(sigma)
    total = _js_atoms(p, q)
    pc, wp = _continuous_part(p)
    qc, wq = _continuous_part(q)
    if pc is None and qc is None:
        return total

    def integrand(x):
        lp = np.log(wp) + pc.logpdf(x) if pc is not None else -np.inf
        lq = np.log(wq) + qc.logpdf(x) if qc is not None else -np.inf
        lm = np.logaddexp(lp, lq) - LOG2
        # p log(p / m) + q log(q / m), written so that p = 0 gives 0
        return (np.exp(lp) * (lp - lm) if np.isfinite(lp) else 0.0) + \
               (np.exp(lq) * (lq - lm) if np.isfinite(lq) else 0.0)

    spans = [d._span() for d in (pc, qc) if d is not None]
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    means = sorted({m for d in (pc, qc) if d is not None for m in d.means})
    val, _ = integrate.quad(integrand, lo, hi, points=means, epsabs=1e-13, epsrel=1e-11, limit=500)
    return float(np.clip(total + val / 2, 0.0, LOG2))  # clip rounding (~1e-16) outside [0, log 2]


_SQRT2PI = math.sqrt(2 * math.pi)


def _js_dirac_integrand(z, d):
    # phi(z) (w - log1p(w)), w = (e^t - 1) / 2 = m/p - 1 at x = sigma z, t = d z - d^2 / 2 = log q/p
    t = d * z - d * d / 2
    phi = math.exp(-z * z / 2) / _SQRT2PI
    if t > 30:  # w - log1p(w) = (e^t - 1) / 2 - softplus(t) + log 2, with phi e^t = phi(z - d)
        return 0.5 * math.exp(-(z - d) ** 2 / 2) / _SQRT2PI - phi * (0.5 + t - LOG2 + math.log1p(math.exp(-t)))
    w = math.expm1(t) / 2
    if abs(w) < 1e-3:  # series, avoiding the cancellation in w - log1p(w) ~ w^2 / 2
        return phi * w * w * (1 / 2 - w * (1 / 3 - w * (1 / 4 - w * (1 / 5 - w / 6))))
    return phi * (w - math.log1p(w))


def _js_dirac_grad_integrand(z, d):
    # phi(z) sigmoid(t)^2
    t = d * z - d * d / 2
    s = 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))
    return math.exp(-z * z / 2) / _SQRT2PI * s * s


def _dirac_quad(integrand, d):
    # the integrands live near z = 0 (P), z = d / 2 (where D = 1/2) and z = d (Q)
    if d == 0:
        return 0.0
    return integrate.quad(integrand, -40.0, d + 40.0, args=(d,), points=sorted({0.0, d / 2, d}),
                          epsabs=0.0, epsrel=1e-11, limit=500)[0]


def js_dirac(theta, sigma: float):
    """JS[delta_0 * N_sigma || delta_theta * N_sigma] for each theta (vectorised).

    Both halves of JS are equal by the reflection x -> theta - x, so JS = KL[P || M] =
    E_P[w - log(1 + w)] with w = M/P - 1 = (exp(d Z - d^2 / 2) - 1) / 2, Z ~ N(0, 1),
    ``d = |theta| / sigma``: a positive integrand, computed by ``quad`` to relative accuracy 1e-11
    (JS ~ d^2 / 8 for small d, log 2 - O(d exp(-d^2 / 8)) for large d). With ``sigma = 0``:
    log 2 for theta != 0, else 0.

    Args:
        theta: array-like of generator positions.
        sigma: noise std, >= 0.

    Returns:
        float array shaped like ``theta``.
    """
    sigma = nonnegative("sigma", sigma)
    theta = np.asarray(theta, dtype=float)
    if sigma == 0:
        return np.where(theta == 0, 0.0, LOG2)
    one = lambda th: min(_dirac_quad(_js_dirac_integrand, abs(th) / sigma), LOG2)
    return np.vectorize(one, otypes=[float])(theta)


def js_dirac_grad(theta, sigma: float):
    """d/dtheta of ``js_dirac(theta, sigma)`` (vectorised, analytic).

    From JS = log 2 - E softplus(d Z - d^2 / 2), differentiating under E and Stein's lemma
    E[Z g(Z)] = E[g'(Z)] give dJS/dd = d E[sigmoid(d Z - d^2 / 2)^2] > 0 for d > 0, and
    dJS/dtheta = sign(theta) / sigma * dJS/dd. The value is ~exp(-d^2 / 8): it underflows to 0 for
    ``d = |theta| / sigma`` beyond about 75. With ``sigma = 0`` the JS is flat (gradient 0) for
    theta != 0 and jumps at 0 (NaN there).
    """
    sigma = nonnegative("sigma", sigma)
    theta = np.asarray(theta, dtype=float)
    if sigma == 0:
        return np.where(theta == 0, np.nan, 0.0)
    one = lambda th: abs(th) / sigma * _dirac_quad(_js_dirac_grad_integrand, abs(th) / sigma)
    return np.sign(theta) * np.vectorize(one, otypes=[float])(theta) / sigma


# --- instance noise as a gradient penalty (Roth et al. 2017) --------------------------------------

def _log_sigmoid(t):
    return -np.logaddexp(0.0, -t)  # log sigmoid(t) = -softplus(-t)


def _require_densities(p: Mixture1D, q: Mixture1D) -> None:
    for name, d in (("p", p), ("q", q)):
        if not d.is_continuous:
            raise ValueError(f"{name} must have all stds > 0 (phi* = log p/q needs densities), got stds={d.stds}")


def _joint_span(a: Mixture1D, b: Mixture1D) -> tuple[float, float]:
    """An interval holding all but a negligible part of both mixtures' mass."""
    return min(a._span(14)[0], b._span(14)[0]), max(a._span(14)[1], b._span(14)[1])


def _optimal_logit_terms(p: Mixture1D, q: Mixture1D, x):
    """At the optimal logit phi* = log p/q, D = sigmoid(phi*): log p, log q, log D, log(1 - D) and the
    integrand of Omega, ``(p (1 - D)^2 + q D^2) phi*'^2``."""
    lp, score_p = p._logpdf_and_score(x)
    lq, score_q = q._logpdf_and_score(x)
    phi, dphi = lp - lq, score_p - score_q  # phi* and its x-derivative
    log_d, log_1md = _log_sigmoid(phi), _log_sigmoid(-phi)
    return lp, lq, log_d, log_1md, (np.exp(lp + 2 * log_1md) + np.exp(lq + 2 * log_d)) * dphi**2


def taylor_gap(p: Mixture1D, q: Mixture1D, sigmas):
    """``|F_sigma(phi*) - F(phi*) + sigma^2 / 2 * Omega(phi*)|`` for each sigma (Roth et al. 2017).

    F(phi) = E_P log sigmoid(phi) + E_Q log(1 - sigmoid(phi)) is the discriminator objective at logit
    phi, F_sigma the same under P * N_sigma and Q * N_sigma, phi* = log p / q the clean optimum, and
    Omega(phi) = E_P[(1 - D)^2 phi'^2] + E_Q[D^2 phi'^2] with D = sigmoid(phi).

    Why O(sigma^4): E g(X + sigma e) = E g + sigma^2/2 E g'' + O(sigma^4), with (log D)'' = (1-D) phi''
    - D(1-D) phi'^2 and (log(1-D))'' = -D phi'' - D(1-D) phi'^2. The phi'' terms give the integral of
    (p(1-D) - qD) phi'', which is 0 because p(1-D) = qD at phi* (F is stationary there). The same identity
    gives p(1-D)^2 + qD^2 = (p+q) D(1-D), so Omega(phi*) = E_{P+Q}[D(1-D) phi'^2] and F_sigma - F = -sigma^2/2 Omega.

    Computed as one quadrature per sigma of the pointwise difference
    ``(p_sigma - p) log D + (q_sigma - q) log(1 - D) + sigma^2 / 2 (p (1 - D)^2 + q D^2) phi'^2``,
    which avoids subtracting two O(1) integrals.

    Args:
        p, q: ``Mixture1D`` with all stds > 0 (e.g. ``Mixture1D.gaussian``).
        sigmas: array-like of noise stds >= 0.

    Returns:
        array shaped like ``sigmas``.
    """
    return np.abs(_noise_integral(p, q, sigmas, omega_weight=0.5, epsrel=1e-7))


def noise_change(p: Mixture1D, q: Mixture1D, sigmas):
    """``F_sigma(phi*) - F(phi*)`` for each sigma, by quadrature: what instance noise of std sigma does to the
    discriminator objective at the clean optimal logit phi* = log p / q (see ``taylor_gap``; signed)."""
    return _noise_integral(p, q, sigmas, omega_weight=0.0, epsrel=1e-9)


def _noise_integral(p: Mixture1D, q: Mixture1D, sigmas, omega_weight: float, epsrel: float) -> np.ndarray:
    """For each sigma, one quadrature of ``(p_sigma - p) log D + (q_sigma - q) log(1 - D)`` at phi* = log p/q,
    plus ``omega_weight * sigma^2`` times Omega's integrand (0: the noise's change alone; 1/2: the Taylor gap)."""
    _require_densities(p, q)
    sigmas = np.asarray(sigmas, dtype=float)
    if np.any(~(sigmas >= 0)):
        raise ValueError(f"sigmas must be numbers >= 0, got {sigmas!r}")
    points = sorted(set(p.means) | set(q.means))

    def one(sigma):
        ps, qs = p.convolve(sigma), q.convolve(sigma)

        def integrand(x):
            lp, lq, log_d, log_1md, omega = _optimal_logit_terms(p, q, x)
            dp, dq = np.exp(ps.logpdf(x)) - np.exp(lp), np.exp(qs.logpdf(x)) - np.exp(lq)
            change = dp * log_d + dq * log_1md
            return change + sigma**2 * omega_weight * omega if omega_weight else change

        return integrate.quad(integrand, *_joint_span(ps, qs), points=points, epsabs=0.0, epsrel=epsrel,
                              limit=1000)[0]

    return np.vectorize(one, otypes=[float])(sigmas)


def quantile_nodes(m: Mixture1D, n: int) -> np.ndarray:
    """``n`` equal-probability nodes of ``m`` (the midpoints u = (i + 1/2) / n_k of each component's quantiles,
    n_k = n w_k nodes for component k), so that the plain mean of g over them approximates E_m g; (n,)."""
    from scipy.stats import norm

    m._need_density()
    counts = [round(n * w) for w in m.weights]
    if sum(counts) != n or any(abs(c - n * w) > 1e-9 * n for c, w in zip(counts, m.weights)):
        raise ValueError(f"n must split into n * weight nodes per component, got n={n}, weights={m.weights}")
    return np.concatenate([norm.ppf((np.arange(c) + 0.5) / c, mu, sd)
                           for mu, sd, c in zip(m.means, m.stds, counts) if c])


def roth_omega_regulariser(p: Mixture1D, q: Mixture1D, n: int = 1_000_000) -> float:
    """Omega(phi*) as the training code computes it: ``d_terms.roth_js`` (weight 1 gives Omega / 2) on
    ``n`` equal-probability nodes of P and of Q, with phi* = log p / q in torch (float64) and its input
    gradient by autograd. The nodes' error is about 2/n relative (the tails); ``roth_omega`` is the quadrature.
    """
    import torch

    from ..techniques.d_terms import roth_js

    def log_density(m: Mixture1D, x):
        mu, sd, w = (torch.tensor(a, dtype=torch.float64) for a in m._arrays())
        return torch.logsumexp(torch.log(w / (sd * math.sqrt(2 * math.pi))) - ((x[..., None] - mu) / sd) ** 2 / 2,
                               dim=-1)

    def phi(x):  # (1, n, 1) -> (1, n)
        return (log_density(p, x) - log_density(q, x))[..., 0]

    real, fake = (torch.tensor(quantile_nodes(m, n), dtype=torch.float64).reshape(1, n, 1).requires_grad_(True)
                  for m in (p, q))
    return 2 * float(roth_js(real, fake, phi(real), phi(fake), event_ndim=1, weight=1.0)[0].detach())


def roth_omega(p: Mixture1D, q: Mixture1D) -> float:
    """Roth et al.'s (2017) JS regulariser Omega at the optimal logit phi* = log p / q, by quadrature.

    Omega(phi*) = E_P[(1 - D)^2 phi*'^2] + E_Q[D^2 phi*'^2] with D = sigmoid(phi*), so that the noisy
    objective is F_sigma(phi*) = F(phi*) - sigma^2 / 2 * Omega(phi*) + O(sigma^4) (see ``taylor_gap``).

    Args:
        p, q: ``Mixture1D`` with all stds > 0.

    Returns:
        float >= 0.
    """
    _require_densities(p, q)

    points = sorted(set(p.means) | set(q.means))
    return float(integrate.quad(lambda x: _optimal_logit_terms(p, q, x)[4], *_joint_span(p, q), points=points,
                                epsabs=0.0, epsrel=1e-10, limit=1000)[0])


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x (the order of a power law y ~ x^k)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.size < 2 or np.any(~(x > 0)) or np.any(~(y > 0)):
        raise ValueError("x and y must be arrays of one shape, >= 2 entries, all > 0")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# --- WGAN Example 1: learning parallel lines ------------------------------------------------------

def parallel_lines(theta) -> dict[str, np.ndarray]:
    """Closed forms of Arjovsky et al.'s (2017) Example 1 as functions of ``theta``.

    P_0 is the law of (0, Z) and P_theta that of (theta, Z), Z ~ U[0, 1]: two parallel segments
    whose supports are disjoint unless theta = 0. Then ``W = |theta|``; JS = log 2, KL (either
    direction) = +inf and TV = 1 for theta != 0, all 0 at theta = 0 (their eqs. in sec. 2).

    Returns:
        dict with keys ``"W"``, ``"JS"``, ``"KL"``, ``"TV"``, each shaped like ``theta``.
    """
    theta = np.asarray(theta, dtype=float)
    apart = theta != 0
    return {"W": np.abs(theta), "JS": np.where(apart, LOG2, 0.0), "KL": np.where(apart, np.inf, 0.0),
            "TV": np.where(apart, 1.0, 0.0)}

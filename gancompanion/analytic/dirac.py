"""The Dirac-GAN of Mescheder, Geiger & Nowozin (2018), in NumPy.

Data ``p_D = delta_0``, generator ``p_theta = delta_theta``, discriminator ``D_psi(x) = psi * x``,
and the game ``L(theta, psi) = f(psi * theta) + f(0)`` with ``f(t) = -log(1 + exp(-t))``
(Mescheder et al. 2018, Sec. 2.2). The generator descends and the discriminator ascends ``L``, so
the gradient vector field is ``v = (-dL/dtheta, dL/dpsi)``; its only equilibrium is ``(0, 0)``.
The fields follow the authors' ``notebooks/diracgan/gans.py`` (LMescheder/GAN_stability), the
update schemes its ``simulate.py``, and the defaults its ``DiracGAN.ipynb``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy.special import expit

from ..validation import choose, nonnegative, positive_int

F1_0 = 0.5  # f'(0) = sigmoid(0)
F2_0 = -0.25  # f''(0) = -sigmoid(0)^2


def fp(t):
    """f'(t) = sigmoid(-t), the derivative of f(t) = -log(1 + exp(-t))."""
    return expit(-t)


def fpp(t):
    """f''(t) = -sigmoid(t) * sigmoid(-t)."""
    return -expit(t) * expit(-t)


def _no_projection(theta, psi):
    return theta, psi


@dataclass(frozen=True)
class VectorField:
    """A Dirac-GAN gradient vector field with a projection applied after every update.

    Call it as ``field(theta, psi) -> (v_theta, v_psi)``; inputs broadcast (use a meshgrid for a
    quiver plot). ``project(theta, psi)`` maps a point back to the feasible set (WGAN clipping).
    """

    name: str
    fn: Callable = field(repr=False)
    project: Callable = field(default=_no_projection, repr=False)
    params: Mapping = field(default_factory=dict)

    def __call__(self, theta, psi):
        return self.fn(np.asarray(theta, dtype=float), np.asarray(psi, dtype=float))


# Field builders. Each keyword's default is the value of the authors' notebook panel.

def _gan():
    # v = (-psi f'(psi theta), theta f'(psi theta))
    return lambda th, ps: (-ps * fp(ps * th), th * fp(ps * th))


def _nsgan():
    # generator minimises -f(-psi theta) instead of f(psi theta)
    return lambda th, ps: (-ps * fp(-ps * th), th * fp(ps * th))


def _wgan(clip=1.0):
    # f(t) = t; psi is clipped to [-clip, clip] after every step
    return (lambda th, ps: (-ps, th + 0.0 * ps)), (lambda th, ps: (th, np.clip(ps, -clip, clip)))


def _wgan_gp(gamma=0.7, g0=1.0):
    # D also minimises (gamma / 2) (|psi| - g0)^2, the gradient penalty with target norm g0
    return lambda th, ps: (-ps + 0.0 * th, th - gamma * (np.abs(ps) - g0) * np.sign(ps))


def _instance_noise(sigma=0.7, n_draws=1000, seed=0):
    # L = E f(psi (theta + sigma e1)) + E f(-psi sigma e2): Gaussian noise on fake and real points.
    # Antithetic draws rescaled to unit second moment, so E e = 0 and E e^2 = 1 hold exactly and the
    # Jacobian at (0, 0) equals the closed form; the authors redraw 1000 samples at every call.
    if n_draws % 2:
        raise ValueError(f"n_draws must be an even integer >= 2, got {n_draws!r}")
    rng = np.random.default_rng(seed)
    half = rng.standard_normal((2, n_draws // 2))
    e = np.concatenate([half, -half], axis=1)  # (2, n_draws)
    e /= np.sqrt(np.mean(e**2, axis=1, keepdims=True))
    e_fake, e_real = sigma * e[0], sigma * e[1]  # (n_draws,) each

    def fn(th, ps):
        th_e, ps_ = th[..., None] + e_fake, ps[..., None]  # (..., n_draws)
        v_th = -ps_ * fp(ps_ * th_e)
        v_ps = th_e * fp(ps_ * th_e) - e_real * fp(-e_real * ps_)
        return v_th.mean(axis=-1), v_ps.mean(axis=-1)

    return fn


def _with_r1(base, gamma):
    # D also minimises R1 = (gamma / 2) E_{p_D} |grad_x D|^2 = (gamma / 2) psi^2 (= R2 here)
    def fn(th, ps):
        v_th, v_ps = base(th, ps)
        return v_th, v_ps - gamma * ps

    return fn


def _r1(gamma=0.3):
    return _with_r1(_gan(), gamma)


def _nsgan_r1(gamma=0.3):
    return _with_r1(_nsgan(), gamma)


def _consensus(gamma=1.0):
    # both players also minimise gamma * |v|^2 / 2 = gamma (theta^2 + psi^2) f'(psi theta)^2 / 2
    def fn(th, ps):
        a, b = fp(ps * th), fpp(ps * th)
        r2 = th**2 + ps**2
        return (-ps * a - gamma * (th * a**2 + r2 * ps * a * b),
                th * a - gamma * (ps * a**2 + r2 * th * a * b))

    return fn


FIELDS: Mapping[str, Callable] = MappingProxyType({
    "gan": _gan,
    "nsgan": _nsgan,
    "wgan": _wgan,
    "wgan_gp": _wgan_gp,
    "instance_noise": _instance_noise,
    "r1": _r1,
    "nsgan_r1": _nsgan_r1,
    "consensus": _consensus,
})


def field_params(name: str) -> dict:
    """Return the parameters of field ``name`` with their defaults (the notebook's panel values)."""
    choose("field", name, FIELDS)
    return {k: p.default for k, p in inspect.signature(FIELDS[name]).parameters.items()}


def make_field(name: str, **params) -> VectorField:
    """Build the Dirac-GAN vector field ``name`` (a key of ``FIELDS``).

    Args:
        name: one of ``FIELDS``.
        **params: overrides of ``field_params(name)``: ``clip`` (> 0), ``gamma`` and ``sigma``
            (>= 0), ``g0`` (>= 0), ``n_draws`` (even, >= 2), ``seed`` (int).

    Returns:
        A ``VectorField``.

    Raises:
        ValueError: on an unknown name or parameter, or a negative ``sigma``/``gamma``/``clip``.
    """
    defaults = field_params(name)
    for key in params:
        if key not in defaults:
            raise ValueError(f"unknown parameter {key!r} for field {name!r}; "
                             f"allowed: {sorted(defaults) or 'none'}")
    kw = {**defaults, **params}
    for key in ("gamma", "sigma", "g0"):
        if key in kw:
            kw[key] = nonnegative(key, kw[key])
    if "clip" in kw and not kw["clip"] > 0:
        raise ValueError(f"clip must be a number > 0, got {kw['clip']!r}")
    if "n_draws" in kw:
        kw["n_draws"] = positive_int("n_draws", kw["n_draws"])
    built = FIELDS[name](**kw)
    fn, project = built if isinstance(built, tuple) else (built, _no_projection)
    return VectorField(name, fn, project, MappingProxyType(kw))


def _check_scheme(h, steps):
    if not h > 0:
        raise ValueError(f"h must be a number > 0, got {h!r}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    return float(h), int(steps)


def simultaneous(field: VectorField, start=(1.0, 1.0), h: float = 0.2, steps: int = 500):
    """Simultaneous gradient descent: ``z <- project(z + h v(z))`` for both players at once.

    Args:
        field: a ``VectorField``.
        start: initial ``(theta, psi)``; projected first, as in the authors' code.
        h: step size of both players.
        steps: number of updates.

    Returns:
        ``(steps + 1, 2)`` array of ``(theta, psi)``, the start first.
    """
    h, steps = _check_scheme(h, steps)
    th, ps = field.project(*map(float, start))
    out = np.empty((steps + 1, 2))
    out[0] = th, ps
    for k in range(1, steps + 1):
        v_th, v_ps = field(th, ps)
        th, ps = field.project(th + h * v_th, ps + h * v_ps)
        out[k] = th, ps
    return out


def alternating(field: VectorField, start=(1.0, 1.0), h: float = 0.2, steps: int = 500,
                d_steps: int = 1):
    """Alternating gradient descent: one generator step, then ``d_steps`` discriminator steps.

    Each player's update uses the other's newest value, and ``field.project`` follows every step.

    Args:
        field: a ``VectorField``.
        start: initial ``(theta, psi)``; projected first.
        h: step size of both players.
        steps: number of rounds (one generator step and ``d_steps`` discriminator steps each).
        d_steps: discriminator steps per round (the authors' notebook uses 1 and 5).

    Returns:
        ``(steps + 1, 2)`` array of ``(theta, psi)`` after each round, the start first.
    """
    h, steps = _check_scheme(h, steps)
    d_steps = positive_int("d_steps", d_steps)
    th, ps = field.project(*map(float, start))
    out = np.empty((steps + 1, 2))
    out[0] = th, ps
    for k in range(1, steps + 1):
        th, ps = field.project(th + h * field(th, ps)[0], ps)
        for _ in range(d_steps):
            th, ps = field.project(th, ps + h * field(th, ps)[1])
        out[k] = th, ps
    return out


def jacobian(field: VectorField, point=(0.0, 0.0), eps: float = 1e-5):
    """Jacobian of the field by central differences, ``J[i, j] = d v_i / d z_j``, ``z = (theta, psi)``.

    The projection is ignored: at the interior equilibrium it is inactive.

    Returns:
        ``(2, 2)`` array.
    """
    z = np.asarray(point, dtype=float)
    J = np.empty((2, 2))
    for j in range(2):
        dz = np.zeros(2)
        dz[j] = eps
        J[:, j] = (np.array(field(*(z + dz))) - np.array(field(*(z - dz)))) / (2 * eps)
    return J


def eigenvalues(name: str, **params):
    """Closed-form eigenvalues of the Jacobian at the equilibrium ``(0, 0)`` (Mescheder et al. 2018, Sec. 3).

    With ``f'(0) = 1/2`` and ``f''(0) = -1/4``:

    - ``gan``, ``nsgan``: ``J = [[0, -f'(0)], [f'(0), 0]]``, eigenvalues ``±i f'(0)``.
    - ``wgan``: ``±i`` (the clip is inactive at the equilibrium).
    - ``instance_noise``: noise of std ``sigma`` on both real and fake points gives
      ``J = [[0, -f'(0)], [f'(0), 2 sigma^2 f''(0)]]`` (each adds ``sigma^2 f''(0)`` to
      ``d v_psi / d psi``), so ``f''(0) sigma^2 ± sqrt(f''(0)^2 sigma^4 - f'(0)^2)``.
    - ``r1``, ``nsgan_r1``: ``-gamma/2 ± sqrt(gamma^2/4 - f'(0)^2)``; real for ``gamma >= 1``.
    - ``consensus``: ``-gamma f'(0)^2 ± i f'(0)``.

    ``wgan_gp`` has no Jacobian at ``psi = 0`` (``sign(psi)`` jumps there).

    Args:
        name: a field name.
        **params: ``sigma`` or ``gamma``; array-like values broadcast.

    Returns:
        complex array of shape ``param.shape + (2,)``, ordered ``(+ root, - root)``.
    """
    allowed = ("gan", "nsgan", "wgan", "instance_noise", "r1", "nsgan_r1", "consensus")
    choose("field", name, allowed)
    defaults = field_params(name)
    for key in params:
        if key not in defaults or key not in ("sigma", "gamma", "clip"):
            raise ValueError(f"unknown parameter {key!r} for eigenvalues({name!r}); "
                             f"allowed: {sorted(set(defaults) & {'sigma', 'gamma', 'clip'}) or 'none'}")
    kw = {**defaults, **params}
    for key in ("sigma", "gamma"):
        if key in kw and np.any(~(np.asarray(kw[key], dtype=float) >= 0)):
            raise ValueError(f"{key} must be >= 0, got {kw[key]!r}")
    if name in ("gan", "nsgan", "wgan"):
        b = 1.0 if name == "wgan" else F1_0
        centre, disc = np.asarray(0.0), np.asarray(-(b**2), dtype=complex)
    elif name == "instance_noise":
        s2 = np.asarray(kw["sigma"], dtype=float) ** 2
        centre, disc = F2_0 * s2, (F2_0 * s2) ** 2 - F1_0**2 + 0j
    elif name == "consensus":
        g = np.asarray(kw["gamma"], dtype=float)
        centre, disc = -g * F1_0**2, np.full_like(g, -(F1_0**2), dtype=complex)
    else:
        g = np.asarray(kw["gamma"], dtype=float)
        centre, disc = -g / 2, g**2 / 4 - F1_0**2 + 0j
    root = np.sqrt(disc)
    return np.stack([centre + root, centre - root], axis=-1)

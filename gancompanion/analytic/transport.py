"""The earth mover's distance between small discrete distributions, as a linear program.

A *moving plan* ``gamma[i, j] >= 0`` says how much earth goes from ``x_p[i]`` to ``x_q[j]``; its rows
sum to ``p`` and its columns to ``q``. Its cost is ``B(gamma) = sum_ij gamma[i, j] |x_p[i] - x_q[j]|``
and the earth mover's (Wasserstein-1) distance is the smallest cost over all plans (Arjovsky et al.
2017, eq. 1; Lee's "Tips for improving GAN" slides). We solve the LP with HiGHS through
``scipy.optimize.linprog``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack


class Plan(NamedTuple):
    cost: float  # the earth mover's distance, sum(plan * distances)
    plan: np.ndarray  # (n_p, n_q) optimal moving plan
    distances: np.ndarray  # (n_p, n_q) ground distances |x_p[i] - x_q[j]|


def _masses(name: str, w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.ndim != 1 or len(w) == 0 or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite masses >= 0, got {w!r}")
    return w


def _points(name: str, x, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or len(x) != n or np.any(~np.isfinite(x)):
        raise ValueError(f"{name} must hold {n} finite points, shaped ({n},) or ({n}, dim), got shape {x.shape}")
    return x


def ground_distances(x_p, x_q) -> np.ndarray:
    """Euclidean distances between every point of ``x_p`` (n_p, dim) and of ``x_q`` (n_q, dim)."""
    x_p, x_q = np.asarray(x_p, float), np.asarray(x_q, float)
    x_p = x_p[:, None] if x_p.ndim == 1 else x_p
    x_q = x_q[:, None] if x_q.ndim == 1 else x_q
    return np.sqrt(((x_p[:, None, :] - x_q[None, :, :]) ** 2).sum(-1))


def earth_movers(p, q, x_p, x_q=None, distances=None, rtol: float = 1e-9) -> Plan:
    """The optimal moving plan between ``p`` on ``x_p`` and ``q`` on ``x_q`` and its cost.

    Args:
        p: (n_p,) masses, >= 0.
        q: (n_q,) masses, >= 0, with the same total as ``p`` (to a relative ``rtol``).
        x_p, x_q: the points, (n,) or (n, dim); ``x_q`` defaults to ``x_p``.
        distances: (n_p, n_q) ground costs to use instead of Euclidean distances.

    Returns:
        ``Plan(cost, plan, distances)``.
    """
    p, q = _masses("p", p), _masses("q", q)
    if abs(p.sum() - q.sum()) > rtol * max(p.sum(), q.sum(), 1e-300):
        raise ValueError(f"p and q must have the same total mass (earth is moved, not made): "
                         f"sum(p) = {p.sum():.12g}, sum(q) = {q.sum():.12g}")
    if distances is None:
        if x_p is None:
            raise ValueError("x_p must give the points of p (or pass distances)")
        x_p = _points("x_p", x_p, len(p))
        x_q = x_p if x_q is None else _points("x_q", x_q, len(q))
        if x_q.shape[1] != x_p.shape[1]:
            raise ValueError(f"x_p and x_q must have the same dimension, got {x_p.shape[1]} and {x_q.shape[1]}")
        distances = ground_distances(x_p, x_q)
    distances = np.asarray(distances, dtype=float)
    n_p, n_q = len(p), len(q)
    if distances.shape != (n_p, n_q):
        raise ValueError(f"distances must be ({n_p}, {n_q}), got {distances.shape}")
    if np.any(~np.isfinite(distances)) or np.any(distances < 0):
        raise ValueError(f"distances must be finite and >= 0 (a ground cost), got min {np.nanmin(distances):.6g}"
                         + (" and non-finite entries" if np.any(~np.isfinite(distances)) else ""))
    # variables gamma[i, j] flattened row-major; rows sum to p, columns to q
    idx = np.arange(n_p * n_q)
    rows = coo_matrix((np.ones(n_p * n_q), (idx // n_q, idx)), shape=(n_p, n_p * n_q))
    cols = coo_matrix((np.ones(n_p * n_q), (idx % n_q, idx)), shape=(n_q, n_p * n_q))
    a_eq = vstack([rows, cols.tocsr()[:-1]])  # one column constraint is implied by the totals
    b_eq = np.concatenate([p, q[:-1]])
    res = linprog(distances.ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"the transport LP did not solve: {res.message}")
    plan = np.clip(res.x.reshape(n_p, n_q), 0, None)
    return Plan(float((plan * distances).sum()), plan, distances)


def wasserstein_1d(x_p, p, x_q, q) -> float:
    """The 1-D closed form: ``W1 = integral |F_p(t) - F_q(t)| dt`` of the two CDFs (masses normalised)."""
    x_p, x_q = np.asarray(x_p, float).ravel(), np.asarray(x_q, float).ravel()
    p, q = _masses("p", p), _masses("q", q)
    for name, x, w in (("p", x_p, p), ("q", x_q, q)):
        if len(x) != len(w):
            raise ValueError(f"x_{name} and {name} must have the same length (one mass per point), "
                             f"got {len(x)} points and {len(w)} masses")
        if np.any(~np.isfinite(x)):
            raise ValueError(f"x_{name} must hold finite points")
        if not w.sum() > 0:
            raise ValueError(f"{name} must have a positive total mass (it is normalised), got {w.sum():g}")
    p, q = p / p.sum(), q / q.sum()
    t = np.union1d(x_p, x_q)
    f_p = np.array([p[x_p <= s].sum() for s in t])
    f_q = np.array([q[x_q <= s].sum() for s in t])
    return float(np.sum(np.abs(f_p - f_q)[:-1] * np.diff(t)))

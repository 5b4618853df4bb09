"""Sample-quality metrics for the toy mixtures, one value per run.

The conventions are VEEGAN's and PacGAN's (Srivastava et al. 2017; Lin et al. 2018; research notes
section 9): a sample is *high quality* when it lies within ``k = 3`` standard deviations of its
nearest mode, and a mode is *covered* when at least one sample is high quality for it. For a mixture
embedded in a higher dimension (Roth et al.'s 3-D ring) the distance is measured in the embedding
space, so a sample off the mixture's plane is not high quality however close its projection is.

Every function takes samples shaped ``(S, n, dim)`` (S runs of n samples; ``(n, dim)`` is read as one
run), as a NumPy array or a torch tensor, and returns a NumPy array shaped ``(S,)``.
"""

from __future__ import annotations

import numpy as np
import torch

from .validation import nonnegative


def _numpy(x) -> np.ndarray:
    """A float64 NumPy copy of an array or a torch tensor."""
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float64)


def _samples(x) -> np.ndarray:
    x = _numpy(x)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(f"samples must be shaped (S, n, dim) or (n, dim) with n >= 1, got {x.shape}")
    return x


def _centers(dist) -> np.ndarray:
    return _numpy(dist.centers)


def nearest_mode(samples, centers) -> tuple[np.ndarray, np.ndarray]:
    """Index of and Euclidean distance to the nearest centre of every sample.

    Args:
        samples: (S, n, dim) array or tensor.
        centers: (K, dim) array or tensor of mode centres.

    Returns:
        ``(index, distance)``, each (S, n).
    """
    x = _samples(samples)
    c = _numpy(centers)
    if c.ndim != 2 or c.shape[1] != x.shape[2]:
        raise ValueError(f"centers must be (K, {x.shape[2]}) to match the samples, got {c.shape}")
    d2 = ((x[:, :, None, :] - c[None, None]) ** 2).sum(-1)  # (S, n, K)
    idx = d2.argmin(-1)
    return idx, np.sqrt(np.take_along_axis(d2, idx[..., None], -1)[..., 0])


def high_quality(samples, dist, k: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Which samples are high quality (within ``k * dist.std`` of their nearest mode), and that mode.

    Args:
        samples: (S, n, dim).
        dist: a mixture with ``centers`` (K, dim) and ``std`` (``data.GaussianMixture`` or
            ``data.EmbeddedMixture``, whose centres are in the embedding space).
        k: the threshold in standard deviations (VEEGAN/PacGAN: 3).

    Returns:
        ``(mask, mode)``: booleans (S, n) and nearest-mode indices (S, n).
    """
    k = nonnegative("k", k)
    idx, dist_to = nearest_mode(samples, _centers(dist))
    return dist_to <= k * dist.std, idx


def high_quality_fraction(samples, dist, k: float = 3.0) -> np.ndarray:
    """Fraction of high-quality samples per run, (S,)."""
    mask, _ = high_quality(samples, dist, k)
    return mask.mean(-1)


def modes_covered(samples, dist, k: float = 3.0) -> np.ndarray:
    """Number of modes with at least one high-quality sample per run, (S,) integers."""
    mask, idx = high_quality(samples, dist, k)
    return _count_covered(mask, idx, len(_centers(dist)))


def _count_covered(mask: np.ndarray, idx: np.ndarray, n_modes: int) -> np.ndarray:
    """Per run, how many of ``n_modes`` modes have at least one high-quality sample, (S,)."""
    hit = np.zeros((mask.shape[0], n_modes), dtype=bool)
    runs = np.broadcast_to(np.arange(mask.shape[0])[:, None], mask.shape)
    hit[runs[mask], idx[mask]] = True
    return hit.sum(-1)


def distance_off(samples, dist) -> np.ndarray:
    """Mean Euclidean distance of the samples from the embedded mixture's plane, per run, (S,).

    Args:
        samples: (S, n, dim).
        dist: a ``data.EmbeddedMixture`` (it defines the plane through ``distance_off``).
    """
    if not hasattr(dist, "distance_off"):
        raise ValueError(f"dist must be an embedded mixture with a distance_off method, got {type(dist).__name__}")
    x = torch.as_tensor(_samples(samples), dtype=dist.matrix.dtype)  # (S, n, dim)
    return dist.distance_off(x).double().mean(-1).numpy()


def evaluate(samples, dist, k: float = 3.0) -> dict[str, np.ndarray]:
    """All the per-run metrics of one snapshot: ``modes``, ``hq_fraction`` and (if embedded) ``off_plane``."""
    mask, idx = high_quality(samples, dist, k)  # one nearest-mode pass serves both metrics
    out = {"modes": _count_covered(mask, idx, len(_centers(dist))), "hq_fraction": mask.mean(-1)}
    if hasattr(dist, "distance_off"):
        out["off_plane"] = distance_off(samples, dist)
    return out


def first_full_coverage(steps, modes, n_modes: int) -> np.ndarray:
    """The first step at which each run covers all ``n_modes`` modes; ``inf`` for a run that never does.

    Args:
        steps: (T,) snapshot steps, increasing.
        modes: (T, S) modes covered at each snapshot.
        n_modes: the number of modes of the data.

    Returns:
        (S,) float array.
    """
    steps, modes = _series(steps, modes)
    full = modes >= n_modes  # (T, S)
    first = np.where(full.any(0), steps[np.argmax(full, axis=0)], np.inf)
    return first.astype(float)


def kept_fraction(steps, modes, n_modes: int) -> np.ndarray:
    """Per run, the fraction of snapshots *after* the first full coverage that still cover all modes.

    A run that never covers all modes, or does so only at its last snapshot, gets 0: nothing shows
    it staying there.

    Args:
        steps: (T,) snapshot steps, increasing.
        modes: (T, S) modes covered at each snapshot.
        n_modes: the number of modes of the data.

    Returns:
        (S,) float array in [0, 1].
    """
    steps, modes = _series(steps, modes)
    first = first_full_coverage(steps, modes, n_modes)
    out = np.zeros(modes.shape[1])
    for s in range(modes.shape[1]):
        later = steps > first[s]
        if np.isfinite(first[s]) and later.any():
            out[s] = float((modes[later, s] >= n_modes).mean())
    return out


def _series(steps, modes) -> tuple[np.ndarray, np.ndarray]:
    steps, modes = np.asarray(steps, dtype=float), np.asarray(modes)
    if modes.ndim == 1:
        modes = modes[:, None]
    if steps.ndim != 1 or modes.ndim != 2 or len(steps) != len(modes) or len(steps) == 0:
        raise ValueError(f"steps must be (T,) and modes (T, S) with T >= 1, got {steps.shape} and {modes.shape}")
    if np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be strictly increasing")
    return steps, modes

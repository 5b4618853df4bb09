"""Sample-quality metrics for the toy mixtures, one value per run.

The conventions are VEEGAN's and PacGAN's (Srivastava et al. 2017; Lin et al. 2018):
a sample is *high quality* when it lies within ``k = 3`` standard deviations of its
nearest mode, and a mode is *covered* when at least one sample is high quality for it. For a mixture
embedded in a higher dimension (Roth et al.'s 3-D ring) the distance is measured in the embedding
space, so a sample off the mixture's plane is not high quality however close its projection is.

"At least one" high-quality sample cannot tell a trained generator from noise: on the grid of 25
Gaussians (std 0.05) a uniform blob over the centres' box puts 2.8 high-quality samples on each mode
out of 2500, and covers about 23 of them. ``mode_histogram`` and ``mixture_metrics`` therefore count a
mode when it holds at least ``min_count`` high-quality samples, fixed once by a rule (``min_count``):
a tenth of the mode's fair share, ``ceil(n / (10 K))`` for n samples and K modes.

Every function takes samples shaped ``(S, n, dim)`` (S runs of n samples; ``(n, dim)`` is read as one
run), as a NumPy array or a torch tensor, and returns a NumPy array shaped ``(S,)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..validation import nonnegative, positive_int


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


def min_count(n: int, n_modes: int) -> int:
    """The fewest high-quality samples that cover a mode: a tenth of its fair share, ``ceil(n / (10 K))``.

    The rule was fixed before any GAN was judged by it, from the binomial counts at the chapters' 2500
    samples (a mode's HQ disc has radius 3 std; expected covered modes = K P(Poisson(n p) >= k)):

    - grid of 25 (std 0.05, centres {-4, ..., 4}^2), k = 10: the data put Binomial(2500, 0.04 * 0.989),
      about 99 HQ samples, on every mode (P(some mode < 10) < 1e-29); a uniform blob over [-4, 4]^2 puts
      2.8 on each and covers 0.015 modes on average; an isotropic Gaussian of the data's spread
      (std 2.83) at most 3.5 (the centre) and covers 0.006; a collapse on one mode covers 1.
    - ring of 8 (radius 1, std 0.01), k = 32: the data about 309 per mode; a uniform blob over [-1, 1]^2
      1.8 per mode, an isotropic Gaussian of the data's spread (std 0.71) 0.8: both cover < 1e-27.

    With "at least one" (k = 1) the same blobs cover 23 and 18 of the grid's modes. ``n_modes`` >= 1.
    """
    n, n_modes = positive_int("n", n), positive_int("n_modes", n_modes)
    return max(1, math.ceil(n / (10 * n_modes)))


def mode_histogram(samples, dist, k: float = 3.0) -> np.ndarray:
    """Per run, how many high-quality samples each mode holds (nearest mode, within ``k`` std), (S, K).

    PacGAN's "detail of coverage" (Lin et al. 2018, their ``MetricLogger``).
    """
    mask, idx = high_quality(samples, dist, k)
    return _histogram(mask, idx, len(_centers(dist)))


def _histogram(mask: np.ndarray, idx: np.ndarray, n_modes: int) -> np.ndarray:
    counts = np.zeros((mask.shape[0], n_modes), dtype=np.int64)
    runs = np.broadcast_to(np.arange(mask.shape[0])[:, None], mask.shape)
    np.add.at(counts, (runs[mask], idx[mask]), 1)
    return counts


def reverse_kl(histogram) -> np.ndarray:
    """PacGAN's reverse KL, KL(p || uniform) = log K - H(p), of each run's mode histogram (S, K), (S,).

    ``p`` is the histogram of high-quality samples over modes, normalised (Lin et al. 2018, sec. 5 and
    Table 1). 0 for an even spread, log K for a collapse on one mode; a run without any high-quality
    sample gets log K too (it has found no mode). Natural logarithm.
    """
    h = np.asarray(histogram, dtype=np.float64)
    if h.ndim == 1:
        h = h[None]
    if h.ndim != 2 or h.shape[1] == 0 or np.any(h < 0):
        raise ValueError(f"histogram must be (S, K) non-negative counts with K >= 1, got shape {h.shape}")
    total = h.sum(-1, keepdims=True)
    p = np.divide(h, total, out=np.zeros_like(h), where=total > 0)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    kl = math.log(h.shape[1]) + plogp.sum(-1)
    return np.where(total[:, 0] > 0, np.maximum(kl, 0.0), math.log(h.shape[1]))


def mixture_metrics(samples, dist, k: float = 3.0, count: int | None = None, real=None) -> dict[str, np.ndarray]:
    """Every per-run metric of a mixture's samples, (S,) each.

    Args:
        samples: (S, n, dim).
        dist: a mixture with ``centers`` and ``std`` (2-D, or embedded: then ``off_plane`` is added).
        k: high quality = within ``k`` std of the nearest mode (VEEGAN/PacGAN: 3).
        count: the high-quality samples that cover a mode; None: ``min_count(n, K)``.
        real: samples of the data, (S, m, dim) or (m, dim), for ``precision`` and ``recall``
            (``precision_recall``, k = 3); None leaves them out.

    Returns:
        ``hq_fraction``; ``modes_k`` (modes with at least ``count`` HQ samples); ``reverse_kl`` (PacGAN);
        ``modes`` (modes with at least one HQ sample: the VEEGAN/PacGAN count, kept for comparison with
        their tables); ``off_plane`` for an embedded mixture; ``precision`` and ``recall`` given ``real``.
    """
    mask, idx = high_quality(samples, dist, k)  # one nearest-mode pass serves every metric
    n_modes = len(_centers(dist))
    count = min_count(mask.shape[1], n_modes) if count is None else positive_int("count", count)
    hist = _histogram(mask, idx, n_modes)
    out = {"modes": (hist >= 1).sum(-1), "hq_fraction": mask.mean(-1), "modes_k": (hist >= count).sum(-1),
           "reverse_kl": reverse_kl(hist)}
    if hasattr(dist, "distance_off"):
        out["off_plane"] = distance_off(samples, dist)
    if real is not None:
        out.update(precision_recall(real, samples))
    return out


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
    """All the per-run metrics of one snapshot (``mixture_metrics`` with its rule for the covering count):
    ``modes``, ``modes_k``, ``hq_fraction``, ``reverse_kl`` and (if embedded) ``off_plane``."""
    return mixture_metrics(samples, dist, k)


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


# --------------------------------------------------------------------------------------------
# Precision and recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020): k-nearest-
# neighbour balls around the real samples (and, for recall, around the generated ones).


def _knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance of every point of ``x`` (n, dim) to its k-th nearest other point, (n,)."""
    from sklearn.neighbors import NearestNeighbors

    if len(x) <= k:
        raise ValueError(f"k must be below the number of samples ({len(x)}), got {k}")
    dist, _ = NearestNeighbors(n_neighbors=k + 1, ).fit(x).kneighbors(x)
    return dist[:, -1]  # column 0 is the point itself


def _inside_counts(centres: np.ndarray, radii: np.ndarray, y: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For every point of ``y`` (m, dim), how many balls B(centres[i], radii[i]) hold it, (m,)."""
    from sklearn.metrics import pairwise_distances

    counts = np.empty(len(y), dtype=np.int64)
    for start in range(0, len(y), chunk):
        dist = pairwise_distances(y[start: start + chunk], centres)  # (chunk, n)
        counts[start: start + chunk] = (dist <= _with_boundary(radii)[None]).sum(1)
    return counts


def _paired_runs(real, fake) -> tuple[np.ndarray, np.ndarray]:
    """Real and generated samples as (S, n, dim) and (S, m, dim); one real set may serve all runs."""
    x, y = _samples(real), _samples(fake)
    if x.shape[0] == 1 and y.shape[0] > 1:
        x = np.broadcast_to(x, (y.shape[0], *x.shape[1:]))
    if x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ValueError(f"real and fake samples must have the same runs and dim, got {x.shape} and {y.shape}")
    return x, y


def precision_recall(real, fake, k: int = 3) -> dict[str, np.ndarray]:
    """Improved precision and recall (Kynkaanniemi et al. 2019, eq. 1-2), per run.

    Precision: the fraction of generated samples inside the k-NN ball of some real sample (the real
    manifold estimate); recall: the fraction of real samples inside the k-NN ball of some generated one.

    Args:
        real: (S, n, dim) or (n, dim) samples of the data (one set can serve every run).
        fake: (S, m, dim) generated samples.
        k: the neighbour whose distance sets each ball's radius (paper: 3).
    Returns:
        ``{"precision": (S,), "recall": (S,)}``.
    """
    from ..validation import positive_int

    k = positive_int("k", k)
    x, y = _paired_runs(real, fake)
    prec, rec = np.empty(len(y)), np.empty(len(y))
    for s in range(len(y)):
        prec[s] = (_inside_counts(x[s], _knn_radii(x[s], k), y[s]) > 0).mean()
        rec[s] = (_inside_counts(y[s], _knn_radii(y[s], k), x[s]) > 0).mean()
    return {"precision": prec, "recall": rec}


def density_coverage(real, fake, k: int = 5) -> dict[str, np.ndarray]:
    """Density and coverage (Naeem et al. 2020, eq. 3-4), per run.

    Density: (1 / kM) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))] (counts how many real balls hold each
    generated sample; 1 on average when the two distributions agree, can exceed 1); coverage: the
    fraction of real samples whose k-NN ball holds at least one generated sample.

    Args:
        real: (S, n, dim) or (n, dim); fake: (S, m, dim).
        k: neighbours for the radii (paper: 5).
    Returns:
        ``{"density": (S,), "coverage": (S,)}``.
    """
    from ..validation import positive_int

    k = positive_int("k", k)
    x, y = _paired_runs(real, fake)
    dens, cov = np.empty(len(y)), np.empty(len(y))
    for s in range(len(y)):
        radii = _knn_radii(x[s], k)
        dens[s] = _inside_counts(x[s], radii, y[s]).sum() / (k * len(y[s]))
        cov[s] = _covered(x[s], radii, y[s]).mean()
    return {"density": dens, "coverage": cov}


def _covered(centres: np.ndarray, radii: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For every centre, whether its ball B(centres[i], radii[i]) holds at least one point of ``y``, (n,)."""
    from sklearn.neighbors import NearestNeighbors

    dist, _ = NearestNeighbors(n_neighbors=1, ).fit(y).kneighbors(centres)
    return dist[:, 0] <= _with_boundary(radii)


def _with_boundary(radii: np.ndarray) -> np.ndarray:
    """Radii widened by a relative 1e-9: a ball holds the neighbour on its boundary, whichever routine
    computed the two distances (they differ in the last bits)."""
    return radii * (1 + 1e-9) + 1e-12

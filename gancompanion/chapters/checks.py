"""What the claims' checks share: the ``Verdict`` a check returns, its thresholds, and comparisons that never
drop a NaN; and the checks that no chapter module holds yet.

A check takes the numbers a chapter computed and returns a verdict, the numbers behind it and the evidence
its CLAIM line prints. It lives in its chapter's module (``ch1``, ``ch3``, ``ch3_toy``, ``ch4``, ...) and
reads its thresholds from ``claims.CATALOGUE[claim_id].threshold``, the one place they are written down,
next to the statement they test. A NaN anywhere fails a check: every comparison goes through NumPy on
whole arrays (``np.max`` and ``np.min`` propagate NaN, Python's ``max`` and ``min`` silently drop it), and
no verdict is the truthiness of a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..pipeline.claims import CATALOGUE



@dataclass(frozen=True)
class Verdict:
    """A check's outcome: ``passed`` (a Python bool), the numbers behind it, and the one-line evidence the
    CLAIM line prints (rounded numbers, no timings; written by the chapter module's check function)."""

    passed: bool
    values: dict = field(default_factory=dict)
    evidence: str = ""


def threshold(claim_id: str) -> dict:
    """The claim's thresholds (a copy of ``CATALOGUE[claim_id].threshold``)."""
    return dict(CATALOGUE[claim_id].threshold)


def _array(values) -> np.ndarray:
    if isinstance(values, Mapping):
        values = list(values.values())
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)


def no_nan(*arrays) -> bool:
    """True when none of the arrays (or dicts of numbers) holds a NaN (infinities are allowed)."""
    return not any(np.isnan(_array(a)).any() for a in arrays)


def worst(values) -> float:
    """The largest value, NaN if any is NaN (NaN for no values)."""
    a = _array(values).ravel()
    return float(np.max(a)) if a.size else float("nan")


def least(values) -> float:
    """The smallest value, NaN if any is NaN (NaN for no values)."""
    a = _array(values).ravel()
    return float(np.min(a)) if a.size else float("nan")


def all_at_least(values, bound: float) -> bool:
    """Every value is >= ``bound`` (there is at least one, none is NaN)."""
    a = _array(values)
    return bool(a.size) and bool(np.all(a >= bound))


def all_below(values, bound: float) -> bool:
    """Every value is < ``bound`` (there is at least one, none is NaN)."""
    a = _array(values)
    return bool(a.size) and bool(np.all(a < bound))


def all_above(values, bound: float) -> bool:
    """Every value is > ``bound`` (there is at least one, none is NaN)."""
    a = _array(values)
    return bool(a.size) and bool(np.all(a > bound))


def all_at_most(values, bound: float) -> bool:
    """Every value is <= ``bound`` (there is at least one, none is NaN)."""
    a = _array(values)
    return bool(a.size) and bool(np.all(a <= bound))


# --- Chapter 2: spectral normalisation (Miyato et al. 2018) -------------------------------------------

def sn_lipschitz(grad_max, lag) -> Verdict:
    """ch2.sn-lipschitz from each seed's largest input-gradient norm and the estimate's lag
    (``constraints.sn_lag``): the norm is at most 1 times the lag, times 1 + rtol. Without spectral
    normalisation the lag is 1 and a trained discriminator's gradient exceeds it."""
    t = threshold("ch2.sn-lipschitz")
    grad_max, lag = _array(grad_max), _array(lag)
    ratio = grad_max / lag if grad_max.shape == lag.shape or lag.size == 1 else np.full(grad_max.shape, np.nan)
    return Verdict(all_at_most(ratio, 1 + t["rtol"]), {"ratio_max": worst(ratio), "lag_max": worst(lag)})


# --- Chapter 5: improved techniques (Salimans et al. 2016) --------------------------------------------

def label_smoothing_less_confident(plain_real, smooth_real, smooth_fake) -> Verdict:
    """ch5.label-smoothing-less-confident from each seed's final mean D on real samples without and with
    smoothing, and on generated samples with smoothing: one-sided smoothing caps D(x) at the real target
    and leaves the generated target at 0 (two-sided smoothing lifts D(G(z)) to its fake target)."""
    t = threshold("ch5.label-smoothing-less-confident")
    capped = all_at_most(smooth_real, t["real_target"] + t["tolerance"])
    confident = all_above(plain_real, t["confident"])
    one_sided = all_below(smooth_fake, 1 - t["confident"])
    return Verdict(capped and confident and one_sided,
                   {"smooth_max": worst(smooth_real), "plain_min": least(plain_real), "fake_max": worst(smooth_fake)})

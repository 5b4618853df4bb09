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

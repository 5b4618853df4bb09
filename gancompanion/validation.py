"""Argument checks that fail early with a message naming the parameter and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable


def choose(name: str, value, allowed: Iterable):
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming ``name``.

    >>> choose("scale", "book", ["smoke", "book"])
    'book'
    """
    allowed = list(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"unknown {name} {value!r}; choose one of: {choices}")
    return value


def nonnegative(name: str, value: float) -> float:
    """Return ``value`` as a float if it is >= 0, else raise a ValueError naming ``name``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"{name} must be a number >= 0 and finite, got {value!r}")
    if not value >= 0 or value == float("inf"):  # also catches NaN
        raise ValueError(f"{name} must be a number >= 0 and finite, got {value!r}")
    return float(value)


def positive_int(name: str, value) -> int:
    """Return ``value`` if it is an integer >= 1, else raise a ValueError naming ``name``."""
    try:
        ok = not isinstance(value, bool) and int(value) == value and value >= 1
    except (TypeError, ValueError, OverflowError):  # None, text, NaN, inf
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def seed(value) -> int:
    """Return ``value`` as an int if it is an integer >= 0 (a seed), else raise a ValueError naming ``seed``."""
    try:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and int(value) == value and value >= 0
    except (ValueError, OverflowError):  # NaN, inf
        ok = False
    if not ok:
        raise ValueError(f"seed must be an integer >= 0, got {value!r}")
    if value >= 2**63:  # torch and NumPy take 64-bit seeds
        raise ValueError(f"seed must be an integer >= 0 and below 2**63, got {value!r}")
    return int(value)


def finite(name: str, value: float) -> float:
    """Return ``value`` as a float if it is a finite number, else raise a ValueError naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def positive(name: str, value: float) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise a ValueError naming ``name``."""
    v = finite(name, value)
    if not v > 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return v


def fraction(name: str, value: float) -> float:
    """Return ``value`` as a float if it lies in (0, 1], else raise a ValueError naming ``name``."""
    v = finite(name, value)
    if not 0 < v <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return v

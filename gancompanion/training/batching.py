"""Variants that differ only in numbers, trained as the runs of one seed-batched model.

A chapter often compares a few recipes that share everything but a number: a penalty's weight (0 for
none), the std of instance noise (0 for none), or its annealing (a decay of 1 keeps sigma fixed).
``merge`` turns such recipes into one *per-run* recipe, so that all variants and seeds train together,
each run as it would train alone, up to rounding (``tests/training/test_batching.py`` checks this).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..techniques.noise import InstanceNoise
from .parts import Recipe, describe
from ..techniques.d_terms import SHARED_GRADIENT, Penalties, Penalty


def _repeat(value, n: int) -> tuple:
    """A setting as one value per run: a scalar repeated, a per-run tuple checked for its length."""
    if isinstance(value, tuple):
        if len(value) != n:
            raise ValueError(f"a per-run setting names {len(value)} runs, but its variant has {n}")
        return value
    return (value,) * n


def _merge_noise(noises: list, counts: list[int]):
    """One ``InstanceNoise`` with per-run sigma and decay (None where no variant has noise)."""
    present = [z for z in noises if z is not None and z.active]
    if not present:
        return None
    annealed = {z.schedule for z in present if z.schedule != "fixed"}
    if len(annealed) > 1:
        raise ValueError(f"instance noise annealed by different schedules {sorted(annealed)} cannot be merged")
    if annealed == {"linear"}:
        raise ValueError("fixed and linearly annealed noise cannot be merged (a linear schedule has no neutral "
                         "setting); use the exponential schedule")
    sigmas, decays = [], []
    for z, n in zip(noises, counts):
        off = z is None or not z.active
        sigmas += _repeat(0.0, n) if off else _repeat(z.sigma, n)
        decays += _repeat(1.0, n) if off or z.schedule == "fixed" else _repeat(z.decay, n)
    if not annealed:
        return InstanceNoise(tuple(sigmas))
    return InstanceNoise(tuple(sigmas), "exponential", tuple(decays))


def _merge_penalties(term_lists: list, counts: list[int]) -> tuple:
    """D terms made of ``Penalty`` objects, merged into one term with per-run weights."""
    by_kind: dict[str, Penalty] = {}
    for terms in term_lists:
        for t in terms:
            if not isinstance(t, Penalty):
                raise ValueError(f"only gradient penalties can differ between merged variants, not {t!r}")
            if t.kind in by_kind and (by_kind[t.kind].schedule, by_kind[t.kind].decay) != (t.schedule, t.decay):
                raise ValueError(f"penalty {t.kind!r} is annealed differently in two variants")
            by_kind.setdefault(t.kind, t)
    if not by_kind:
        return ()
    merged = []
    for kind, first in by_kind.items():
        weights = []
        for terms, n in zip(term_lists, counts):
            mine = [t for t in terms if t.kind == kind]
            weights += _repeat(mine[0].weight, n) if mine else _repeat(0.0, n)
        merged.append(Penalty(kind, tuple(weights), first.schedule, first.decay))
    if len(merged) == 1:
        return (merged[0],)
    if not set(by_kind) <= set(SHARED_GRADIENT):
        raise ValueError(f"penalties {sorted(by_kind)} cannot share one term; only {SHARED_GRADIENT} can")
    return (Penalties(merged),)


def merge(recipes: Sequence[tuple[Recipe, int]]) -> Recipe:
    """One per-run recipe for variants that differ only in numbers.

    Args:
        recipes: (the recipe of a variant, its number of runs), in the order of the runs.
    Returns:
        A ``Recipe`` whose noise and D penalties carry one setting per run; everything else is shared.
    Raises:
        ValueError: if the variants differ in anything else (objective, G terms, constraints, ...).
    """
    recipes = list(recipes)
    if not recipes:
        raise ValueError("merge needs at least one recipe")
    first = recipes[0][0]
    for r, _ in recipes[1:]:
        for part in ("objective", "g_terms", "constraints", "latent_step", "selection"):
            if describe(getattr(r, part)) != describe(getattr(first, part)):
                raise ValueError(f"variants to merge must share their {part}: {describe(getattr(first, part))} "
                                 f"vs {describe(getattr(r, part))}")
    counts = [n for _, n in recipes]
    return Recipe(first.objective, d_terms=_merge_penalties([list(r.d_terms) for r, _ in recipes], counts),
                  g_terms=first.g_terms, constraints=first.constraints,
                  noise=_merge_noise([r.noise for r, _ in recipes], counts), latent_step=first.latent_step,
                  selection=first.selection)

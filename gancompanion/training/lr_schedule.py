"""Learning-rate schedules for the training loop: constant or cosine decay to a floor, with optional linear
warm-up, for one learning rate or one per seed-batched run.

The rate at generator step t is ``lr * factor(t)``: a pure function of the step, so a run resumed from a
checkpoint continues the schedule exactly. Cosine decay follows Loshchilov & Hutter (2017, SGDR, eq. 5)
without restarts: ``floor + (1 - floor) (1 + cos(pi t'/T')) / 2`` over the steps after the warm-up, from 1
at the first to ``floor`` at the last. Warm-up (Goyal et al. 2017, sec. 2.2) is linear, ``(t + 1) / W``
over the first W steps. The discriminator's ``n_dis`` updates within a generator step share its rate.
"""

from __future__ import annotations

import math


from ..validation import choose

SCHEDULES = ("constant", "cosine")


def check(schedule: str, floor, warmup: int, steps: int) -> float | tuple[float, ...] | None:
    """Validate a schedule's settings (naming the bad one); returns ``floor`` as a float or a tuple (per run).

    Args:
        schedule: "constant" or "cosine".
        floor: cosine only: the fraction of each learning rate reached at the last step, in [0, 1]; one
            number or one per run (1 gives that run a constant rate). None: 0 for cosine.
        warmup: steps of linear warm-up, 0 <= warmup < steps.
        steps: the run's generator steps.
    """
    choose("lr_schedule", schedule, SCHEDULES)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or not 0 <= warmup < steps:
        raise ValueError(f"lr_warmup must be an integer in [0, steps) = [0, {steps}), got {warmup!r}")
    if floor is None:
        return None
    if schedule == "constant":
        raise ValueError(f"lr_floor is the cosine schedule's end point; with lr_schedule='constant' leave it None, "
                         f"got {floor!r}")
    values = (floor,) if isinstance(floor, (int, float)) else tuple(floor)
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
                             for v in values):
        raise ValueError(f"lr_floor must be a fraction in [0, 1] or a non-empty sequence of them (one per run), "
                         f"got {floor!r}")
    return float(values[0]) if isinstance(floor, (int, float)) else tuple(float(v) for v in values)


def factor(schedule: str, floor, warmup: int, steps: int, step: int) -> float | tuple[float, ...]:
    """The multiplier of the learning rate at (0-based) generator ``step``; a tuple when ``floor`` is per run."""
    if step < warmup:
        ramp = (step + 1) / warmup
        return ramp if not isinstance(floor, tuple) else tuple(ramp for _ in floor)
    if schedule == "constant":
        return 1.0
    floor = 0.0 if floor is None else floor
    span = steps - warmup - 1
    cos = (1 + math.cos(math.pi * (step - warmup) / span)) / 2 if span > 0 else 0.0
    if isinstance(floor, tuple):
        return tuple(f + (1 - f) * cos for f in floor)
    return floor + (1 - floor) * cos


def apply(optimizer, lr, f) -> None:
    """Set ``optimizer``'s rate to ``lr * f`` (``lr`` and ``f`` each one number or one per run).

    A plain optimiser gets ``lr * f`` in its param groups; a ``train.PerRunLR`` gets the per-run rates.
    """
    if hasattr(optimizer, "set_rates"):
        rates = [a * b for a, b in zip(_per_run(lr, f), _per_run(f, lr))]
        optimizer.set_rates(rates)
        return
    for group in optimizer.param_groups:
        group["lr"] = lr * f


def _per_run(x, other) -> tuple[float, ...]:
    """``x`` as one value per run, the runs counted by whichever of ``x`` and ``other`` is a tuple."""
    if isinstance(x, tuple):
        return x
    return tuple(x for _ in other) if isinstance(other, tuple) else (x,)


def runs(*values) -> int | None:
    """The number of runs the per-run values among ``values`` name (None if none is per run); refuses a mismatch."""
    lengths = {len(v) for v in values if isinstance(v, tuple)}
    if len(lengths) > 1:
        raise ValueError(f"lr_d, lr_g and lr_floor give different numbers of runs: {sorted(lengths)}")
    return lengths.pop() if lengths else None

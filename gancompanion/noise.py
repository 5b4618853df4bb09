"""Instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017, sec. 3) and annealing schedules.

Gaussian noise of std sigma is added to *both* real and generated samples before the
discriminator sees them, so that the two noisy distributions overlap and the optimal
discriminator is no longer perfect. The same schedules anneal a regulariser's weight
(Roth et al. 2017: gamma_t = gamma_0 * 0.01^(t/T)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .validation import choose, nonnegative

SCHEDULES = ("fixed", "linear", "exponential")


def anneal(start: float, step: int, total: int, schedule: str = "fixed", decay: float = 0.01) -> float:
    """Value of an annealed quantity at ``step`` of ``total``.

    ``fixed``: start; ``linear``: start * (1 - t/T); ``exponential``: start * decay^(t/T).
    """
    choose("schedule", schedule, SCHEDULES)
    frac = min(max(step / max(total, 1), 0.0), 1.0)
    if schedule == "fixed":
        return start
    if schedule == "linear":
        return start * (1.0 - frac)
    return start * decay**frac


@dataclass(frozen=True)
class InstanceNoise:
    """Gaussian instance noise with an optional annealing schedule.

    Attributes:
        sigma: noise std at step 0 (>= 0).
        schedule: one of ``SCHEDULES``.
        decay: for ``exponential``, the factor sigma falls by over the whole run.
    """

    sigma: float
    schedule: str = "fixed"
    decay: float = 0.01

    def __post_init__(self):
        nonnegative("sigma", self.sigma)
        choose("schedule", self.schedule, SCHEDULES)
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {self.decay!r}")

    def sigma_at(self, step: int, total: int) -> float:
        return anneal(self.sigma, step, total, self.schedule, self.decay)

    def __call__(self, x: torch.Tensor, standard_normal: torch.Tensor, step: int = 0, total: int = 1) -> torch.Tensor:
        """``x + sigma_t * standard_normal`` (the caller draws the noise, from its own stream)."""
        sigma = self.sigma_at(step, total)
        return x if sigma == 0 else x + sigma * standard_normal

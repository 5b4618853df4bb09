"""Instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017, sec. 3) and annealing schedules.

Gaussian noise of std sigma is added to *both* real and generated samples before the
discriminator sees them, so that the two noisy distributions overlap and the optimal
discriminator is no longer perfect. The same schedules anneal a regulariser's weight
(Roth et al. 2017: gamma_t = gamma_0 * 0.01^(t/T)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..training.parts import Part
from ..validation import choose, nonnegative

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
class InstanceNoise(Part):
    """Gaussian instance noise with an optional annealing schedule.

    Attributes:
        sigma: noise std at step 0 (>= 0): one number, or one per seed-batched run (a tuple), so that
            runs with different noise levels train as one model.
        schedule: one of ``SCHEDULES``.
        decay: for ``exponential``, the factor sigma falls by over the whole run: one number, or one per
            run (a tuple; 1 keeps that run's sigma fixed), so that annealed and fixed noise train as one model.
        stream: the random stream the loop draws its standard normals from (``streams.noise``).
    """

    sigma: float | tuple[float, ...]
    schedule: str = "fixed"
    decay: float | tuple[float, ...] = 0.01
    stream: str = "noise"

    def __repr__(self) -> str:  # the stream is shown when it is not the default (old checkpoints keep their id)
        stream = f", stream={self.stream!r}" if self.stream != "noise" else ""
        return f"InstanceNoise(sigma={self.sigma!r}, schedule={self.schedule!r}, decay={self.decay!r}{stream})"

    def __post_init__(self):
        if isinstance(self.sigma, (int, float)):
            object.__setattr__(self, "sigma", nonnegative("sigma", self.sigma))
        else:
            object.__setattr__(self, "sigma", tuple(nonnegative("sigma", s) for s in self.sigma))
        choose("schedule", self.schedule, SCHEDULES)
        decays = self.decay if isinstance(self.decay, tuple) else (self.decay,)
        for d in decays:
            if not 0 < d <= 1:
                raise ValueError(f"decay must be in (0, 1], got {d!r}")
        if isinstance(self.decay, tuple):
            object.__setattr__(self, "decay", tuple(float(d) for d in decays))
            if isinstance(self.sigma, tuple) and len(self.sigma) != len(self.decay):
                raise ValueError(f"sigma and decay must name the same number of runs, got {len(self.sigma)} "
                                 f"and {len(self.decay)}")

    @property
    def active(self) -> bool:
        """Whether any run gets noise at all."""
        return any(s > 0 for s in (self.sigma if isinstance(self.sigma, tuple) else (self.sigma,)))

    def sigma_at(self, step: int, total: int):
        """sigma_t: a float, or a tuple with one value per run."""
        if isinstance(self.decay, tuple):  # one factor per run, each computed as a single run computes it
            sigmas = self.sigma if isinstance(self.sigma, tuple) else (self.sigma,) * len(self.decay)
            return tuple(s * anneal(1.0, step, total, self.schedule, d) for s, d in zip(sigmas, self.decay))
        factor = anneal(1.0, step, total, self.schedule, self.decay)
        if isinstance(self.sigma, tuple):
            return tuple(s * factor for s in self.sigma)
        return self.sigma * factor

    def __call__(self, x: torch.Tensor, standard_normal: torch.Tensor, step: int = 0, total: int = 1) -> torch.Tensor:
        """``x + sigma_t * standard_normal`` (the caller draws the noise, from its own stream)."""
        sigma = self.sigma_at(step, total)
        if isinstance(sigma, tuple):  # (S,) -> (S, 1, ..., 1) against x (S, B, *event)
            sigma = torch.tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, *([1] * (x.ndim - 1)))
            return x + sigma * standard_normal
        return x if sigma == 0 else x + sigma * standard_normal

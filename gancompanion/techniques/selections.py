"""Selections: parts that choose which generated samples G's loss sees.

``TopK`` (Sinha et al. 2020) keeps the k samples the discriminator scores as most realistic, with
k = max(gamma^epoch, nu) B annealed from the whole batch down to a fraction nu of it (their gamma 0.99,
nu 0.5). It follows the loop's protocol ``TopK()(fake_out, step, total) -> idx (*runs, k)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..training.parts import Part
from ..validation import fraction, nonnegative, positive_int

Tensor = torch.Tensor


def top_k_fraction(epoch: int, gamma: float = 0.99, nu: float = 0.5) -> float:
    """max(gamma^epoch, nu): the fraction of the batch kept at ``epoch`` (Sinha et al. 2020)."""
    fraction("gamma", gamma), fraction("nu", nu), nonnegative("epoch", epoch)
    return max(gamma ** epoch, nu)


def top_k_indices(scores: Tensor, k: int, largest: bool = True) -> Tensor:
    """Indices ``(*runs, k)`` of the ``k`` highest (``largest``) or lowest scores along the last axis."""
    k = positive_int("k", k)
    if k > scores.shape[-1]:
        raise ValueError(f"k must be at most the batch size {scores.shape[-1]}, got {k}")
    return torch.topk(scores, k, dim=-1, largest=largest, sorted=False).indices


@dataclass(frozen=True)
class TopK(Part):
    """Top-k training (Sinha et al. 2020): G's loss sees only the k best-scored generated samples.

    Attributes:
        gamma: decay of the kept fraction per epoch, in (0, 1] (paper: 0.99).
        nu: the smallest kept fraction, in (0, 1] (paper: 0.5).
        epoch_steps: generator steps per "epoch" (a toy stream has no epochs: this sets the anneal's pace).
        largest: keep the highest scores (logits, critics); ``False`` for energies (EBGAN).
    """

    gamma: float = 0.99
    nu: float = 0.5
    epoch_steps: int = 100
    largest: bool = True
    name: str = "top_k"

    def __post_init__(self):
        fraction("gamma", self.gamma)
        fraction("nu", self.nu)
        positive_int("epoch_steps", self.epoch_steps)

    def k(self, step: int, batch: int) -> int:
        """How many of ``batch`` samples are kept at generator step ``step`` (at least 1)."""
        frac = top_k_fraction(step // self.epoch_steps, self.gamma, self.nu)
        return max(1, min(batch, int(round(frac * batch))))

    def __call__(self, fake_out, step: int = 0, total: int = 1) -> Tensor:
        """Indices ``(*runs, k)`` of the kept samples; ``fake_out`` is a DOutput or a ``(*runs, B)`` score tensor."""
        scores = getattr(fake_out, "score", fake_out)
        return top_k_indices(scores.detach(), self.k(step, scores.shape[-1]), self.largest)

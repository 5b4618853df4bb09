"""Training-time units that use the discriminator on the generator's side of the loop.

- ``LatentOptimisation`` (LOGAN, Wu et al. 2019): a latent step before G's forward pass. Each latent
  takes one step up the discriminator's score (down the generator loss), by plain gradient ascent,
  dz = alpha g, or by the damped natural gradient, dz = alpha g / (beta + ``|g|^2``), with
  g = -dL_G/dz per sample; G is then trained on G(z + dz).
- ``TopK`` (Sinha et al. 2020): a selection before G's loss that keeps the k samples the
  discriminator scores as most realistic, with k = max(gamma^epoch, nu) B annealed from the whole batch
  down to a fraction nu of it (their gamma 0.99, nu 0.5).

Both follow the training loop's protocols: ``LatentOptimisation()(z, g, d, objective, step, total) -> z'``
and ``TopK()(fake_out, step, total) -> idx (*runs, k)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..training.parts import Part
from ..validation import choose, fraction, nonnegative, positive, positive_int

Tensor = torch.Tensor

LATENT_METHODS = ("gd", "natural")


@dataclass(frozen=True)
class LatentOptimisation(Part):
    """LOGAN's latent step (Wu et al. 2019, Algorithm 1 and sec. 3.3).

    Attributes:
        alpha: step size (> 0).
        beta: damping of the natural-gradient step (> 0); unused by ``"gd"``.
        method: ``"gd"`` (dz = alpha g) or ``"natural"`` (dz = alpha g / (beta + ``|g|^2``)).
        clip: clamp z' to [-clip, clip] entry-wise (``None``: no clamp).
        through_step: also differentiate G's loss through dz (second-order terms, the source of the
            symplectic-gradient-adjustment reading); ``False`` treats dz as a constant.
    The paper's alpha, beta and clipping are not confirmed in what we could read: the defaults
    (alpha 0.9, beta 5, natural gradient) are the commonly quoted values, labelled as such in the book.
    """

    alpha: float = 0.9
    beta: float = 5.0
    method: str = "natural"
    clip: float | None = None
    through_step: bool = False
    name: str = "logan"

    def __post_init__(self):
        positive("alpha", self.alpha)
        positive("beta", self.beta)
        choose("method", self.method, LATENT_METHODS)
        if self.clip is not None:
            positive("clip", self.clip)

    def delta(self, grad: Tensor) -> Tensor:
        """dz from g = -dL_G/dz (..., latent_dim), per sample."""
        if self.method == "gd":
            return self.alpha * grad
        return self.alpha * grad / (self.beta + (grad ** 2).sum(-1, keepdim=True))

    def __call__(self, z: Tensor, g, d, objective, step: int = 0, total: int = 1) -> Tensor:
        """z' = z + dz, with dz from one gradient of the generator loss at z (D's parameters untouched)."""
        z0 = z.detach().requires_grad_(True)
        batch = z.shape[-2]
        loss = objective.g_loss(d(g(z0)))  # (*runs,): batch means
        (grad,) = torch.autograd.grad(batch * loss.sum(), z0, create_graph=self.through_step)
        z_new = z.detach() + self.delta(-grad if self.through_step else -grad.detach())
        if self.clip is not None:
            z_new = z_new.clamp(-self.clip, self.clip)
        return z_new


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

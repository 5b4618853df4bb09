"""Latent steps: parts that move the generator's latents, using the discriminator, before G's forward pass.

``LatentOptimisation`` (LOGAN, Wu et al. 2019): each latent takes one step up the discriminator's score
(down the generator loss), by plain gradient ascent, dz = alpha g, or by the damped natural gradient,
dz = alpha g / (beta + ``|g|^2``), with g = -dL_G/dz per sample; G is then trained on G(z + dz). It
follows the loop's protocol ``LatentOptimisation()(z, g, d, objective, step, total) -> z'``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..training.parts import Part
from ..validation import choose, positive

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

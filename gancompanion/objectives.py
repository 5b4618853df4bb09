"""GAN objectives as small functions of discriminator outputs.

Each objective is a pair ``(d_loss, g_loss)`` of functions of logits shaped ``(*runs, batch)``
that return one loss per run, shaped ``(*runs,)``; both are minimised. With D = sigmoid(l),
``log D = -softplus(-l)`` and ``log(1 - D) = -softplus(l)`` are computed stably, so a saturated
discriminator gives a tiny but exact gradient instead of an underflow.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from .validation import choose

Tensor = torch.Tensor


class Objective(NamedTuple):
    d_loss: Callable[[Tensor, Tensor], Tensor]  # (real logits, fake logits) -> per-run loss
    g_loss: Callable[[Tensor], Tensor]  # fake logits -> per-run loss


def _mean(x: Tensor) -> Tensor:
    return x.mean(dim=-1)


def bce_d_loss(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """D: minimise -[E log D(x) + E log(1 - D(G(z)))] (Goodfellow et al. 2014, eq. 1).

    ``real_target`` < 1 gives one-sided label smoothing (Salimans et al. 2016, sec. 3.4).
    """
    real_term = real_target * F.softplus(-real) + (1 - real_target) * F.softplus(real)
    return _mean(real_term) + _mean(F.softplus(fake))


def minimax_g_loss(fake: Tensor) -> Tensor:
    """G, original cost: minimise E log(1 - D(G(z))) (saturates when D rejects the samples)."""
    return _mean(-F.softplus(fake))


def nonsaturating_g_loss(fake: Tensor) -> Tensor:
    """G, the -log D alternative: minimise -E log D(G(z)) (Goodfellow et al. 2014, sec. 3)."""
    return _mean(F.softplus(-fake))


def wgan_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Critic: minimise E f(G(z)) - E f(x) (Arjovsky et al. 2017, Algorithm 1)."""
    return _mean(fake) - _mean(real)


def wgan_g_loss(fake: Tensor) -> Tensor:
    """G: minimise -E f(G(z))."""
    return -_mean(fake)


def least_squares_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """LSGAN D: minimise 1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2 (Mao et al. 2017, a=0, b=c=1)."""
    return 0.5 * _mean((real - 1) ** 2) + 0.5 * _mean(fake**2)


def least_squares_g_loss(fake: Tensor) -> Tensor:
    """LSGAN G: minimise 1/2 E (D(G(z)) - 1)^2."""
    return 0.5 * _mean((fake - 1) ** 2)


def hinge_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Hinge D: minimise E relu(1 - D(x)) + E relu(1 + D(G(z))) (Miyato et al. 2018)."""
    return _mean(F.relu(1 - real)) + _mean(F.relu(1 + fake))


OBJECTIVES: dict[str, Objective] = {
    "minimax": Objective(bce_d_loss, minimax_g_loss),
    "nonsaturating": Objective(bce_d_loss, nonsaturating_g_loss),
    "wgan": Objective(wgan_d_loss, wgan_g_loss),
    "least_squares": Objective(least_squares_d_loss, least_squares_g_loss),
    "hinge": Objective(hinge_d_loss, wgan_g_loss),
}


def get_objective(name: str) -> Objective:
    """Look an objective up by name; an unknown name lists the choices."""
    return OBJECTIVES[choose("objective", name, OBJECTIVES)]

"""GAN objectives as small objects of discriminator scores.

Each objective has ``d_loss(real, fake)`` and ``g_loss(fake)``, functions of scores shaped
``(*runs, batch)`` that return one loss per run, shaped ``(*runs,)`` (both are minimised), and
``metrics(real, fake)``: what the training history logs about D, named for what it is (a sigmoid
objective's probabilities and accuracy, a critic's values). With D = sigmoid(l), ``log D = -softplus(-l)``
and ``log(1 - D) = -softplus(l)`` are computed stably, so a saturated discriminator gives a tiny but
exact gradient instead of an underflow.

``get_objective(name, **settings)`` builds one from the registry ``OBJECTIVES``; a chapter adds its own
with ``register``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .parts import Part
from ..validation import choose, fraction

Tensor = torch.Tensor


def _mean(x: Tensor) -> Tensor:
    return x.mean(dim=-1)


def bce_d_loss(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """D: minimise -[E log D(x) + E log(1 - D(G(z)))] (Goodfellow et al. 2014, eq. 1).

    ``real_target`` < 1 gives one-sided label smoothing (Salimans et al. 2016, sec. 3.4).
    """
    real_term = F.softplus(-real) if real_target == 1.0 else \
        real_target * F.softplus(-real) + (1 - real_target) * F.softplus(real)
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


def sigmoid_metrics(real: Tensor, fake: Tensor) -> dict[str, Tensor]:
    """D's mean probability of 'real' on each batch, and its accuracy at 1/2."""
    accuracy = ((real > 0).float().mean(-1) + (fake < 0).float().mean(-1)) / 2
    return {"p_real": _mean(torch.sigmoid(real)), "p_fake": _mean(torch.sigmoid(fake)), "accuracy": accuracy}


def score_metrics(prefix: str) -> Callable[[Tensor, Tensor], dict[str, Tensor]]:
    """The mean raw score on each batch, named ``<prefix>_real`` and ``<prefix>_fake``."""
    return lambda real, fake: {f"{prefix}_real": _mean(real), f"{prefix}_fake": _mean(fake)}


@dataclass(frozen=True)
class Objective(Part):
    """One GAN objective: the two players' losses and what to log about D."""

    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]  # (real scores, fake scores) -> per-run loss
    g_loss: Callable[[Tensor], Tensor]  # fake scores -> per-run loss
    metrics: Callable[[Tensor, Tensor], dict[str, Tensor]]
    settings: tuple = ()  # (name, value) pairs, for the record

    def __repr__(self) -> str:
        return f"Objective({self.name!r}{''.join(f', {k}={v!r}' for k, v in self.settings)})"


def _sigmoid_objective(name: str, g_loss: Callable) -> Callable[..., Objective]:
    def make(real_target: float = 1.0) -> Objective:
        target = fraction("real_target", real_target)
        d_loss = bce_d_loss if target == 1.0 else (lambda r, f: bce_d_loss(r, f, target))
        settings = () if target == 1.0 else (("real_target", target),)
        return Objective(name, d_loss, g_loss, sigmoid_metrics, settings)
    return make


OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "minimax": _sigmoid_objective("minimax", minimax_g_loss),
    "nonsaturating": _sigmoid_objective("nonsaturating", nonsaturating_g_loss),
    "wgan": lambda: Objective("wgan", wgan_d_loss, wgan_g_loss, score_metrics("critic")),
    "least_squares": lambda: Objective("least_squares", least_squares_d_loss, least_squares_g_loss,
                                       score_metrics("score")),
    "hinge": lambda: Objective("hinge", hinge_d_loss, wgan_g_loss, score_metrics("critic")),
}


def register(name: str, factory: Callable[..., Objective]) -> None:
    """Add an objective ``factory(**settings) -> Objective`` to the registry under ``name``."""
    if name in OBJECTIVES and OBJECTIVES[name] is not factory:
        raise ValueError(f"objective {name!r} is already registered")
    OBJECTIVES[name] = factory


def get_objective(name: str | Objective, **settings) -> Objective:
    """An objective by name, with its settings; an unknown name lists the choices."""
    if isinstance(name, Objective):
        if settings:
            raise ValueError("settings go with an objective's name, not with an Objective object")
        return name
    factory = OBJECTIVES[choose("objective", name, OBJECTIVES)]
    try:
        return factory(**settings)
    except TypeError as exc:
        raise ValueError(f"objective {name!r} does not take the settings {sorted(settings)}: {exc}") from None

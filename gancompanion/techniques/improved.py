"""Salimans et al. (2016), "Improved techniques for training GANs": the training terms and the small nets.

- ``FeatureMatching``: a G term, ``||E_x f(x) - E_z f(G(z))||^2`` on an intermediate layer f of D (sec. 3.1);
  the paper's generator minimises it *instead of* the GAN loss (``without_g_loss``).
- ``HistoricalAveraging``: a term for either player, ``||theta - (1/t) sum_i theta[i]||^2`` (sec. 3.3), and
  ``ha_game``, the paper's toy game on which gradient descent orbits and the average does not.
- One-sided label smoothing is ``objectives.get_objective("nonsaturating", real_target=0.9)`` (sec. 3.4).
- ``FeatureDiscriminator``: a seed-batched MLP discriminator exposing its last hidden layer (and, with K
  outputs, class logits), optionally with a minibatch-discrimination layer before its head (sec. 3.2).
- ``MLPGenerator``: a seed-batched MLP generator, optionally with virtual batch norm (sec. 3.5).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..device import generator
from .layers import MinibatchDiscrimination, VirtualBatchNorm
from ..training.nets import ACTIVATIONS, MLP
from ..training.objectives import Objective, get_objective
from ..training.parts import DOutput, Part
from ..validation import choose, finite, nonnegative, positive_int

Tensor = torch.Tensor
PLAYERS = ("g", "d")


class FeatureMatching(Part):
    """G term: the squared distance between the mean features of a real and a generated batch (sec. 3.1).

    As the paper's MNIST code: ``mean_h (mean_b f_fake - mean_b f_real)^2`` over D's last hidden layer
    (``layer="hidden"`` of ``FeatureDiscriminator.forward_features``). The real features are a target
    (computed without gradient). Returns one value per run.
    """

    needs = frozenset({"features", "real"})

    def __init__(self, weight: float = 1.0, layer: str = "hidden", name: str = "feature_matching"):
        self.weight = nonnegative("weight", weight)
        self.layer, self.name = layer, name

    def __call__(self, view, step: int, total: int) -> Tensor:
        for what, out in (("generated", view.fake_out), ("real", view.real_out)):
            if out is None or self.layer not in out.features:
                have = sorted(out.features) if out is not None else []
                raise ValueError(f"feature matching needs D's feature {self.layer!r} on the {what} batch; "
                                 f"D gave {have}")
        f_fake = view.fake_out.features[self.layer].mean(-2)  # (*runs, H)
        f_real = view.real_out.features[self.layer].detach().mean(-2)
        return self.weight * (f_fake - f_real).pow(2).mean(-1)

    def __repr__(self) -> str:
        return f"FeatureMatching(weight={self.weight}, layer={self.layer!r})"


class HistoricalAveraging(Part):
    """A player's penalty ``weight * ||theta - (1/t) sum_{i<=t} theta[i]||^2`` (Salimans et al. 2016, sec. 3.3).

    ``theta[i]`` is the player's parameter vector at its i-th update; the average includes the current
    parameters and is treated as a constant, so the gradient is ``2 weight (theta - mean)``. It serves as a
    G term (``player="g"``) or a D term (``player="d"``); ``bind(g, d)`` picks the parameters. Seed-batched
    parameters (leading runs axis) give one penalty per run.
    """

    needs: frozenset = frozenset()

    def __init__(self, weight: float, player: str = "g", name: str | None = None):
        self.weight = nonnegative("weight", weight)
        self.player = choose("player", player, PLAYERS)
        self.name = name or f"historical_average_{player}"
        self.params: list[nn.Parameter] = []
        self.sums: list[Tensor] = []
        self.count = 0

    def bind(self, g: nn.Module, d: nn.Module) -> None:
        self.params = list((g if self.player == "g" else d).parameters())
        if not self.sums:
            self.sums = [torch.zeros_like(p, dtype=torch.float64) for p in self.params]

    def __call__(self, view, step: int, total: int) -> Tensor:
        if not self.params:
            self.bind(getattr(view, "g", None), view.d)
        runs = view.fake_out.score.shape[:-1]
        with torch.no_grad():
            self.count += 1
            for s, p in zip(self.sums, self.params):
                s.add_(p.detach())
        total_sq = torch.zeros(runs, device=view.fake_out.score.device)
        for s, p in zip(self.sums, self.params):
            sq = (p - (s / self.count).to(p.dtype)).pow(2)
            if p.shape[:len(runs)] == runs:  # seed-batched: one sum per run
                total_sq = total_sq + sq.flatten(start_dim=len(runs)).sum(-1) if sq.ndim > len(runs) else total_sq + sq
            else:
                total_sq = total_sq + sq.sum()
        return self.weight * total_sq

    def state_dict(self) -> dict:
        return {"sums": [s.clone() for s in self.sums], "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.sums = [s.clone() for s in state["sums"]]
        self.count = int(state["count"])

    def __repr__(self) -> str:
        return f"HistoricalAveraging(weight={self.weight}, player={self.player!r})"


def _zero_g_loss(fake: Tensor) -> Tensor:
    return torch.zeros(fake.shape[:-1], device=fake.device, dtype=fake.dtype)


def without_g_loss(objective) -> Objective:
    """``objective`` (a name or an ``objectives.Objective``) with a zero generator loss, so that the generator
    minimises only its G terms: the paper's feature-matching generator has no GAN loss. D's loss and the
    logged metrics are unchanged."""
    base = get_objective(objective)
    return dataclasses.replace(base, name=f"{base.name}, G by its terms only", g_loss=_zero_g_loss)


# --------------------------------------------------------------------------------------------
# The toy game of sec. 3.3


def ha_f(x: np.ndarray) -> np.ndarray:
    """The paper's f: f(x) = x for x < 0, x^2 otherwise."""
    return np.where(x < 0, x, x * x)


def ha_game(start=(0.5, 0.5), lr: float = 0.01, steps: int = 5000, weight: float = 0.0) -> np.ndarray:
    """Simultaneous gradient play on V(x, y) = (f(x) - 1)(y - 1): x minimises V, y maximises it.

    With ``weight`` > 0 each player also minimises ``weight * (theta - mean of its past thetas)^2`` (the mean
    includes the current value and is held constant). The equilibrium is (1, 1). Returns the trajectory
    ``(steps + 1, 2)``.
    """
    lr, weight = finite("lr", lr), nonnegative("weight", weight)
    steps = positive_int("steps", steps)
    xy = np.asarray(start, dtype=float).copy()
    if xy.shape != (2,):
        raise ValueError(f"start must be a pair (x, y), got {start!r}")
    path, total = np.empty((steps + 1, 2)), np.zeros(2)
    path[0] = xy
    for t in range(1, steps + 1):
        x, y = xy
        total += xy
        mean = total / t
        fprime = 1.0 if x < 0 else 2.0 * x
        grad = np.array([fprime * (y - 1.0), -(ha_f(x) - 1.0)])  # descent directions' negatives
        xy = xy - lr * (grad + 2.0 * weight * (xy - mean))
        path[t] = xy
    return path


# --------------------------------------------------------------------------------------------
# Seed-batched MLPs for the chapter's experiments


class FeatureDiscriminator(nn.Module):
    """A seed-batched MLP discriminator that exposes its features.

    ``x (S, N, in) -> hidden layers (activation after each) -> [minibatch discrimination] -> head``. With
    ``outputs=1`` the head gives the logit; with ``outputs=K`` it gives K class logits and the score is their
    log-sum-exp, the real-vs-generated logit of a K+1-class discriminator whose K+1-th logit is fixed at 0
    (Salimans et al. 2016, sec. 5). ``forward_features`` returns ``DOutput(score, {"hidden": last hidden
    layer, "class_logits": ... when K > 1})``.

    Args:
        sizes: ``[in, hidden_1, ..., hidden_L]``.
        seeds: one seed per run.
        activation: a name of ``nets.ACTIVATIONS``.
        minibatch: ``(B, C)`` kernels and kernel size of a minibatch-discrimination layer, ``(B, C, options)``
            with ``options`` the layer's keywords (``{"weight_norm": True, "bias": -1.0}`` as the paper's code),
            or ``None``.
        outputs: 1 (a logit) or K (class logits).
        input_noise, hidden_noise: std of Gaussian noise added (in training mode) to the input and after
            each hidden layer, as in the paper's MNIST code (0.3 and 0.5); 0 for none.
    """

    def __init__(self, sizes: Sequence[int], seeds: Sequence[int], activation: str = "leaky_relu",
                 minibatch: tuple | None = None, outputs: int = 1, input_noise: float = 0.0,
                 hidden_noise: float = 0.0):
        super().__init__()
        choose("activation", activation, ACTIVATIONS)
        sizes, seeds = list(sizes), list(seeds)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list an input and at least one hidden size, got {sizes!r}")
        self.outputs = positive_int("outputs", outputs)
        self.input_noise = nonnegative("input_noise", input_noise)
        self.hidden_noise = nonnegative("hidden_noise", hidden_noise)
        body = MLP(sizes, seeds, "D")
        self.linears = nn.ModuleList([m for m in body if not isinstance(m, tuple(_act_types()))])
        self.act = ACTIVATIONS[activation]()
        width = sizes[-1]
        self.minibatch = None
        if minibatch is not None:
            if len(minibatch) not in (2, 3):
                raise ValueError(f"minibatch must be (B, C) or (B, C, options), got {minibatch!r}")
            b, c, options = (*minibatch, {})[:3]
            self.minibatch = MinibatchDiscrimination(width, b, c, seeds=seeds, **dict(options))
            width += self.minibatch.kernels
        self.head = MLP([width, self.outputs], seeds, "D head")[0]
        self.per_sample = self.minibatch is None  # minibatch features depend on the whole batch

    def _noise(self, h: Tensor, std: float) -> Tensor:
        return h + std * torch.randn_like(h) if self.training and std > 0 else h

    def forward_features(self, x: Tensor) -> DOutput:
        h = self._noise(x, self.input_noise)
        for lin in self.linears:
            h = self._noise(self.act(lin(h)), self.hidden_noise)
        feats = {"hidden": h}
        if self.minibatch is not None:
            h = self.minibatch(h)
        out = self.head(h)  # (S, N, outputs)
        if self.outputs == 1:
            return DOutput(out.squeeze(-1), feats)
        feats["class_logits"] = out
        return DOutput(torch.logsumexp(out, dim=-1), feats)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_features(x).score


def _act_types():
    return (nn.Tanh, nn.ReLU, nn.LeakyReLU)


class MLPGenerator(nn.Module):
    """A seed-batched MLP generator ``z (S, N, latent) -> x (S, N, out)``, optionally with virtual batch norm.

    With ``vbn=n_ref`` every hidden layer is followed by ``layers.VirtualBatchNorm`` before its activation,
    with a reference batch of ``n_ref`` latents per run drawn once from the run's seed; the reference
    latents travel with every call in the same batch and are dropped from the output.

    Args:
        sizes: ``[latent, hidden_1, ..., out]``.
        seeds: one seed per run.
        activation: hidden activation (a name of ``nets.ACTIVATIONS``).
        output: ``"linear"`` or ``"tanh"`` (images in [-1, 1]).
        vbn: reference-batch size, or ``None`` for no normalisation.
    """

    def __init__(self, sizes: Sequence[int], seeds: Sequence[int], activation: str = "relu",
                 output: str = "linear", vbn: int | None = None):
        super().__init__()
        choose("activation", activation, ACTIVATIONS)
        self.output = choose("output", output, ("linear", "tanh"))
        sizes, seeds = list(sizes), list(seeds)
        body = MLP(sizes, seeds, "G", activation)
        self.linears = nn.ModuleList([m for m in body if not isinstance(m, _act_types())])
        self.act = ACTIVATIONS[activation]()
        self.n_ref = 0 if vbn is None else positive_int("vbn", vbn)
        self.norms = nn.ModuleList([VirtualBatchNorm(w, self.n_ref, runs=len(seeds)) for w in sizes[1:-1]]
                                   if vbn is not None else [])
        if vbn is not None:
            z_ref = torch.stack([torch.randn(self.n_ref, sizes[0], generator=generator(s, "vbn-reference"))
                                 for s in seeds])
            self.register_buffer("z_ref", z_ref)  # (S, n_ref, latent)
        self.per_sample = vbn is None

    def forward(self, z: Tensor) -> Tensor:
        h = torch.cat([self.z_ref.expand(*z.shape[:-2], -1, -1), z], dim=-2) if self.n_ref else z
        for i, lin in enumerate(self.linears[:-1]):
            h = lin(h)
            h = self.act(self.norms[i](h) if self.n_ref else h)
        x = self.linears[-1](h)
        x = torch.tanh(x) if self.output == "tanh" else x
        return x[..., self.n_ref:, :]

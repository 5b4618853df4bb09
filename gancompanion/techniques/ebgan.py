"""Energy-based GAN (Zhao, Mathieu & LeCun 2017): an autoencoder as the discriminator.

The discriminator's score is an *energy*, the reconstruction error ``D(x) = ||Dec(Enc(x)) - x||``
(their sec. 2.3): low on data, high elsewhere. The losses (their eq. 1-2), with margin ``m > 0``:

    ``D: minimise  E D(x) + E max(0, m - D(G(z)))``        ``G: minimise  E D(G(z))``

and the *pulling-away term* (their eq. 5) on the encoder's embeddings ``S`` of a generated batch,

    ``PT(S) = 1 / (N (N - 1)) sum_{i != j} (S_i^T S_j / (|S_i| |S_j|))^2``,

added to G's loss to keep the samples' embeddings apart (against mode collapse). Importing this
module registers the objective ``"ebgan"`` with ``objectives.register``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..training import objectives
from ..training.nets import MLP
from ..training.parts import DOutput, Part
from ..validation import nonnegative, positive, positive_int

Tensor = torch.Tensor


class AutoencoderD(nn.Module):
    """Seed-batched MLP autoencoder ``x -> Enc -> embedding -> Dec -> x^``; score = energy ``|x^ - x|``.

    Input (S, B, dim) -> energies (S, B); ``forward_features`` also returns the embedding (S, B, E).
    """

    per_sample = True  # each sample's energy depends on that sample alone

    def __init__(self, in_dim: int, hidden: Sequence[int], embed_dim: int, seeds: Sequence[int],
                 activation: str = "relu", init_std: float | None = None):
        super().__init__()
        positive_int("in_dim", in_dim)
        positive_int("embed_dim", embed_dim)
        hidden = list(hidden)
        self.encoder = MLP([in_dim, *hidden, embed_dim], seeds, "D-encoder", activation, init_std)
        self.decoder = MLP([embed_dim, *hidden[::-1], in_dim], seeds, "D-decoder", activation, init_std)

    def _energy(self, x: Tensor, h: Tensor) -> Tensor:
        err = self.decoder(h) - x  # a linear bottleneck: the embedding is the encoder's last layer
        return err.pow(2).sum(-1).add(1e-12).sqrt()

    def forward(self, x: Tensor) -> Tensor:
        return self._energy(x, self.encoder(x))

    def forward_features(self, x: Tensor) -> DOutput:
        h = self.encoder(x)
        return DOutput(self._energy(x, h), {"embedding": h})


def ebgan_d_loss(real: Tensor, fake: Tensor, margin: float) -> Tensor:
    """D: minimise E D(x) + E max(0, m - D(G(z))) on energies (Zhao et al. 2017, eq. 1)."""
    return real.mean(-1) + torch.relu(margin - fake).mean(-1)


def ebgan_g_loss(fake: Tensor) -> Tensor:
    """G: minimise E D(G(z)) (Zhao et al. 2017, eq. 2)."""
    return fake.mean(-1)


def ebgan_objective(margin: float = 1.0) -> objectives.Objective:
    """The EBGAN margin objective; ``margin`` m > 0 (the energy below which fakes stop being pushed up)."""
    m = positive("margin", margin)
    return objectives.Objective("ebgan", lambda r, f: ebgan_d_loss(r, f, m), ebgan_g_loss,
                                objectives.score_metrics("energy"), (("margin", m),))


def pulling_away(embedding: Tensor, eps: float = 1e-12) -> Tensor:
    """PT of embeddings ``(*runs, N, E)``: the mean squared cosine similarity over pairs i != j, ``(*runs,)``."""
    n = embedding.shape[-2]
    if n < 2:
        raise ValueError(f"the pulling-away term needs at least 2 samples per batch, got {n}")
    s = embedding / embedding.norm(dim=-1, keepdim=True).clamp_min(eps)
    cos2 = (s @ s.transpose(-1, -2)).pow(2)
    off = cos2.sum((-1, -2)) - cos2.diagonal(dim1=-2, dim2=-1).sum(-1)
    return off / (n * (n - 1))


class PullingAway(Part):
    """G term ``weight * PT(Enc(G(z)))`` (Zhao et al. 2017, sec. 2.4; they use weight 0.1)."""

    needs = frozenset({"features"})

    def __init__(self, weight: float = 0.1):
        self.weight = nonnegative("weight", weight)
        self.name = "pulling_away"

    def __repr__(self) -> str:
        return f"PullingAway(weight={self.weight:g})"

    def __call__(self, view, step: int, total: int) -> Tensor:
        return self.weight * pulling_away(view.fake_out.features["embedding"])


objectives.register("ebgan", ebgan_objective)

"""Two layers of Salimans et al. (2016): minibatch discrimination (sec. 3.2) and virtual batch norm (sec. 3.5).

Both work on seed-batched inputs ``(S, B, F)`` (S independent runs, as ``nets.SeedBatchedLinear``) and on
plain ``(B, F)`` batches (``runs=None``). Neither treats samples independently: a discriminator holding a
``MinibatchDiscrimination`` layer must set ``per_sample = False``, so that the training loop scores real and
generated batches in separate calls, as the paper does.
"""

from __future__ import annotations

import torch
from torch import nn

from ..device import generator
from ..validation import finite, nonnegative, positive, positive_int

Tensor = torch.Tensor


class MinibatchDiscrimination(nn.Module):
    """Minibatch features appended to each sample's features (Salimans et al. 2016, sec. 3.2).

    ``f(x_i)`` in R^A is multiplied by a learned tensor T in R^{A x B x C}, giving rows M_{i,b} in R^C;
    ``c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1)`` and ``o(x_i)_b = sum_{j != i} c_b(x_i, x_j)``. The output
    is ``[f(x_i), o(x_i)]`` in R^{A + B}. The paper's code (``nn.py``, ``MinibatchLayer``) uses B = 100
    kernels of C = 5 dimensions, initial weights N(0, 0.05^2), and masks the self-distance by adding 1e6 to
    it, which is what excluding j = i does here. Two options make the layer the code's:

    - ``weight_norm``: T is weight-normalised, each of its B*C columns ``T[:, b, c] = exp(s_bc) theta[:, b, c]
      / ||theta[:, b, c]||_2`` with a learned log-scale s (initially 0), so the layer does not change when
      theta is scaled;
    - ``bias``: a learned per-kernel bias added to o(x) (the code starts it at -1).

    The code's data-dependent initialisation (s and the bias set from a first batch) is not reproduced.

    Args:
        in_features: A.
        kernels: B, the number of kernels (>= 1).
        kernel_dim: C, the dimension of each kernel (>= 1).
        seeds: one seed per run for a seed-batched T (S, A, B*C); ``None`` for one T (A, B*C) from ``init_seed``.
        init_std: standard deviation of T's initial entries (theta's, with ``weight_norm``).
        weight_norm: weight-normalise T (default False: T is used as it is).
        bias: the initial value of the per-kernel bias; ``None`` (default) for no bias.
    Input ``(*runs, N, A)`` -> ``(*runs, N, A + B)``.
    """

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5, seeds=None,
                 init_std: float = 0.05, init_seed: int = 0, weight_norm: bool = False, bias: float | None = None):
        super().__init__()
        self.in_features = positive_int("in_features", in_features)
        self.kernels = positive_int("B (kernels)", kernels)
        self.kernel_dim = positive_int("C (kernel_dim)", kernel_dim)
        init_std = positive("init_std", init_std)
        if not isinstance(weight_norm, bool):
            raise ValueError(f"weight_norm must be True or False, got {weight_norm!r}")
        shape = (in_features, self.kernels * self.kernel_dim)
        if seeds is None:  # one T for every leading axis
            self.T = nn.Parameter(torch.randn(*shape, generator=generator(init_seed, "init", "minibatch")) * init_std)
        else:  # one T per run, run s from seeds[s] alone
            seeds = list(seeds)
            if not seeds:
                raise ValueError("seeds must name at least one seed (or be None for a single T)")
            self.T = nn.Parameter(torch.stack([torch.randn(*shape, generator=generator(s, "init", "minibatch"))
                                               for s in seeds]) * init_std)
        lead = self.T.shape[:-2] + (1,) if self.T.ndim == 3 else ()  # (S, 1) seed-batched, () plain
        self.log_scale = nn.Parameter(torch.zeros(*lead, shape[1])) if weight_norm else None
        if bias is None:
            self.bias = None
        else:
            self.bias = nn.Parameter(torch.full((*lead, self.kernels), finite("bias", bias)))

    def weight(self) -> Tensor:
        """The T that multiplies f(x): T itself, or its weight-normalised columns."""
        if self.log_scale is None:
            return self.T
        return self.T * (self.log_scale.exp() / self.T.square().sum(-2, keepdim=True).sqrt())

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"expected {self.in_features} input features, got shape {tuple(x.shape)}")
        m = x @ self.weight()  # (*runs, N, B*C)
        lead, n = m.shape[:-2], m.shape[-2]
        m = m.reshape(*lead, n, self.kernels, self.kernel_dim).movedim(-2, -3)  # (*runs, B, N, C)
        dist = torch.cdist(m.reshape(-1, n, self.kernel_dim), m.reshape(-1, n, self.kernel_dim), p=1)
        c = torch.exp(-dist.reshape(*lead, self.kernels, n, n))  # (*runs, B, N, N)
        o = (c.sum(-1) - 1.0).movedim(-2, -1)  # drop j = i, whose distance is 0 and c = 1: (*runs, N, B)
        if self.bias is not None:
            o = o + self.bias
        return torch.cat([x, o], dim=-1)  # (*runs, N, A + B)

    def extra_repr(self) -> str:
        runs = f", runs={self.T.shape[0]}" if self.T.ndim == 3 else ""
        options = (", weight_norm=True" if self.log_scale is not None else "") + (
            ", bias=True" if self.bias is not None else "")
        return f"A={self.in_features}, B={self.kernels}, C={self.kernel_dim}{runs}{options}"


class VirtualBatchNorm(nn.Module):
    """Virtual batch normalisation (Salimans et al. 2016, sec. 3.5), for features ``(*runs, N, F)``.

    Every sample is normalised with statistics of a *reference batch*, fixed once at the start, together
    with the sample itself; the reference batch is normalised with its own statistics. The statistics are
    those of the current parameters, so the reference batch goes through the network on every call (the
    paper: "computationally expensive because it requires running forward propagation on two minibatches").
    Here both travel in one call: the first ``n_ref`` rows of the batch axis are the reference batch, the
    rest are the samples (``VBNGenerator`` puts them there). As in the paper's ImageNet code, a sample's
    mean and mean square are ``(n_ref * ref + x) / (n_ref + 1)``.

    Args:
        features: F.
        n_ref: size of the reference batch (>= 1).
        runs: S for seed-batched gains and biases (S, 1, F); ``None`` for (F,).
        eps: added to the variance.
    """

    def __init__(self, features: int, n_ref: int, runs: int | None = None, eps: float = 1e-5):
        super().__init__()
        self.features = positive_int("features", features)
        self.n_ref = positive_int("n_ref", n_ref)
        self.eps = nonnegative("eps", eps)
        shape = (features,) if runs is None else (positive_int("runs", runs), 1, features)
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))

    def forward(self, x: Tensor) -> Tensor:
        k = self.n_ref
        if x.shape[-2] < k:
            raise ValueError(f"the batch axis must start with the {k} reference rows, got shape {tuple(x.shape)}")
        ref, rest = x[..., :k, :], x[..., k:, :]
        mean, sq = ref.mean(-2, keepdim=True), (ref * ref).mean(-2, keepdim=True)  # (*runs, 1, F)
        ref_out = (ref - mean) * torch.rsqrt(sq - mean * mean + self.eps)
        w_new = 1.0 / (k + 1)
        m = w_new * rest + (1 - w_new) * mean  # per sample: (*runs, N, F)
        v = w_new * rest * rest + (1 - w_new) * sq - m * m
        rest_out = (rest - m) * torch.rsqrt(v.clamp_min(0) + self.eps)
        return torch.cat([ref_out, rest_out], dim=-2) * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"features={self.features}, n_ref={self.n_ref}"

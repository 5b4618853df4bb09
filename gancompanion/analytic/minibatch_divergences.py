"""Minibatch divergences: what replacing single samples by i.i.d. minibatches does to a GAN's divergence.

Huszar (2016), "Understanding minibatch discrimination in GANs": a GAN that discriminates minibatches
of N i.i.d. samples minimises d[P^(N) || Q^(N)], where P^(N)(x_1..x_N) = prod_n P(x_n). For Bernoulli
data the number of ones k ~ Binomial(N, p) is a sufficient statistic, so every divergence between the
2^N-outcome product distributions equals the divergence between two binomials on N + 1 outcomes
(``product_divergence``); ``enumerated_divergence`` sums over all 2^N sequences instead and is kept as
the check. ``preference_divergence`` is the adversarial preference loss's d[Q x P || P x Q].

A learned minibatch discriminator (``fit_set_discriminators``) is permutation invariant (Zaheer et al.,
2017, "Deep sets"): D(x_1..x_N) = rho(sum_n phi(x_n)). Trained on sampled minibatches, its value of the
GAN objective is a lower bound on JS[P^(N) || Q^(N)] (Goodfellow et al., 2014, eq. 5 with D fixed);
for Bernoulli data it depends on k alone, so the bound is computed exactly over the binomial.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from scipy import stats
from torch import nn

from . import divergences
from ..training import nets
from ..device import generator
from ..progress import bar
from ..training.objectives import get_objective
from ..training.train import d_step
from ..validation import choose, positive_int

KINDS = {"kl": divergences.kl, "js": divergences.js, "tv": divergences.tv}
LOG2 = divergences.LOG2


def _probability(name: str, p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if np.any(~((p >= 0) & (p <= 1))):
        raise ValueError(f"{name} must be Bernoulli parameters in [0, 1], got {p!r}")
    return p


def binomial_pmf(p, n: int) -> np.ndarray:
    """P(k ones in a minibatch of n Bernoulli(p) samples), k = 0..n: shape ``(*p.shape, n + 1)``."""
    p, n = _probability("p", p), positive_int("n", n)
    return stats.binom.pmf(np.arange(n + 1), n, p[..., None])


def product_divergence(p, q, n: int, kind: str = "js") -> np.ndarray:
    """d[P^(n) || Q^(n)] for P = Bernoulli(p), Q = Bernoulli(q), through the count k (natural log).

    ``kind``: "kl", "js" or "tv". ``p`` and ``q`` broadcast against each other.
    """
    fn = KINDS[choose("kind", kind, KINDS)]
    p, q = np.broadcast_arrays(_probability("p", p), _probability("q", q))
    return fn(binomial_pmf(p, n), binomial_pmf(q, n))


def enumerated_divergence(p: float, q: float, n: int, kind: str = "js") -> float:
    """The same divergence summed over all 2^n binary sequences (for checking; n <= 16)."""
    fn = KINDS[choose("kind", kind, KINDS)]
    if positive_int("n", n) > 16:
        raise ValueError(f"n must be at most 16 for enumeration (2^n sequences), got {n}")
    p, q = float(_probability("p", p)), float(_probability("q", q))
    ones = np.array([sum(s) for s in itertools.product((0, 1), repeat=n)])
    seq = lambda r: r ** ones * (1 - r) ** (n - ones)  # noqa: E731  probability of each sequence
    return float(fn(seq(p), seq(q)))


def preference_divergence(p, q, kind: str = "js") -> np.ndarray:
    """d[Q x P || P x Q]: the adversarial preference loss's divergence (Huszar 2016), where
    ``(Q x P)(x1, x2) = Q(x1) P(x2)``, for Bernoulli P = B(p), Q = B(q) over the 4 pairs (natural log)."""
    fn = KINDS[choose("kind", kind, KINDS)]
    p, q = np.broadcast_arrays(_probability("p", p), _probability("q", q))
    pp, qq = binomial_pmf(p, 1), binomial_pmf(q, 1)  # (..., 2): P(0), P(1)
    joint = lambda a, b: (a[..., :, None] * b[..., None, :]).reshape(*a.shape[:-1], 4)  # noqa: E731
    return fn(joint(qq, pp), joint(pp, qq))


# --- a learned, permutation-invariant minibatch discriminator ------------------------------------

class SetDiscriminator(nn.Module):
    """S seed-batched Deep-Sets discriminators ``logit(x_1..x_N) = rho(sum_n phi(x_n))``.

    Input (S, B, N, dim) minibatches -> logits (S, B); the same for any order of the N samples.
    """

    def __init__(self, dim: int, hidden: int, seeds: Sequence[int], activation: str = "tanh"):
        super().__init__()
        self.phi = nets.MLP([dim, hidden, hidden], seeds, "phi", activation)
        self.act = nets.ACTIVATIONS[activation]()
        self.rho = nets.MLP([hidden, hidden, 1], seeds, "rho", activation, squeeze=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, b, n, dim = x.shape
        h = self.act(self.phi(x.reshape(s, b * n, dim))).reshape(s, b, n, -1).sum(2)  # pool over the set
        return self.rho(h)


def count_batches(n: int, device=None) -> torch.Tensor:
    """One Bernoulli minibatch per count k = 0..n (k ones, then zeros): shape (n + 1, n, 1)."""
    k = torch.arange(n + 1, device=device)
    return (torch.arange(n, device=device) < k[:, None]).float().unsqueeze(-1)


def js_lower_bound(d: SetDiscriminator, p: float, qs, n: int) -> np.ndarray:
    """The GAN objective's value for fixed D, log 2 + E_P log D / 2 + E_Q log(1 - D) / 2, for each run's
    q (natural log), computed exactly over the count k: a lower bound on JS[P^(n) || Q^(n)]."""
    device = next(d.parameters()).device
    with torch.no_grad():
        x = count_batches(n, device).unsqueeze(0).expand(len(qs), -1, -1, -1)
        logits = d(x).double().cpu().numpy()  # (S, n + 1): the logit of a minibatch with k ones
    pk, qk = binomial_pmf(p, n), binomial_pmf(np.asarray(qs), n)
    log_d, log_1md = -np.logaddexp(0, -logits), -np.logaddexp(0, logits)
    return LOG2 + 0.5 * (pk * log_d).sum(-1) + 0.5 * (qk * log_1md).sum(-1)


def fit_set_discriminators(p: float, qs, n: int, *, seeds: Sequence[int], steps: int, batch_size: int,
                           hidden: int = 32, lr: float = 3e-3, device="cpu", progress: bool = True,
                           desc: str = "minibatch D") -> tuple[SetDiscriminator, np.ndarray]:
    """Train one ``SetDiscriminator`` per (seed, q) pair to tell minibatches of n Bernoulli(p) samples
    from minibatches of n Bernoulli(q) samples, all at once, with ``train.d_step`` (the GAN
    cross-entropy, Adam).

    Returns:
        tuple: ``(d, losses)``, the discriminators and the training loss of each run (mean cross-entropy
        per minibatch), shape (steps, runs). Runs are ordered seed-major: run ``i * len(qs) + j`` is
        ``seeds[i]`` against ``qs[j]``. The data of all runs come from one stream seeded by ``seeds[0]``.
    """
    qs = _probability("qs", qs).ravel()
    _probability("p", p)
    runs = [(s, j) for s in seeds for j in range(len(qs))]
    d = SetDiscriminator(1, hidden, [s * 100_003 + j for s, j in runs]).to(device)  # one init per run
    opt = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
    objective = get_objective("nonsaturating")
    q_run = torch.tensor([qs[j] for _, j in runs], dtype=torch.float32, device=device).view(-1, 1, 1, 1)
    gen = generator(int(seeds[0]), "minibatch", "data", device=device)
    shape = (len(runs), batch_size, positive_int("n", n), 1)
    losses = torch.empty(positive_int("steps", steps), len(runs), device=device)
    for t in bar(range(steps), enabled=progress, desc=desc):
        real = (torch.rand(shape, generator=gen, device=device) < p).float()
        fake = (torch.rand(shape, generator=gen, device=device) < q_run).float()
        m = d_step(d, opt, real, fake, objective=objective, event_ndim=2, fuse=True, metrics=False)
        losses[t] = m["d_loss"] / 2
    return d, losses.cpu().numpy()

"""Sampling a trained GAN with the help of its discriminator (after training; never inside ``train``).

- ``truncated_normal``: the truncation trick (Brock et al. 2019): latents from N(0, I) with every entry
  beyond a threshold drawn again.
- ``drs``: discriminator rejection sampling (Azadi et al. 2019): accept G(z) with probability
  sigmoid(F(x)), F = D(x) - D_M - log(1 - exp(D(x) - D_M - eps)) - gamma.
- ``ddls``: discriminator driven latent sampling (Che et al. 2020): Langevin dynamics in latent space on
  the energy E(z) = -log p0(z) - d(G(z)).
- ``dgflow``: discriminator gradient flow (Ansari et al. 2021): the latent Euler-Maruyama update
  z <- z + eta s(d) grad_z d(G(z)) + sqrt(2 eta gamma) xi.

``REFINERS`` names the samplers a chapter compares with plain samples, with their settings.

Shapes follow the package: latents ``(*runs, B, latent_dim)``, samples ``(*runs, B, *event)``, D's
logits ``(*runs, B)`` (seed-batched MLPs have runs = (S,)). D must score each sample on its own, so
that the gradient of the summed logits is every sample's own gradient. Every method returns a
``Sampled`` with its cost per returned sample, counted in generator and discriminator evaluations
(one evaluation = one forward pass of a batch element, with its backward pass where a gradient is
taken) and in wall-clock seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import torch

from .validation import choose, finite, nonnegative, positive, positive_int

Tensor = torch.Tensor


@dataclass(frozen=True)
class Cost:
    """What one returned sample cost, per run (arrays shaped ``runs``; a float where all runs agree).

    Attributes:
        g_evals: generator evaluations per returned sample.
        d_evals: discriminator evaluations per returned sample.
        seconds: wall-clock seconds per returned sample (all runs computed together).
    """

    g_evals: np.ndarray | float
    d_evals: np.ndarray | float
    seconds: float


class Sampled(NamedTuple):
    samples: Tensor  # (*runs, n, *event)
    latents: Tensor  # (*runs, n, latent_dim): the latents the samples came from
    cost: Cost
    extra: dict  # method-specific diagnostics (e.g. DRS's acceptance rate and gamma)


# ---------------------------------------------------------------------------------------------
# Truncation (Brock et al. 2019, sec. 3.1)


def truncate(z: Tensor, threshold: float, generator: torch.Generator | None = None,
             max_rounds: int = 10_000) -> Tensor:
    """Redraw from N(0, 1) every entry of ``z`` with ``|z| > threshold`` until none is left.

    The result has the distribution of a standard normal truncated to [-threshold, threshold],
    entry by entry. ``threshold <= 0`` is a ValueError (no normal draw would ever be accepted).
    """
    threshold = positive("threshold", threshold)
    z = z.clone()
    for _ in range(max_rounds):
        bad = z.abs() > threshold
        n_bad = int(bad.sum())
        if n_bad == 0:
            return z
        z[bad] = torch.randn(n_bad, generator=generator, device=z.device, dtype=z.dtype)
    raise RuntimeError(f"truncation at threshold {threshold} did not finish in {max_rounds} rounds")


def truncated_normal(shape: tuple[int, ...], threshold: float | None, generator: torch.Generator | None = None,
                     device=None) -> Tensor:
    """Latents of ``shape`` from N(0, I) truncated entry-wise at ``threshold`` (``None``: not truncated)."""
    device = generator.device if generator is not None else (device or "cpu")
    z = torch.randn(*shape, generator=generator, device=device)
    return z if threshold is None else truncate(z, threshold, generator)


# ---------------------------------------------------------------------------------------------
# Discriminator rejection sampling (Azadi et al. 2019, Algorithm 1)


def drs_score(logits: Tensor, d_max: Tensor, eps: float = 1e-6, gamma: Tensor | float = 0.0) -> Tensor:
    """F(x) = D(x) - D_M - log(1 - exp(D(x) - D_M - eps)) - gamma; accept x with probability sigmoid(F).

    Args:
        logits: ``(*runs, B)`` discriminator logits D(x).
        d_max: ``(*runs,)`` the largest logit seen so far, D_M.
        eps: keeps the logarithm finite at D(x) = D_M.
        gamma: ``(*runs,)`` or a float: shifts the acceptance rate (gamma = 0 with an optimal D accepts
            with probability exp(D(x) - D_M), i.e. exact rejection sampling of p_data).
    """
    delta = logits - d_max.unsqueeze(-1) if torch.is_tensor(d_max) else logits - d_max
    delta = delta.clamp(max=0.0)  # D_M is a running maximum: a larger logit has just raised it
    gamma = gamma.unsqueeze(-1) if torch.is_tensor(gamma) and gamma.ndim else gamma
    return delta - torch.log(-torch.expm1(delta - eps)) - gamma


def drs(g, d, n: int, latent_shape: tuple[int, ...], *, gamma: float | None = None,
        percentile: float = 80.0, eps: float = 1e-6, burn_in: int = 10_000, batch: int = 1000,
        max_proposals: int = 1_000_000, generator: torch.Generator | None = None) -> Sampled:
    """Discriminator rejection sampling (Azadi et al. 2019): ``n`` accepted samples per run.

    A burn-in of ``burn_in`` proposals per run sets D_M (the largest logit) and, unless ``gamma`` is
    given, gamma as the ``percentile``-th percentile of F (with gamma = 0) over the burn-in, per run
    (Azadi et al. set gamma from a percentile of F; which one they used is not stated, so it is a
    setting here). D_M is then kept up to date: every proposal batch raises it before scoring.

    Args:
        g, d: the trained generator and discriminator (logits).
        n: accepted samples wanted per run.
        latent_shape: ``(*runs, latent_dim)``: the runs of G and its latent size.
        gamma: a fixed shift (overrides ``percentile``).
        percentile: in [0, 100]; 0 accepts nearly everything, 100 almost nothing.
        eps, burn_in, batch, max_proposals: see above; ``max_proposals`` is per run.
    Raises:
        ValueError: a bad setting, or a gamma that left a run with fewer than ``n`` accepted samples
            after ``max_proposals`` proposals.
    """
    n, burn_in, batch = positive_int("n", n), positive_int("burn_in", burn_in), positive_int("batch", batch)
    max_proposals = positive_int("max_proposals", max_proposals)
    eps = positive("eps", eps)
    if not 0 <= finite("percentile", percentile) <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {percentile!r}")
    if gamma is not None:
        gamma = finite("gamma", gamma)
    *runs, latent_dim = latent_shape
    device = next(g.parameters()).device
    uniform_gen = generator
    t0 = time.perf_counter()
    proposals = 0

    def propose(b):
        z = torch.randn(*runs, b, latent_dim, generator=generator, device=device)
        x = g(z)
        return z, x, d(x)

    with torch.no_grad():
        logit_chunks = []
        for start in range(0, burn_in, batch):
            logit_chunks.append(propose(min(batch, burn_in - start))[2])
        burn_logits = torch.cat(logit_chunks, -1)  # (*runs, burn_in)
        proposals += burn_in
        d_max = burn_logits.amax(-1)  # (*runs,)
        if gamma is None:
            f0 = drs_score(burn_logits, d_max, eps, 0.0)
            gamma_t = torch.quantile(f0.float(), percentile / 100, dim=-1).to(f0.dtype)  # (*runs,)
        else:
            gamma_t = torch.full_like(d_max, gamma)
        kept_x, kept_z = [], []
        n_kept = torch.zeros(d_max.shape, dtype=torch.long, device=device)
        rounds = 0
        while bool((n_kept < n).any()) and rounds * batch < max_proposals:
            z, x, logits = propose(batch)
            rounds += 1
            d_max = torch.maximum(d_max, logits.amax(-1))
            p = torch.sigmoid(drs_score(logits, d_max, eps, gamma_t))  # (*runs, batch)
            u = torch.rand(p.shape, generator=uniform_gen, device=device)
            accept = u < p
            kept_x.append((x, accept)), kept_z.append(z)
            n_kept += accept.sum(-1)
        proposals += rounds * batch
    short = n_kept < n
    if bool(short.any()):
        raise ValueError(f"gamma {gamma_t.flatten().tolist()} accepted only {n_kept.min().item()} of the "
                         f"{n} samples wanted within max_proposals={max_proposals} proposals per run; "
                         "lower gamma (or percentile) or raise max_proposals")
    samples, latents, used = _gather_accepted(kept_x, kept_z, n, len(runs))
    seconds = time.perf_counter() - t0
    per_sample = (burn_in + used) / n  # proposals needed per accepted sample, per run
    total_out = n * int(np.prod(runs)) if runs else n
    accepted = n_kept.cpu().numpy().astype(float)
    return Sampled(samples, latents, Cost(per_sample, per_sample, seconds / total_out),
                   {"gamma": gamma_t.cpu().numpy(), "d_max": d_max.cpu().numpy(),
                    "acceptance": accepted / (rounds * batch), "proposals": proposals})


def _gather_accepted(kept_x, kept_z, n: int, n_runs_axes: int):
    """The first ``n`` accepted samples of every run, and how many proposals each run used to get them."""
    accept = torch.cat([a for _, a in kept_x], -1)  # (*runs, P)
    x = torch.cat([x for x, _ in kept_x], n_runs_axes)  # (*runs, P, *event)
    z = torch.cat(kept_z, n_runs_axes)  # (*runs, P, latent_dim)
    runs = accept.shape[:-1]
    flat_a = accept.reshape(-1, accept.shape[-1])
    flat_x = x.reshape(flat_a.shape[0], flat_a.shape[1], *x.shape[n_runs_axes + 1:])
    flat_z = z.reshape(flat_a.shape[0], flat_a.shape[1], z.shape[-1])
    xs, zs, used = [], [], []
    for r in range(flat_a.shape[0]):
        idx = flat_a[r].nonzero().squeeze(-1)[:n]
        xs.append(flat_x[r, idx]), zs.append(flat_z[r, idx])
        used.append(int(idx[-1]) + 1)
    samples = torch.stack(xs).reshape(*runs, n, *flat_x.shape[2:])
    latents = torch.stack(zs).reshape(*runs, n, flat_z.shape[-1])
    return samples, latents, np.array(used, dtype=float).reshape(runs) if runs else float(used[0])


# ---------------------------------------------------------------------------------------------
# Langevin dynamics in latent space


def langevin(z: Tensor, energy: Callable[[Tensor], Tensor], step_size: float, steps: int,
             generator: torch.Generator | None = None) -> Tensor:
    """``steps`` steps of z <- z - (eps/2) grad E(z) + sqrt(eps) n, n ~ N(0, I) (unadjusted Langevin).

    Args:
        z: (..., dim) starting points (one chain per row).
        energy: maps z to per-chain energies (...); only the gradient of their sum is used, so the
            chains must not interact.
        step_size: eps > 0.
        steps: >= 1.
    """
    step_size, steps = positive("step_size", step_size), positive_int("steps", steps)
    z = z.detach()
    for _ in range(steps):
        z.requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(z).sum(), z)
        noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        z = (z.detach() - 0.5 * step_size * grad + math.sqrt(step_size) * noise).detach()
    return z


def ddls(g, d, z: Tensor, *, step_size: float = 0.01, steps: int = 50,
         generator: torch.Generator | None = None) -> Sampled:
    """Discriminator driven latent sampling (Che et al. 2020): Langevin on E(z) = ``|z|^2/2`` - d(G(z)).

    The GAN read as an energy-based model, p_t(x) ~ p_g(x) e^{d(x)}, is sampled in latent space,
    where p_t(z) ~ p0(z) e^{d(G(z))} with p0 = N(0, I) and d the discriminator's logit. Che et al.'s
    step size and number of steps are not stated in what we could read: the defaults are ours.

    Args:
        z: ``(*runs, n, latent_dim)`` starting latents (draws from p0).
    """
    step_size, steps = positive("step_size", step_size), positive_int("steps", steps)
    t0 = time.perf_counter()
    with _frozen(g, d):
        z_out = langevin(z, lambda v: 0.5 * (v ** 2).sum(-1) - d(g(v)), step_size, steps, generator)
        with torch.no_grad():
            x = g(z_out)
    return Sampled(x, z_out, _chain_cost(steps, z, time.perf_counter() - t0), {})


# ---------------------------------------------------------------------------------------------
# Discriminator gradient flow (Ansari et al. 2021)

DIVERGENCES = {  # s(d): the weight of grad d in the flow of each f-divergence (Ansari et al. 2021)
    "KL": lambda logit: torch.ones_like(logit),
    "logD": lambda logit: torch.sigmoid(-logit),
    "JS": lambda logit: torch.sigmoid(logit),
}


def dgflow_step(z: Tensor, g, d, eta: float, gamma: float, divergence: str = "KL",
                generator: torch.Generator | None = None) -> Tensor:
    """One latent Euler-Maruyama step: z + eta s(d) grad_z d(G(z)) + sqrt(2 eta gamma) xi."""
    eta, gamma = positive("eta", eta), nonnegative("gamma", gamma)
    weight = DIVERGENCES[choose("divergence", divergence, DIVERGENCES)]
    z = z.detach().requires_grad_(True)
    logit = d(g(z))  # (*runs, n)
    (grad,) = torch.autograd.grad(logit.sum(), z)
    drift = eta * weight(logit.detach()).unsqueeze(-1) * grad
    out = z.detach() + drift
    if gamma > 0:
        out = out + math.sqrt(2 * eta * gamma) * torch.randn(z.shape, generator=generator, device=z.device,
                                                             dtype=z.dtype)
    return out


def dgflow(g, d, z: Tensor, *, eta: float = 0.1, gamma: float = 0.01, steps: int = 25, divergence: str = "KL",
           generator: torch.Generator | None = None) -> Sampled:
    """Discriminator gradient flow in latent space (Ansari et al. 2021; their defaults eta 0.1,
    gamma 0.01, 25 steps, and, like their code, no latent-prior term).

    Args:
        z: ``(*runs, n, latent_dim)`` starting latents.
        divergence: ``"KL"`` (s = 1), ``"logD"`` (s = sigmoid(-d)) or ``"JS"`` (s = sigmoid(d)).
    """
    eta, gamma = positive("eta", eta), nonnegative("gamma", gamma)
    steps = positive_int("steps", steps)
    choose("divergence", divergence, DIVERGENCES)
    t0 = time.perf_counter()
    with _frozen(g, d):
        for _ in range(steps):
            z = dgflow_step(z, g, d, eta, gamma, divergence, generator)
        with torch.no_grad():
            x = g(z)
    return Sampled(x, z.detach(), _chain_cost(steps, z, time.perf_counter() - t0), {})


# ---------------------------------------------------------------------------------------------
# The samplers a chapter compares with plain samples: name -> refine(g, d, z, settings, generator) -> Sampled,
# from the starting latents z (*runs, n, latent_dim); a sampler's settings are named <its key>_<setting>.

REFINERS: dict[str, Callable[..., Sampled]] = {
    "DRS": lambda g, d, z, s, gen: drs(g, d, z.shape[-2], (*z.shape[:-2], z.shape[-1]), percentile=s.drs_percentile,
                                       eps=s.drs_eps, burn_in=s.drs_burn_in, batch=z.shape[-2], generator=gen),
    "DDLS": lambda g, d, z, s, gen: ddls(g, d, z, step_size=s.ddls_step, steps=s.ddls_steps, generator=gen),
    "DGFlow": lambda g, d, z, s, gen: dgflow(g, d, z, eta=s.dgflow_eta, gamma=s.dgflow_gamma, steps=s.dgflow_steps,
                                             generator=gen),
}


def _chain_cost(steps: int, z: Tensor, seconds: float) -> Cost:
    """A latent chain of ``steps`` gradient steps costs ``steps`` D and ``steps + 1`` G evaluations
    (the last to decode the final latent) per sample."""
    n_out = int(np.prod(z.shape[:-1]))
    return Cost(float(steps + 1), float(steps), seconds / max(n_out, 1))


class _frozen:
    """Within the block, no parameter of the given modules accumulates a gradient."""

    def __init__(self, *modules):
        self.params = [p for m in modules for p in m.parameters()]

    def __enter__(self):
        self.flags = [p.requires_grad for p in self.params]
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc):
        for p, f in zip(self.params, self.flags):
            p.requires_grad_(f)
        return False

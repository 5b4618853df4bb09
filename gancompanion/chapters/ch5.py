"""The ablation of Salimans et al.'s (2016) techniques: one baseline, each technique added alone, all together.

Every variant is a seed-batched generator/discriminator pair and a set of parts for ``train.train``; all
variants of one table train on the same seeds, data and step budget. ``VARIANTS`` names them in table order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..evaluation import metrics
from ..training import train
from ..device import generator
from ..training.objectives import get_objective
from ..training.streams import ToyStreams
from ..techniques.improved import (FeatureDiscriminator, FeatureMatching, HistoricalAveraging, MLPGenerator,
                                   without_g_loss)
from ..validation import choose

VARIANTS = ("baseline", "feature matching", "minibatch discrimination", "historical averaging",
            "label smoothing", "virtual batch norm", "all together")
TECHNIQUES = VARIANTS[1:-1]


@dataclass(frozen=True, eq=False)
class Empirical:
    """Draws (with replacement) from a fixed data set ``(N, dim)``, as a ``ToyStreams`` distribution."""

    data: torch.Tensor

    @property
    def dim(self) -> int:
        return self.data.shape[1]

    def sample(self, shape, generator=None, device=None) -> torch.Tensor:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        dev = generator.device if generator is not None else torch.device(device or "cpu")
        idx = torch.randint(len(self.data), shape, generator=generator, device=dev)
        return self.data.to(dev)[idx]


def techniques_of(variant: str) -> tuple[str, ...]:
    """The techniques a variant uses."""
    choose("variant", variant, VARIANTS)
    return TECHNIQUES if variant == "all together" else tuple(t for t in TECHNIQUES if t == variant)


def build(variant: str, cfg, seeds, data_dim: int, output: str = "linear"):
    """Networks and parts of one variant. ``cfg`` needs: latent_dim, g_hidden, d_hidden, kernels, kernel_dim,
    ha_weight, real_target, vbn_ref.

    Returns:
        ``(g, d, parts)`` with ``parts`` the keyword arguments of ``train.train`` (objective, terms).
    """
    used = techniques_of(variant)
    g = MLPGenerator([cfg.latent_dim, *cfg.g_hidden, data_dim], seeds, activation="relu", output=output,
                     vbn=cfg.vbn_ref if "virtual batch norm" in used else None)
    d = FeatureDiscriminator([data_dim, *cfg.d_hidden], seeds, activation="leaky_relu",
                             minibatch=(cfg.kernels, cfg.kernel_dim) if "minibatch discrimination" in used else None)
    target = cfg.real_target if "label smoothing" in used else 1.0
    objective = get_objective("nonsaturating", real_target=target)
    g_terms, d_terms = [], []
    if "feature matching" in used:  # the paper's G minimises feature matching instead of the GAN loss
        objective = without_g_loss(objective)
        g_terms.append(FeatureMatching())
    if "historical averaging" in used:  # on both players, as the paper
        g_terms.append(HistoricalAveraging(cfg.ha_weight, "g"))
        d_terms.append(HistoricalAveraging(cfg.ha_weight, "d"))
    return g, d, dict(objective=objective, g_terms=g_terms, d_terms=d_terms)


def mode_histograms(samples: np.ndarray, dist) -> np.ndarray:
    """Per run, the fraction of samples nearest to each mode, ``(S, K)``."""
    idx, _ = metrics.nearest_mode(samples, dist.centers)
    k = len(dist.centers)
    return np.stack([np.bincount(row, minlength=k) / len(row) for row in idx])


def mode_hopping(snapshots: list[np.ndarray], dist) -> np.ndarray:
    """Mean total-variation distance between consecutive snapshots' mode histograms, per run ``(S,)``:
    how much of the generated mass moves between modes from one snapshot to the next."""
    if len(snapshots) < 2:
        raise ValueError("mode_hopping needs at least two snapshots")
    hists = [mode_histograms(s, dist) for s in snapshots]
    return np.mean([0.5 * np.abs(b - a).sum(-1) for a, b in zip(hists[:-1], hists[1:])], axis=0)


def run_toy(variant: str, cfg, dist, seeds, device, progress: bool = True) -> dict:
    """Train one variant on a 2-D mixture; snapshots of ``cfg.n_eval`` samples every ``cfg.eval_every`` steps.

    Returns:
        dict with ``samples`` {step: (S, n, 2)}, ``history`` (DataFrame), ``modes``, ``hq`` and ``p_real``
        (final, per run), ``hopping`` (mode hopping over the second half of the snapshots, per run).
    """
    g, d, parts = build(variant, cfg, seeds, dist.dim)
    g, d = g.to(device), d.to(device)
    streams = ToyStreams(dist, seeds, cfg.batch_size, cfg.latent_dim, device=device)
    tc = train.TrainConfig(steps=cfg.steps, lr_d=cfg.lr, lr_g=cfg.lr, betas=tuple(cfg.betas),
                           log_every=min(cfg.log_every, cfg.steps))
    every = max(1, min(cfg.eval_every, cfg.steps // 4))  # at least two snapshots in the second half
    res = train.train(g, d, streams, tc, hooks=[train.samples_hook(cfg.n_eval, every)],
                      progress=progress, desc=variant, compile=False, **parts)
    snaps = res.records["samples"]
    steps = sorted(snaps)
    final = snaps[steps[-1]]
    ev = metrics.evaluate(final, dist)
    late = [snaps[s] for s in steps if s >= cfg.steps // 2]
    hist = res.history
    last = hist[hist.step > cfg.steps * 3 // 4].groupby("run")["p_real"].mean().reindex(list(seeds)).to_numpy()
    return dict(samples=snaps, history=hist, modes=ev["modes"], hq=ev["hq_fraction"], p_real=last,
                hopping=mode_hopping(late, dist), g=g, d=d)


def run_digits(variant: str, cfg, x_train: torch.Tensor, seeds, device, progress: bool = True) -> dict:
    """Train one variant on flat digits (N, 64) in [-1, 1] (tanh output); returns the generator, the
    history and ``cfg.n_eval`` samples per run from fixed latents, ``(S, n, 64)``."""
    dist = Empirical(x_train.to(device))
    g, d, parts = build(variant, cfg, seeds, dist.dim, output="tanh")
    g, d = g.to(device), d.to(device)
    streams = ToyStreams(dist, seeds, cfg.batch_size, cfg.latent_dim, device=device)
    tc = train.TrainConfig(steps=cfg.steps, lr_d=cfg.lr, lr_g=cfg.lr, betas=tuple(cfg.betas),
                           log_every=min(cfg.log_every, cfg.steps))
    res = train.train(g, d, streams, tc, progress=progress, desc=variant, compile=False, **parts)
    g.eval()
    with torch.no_grad():
        samples = g(streams.fixed_latent(cfg.n_eval))
    return dict(samples=samples, history=res.history, g=g, d=d)


def smoothing_probe(cfg, dist, seeds, real_target: float, device, progress: bool = True, objective=None) -> dict:
    """A discriminator trained with ``train.d_step`` against a frozen, untrained generator (sec. 3.4).

    ``cfg`` needs hidden, batch_size, lr, steps, n_eval. Returns ``p_real`` (steps, S), D's mean probability
    of "real" on each training batch of real samples, ``final`` (S,), on ``cfg.n_eval`` fresh real samples,
    and ``final_fake`` (S,), on ``cfg.n_eval`` generated ones (fixed latents). ``objective`` replaces the
    non-saturating one with ``real_target`` (e.g. to try two-sided smoothing).
    """
    from ..progress import bar

    objective = objective or get_objective("nonsaturating", real_target=real_target)
    g = MLPGenerator([2, *cfg.hidden, dist.dim], seeds).to(device)
    d = FeatureDiscriminator([dist.dim, *cfg.hidden], seeds).to(device)
    streams = ToyStreams(dist, seeds, cfg.batch_size, 2, device=device)
    opt = train.make_optimizer(d.parameters(), cfg.lr, (0.5, 0.999), device)
    curve = []
    for step in bar(range(cfg.steps), desc=f"D, real target {real_target}", enabled=progress):
        with torch.no_grad():
            fake = g(streams.latent())
        out = train.d_step(d, opt, streams.real(), fake, objective=objective, streams=streams, step=step,
                           total=cfg.steps, event_ndim=1, fuse=True)
        curve.append(out["p_real"])
    with torch.no_grad():
        real = torch.stack([dist.sample(cfg.n_eval, generator=generator(s, "eval-real")) for s in seeds]).to(device)
        final = torch.sigmoid(d(real)).mean(-1)
        final_fake = torch.sigmoid(d(g(streams.fixed_latent(cfg.n_eval)))).mean(-1)
    return dict(p_real=torch.stack(curve).cpu().numpy(), final=final.cpu().numpy(),
                final_fake=final_fake.cpu().numpy())

"""Chapter 6: the 5+n tricks (the tutorial "5+n tricks"), each against one trained baseline GAN on the grid of 25.

``Tricks`` holds the chapter's settings, seeds and device and trains the baseline: PacGAN's toy set-up with a
recipe measured to reach the literature's level (ReLU MLPs with three hidden layers of 128, the non-saturating
loss, Adam 1e-3 decayed by a cosine to 1e-5, batch 256, 10,000 steps, the data standardised to unit spread).
Its verdict comes first (``baseline_trained``); every comparison is ``gated`` by it. Training variants at the
same budget: annealed instance noise (Sonderby et al. 2017), top-k training (Sinha et al. 2020), spectral
normalisation across Miyato et al.'s (2018) learning rates and LOGAN as published (Wu et al. 2019). After
training, on the baseline's own networks: truncation (Brock et al. 2019) with its premise measured first,
and again within a class of a class-conditional model (the class = the mode, fed to both players by
concatenation, Mirza & Osindero 2014) trained with the same recipe and checked for the same level; and refinement with the trained discriminator (DRS, Azadi et al. 2019; DDLS, Che et al. 2020; DGFlow,
Ansari et al. 2021) with latent step sizes from a displacement rule, and DRS's cost against the data's
dimension. The figures, the sentences that read them and the claims' verdicts (``verdicts.judge`` with the
effects declared in ``claims.CATALOGUE``) live here too.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import data, plotting, sampling
from ..device import generator
from ..evaluation import metrics, verdicts
from ..evaluation.verdicts import Effect, Result
from ..pipeline.claims import CATALOGUE
from ..techniques import constraints, latent, noise, selections
from ..training import lr_schedule, nets, streams, train
from ..training.parts import Recipe
from .chapter import one_cpu_thread

REFINED = ("DRS", "DDLS", "DGFlow")  # the samplers of section 4, by their claim's suffix below
CLAIM_OF = {"DRS": "drs", "DDLS": "ddls", "DGFlow": "dgflow"}
BASELINE_CLAIM = "ch6.grid-baseline-trained"
CONDITIONAL_CLAIM = "ch6.conditional-baseline-trained"
CONDITIONAL_TRADEOFF = "ch6.truncation-tradeoff-conditional"


def standardised(dist: data.GaussianMixture) -> tuple[data.GaussianMixture, float]:
    """The mixture divided by the RMS coordinate of its centres (unit spread; the grid's is 2.83, as in
    Gulrajani et al.'s toy code) and that factor. HQ fraction and modes are invariant to it."""
    scale = float(dist.centers.pow(2).mean().sqrt())
    return data.GaussianMixture(dist.centers / scale, dist.std / scale), scale


def spacing(dist) -> float:
    """The smallest distance between two mode centres."""
    c = dist.centers.double()
    return float((torch.cdist(c, c) + torch.eye(len(c), dtype=c.dtype) * 1e9).min())


@dataclass
class Tricks:
    """The chapter's settings (``scales.TABLE["ch6.tricks"]``), generator steps, seeds, device and seed block."""

    cfg: object
    steps: int
    seeds: list
    device: object
    seed: int

    @property
    def eval_every(self) -> int:
        return max(1, min(self.cfg.eval_every, self.steps))

    @property
    def grid(self) -> data.GaussianMixture:
        return standardised(data.grid())[0]

    def build(self, run_seeds, classes: int = 0):
        """Fresh seed-batched G and D for ``run_seeds``; with ``classes`` K > 0, class-conditional by
        concatenation: G reads ``[z, y]`` and D ``[x, y]`` (y one-hot, ``nets.ClassConditional``)."""
        hidden = [self.cfg.hidden] * self.cfg.depth
        g = nets.mlp_generator(self.cfg.latent_dim + classes, hidden, 2, run_seeds, activation=self.cfg.activation)
        d = nets.mlp_discriminator(2 + classes, hidden, run_seeds, activation=self.cfg.activation)
        g = nets.ClassConditional(g, classes) if classes else g
        return g.to(self.device), d.to(self.device)

    def config(self, lr=None, betas=None, n_dis: int = 1) -> train.TrainConfig:
        """The recipe's optimiser: Adam at ``lr`` decayed by a cosine to ``lr_floor`` of it, ``n_dis`` D steps."""
        cfg = self.cfg
        lr = cfg.lr if lr is None else lr
        return train.TrainConfig(steps=self.steps, lr_d=lr, lr_g=lr, betas=tuple(betas or cfg.betas), n_dis=n_dis,
                                 lr_schedule="cosine", lr_floor=cfg.lr_floor, log_every=self.eval_every)

    def numbers(self) -> dict:
        cfg = self.cfg
        return dict(hidden=cfg.hidden, depth=cfg.depth, lr=cfg.lr, lr_end=cfg.lr * cfg.lr_floor, batch=cfg.batch_size,
                    n_eval=cfg.n_eval, steps=self.steps, n_seeds=len(self.seeds), seed_first=self.seeds[0],
                    seed_last=self.seeds[-1], data_scale=standardised(data.grid())[1],
                    k_count=metrics.min_count(cfg.n_eval, 25), premise_n=cfg.premise_n)


def train_runs(t: Tricks, recipe: Recipe, desc: str, *, prior: str = "normal", seeds=None, d_wrap=None,
               conditional: bool = False, **optimiser) -> dict:
    """One seed-batched model of ``recipe`` on the grid (the baseline's nets, data, budget and optimiser),
    evaluated every ``eval_every`` steps on ``n_eval`` samples of fixed latents: its networks, streams,
    ``evals`` (step -> metrics) and seconds. ``d_wrap`` wraps D (e.g. a fixed gain on its logit);
    ``conditional`` trains a class-conditional GAN, the class being the mode (``streams.ConditionalToyStreams``),
    evaluated on fixed latents whose classes take turns (every mode asked for equally often)."""
    seeds = list(t.seeds if seeds is None else seeds)
    make = streams.ConditionalToyStreams if conditional else streams.ToyStreams
    batch = t.cfg.conditional_batch_size if conditional else t.cfg.batch_size
    st = make(t.grid, seeds, batch, t.cfg.latent_dim, device=t.device, prior=prior)
    g, d = t.build(seeds, st.n_classes if conditional else 0)
    d = d if d_wrap is None else d_wrap(d)

    def evaluate(step, g, d, s):
        with torch.no_grad():
            return metrics.evaluate(g(s.fixed_latent(t.cfg.n_eval))[..., :2], t.grid, t.cfg.k_std)

    t0 = time.perf_counter()
    with one_cpu_thread(t.device):
        result = train.train(g, d, st, t.config(**optimiser), hooks=[train.Hook("eval", t.eval_every, evaluate)], desc=desc,
                             **recipe.parts())
    return dict(g=g, d=d, streams=st, evals=result.records["eval"], seconds=time.perf_counter() - t0, seeds=seeds)


def final(run: dict, column: str) -> np.ndarray:
    """(seeds,) values of ``column`` at the run's last evaluation."""
    return np.asarray(run["evals"][max(run["evals"])][column], dtype=float)


def table(runs: dict) -> pd.DataFrame:
    """Tidy rows (variant, seed, step, hq_fraction, modes_k, modes) of every run's evaluations."""
    return pd.DataFrame([{"variant": name, "seed": s, "step": step, "hq_fraction": float(v["hq_fraction"][i]),
                          "modes_k": float(v["modes_k"][i]), "modes": float(v["modes"][i])}
                         for name, run in runs.items() for step, v in sorted(run["evals"].items())
                         for i, s in enumerate(run["seeds"])])


def bands(ax, tab, variants, column, ylabel):
    """Median and min-max band over seeds of ``column`` during training, one line per variant."""
    for name, color in zip(variants, plotting.COLORS):
        wide = tab[tab.variant == name].pivot(index="step", columns="seed", values=column)
        plotting.band(ax, wide.index.to_numpy(), wide.to_numpy().T, label=name, color=color)
    ax.set_xlabel("generator step"), ax.set_ylabel(ylabel)


def _closed(fig):
    """``fig``, closed, so that it shows once: where ``chapter.glue`` displays it."""
    plt.close(fig)
    return fig


def curves_figure(runs: dict, level: dict | None = None):
    """HQ fraction and modes covered (>= k HQ samples) during training, per variant (median, min-max band)."""
    tab = table(runs)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    bands(axes[0], tab, list(runs), "hq_fraction", "HQ fraction")
    bands(axes[1], tab, list(runs), "modes_k", "modes covered (of 25)")
    if level:
        axes[0].axhline(level["hq_fraction"], color="0.5", ls=":", lw=1)
        axes[1].axhline(level["modes_k"], color="0.5", ls=":", lw=1)
    axes[0].legend()
    plotting.label_panels(axes)
    return _closed(fig)


# --- the verdicts ------------------------------------------------------------------------------------------

def threshold(claim_id: str) -> dict:
    """The claim's thresholds (a copy of ``CATALOGUE[claim_id].threshold``)."""
    return dict(CATALOGUE[claim_id].threshold)


def baseline_trained(hq, modes_k) -> Result:
    """ch6.grid-baseline-trained: the baseline's final HQ fraction and modes (>= k HQ samples) per seed against
    the levels of ``verdicts.BASELINE_LEVELS["grid25"]`` (``verdicts.baseline_trained``)."""
    return verdicts.baseline_trained("grid25", hq, modes_k)


def coverage_effect(claim_id: str) -> Effect:
    """The coverage side of a claim judged on quality and coverage together: modes (>= k HQ samples) of the
    variant minus the baseline's, per seed, must stay above minus the claim's ``mode_margin``
    (non-inferiority: a level of -margin on the per-seed differences)."""
    q = verdicts.declared(claim_id)
    m = threshold(claim_id)["mode_margin"]
    return Effect(f"modes (>= k HQ) lost, margin {m:g}", 1, 0.0, q.n_seeds, statistic=q.statistic, method=q.method,
                  level=-float(m))


def together(quality: Result, coverage: Result, coverage_text: str = "", side: str = "coverage") -> Result:
    """Quality and coverage judged together: REPRODUCED when both are, NOT REPRODUCED when either is not,
    INCONCLUSIVE otherwise. The estimate and interval are quality's; the reason quotes coverage's (named ``side``)."""
    outs = (quality.outcome, coverage.outcome)
    outcome = ("REPRODUCED" if outs == ("REPRODUCED",) * 2 else
               "NOT REPRODUCED" if "NOT REPRODUCED" in outs else "INCONCLUSIVE")
    settle = verdicts.settling(outcome, (quality, coverage))
    reason = f"{side} {coverage.outcome}" + (f": {coverage_text}" if coverage_text else "")
    return Result(outcome, quality.estimate, quality.low, quality.high, quality.n, quality.smallest,
                  quality.direction, quality.name, settle, reason)


def better_together(claim_id: str, variant: dict, baseline: dict, gate: Result) -> Result:
    """A "helps" claim from per-seed final ``hq_fraction`` and ``modes_k`` of the variant and of the baseline
    (paired by seed): the HQ fraction rises by more than the declared smallest effect AND the modes covered
    do not fall by the claim's margin or more; gated by the baseline's verdict."""
    q = verdicts.judge(verdicts.declared(claim_id), variant["hq_fraction"], baseline["hq_fraction"])
    diff = np.asarray(variant["modes_k"], float) - np.asarray(baseline["modes_k"], float)
    eff = coverage_effect(claim_id)
    c = verdicts.judge(eff, diff)
    text = (f"{eff.statistic} modes change {c.estimate + eff.level:+.3g} [{c.low + eff.level:.3g}, "
            f"{c.high + eff.level:.3g}] against -{-eff.level:g}")
    return verdicts.gated(together(q, c, text), gate)


# --- the baseline and the training variants ----------------------------------------------------------------

def baseline_summary(run: dict) -> str:
    hq, modes = final(run, "hq_fraction"), final(run, "modes_k")
    return f"final HQ {np.round(hq, 3).tolist()}, modes (>= k HQ) {modes.astype(int).tolist()}"


def noise_recipe(t: Tricks) -> Recipe:
    """Instance noise on D's inputs (Sonderby et al. 2017), sigma_0 = ``noise_fraction`` of the modes' spacing,
    annealed as sigma_0 times ``noise_decay`` to the power t/T."""
    sigma = t.cfg.noise_fraction * spacing(t.grid)
    return Recipe(noise=noise.InstanceNoise(sigma, "exponential", t.cfg.noise_decay))


def topk_part(t: Tricks) -> selections.TopK:
    """Top-k (Sinha et al. 2020), k = max(gamma^epoch, nu) B, an "epoch" being 1/``epochs`` of the run."""
    return selections.TopK(t.cfg.topk_gamma, t.cfg.topk_nu, epoch_steps=max(1, t.steps // t.cfg.epochs))


class Gain(torch.nn.Module):
    """``K * net(x)``: a fixed gain on a spectrally normalised discriminator's logit."""

    def __init__(self, net: torch.nn.Module, gain: float):
        super().__init__()
        self.net, self.gain = net, float(gain)

    def forward(self, x):
        return self.gain * self.net(x)


def sn_gain(t: Tricks) -> float:
    """The rule fixed before the runs: a 1-Lipschitz D may move its logit by at most ``|x - y|``; the logit should
    be able to swing by 2 (from about +1 on a mode to -1 off it) across half the spacing s of the modes,
    so D's output gets the gain K = 2 / (s / 2) = 4 / s (on the standardised grid s = 0.707, K = 5.66)."""
    return 4.0 / spacing(t.grid)


def sn_experiment(t: Tricks) -> dict:
    """Plain and spectrally normalised D (one power iteration, the gain of ``sn_gain``) under each of Miyato et
    al.'s (2018) Adam settings in ``cfg.sn_settings`` (name -> (lr, beta1, beta2, n_dis)): runs by (kind, name)."""
    runs, gain = {}, sn_gain(t)
    for name in t.cfg.sn_settings:
        lr, b1, b2, n_dis = t.cfg.miyato[name]
        opt = dict(lr=lr, betas=(b1, b2), n_dis=n_dis)
        runs["plain", name] = train_runs(t, Recipe(), f"plain, setting {name}", **opt)
        runs["SN", name] = train_runs(t, Recipe(constraints=(constraints.SpectralNorm(1),)), f"SN, setting {name}",
                                      d_wrap=lambda d: Gain(d, gain), **opt)
    return runs


def logit_slope(run: dict, grid: data.GaussianMixture, n: int) -> np.ndarray:
    """(seeds,) the steepest slope ``max |grad_x logit|`` of a trained run's D over ``n`` data points and its G's
    ``n`` samples at fixed latents: how much of a Lipschitz bound (``sn_gain`` with SN) D uses where it is
    asked to separate real from generated. D is read in eval mode (SN's power iteration does not advance)."""
    g, d, st = run["g"], run["d"], run["streams"]
    with torch.no_grad():
        fake = g(st.fixed_latent(n))[..., :2]
    real = grid.sample((len(run["seeds"]), n), generator(0, "slope", device=fake.device), device=fake.device)
    x = torch.cat([real, fake], dim=-2).requires_grad_(True)
    was = d.training
    d.eval()
    try:
        (grad,) = torch.autograd.grad(d(x).sum(), x)
    finally:
        d.train(was)
    return grad.norm(dim=-1).amax(dim=-1).cpu().numpy()


def sn_reading(runs: dict, settings, grid: data.GaussianMixture, n: int, gain: float) -> str:
    """Each Adam setting's median final HQ fraction with and without SN, and the median over seeds of D's
    steepest slope at the data and the samples (``logit_slope``) beside the bound that SN and the gain set."""
    hq = {key: float(np.median(final(run, "hq_fraction"))) for key, run in runs.items()}
    slope = {key: float(np.median(logit_slope(run, grid, n))) for key, run in runs.items()}

    def per_setting(values, fmt_sn, fmt_plain):
        return "; ".join(f"{s}: {values['SN', s]:{fmt_sn}} with SN, {values['plain', s]:{fmt_plain}} without"
                         for s in settings)
    return (f"Final median HQ fraction per setting: {per_setting(hq, '.2f', '.2f')}. The steepest slope of D's "
            f"logit at the data and the samples (median over seeds), against the bound {gain:.2f} that SN and the "
            f"gain set: {per_setting(slope, '.2f', '.1f')}.")


def sn_robust(runs: dict, settings, gate: Result) -> Result:
    """ch6.sn-robust: over Miyato et al.'s settings, the worst setting's HQ fraction per seed with SN minus the
    worst without (paired by seed: each seed's minimum over settings), judged with the declared effect."""
    worst = {kind: np.min([final(runs[kind, s], "hq_fraction") for s in settings], axis=0) for kind in ("SN", "plain")}
    return verdicts.gated(verdicts.judge(verdicts.declared("ch6.sn-robust"), worst["SN"], worst["plain"]), gate)


def logan_step(t: Tricks) -> latent.LatentOptimisation:
    """LOGAN's latent step as in Wu et al.'s Algorithm 1 (``LatentOptimisation.published``): f = D(G(z)), both
    players' gradients through dz, the ``|dz|^2`` terms, z' clipped to [-1, 1]."""
    return latent.LatentOptimisation.published(t.cfg.logan_penalty, t.cfg.logan_alpha, t.cfg.logan_beta)


def logan_experiment(t: Tricks) -> dict:
    """LOGAN (``logan_step``, z ~ U(-1, 1)); its control, the same prior without the latent step; and, to
    tell what the second-order terms do, LOGAN at first order: the same step taken, its dz a constant in
    both players' losses (no gradient through it)."""
    step = logan_step(t)
    first = replace(step, through_step=False, through_step_d=False, _last={})
    return {"uniform prior": train_runs(t, Recipe(), "uniform prior", prior="uniform"),
            "LOGAN": train_runs(t, Recipe(latent_step=step), "LOGAN", prior="uniform"),
            "LOGAN, first order": train_runs(t, Recipe(latent_step=first), "LOGAN, first order", prior="uniform")}


def latent_displacement(run: dict, step: latent.LatentOptimisation, n: int) -> np.ndarray:
    """(seeds, n) distances ``|[z + dz] - z|`` that ``step`` moves ``n`` fixed prior latents, under a trained
    run's own G and D (in units of the U(-1, 1) box's half-width): how far the latent step takes G's
    inputs from the prior it is sampled from."""
    z = run["streams"].fixed_latent(n).requires_grad_(True)
    dz = step.delta(step.gradient(z, run["g"], run["d"], None, create_graph=False))
    return (step.moved(z.detach(), dz) - z.detach()).norm(dim=-1).cpu().numpy()


def logan_reading(finals_by_run: dict, moved: dict) -> str:
    """What LOGAN's runs say and what its step did: the final medians of LOGAN and its control; the median
    distance the step moves a latent under each trained model (``moved``: run -> (seeds, n) from
    ``latent_displacement``); and full LOGAN minus its first-order variant, paired by seed (mean and 95 %
    bootstrap interval): what the second-order terms, which the source credits with LOGAN's benefit, do."""
    med = {k: {m: float(np.median(v[m])) for m in ("hq_fraction", "modes_k")} for k, v in finals_by_run.items()}
    full, first = finals_by_run["LOGAN"], finals_by_run["LOGAN, first order"]
    hq = verdicts.bootstrap_interval(full["hq_fraction"], other=first["hq_fraction"])
    modes = verdicts.bootstrap_interval(full["modes_k"], other=first["modes_k"])
    per_seed = {k: np.median(v, axis=-1) for k, v in moved.items()}
    effect = "raise" if hq[1] > 0 else "lower" if hq[2] < 0 else "do not clearly change"
    return (f"With LOGAN the median final HQ fraction is {med['LOGAN']['hq_fraction']:.3f} (modes covered: "
            f"{med['LOGAN']['modes_k']:.0f}), against {med['uniform prior']['hq_fraction']:.3f} "
            f"({med['uniform prior']['modes_k']:.0f}) without the step. What the step does on the trained models: "
            f"under LOGAN's own networks it moves a latent by a median {np.median(per_seed['LOGAN']):.3f} of the "
            f"prior box's half-width (90th percentile {np.quantile(moved['LOGAN'], 0.9):.2f}); under the "
            f"control's, which never took it, by {np.median(per_seed['uniform prior']):.3f}. Trained at first "
            f"order (the same step, its Δz a constant in both players' losses) LOGAN ends at "
            f"{med['LOGAN, first order']['hq_fraction']:.3f} ({med['LOGAN, first order']['modes_k']:.0f}): "
            f"the gradients through Δz {effect} the HQ fraction, by {hq[0]:+.3f} [{hq[1]:+.3f}, "
            f"{hq[2]:+.3f}] (full minus first order, mean over seeds paired by seed, 95 % bootstrap interval), "
            f"and change the modes covered by {modes[0]:+.2f} [{modes[1]:+.2f}, {modes[2]:+.2f}].")


def finals(run: dict) -> dict:
    return {k: final(run, k) for k in ("hq_fraction", "modes_k")}


def variant_numbers(runs: dict, prefix: str) -> dict:
    """Median final HQ fraction and modes (>= k HQ) of each run, glued as ``<prefix>_<key>_hq`` / ``_modes``."""
    out = {}
    for key, run in runs.items():
        k = key.replace(" ", "_").replace("-", "")
        out[f"{prefix}_{k}_hq"] = float(np.median(final(run, "hq_fraction")))
        out[f"{prefix}_{k}_modes"] = float(np.median(final(run, "modes_k")))
    return out


# --- truncation -------------------------------------------------------------------------------------------

RADII = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, math.inf)  # |z| bins of the premise curve



def _against_truncation(ax, thresholds: np.ndarray, curves: dict, ylabel: str) -> None:
    """Each curve (untruncated first, then one value per seed at each threshold) against the threshold, on a
    log axis whose right end stands for "none" (median and min-max band over seeds)."""
    x_none = thresholds.max() * 2
    for (key, values), color in zip(curves.items(), plotting.COLORS):
        plotting.band(ax, np.array([x_none, *thresholds]), np.array(values).T, color=color, marker="o", ms=3,
                      label=key)
    ax.set_xscale("log"), ax.set_xlabel("truncation threshold")
    ax.set_xticks([*thresholds, x_none], [*(f"{v:g}" for v in thresholds), "none"])
    ax.set_ylabel(ylabel), ax.legend()

def hq_by_radius(t: Tricks, run: dict, n: int) -> pd.DataFrame:
    """The premise of truncation, measured on the model truncated: the HQ fraction of samples G(z) by the bin
    of ``|z|`` they come from, per seed (rows: seed, bin, r_mid, hq_fraction, share)."""
    z = torch.randn(len(run["seeds"]), n, t.cfg.latent_dim, generator=generator(t.seed, "premise"))
    with torch.no_grad():
        x = run["g"](z.to(t.device))
    hq, _ = metrics.high_quality(x, t.grid, t.cfg.k_std)  # (S, n)
    return _by_radius(run["seeds"], z.norm(dim=-1).numpy(), np.asarray(hq))


def _by_radius(seeds, r: np.ndarray, hq: np.ndarray) -> pd.DataFrame:
    """Per seed and bin of ``|z|`` (``RADII``): the share of latents in the bin and the HQ fraction of their samples."""
    rows = []
    for lo, hi in zip(RADII[:-1], RADII[1:]):
        inside = (r >= lo) & (r < hi)
        for i, s in enumerate(seeds):
            m = inside[i]
            rows.append({"seed": s, "bin": f"{lo:g}-{hi:g}" if math.isfinite(hi) else f">{lo:g}", "r_mid": lo + 0.25,
                         "share": float(m.mean()), "hq_fraction": float(hq[i][m].mean()) if m.any() else math.nan})
    return pd.DataFrame(rows)


def quality(cfg, x, toy, real):
    """Every metric of samples x (S, n, 2) against the data: a dict of (S,) arrays (HQ fraction, modes,
    precision and recall of Kynkaanniemi et al. 2019)."""
    out = metrics.evaluate(x, toy, cfg.k_std)
    out.update(metrics.precision_recall(real, x, cfg.pr_k))
    return out


def truncation_experiment(t: Tricks, run: dict, real) -> dict:
    """The baseline's fixed latents, untruncated (key None) and truncated at every ``cfg.truncations`` (Brock et
    al. 2019), scored by ``quality``: {threshold: {metric: (S,)}}."""
    gen, trunc = generator(t.seed, "truncation"), {}
    z0 = run["streams"].fixed_latent(t.cfg.n_eval)
    with torch.no_grad():
        for th in (None, *t.cfg.truncations):
            z = z0 if th is None else sampling.truncate(z0, th, gen)
            trunc[th] = quality(t.cfg, run["g"](z), t.grid, real)
    return trunc


def truncation_figure(premise: pd.DataFrame, trunc: dict, truncations):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
    wide = premise.pivot(index="r_mid", columns="seed", values="hq_fraction")
    plotting.band(axes[0], wide.index.to_numpy(), wide.to_numpy().T, color=plotting.COLORS[0], marker="o", ms=3)
    labels = premise.drop_duplicates("r_mid").sort_values("r_mid")["bin"].tolist()
    axes[0].set_xticks(wide.index.to_numpy(), labels)
    axes[0].set_xlabel("|z| of the latent"), axes[0].set_ylabel("HQ fraction of G(z)")
    thresholds = np.array(truncations)
    _against_truncation(axes[1], thresholds, {key: [trunc[th][key] for th in (None, *truncations)]
                                              for key in ("precision", "recall", "hq_fraction")}, "fraction")
    plotting.label_panels(axes)
    return _closed(fig)


def truncation_numbers(premise: pd.DataFrame, trunc: dict) -> dict:
    t = threshold("ch6.truncation-tradeoff")["truncation"]
    med = premise.groupby("r_mid")["hq_fraction"].median()
    return dict(trunc_t=t, trunc_hq0=np.median(trunc[None]["hq_fraction"]), trunc_hq=np.median(trunc[t]["hq_fraction"]),
                trunc_p0=np.median(trunc[None]["precision"]), trunc_p=np.median(trunc[t]["precision"]),
                trunc_r0=np.median(trunc[None]["recall"]), trunc_r=np.median(trunc[t]["recall"]),
                premise_centre=float(med.iloc[0]), premise_peak=float(med.max()),
                premise_peak_r=float(med.idxmax() - 0.25))


def truncation_tradeoff(trunc: dict, gate: Result) -> Result:
    """ch6.truncation-tradeoff: HQ fraction at the claim's threshold minus untruncated, paired by seed."""
    t = threshold("ch6.truncation-tradeoff")["truncation"]
    return verdicts.gated(verdicts.judge(verdicts.declared("ch6.truncation-tradeoff"), trunc[t]["hq_fraction"],
                                         trunc[None]["hq_fraction"]), gate)


# --- truncation within a class ----------------------------------------------------------------------------

def conditional_trained(hq, modes_k) -> Result:
    """ch6.conditional-baseline-trained: the class-conditional model's final HQ fraction and modes (>= k HQ
    samples) per seed, every class asked for equally often, against the grid's levels (as ``baseline_trained``)."""
    return verdicts.baseline_trained("grid25", hq, modes_k)


def data_spread(dist, k: float) -> float:
    """The RMS distance from its centre of one mode's samples that lie within ``k`` std of it (the HQ ones):
    ``std sqrt(d P(chi2_{d+2} <= k^2) / P(chi2_d <= k^2))`` in d dimensions (1.378 std for d = 2, k = 3)."""
    from scipy.stats import chi2

    d = dist.dim
    return float(dist.std * math.sqrt(d * chi2.cdf(k * k, d + 2) / chi2.cdf(k * k, d)))


def within_class(t: Tricks, x, classes) -> dict:
    """Fidelity and variety of samples ``x`` (S, n, 2) asked for as ``classes`` (n,) (mode indices), per seed:
    ``fidelity``, the fraction within ``k_std`` std of THEIR class's mode (HQ for that class); ``variety``,
    the RMS distance of a class's HQ samples from their own mean over the data's value (``data_spread``: 1 is
    the data's own spread, 0 one point), averaged over the classes with at least two HQ samples (NaN if none)."""
    x = torch.as_tensor(x, dtype=torch.float64)
    classes = torch.as_tensor(classes)
    mu = t.grid.centers.double()[classes]  # (n, 2)
    hq = ((x - mu).norm(dim=-1) <= t.cfg.k_std * t.grid.std)  # (S, n)
    ref = data_spread(t.grid, t.cfg.k_std)
    variety = np.full((x.shape[0], len(t.grid.centers)), np.nan)
    for c in range(len(t.grid.centers)):
        for i in range(x.shape[0]):
            pts = x[i][(classes == c) & hq[i]]
            if len(pts) >= 2:
                variety[i, c] = float(((pts - pts.mean(0)) ** 2).sum(-1).sum() / (len(pts) - 1)) ** 0.5 / ref
    with np.errstate(all="ignore"):
        spread = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan for v in variety])
    return {"fidelity": hq.double().mean(-1).numpy(), "variety": spread}


def conditional_latents(t: Tricks, n_seeds: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed latents for the within-class measurements: (S, n, latent_dim) from N(0, I) and their classes
    (n,), each class ``n_eval / K`` times (n = K of them, at least ``n_eval``)."""
    k = len(t.grid.centers)
    per = max(1, math.ceil(t.cfg.n_eval / k))
    z = torch.randn(n_seeds, per * k, t.cfg.latent_dim, generator=generator(t.seed, "conditional truncation"))
    return z, torch.arange(per * k) % k


def conditional_truncation(t: Tricks, run: dict) -> dict:
    """Within-class truncation (Brock et al. 2019 truncate a class-conditional BigGAN's latent): the same fixed
    latents untruncated (key None) and truncated at every ``cfg.truncations``, each sample asked for its class:
    {threshold: ``within_class``}, and ``samples`` {threshold: (S, n, 2)} with ``classes``."""
    z0, classes = conditional_latents(t, len(run["seeds"]))
    gen, out, samples = generator(t.seed, "conditional truncation", "redraw"), {}, {}
    k = len(t.grid.centers)
    with torch.no_grad():
        for th in (None, *t.cfg.truncations):
            z = z0 if th is None else sampling.truncate(z0, th, gen)
            x = run["g"](streams.with_class(z.to(t.device), classes.to(t.device), k))[..., :2].cpu()
            out[th], samples[th] = within_class(t, x, classes), x.numpy()
    return {"scores": out, "samples": samples, "classes": classes.numpy()}


def conditional_premise(t: Tricks, run: dict, n: int) -> pd.DataFrame:
    """The premise within a class: the fraction of G(z, c) HQ for class c, by the bin of ``|z|`` (classes in
    turn), per seed (rows as ``hq_by_radius``)."""
    k = len(t.grid.centers)
    z = torch.randn(len(run["seeds"]), n, t.cfg.latent_dim, generator=generator(t.seed, "conditional premise"))
    classes = torch.arange(n) % k
    with torch.no_grad():
        x = run["g"](streams.with_class(z.to(t.device), classes.to(t.device), k))[..., :2].cpu().double()
    hq = ((x - t.grid.centers.double()[classes]).norm(dim=-1) <= t.cfg.k_std * t.grid.std).numpy()
    return _by_radius(run["seeds"], z.norm(dim=-1).numpy(), hq)


def variety_effect(claim_id: str) -> Effect:
    """The variety side of the conditional trade-off: within-class variety truncated minus untruncated, paired by
    seed, must fall by at least the claim's ``variety_fall`` (a fraction of the data's own spread)."""
    q = verdicts.declared(claim_id)
    return Effect("within-class variety, truncated minus untruncated", -1, float(threshold(claim_id)["variety_fall"]),
                  q.n_seeds, statistic=q.statistic, method=q.method)


def truncation_tradeoff_conditional(scores: dict, gate: Result) -> Result:
    """ch6.truncation-tradeoff-conditional: at the claim's threshold against untruncated, paired by seed, the
    within-class fidelity rises (the declared effect) AND the within-class variety falls by at least
    ``variety_fall`` (``variety_effect``): the trade of Brock et al. (2019); gated by the conditional model's
    own trained check."""
    cid = CONDITIONAL_TRADEOFF
    t = threshold(cid)["truncation"]
    fid = verdicts.judge(verdicts.declared(cid), scores[t]["fidelity"], scores[None]["fidelity"])
    eff = variety_effect(cid)
    var = verdicts.judge(eff, scores[t]["variety"], scores[None]["variety"])
    text = f"variety change {var.estimate:+.3g} [{var.low:.3g}, {var.high:.3g}] against -{eff.smallest:g}"
    return verdicts.gated(together(fid, var, text, side="variety"), gate)


def ideal_variety(t: Tricks, truncation: float) -> float:
    """The variety of the ideal conditional generator G(z, c) = mu_c + std z truncated entry-wise at
    ``truncation``: a truncated normal's std per coordinate over the data's (``data_spread``; every sample
    inside ``k_std`` std when ``truncation`` sqrt(d) <= k_std)."""
    from scipy.stats import truncnorm

    d = t.grid.dim
    return float(truncnorm.std(-truncation, truncation) * math.sqrt(d) * t.grid.std / data_spread(t.grid, t.cfg.k_std))


def conditional_numbers(t: Tricks, cond: dict, premise: pd.DataFrame, run: dict) -> dict:
    th = threshold(CONDITIONAL_TRADEOFF)["truncation"]
    sc = cond["scores"]
    med = premise.groupby("r_mid")["hq_fraction"].median()
    return dict(cond_t=th, cond_fid0=np.median(sc[None]["fidelity"]), cond_fid=np.median(sc[th]["fidelity"]),
                cond_var0=np.median(sc[None]["variety"]), cond_var=np.median(sc[th]["variety"]),
                cond_fid_small=np.median(sc[min(t.cfg.truncations)]["fidelity"]),
                cond_var_small=np.median(sc[min(t.cfg.truncations)]["variety"]), cond_t_small=min(t.cfg.truncations),
                cond_ideal_var=ideal_variety(t, th), cond_ideal_miss=math.exp(-t.cfg.k_std ** 2 / 2),
                cond_premise_centre=float(med.iloc[0]), cond_premise_tail=float(med.iloc[-1]),
                cond_premise_tail_r=float(med.index[-1] - 0.25),
                cond_hq=np.median(final(run, "hq_fraction")), cond_modes=np.median(final(run, "modes_k")),
                cond_spread=data_spread(t.grid, t.cfg.k_std) / t.grid.std)


def conditional_reading(t: Tricks, cond: dict, premise: pd.DataFrame) -> str:
    """Sentences on the premise within a class: HQ-for-its-class near the centre against the prior's tail."""
    med = premise.groupby("r_mid")["hq_fraction"].median()
    centre, tail = float(med.iloc[0]), float(med.iloc[-1])
    tail_r = float(med.index[-1] - 0.25)
    trend = ("falls towards the tails" if tail < centre - 0.01 else "rises towards the tails" if tail > centre + 0.01
             else "barely changes with the latent's norm")
    return (f"Within a class the premise can be read directly: the median fraction of samples on their class's mode "
            f"is {centre:.3f} for latents with |z| < 0.5 and {tail:.3f} beyond |z| = {tail_r:g}, so quality {trend}.")


def conditional_tradeoff_reading(t: Tricks, cond: dict) -> str:
    """Sentences on what truncation traded within a class: the misses it removed against the untruncated share
    and the ideal generator's, and the share of the spread it kept against the ideal generator's."""
    th = threshold(CONDITIONAL_TRADEOFF)["truncation"]
    sc = cond["scores"]
    f0, f = float(np.median(sc[None]["fidelity"])), float(np.median(sc[th]["fidelity"]))
    v0, v = float(np.median(sc[None]["variety"])), float(np.median(sc[th]["variety"]))
    ideal_miss, ideal_kept = math.exp(-t.cfg.k_std ** 2 / 2), ideal_variety(t, th)
    if not all(map(math.isfinite, (f0, f, v0, v))) or v0 == 0:
        return "With no samples on their class's modes there is nothing to trade within a class."
    spread = ("about the data's own spread" if v0 > 0.9 else f"{v0:.2f} of the data's spread: the model has partly "
              "collapsed within a class before any truncation")
    misses = ("fewer than" if 1 - f0 < ideal_miss else "more than")
    kept = v / v0
    tails = ("its samples from the prior's tails lie less far out, relative to its bulk, than an ideal generator's"
             if kept > ideal_kept + 0.05 else "close to what the ideal generator keeps" if kept > ideal_kept - 0.05
             else "its samples from the tails lie further out than an ideal generator's")
    return (f"Untruncated, a class's samples spread over {spread}. Only {1 - f0:.4f} of them miss their class's "
            f"mode, {misses} the ideal generator's {ideal_miss:.3f}: a narrow model has few samples beyond 3 std to "
            f"lose, so the rise of fidelity is small however sure it is. Truncation at {th:g} removes "
            f"{max(f - f0, 0) / max(1 - f0, 1e-12):.0%} of those misses and keeps {kept:.2f} of the spread; the ideal "
            f"generator would keep {ideal_kept:.2f}, so {tails}.")


def conditional_figure(t: Tricks, cond: dict, premise: pd.DataFrame, truncations):
    """(a) The premise within a class: HQ-for-its-class by ``|z|``. (b) One seed's samples, as offsets from their
    class's mode in units of its std, untruncated and at the claim's threshold, with the 3-std circle.
    (c) Within-class fidelity and variety against the truncation threshold (median, min-max over seeds)."""
    fig, axes = plt.subplots(1, 3, figsize=(8.0, 3.3), layout="constrained")
    wide = premise.pivot(index="r_mid", columns="seed", values="hq_fraction")
    plotting.band(axes[0], wide.index.to_numpy(), wide.to_numpy().T, color=plotting.COLORS[0], marker="o", ms=3)
    labels = premise.drop_duplicates("r_mid").sort_values("r_mid")["bin"].tolist()
    axes[0].set_xticks(wide.index.to_numpy(), labels, rotation=45)  # six bins in a third of the width
    axes[0].set_xlabel("|z| of the latent"), axes[0].set_ylabel("HQ fraction for its class")
    th = threshold(CONDITIONAL_TRADEOFF)["truncation"]
    mu = t.grid.centers.numpy()[cond["classes"]]
    for key, color, label in ((None, plotting.COLORS[0], "untruncated"), (th, plotting.COLORS[1], f"truncated at {th:g}")):
        off = (cond["samples"][key][0] - mu) / t.grid.std
        axes[1].scatter(off[:, 0], off[:, 1], s=3, alpha=0.4, color=color, label=label, rasterized=True)
    circle = np.linspace(0, 2 * np.pi, 200)
    axes[1].plot(t.cfg.k_std * np.cos(circle), t.cfg.k_std * np.sin(circle), color="0.4", lw=1, ls=":")
    lim = 2.5 * t.cfg.k_std
    axes[1].set_xlim(-lim, lim), axes[1].set_ylim(-lim, lim), axes[1].set_aspect("equal")
    axes[1].set_xlabel("offset from its class's mode (std)"), axes[1].legend(loc="upper right", markerscale=3)
    thresholds = np.array(truncations)
    _against_truncation(axes[2], thresholds, {key: [cond["scores"][k][key] for k in (None, *truncations)]
                                              for key in ("fidelity", "variety")}, "within a class")
    plotting.label_panels(axes)
    return _closed(fig)


# --- refinement with the trained discriminator -------------------------------------------------------------

def latent_gradient(g, d, z) -> np.ndarray:
    """``|grad_z d(G(z))|`` per latent, (S, n): how fast D's logit changes as a latent moves."""
    with sampling._frozen(g, d):
        z = z.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(d(g(z)).sum(), z)
    return grad.norm(dim=-1).numpy()


def step_rule(cfg, grad_median: float) -> dict:
    """Step sizes from the rule fixed before the runs: a chain's typical total latent displacement, its drift
    (steps x step x the median latent gradient m) plus its noise's spread, is at most ``latent_budget`` prior
    std. DDLS (T steps of z - (e/2) grad E + sqrt(e) n): (T m / 2) e + sqrt(T e) = B; DGFlow (z + eta grad d +
    sqrt(2 eta gamma) xi): T m eta + sqrt(2 gamma T eta) = B; each solved for sqrt(e), sqrt(eta)."""
    b, m = cfg.latent_budget, grad_median
    t = cfg.ddls_steps
    u = (-math.sqrt(t) + math.sqrt(t + 2 * t * m * b)) / (t * m)
    t2, gam = cfg.dgflow_steps, cfg.dgflow_gamma
    v = (-math.sqrt(2 * gam * t2) + math.sqrt(2 * gam * t2 + 4 * t2 * m * b)) / (2 * t2 * m)
    return dict(ddls_step=u * u, dgflow_eta=v * v, grad_median=m)


def flow(method: str, g, d, z0, rule: dict, cfg, toy, gen) -> dict:
    """DDLS or DGFlow from ``z0`` in segments of ``cfg.flow_every`` steps, scored after each: the final
    ``Sampled`` and a tidy ``path`` (step, seed, hq_fraction, modes_k, displacement)."""
    steps = cfg.ddls_steps if method == "DDLS" else cfg.dgflow_steps
    z, rows, seconds, done = z0, [], 0.0, 0
    while done < steps:
        k = min(cfg.flow_every, steps - done)
        if method == "DDLS":
            out = sampling.ddls(g, d, z, step_size=rule["ddls_step"], steps=k, generator=gen)
        else:
            out = sampling.dgflow(g, d, z, eta=rule["dgflow_eta"], gamma=cfg.dgflow_gamma, steps=k, generator=gen)
        z, done = out.latents, done + k
        seconds += out.cost.seconds
        m = metrics.evaluate(out.samples, toy, cfg.k_std)
        disp = (z - z0).norm(dim=-1).median(-1).values.numpy()
        rows += [{"method": method, "step": done, "seed": i, "hq_fraction": float(m["hq_fraction"][i]),
                  "modes_k": float(m["modes_k"][i]), "displacement": float(disp[i])} for i in range(len(disp))]
    cost = sampling.Cost(float(steps + 1), float(steps), seconds)
    return dict(sampled=sampling.Sampled(out.samples, z, cost, {}), path=pd.DataFrame(rows))


def refinement_experiment(t: Tricks, run: dict) -> dict:
    """Plain, DRS, DDLS and DGFlow samples of the trained baseline (the chains start from its fixed latents),
    their metrics, the chains' paths, the step rule and each method's cost per returned sample."""
    g, d, z0 = run["g"], run["d"], run["streams"].fixed_latent(t.cfg.n_eval)
    gen = generator(t.seed, "refine")
    rule = step_rule(t.cfg, float(np.median(latent_gradient(g, d, z0))))
    t0 = time.perf_counter()
    with torch.no_grad():
        plain = g(z0)
    out = {"plain": sampling.Sampled(plain, z0, sampling.Cost(1.0, 0.0, (time.perf_counter() - t0) / plain[..., 0].numel()), {})}
    with sampling._frozen(g, d):
        out["DRS"] = sampling.REFINERS["DRS"](g, d, z0, t.cfg, gen)
    paths = []
    for method in ("DDLS", "DGFlow"):
        f = flow(method, g, d, z0, rule, t.cfg, t.grid, gen)
        out[method] = f["sampled"]
        paths.append(f["path"])
    scores = {m: metrics.evaluate(s.samples, t.grid, t.cfg.k_std) for m, s in out.items()}
    return dict(sampled=out, scores=scores, rule=rule, path=pd.concat(paths, ignore_index=True))


def refinement_table(ref: dict) -> pd.DataFrame:
    """Medians over seeds of each method's metrics and costs per returned sample."""
    rows = []
    for method, s in ref["sampled"].items():
        q = ref["scores"][method]
        rows.append({"method": method, "HQ fraction": np.median(q["hq_fraction"]), "modes (>= k HQ)":
                     np.median(q["modes_k"]), "D evals / sample": float(np.median(s.cost.d_evals)),
                     "G evals / sample": float(np.median(s.cost.g_evals)), "us / sample": 1e6 * s.cost.seconds})
    return pd.DataFrame(rows).set_index("method")


def refinement_figure(t: Tricks, ref: dict):
    """(a) HQ fraction against modes covered along each chain (median over seeds, from the plain samples),
    with DRS's point; (b)-(e) seed 0's samples."""
    methods = list(ref["sampled"])
    fig = plt.figure(figsize=(9.0, 4.2))
    ax = fig.add_subplot(1, 3, 1)
    base = ref["scores"]["plain"]
    for method, color in zip(("DDLS", "DGFlow"), plotting.COLORS[1:]):
        p = ref["path"][ref["path"].method == method].groupby("step")[["hq_fraction", "modes_k"]].median()
        ax.plot([np.median(base["modes_k"]), *p["modes_k"]], [np.median(base["hq_fraction"]), *p["hq_fraction"]],
                marker="o", ms=3, color=color, label=method)
    q = ref["scores"]["DRS"]
    ax.plot(np.median(q["modes_k"]), np.median(q["hq_fraction"]), "s", color=plotting.COLORS[3], label="DRS")
    ax.plot(np.median(base["modes_k"]), np.median(base["hq_fraction"]), "k*", ms=9, label="plain")
    ax.set_xlabel("modes covered (>= k HQ)"), ax.set_ylabel("HQ fraction"), ax.legend(fontsize=8)
    lim = 1.9
    for i, method in enumerate(methods):
        a = fig.add_subplot(2, 3, [2, 3, 5, 6][i])
        x = ref["sampled"][method].samples[0, :t.cfg.n_plot].cpu().numpy()
        a.scatter(*x.T, s=2, alpha=0.5, linewidths=0)
        a.scatter(*t.grid.centers.numpy().T, marker="x", s=10, color=plotting.COLORS[1], linewidths=0.8)
        a.set_xlim(-lim, lim), a.set_ylim(-lim, lim), a.set_aspect("equal"), a.set_xticks([]), a.set_yticks([])
        a.set_title(f"{method}: HQ {ref['scores'][method]['hq_fraction'][0]:.2f}", fontsize=9)
    fig.tight_layout()
    return _closed(fig)


def refinement_numbers(cfg, ref: dict) -> dict:
    out = dict(drs_percentile=cfg.drs_percentile, ddls_steps=cfg.ddls_steps, dgflow_steps=cfg.dgflow_steps,
               latent_budget=cfg.latent_budget, n_plot=cfg.n_plot, grad_median=ref["rule"]["grad_median"],
               ddls_step=ref["rule"]["ddls_step"], dgflow_eta=ref["rule"]["dgflow_eta"])
    for method in ("plain", *REFINED):
        q, s = ref["scores"][method], ref["sampled"][method]
        key = method.lower()
        out.update({f"{key}_hq": np.median(q["hq_fraction"]), f"{key}_modes": np.median(q["modes_k"]),
                    f"{key}_d_evals": float(np.median(s.cost.d_evals)), f"{key}_us": 1e6 * s.cost.seconds})
    last = ref["path"][ref["path"].step == ref["path"].groupby("method").step.transform("max")]
    for method in ("DDLS", "DGFlow"):
        out[f"{method.lower()}_moved"] = float(last[last.method == method].displacement.median())
    return out


def refinement_improves_quality(method: str, ref: dict, gate: Result) -> Result:
    """``ch6.refinement-improves-quality-<drs|ddls|dgflow>``: refined minus plain samples' HQ fraction (paired by
    seed) beyond the declared smallest effect, and modes (>= k HQ) not lost by the claim's margin."""
    return better_together(f"ch6.refinement-improves-quality-{CLAIM_OF[method]}", ref["scores"][method],
                           ref["scores"]["plain"], gate)


# --- DRS against the data's dimension ---------------------------------------------------------------------

def spread_ratio(t: Tricks, run: dict, real) -> np.ndarray:
    """(S,) the generator's spread around its modes over the data's: RMS offset of G's HQ samples from their
    nearest centre over that of the data's HQ samples (the generator's error per coordinate, in the plane)."""
    def rms(x):
        hq, idx = metrics.high_quality(x, t.grid, t.cfg.k_std)
        c = t.grid.centers.numpy()[idx]
        off = ((np.asarray(x) - c) ** 2).sum(-1)
        return np.sqrt(np.array([off[i][hq[i]].mean() for i in range(len(off))]))
    with torch.no_grad():
        x = run["g"](run["streams"].fixed_latent(t.cfg.n_eval)).cpu().numpy()
    return rms(x) / rms(np.broadcast_to(real.numpy(), x.shape))


def drs_dimension(t: Tricks, run: dict, ratio: np.ndarray) -> pd.DataFrame:
    """DRS's acceptance and D evaluations per accepted sample when the grid lives in ``cfg.dims`` dimensions.

    Each added coordinate holds the data's per-coordinate spread (each mode an isotropic Gaussian) and the
    generator's ``ratio`` times it, the error the trained G makes in the plane; the discriminator's logit is
    the trained D's in the plane plus the exact log density ratio of the added coordinates (D optimal there).
    Over ``drs_burn_in`` proposals per seed: D_M, the expected acceptance of exact rejection sampling (gamma 0)
    and of DRS with gamma at its percentile, and D evaluations per accepted sample (burn-in included)."""
    gen = generator(t.seed, "drs-dimension")
    n, S = t.cfg.drs_burn_in, len(run["seeds"])
    z = torch.randn(S, n, t.cfg.latent_dim, generator=gen)
    with torch.no_grad():
        logit2 = run["d"](run["g"](z.to(t.device))).double().cpu()
    r = torch.as_tensor(ratio, dtype=torch.float64).unsqueeze(-1)  # (S, 1)
    rows = []
    for dim in t.cfg.dims:
        extra = dim - 2
        q = torch.randn(S, n, extra, generator=gen, dtype=torch.float64).pow(2).sum(-1) if extra else \
            torch.zeros(S, n, dtype=torch.float64)  # |e|^2 / (r sigma)^2 ~ chi^2(extra)
        logits = logit2 + extra * torch.log(r) - 0.5 * q * (r ** 2 - 1)
        d_max = logits.amax(-1)
        f0 = sampling.drs_score(logits, d_max, t.cfg.drs_eps, 0.0)
        gamma = torch.quantile(f0, t.cfg.drs_percentile / 100, dim=-1)
        for kind, g_ in (("exact", torch.zeros(S, dtype=torch.float64)), ("percentile", gamma)):
            acc = torch.sigmoid(f0 - g_.unsqueeze(-1)).mean(-1).numpy()
            for i, s in enumerate(run["seeds"]):
                rows.append({"dim": dim, "gamma": kind, "seed": s, "acceptance": float(acc[i]),
                             "d_evals": float(n / t.cfg.n_eval + 1 / max(acc[i], 1e-300))})
    return pd.DataFrame(rows)


def drs_dimension_figure(dims: pd.DataFrame, chains: dict):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
    for kind, color in zip(("exact", "percentile"), plotting.COLORS):
        sub = dims[dims.gamma == kind]
        for ax, col in zip(axes, ("acceptance", "d_evals")):
            wide = sub.pivot(index="dim", columns="seed", values=col)
            plotting.band(ax, wide.index.to_numpy(), wide.to_numpy().T, color=color, marker="o", ms=3, log=True,
                          label="DRS, gamma = 0" if kind == "exact" else "DRS, gamma at its percentile")
    for (name, evals), color in zip(chains.items(), plotting.COLORS[2:]):
        axes[1].axhline(evals, color=color, ls="--", lw=1, label=f"{name} ({evals:.0f} steps)")
    for ax, ylabel in zip(axes, ("acceptance rate", "D evaluations per returned sample")):
        ax.set_xscale("log"), ax.set_yscale("log"), ax.set_xlabel("data dimension"), ax.set_ylabel(ylabel)
        ax.set_xticks(sorted(dims.dim.unique()), [str(v) for v in sorted(dims.dim.unique())])
    axes[1].legend(fontsize=8)
    plotting.label_panels(axes)
    return _closed(fig)


def drs_dimension_numbers(dims: pd.DataFrame, ratio) -> dict:
    med = dims.groupby(["gamma", "dim"])[["acceptance", "d_evals"]].median()
    lo, hi = int(dims.dim.min()), int(dims.dim.max())
    return dict(spread_ratio=float(np.median(ratio)), dim_lo=lo, dim_hi=hi,
                exact_acc_lo=med.loc[("exact", lo), "acceptance"], exact_acc_hi=med.loc[("exact", hi), "acceptance"],
                exact_evals_lo=med.loc[("exact", lo), "d_evals"], exact_evals_hi=med.loc[("exact", hi), "d_evals"],
                pct_acc_hi=med.loc[("percentile", hi), "acceptance"], pct_evals_hi=med.loc[("percentile", hi), "d_evals"])


def drs_costlier(dims: pd.DataFrame, chain_evals: float, gate: Result) -> Result:
    """ch6.drs-costlier: log10 of exact DRS's D evaluations per accepted sample at the largest dimension over
    a chain's per refined sample (DDLS's steps), per seed, against the declared level."""
    sub = dims[(dims.gamma == "exact") & (dims.dim == dims.dim.max())].sort_values("seed")
    return verdicts.gated(verdicts.judge(verdicts.declared("ch6.drs-costlier"),
                                         np.log10(sub.d_evals.to_numpy() / chain_evals)), gate)


# --- step costs ---------------------------------------------------------------------------------------------

def seconds_per_step(t: Tricks, recipe: Recipe, prior: str = "normal", n: int = 20) -> float:
    """CPU seconds per training step of a short run of ``recipe`` on the grid (one thread)."""
    g, d = t.build(t.seeds)
    st = streams.ToyStreams(t.grid, t.seeds, t.cfg.batch_size, t.cfg.latent_dim, device=t.device, prior=prior)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t0 = time.process_time()
        train.train(g, d, st, train.TrainConfig(steps=n, lr_d=t.cfg.lr, lr_g=t.cfg.lr, log_every=n), progress=False,
                    **recipe.parts())
        return (time.process_time() - t0) / n
    finally:
        torch.set_num_threads(threads)


# --- the sentences that read the results --------------------------------------------------------------------

def baseline_reading(run: dict, gate: Result) -> str:
    """What the baseline reached, seed by seed, and, if its claim is not REPRODUCED, which level its interval
    misses and about how many seeds would settle it (``verdicts.seeds_to_settle`` per metric)."""
    hq, modes = final(run, "hq_fraction"), final(run, "modes_k")
    levels = verdicts.BASELINE_LEVELS["grid25"]
    text = (f"Over its {len(hq)} seeds the baseline's final HQ fraction runs from {hq.min():.3f} to {hq.max():.3f} "
            f"and its covered modes from {modes.min():.0f} to {modes.max():.0f}; {int((hq >= levels['hq_fraction']).sum())} "
            f"seeds reach the HQ level and {int((modes >= levels['modes_k']).sum())} the modes' level.")
    if gate.outcome == "REPRODUCED":
        return text + " Both intervals clear their levels: the comparisons below are judged."
    parts = []
    for name, values, lvl in (("HQ fraction", hq, levels["hq_fraction"]),
                              ("number of covered modes", modes, levels["modes_k"])):
        r = verdicts.judge(Effect(name, 1, 0.0, len(values), level=lvl), values)
        if r.outcome != "REPRODUCED":
            settle = f"; about {r.seeds_to_settle} seeds would settle it" if r.seeds_to_settle else ""
            parts.append(f"the mean {name}'s interval [{r.low + lvl:.3g}, {r.high + lvl:.3g}] reaches below "
                         f"{lvl:g}{settle}")
    return (text + " The spread between seeds is the generator's own: " + " and ".join(parts) + ". So the "
            "baseline does not clear its levels here, and every comparison below is INCONCLUSIVE by the rule "
            "above; each line still prints its effect and interval, which is what the comparison would say "
            "on a baseline that had trained.")


def variant_reading(name: str, run: dict, baseline: dict) -> str:
    """The variant's final HQ fraction and modes against the baseline's, seed by seed (paired)."""
    dq = final(run, "hq_fraction") - final(baseline, "hq_fraction")
    dm = final(run, "modes_k") - final(baseline, "modes_k")
    return (f"Seed by seed, {name} changes the HQ fraction by {np.round(dq, 3).tolist()} and the covered modes by "
            f"{dm.astype(int).tolist()}.")


def first_step_at(run: dict, column: str, level: float) -> int | None:
    """The first evaluated step at which the median over seeds of ``column`` reaches ``level`` (None: never)."""
    return next((int(step) for step, v in sorted(run["evals"].items()) if np.median(v[column]) >= level), None)


def delay_reading(t: Tricks, runs: dict) -> str:
    """When each run's median HQ fraction first reaches the trained level, and the cosine's learning rate then
    (Markdown): a variant that finds the modes later sharpens them at a lower rate."""
    level = verdicts.BASELINE_LEVELS["grid25"]["hq_fraction"]
    parts = []
    for name, run in runs.items():
        step = first_step_at(run, "hq_fraction", level)
        if step is None:
            parts.append(f"{name}: not within the {t.steps} steps")
            continue
        rate = t.cfg.lr * lr_schedule.factor("cosine", t.cfg.lr_floor, 0, t.steps, step)
        parts.append(f"{name}: step {step}, at a learning rate of {rate:.2g}")
    return (f"The median HQ fraction first reaches {level:g} at these evaluated steps (every {t.eval_every}): "
            + "; ".join(parts) + ".")


def refinement_reading(cfg, ref: dict) -> str:
    """The chains' drift coefficients (steps x step size, per unit of latent gradient) and what they did."""
    r = ref["rule"]
    ddls, dgflow = cfg.ddls_steps * r["ddls_step"] / 2, cfg.dgflow_steps * r["dgflow_eta"]
    hq = {m: float(np.median(ref["scores"][m]["hq_fraction"])) for m in ("plain", "DDLS", "DGFlow")}
    return (f"The rule spends most of each chain's budget on noise: the median latent gradient is small because "
            f"most latents map inside a mode, where D's logit barely changes. The latents whose samples lie between "
            f"modes are the ones with large gradients, and there the drift decides: over the whole chain a latent "
            f"moves by {ddls:.3g} times its gradient with DDLS and by {dgflow:.3g} times with DGFlow. The same "
            f"budget thus lets DGFlow carry a steep latent {dgflow / ddls:.0f} times as far as DDLS: the median HQ "
            f"fraction is {hq['DDLS']:.3f} after DDLS and {hq['DGFlow']:.3f} after DGFlow, from {hq['plain']:.3f}.")

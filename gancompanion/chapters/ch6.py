"""Chapter 6: the 5+n tricks (the tutorial "5+n tricks"), each against one baseline GAN on the 2-D toys.

``Tricks`` holds the chapter's settings, seeds and device and builds the baseline (seed-batched ReLU MLPs,
non-saturating loss, Adam); the experiments train the tricks' variants through ``chapter.train_variants``
on the same seeds: instance noise (Sonderby et al. 2017), spectral normalisation across learning rates
(Miyato et al. 2018), truncation (Brock et al. 2019), refinement with the trained discriminator (DRS,
Azadi et al. 2019; DDLS, Che et al. 2020; DGFlow, Ansari et al. 2021), latent optimisation (LOGAN, Wu et
al. 2019) and top-k training (Sinha et al. 2020). The figures, the sentences that read them, and the tested
verdicts of the chapter's claims (thresholds from ``claims.CATALOGUE``) live here too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import data, plotting, sampling
from ..device import generator
from ..evaluation import metrics
from ..pipeline.claims import CATALOGUE
from ..techniques import constraints, latent, noise, selections
from ..training import nets, streams, train
from ..training.parts import Recipe
from . import chapter
from .checks import Verdict

REFINED = ("DRS", "DDLS", "DGFlow")  # the samplers of section 4, by their claim's suffix below
CLAIM_OF = {"DRS": "drs", "DDLS": "ddls", "DGFlow": "dgflow"}


@dataclass
class Tricks:
    """The chapter's settings (``scales.TABLE["ch6.tricks"]``), generator steps, seeds, device and seed."""

    cfg: object
    steps: int
    seeds: list
    device: object
    seed: int

    @property
    def eval_every(self) -> int:
        return max(1, min(self.cfg.eval_every, self.steps))

    @property
    def toys(self) -> dict:
        toys = {"grid": data.grid(), "ring": data.ring()}
        return {name: toys[name] for name in self.cfg.datasets}

    def build(self, run_seeds):
        """Fresh seed-batched G and D for ``run_seeds``."""
        hidden = [self.cfg.hidden] * 2
        g = nets.mlp_generator(self.cfg.latent_dim, hidden, 2, run_seeds, activation=self.cfg.activation)
        g = g.to(self.device)
        d = nets.mlp_discriminator(2, hidden, run_seeds, activation=self.cfg.activation).to(self.device)
        return g, d

    def evaluator(self, toy):
        """The metrics of n_eval samples per seed from fixed latents: modes covered and HQ fraction."""
        def evaluate(step, g, st):
            with torch.no_grad():
                return metrics.evaluate(g(st.fixed_latent(self.cfg.n_eval)), toy, self.cfg.k_std)
        return evaluate

    def config(self, lr_factor=1):
        cfg = self.cfg
        return train.TrainConfig(steps=self.steps, lr_d=cfg.lr * lr_factor, lr_g=cfg.lr * lr_factor, betas=cfg.betas,
                                 log_every=self.eval_every)

    def variant_kw(self, toy) -> dict:
        """The keyword arguments of ``chapter.train_variants`` for ``toy``."""
        return dict(batch_size=self.cfg.batch_size, latent_dim=self.cfg.latent_dim, evaluate=self.evaluator(toy),
                    eval_every=self.eval_every, device=self.device)

    def numbers(self) -> dict:
        cfg = self.cfg
        return dict(hidden=cfg.hidden, lr=cfg.lr, batch=cfg.batch_size, n_eval=cfg.n_eval, steps=self.steps,
                    n_seeds=len(self.seeds), seed_first=self.seeds[0], seed_last=self.seeds[-1])


def train_baseline(t: Tricks) -> dict:
    """The baseline on every toy, trained with the loop itself (its networks are kept for the samplers)."""
    baseline = {}
    for name, toy in t.toys.items():
        g, d = t.build(t.seeds)
        st = streams.ToyStreams(toy, t.seeds, t.cfg.batch_size, t.cfg.latent_dim, device=t.device)
        hook = train.Hook("eval", t.eval_every, lambda step, g, d, s, toy=toy: t.evaluator(toy)(step, g, s))
        t0 = time.perf_counter()
        result = train.train(g, d, st, t.config(), hooks=[hook], desc=f"baseline ({name})")
        baseline[name] = dict(g=g, d=d, streams=st, evals=result.records["eval"], seconds=time.perf_counter() - t0)
        final = result.records["eval"][t.steps]
        print(f"{name}: {baseline[name]['seconds']:.0f} s; final modes {final['modes'].tolist()}, "
              f"HQ {np.round(final['hq_fraction'], 2).tolist()}")
    return baseline


def baseline_table(t: Tricks, baseline: dict, name: str = "grid") -> pd.DataFrame:
    """The baseline's evaluations as rows of a tidy table (variant, seed, step, modes, hq_fraction)."""
    return pd.DataFrame([{"variant": "baseline", "seed": s, "step": step, "modes": float(v["modes"][i]),
                          "hq_fraction": float(v["hq_fraction"][i])}
                         for step, v in sorted(baseline[name]["evals"].items()) for i, s in enumerate(t.seeds)])


def final_of(table: pd.DataFrame, variant: str, column: str) -> np.ndarray:
    """(seeds,) values of ``column`` at the last step for one variant."""
    rows = table[(table.variant == variant) & (table.step == table.step.max())].sort_values("seed")
    return rows[column].to_numpy()


def bands(ax, table, variants, column, ylabel):
    """Median and min-max band over seeds of ``column`` during training, one line per variant."""
    for name, color in zip(variants, plotting.COLORS):
        x, ys = chapter.per_seed(table, name, column)
        plotting.band(ax, x, ys.T, label=name, color=color)
    ax.set_xlabel("generator step"), ax.set_ylabel(ylabel)


def _closed(fig):
    """``fig``, closed, so that it shows once: where ``chapter.glue`` displays it."""
    plt.close(fig)
    return fig


def _curves_figure(table, names, extra_axes: int = 0):
    fig, axes = plt.subplots(1, 2 + extra_axes, figsize=(10 if not extra_axes else 10.2, 3.4))
    bands(axes[0], table, names, "hq_fraction", "HQ fraction")
    bands(axes[1], table, names, "modes", "modes covered (of 25)")
    axes[0].legend()
    return fig, axes


# --- 1. instance noise ----------------------------------------------------------------------------------

def noise_experiment(t: Tricks, baseline: dict) -> dict:
    """Fixed and annealed instance noise on D's inputs (Sonderby et al. 2017) against the baseline, on the grid:
    the tidy ``table`` (baseline included) and ``final``, the final HQ fraction per variant and seed."""
    cfg, grid = t.cfg, t.toys["grid"]
    variants = {
        "fixed noise": (Recipe(noise=noise.InstanceNoise(cfg.noise_sigma)), t.seeds),
        "annealed noise": (Recipe(noise=noise.InstanceNoise(cfg.noise_sigma, "exponential", cfg.noise_decay)), t.seeds),
    }
    runs = chapter.train_variants(variants, t.build, grid, t.config(), **t.variant_kw(grid))
    table = pd.concat([baseline_table(t, baseline), runs.table], ignore_index=True)
    final = {v: final_of(table, v, "hq_fraction") for v in ("baseline", *variants)}
    for v, hq in final.items():
        print(f"{v:>15}: final HQ fraction {np.round(hq, 3).tolist()}")
    return dict(table=table, final=final, names=["baseline", *variants])


def noise_figure(result: dict):
    fig, axes = _curves_figure(result["table"], result["names"])
    plotting.label_panels(axes)
    return _closed(fig)


def noise_numbers(result: dict) -> dict:
    final = result["final"]
    return dict(noise_annealed_hq=np.median(final["annealed noise"]), noise_fixed_hq=np.median(final["fixed noise"]),
                noise_none_hq=np.median(final["baseline"]))


def noise_reading(result: dict) -> str:
    """A sentence for the case where neither noisy run catches up with the run without noise (else empty)."""
    n = noise_numbers(result)
    return ("Within this budget neither noisy run catches up with the run without noise: the data's Gaussians "
            "have a density everywhere in the plane, so the noise has no disjoint support to fix here, only detail "
            "to blur." if n["noise_none_hq"] > max(n["noise_annealed_hq"], n["noise_fixed_hq"]) else "")


# --- 2. spectral normalisation across learning rates ----------------------------------------------------

def sn_experiment(t: Tricks, baseline: dict) -> dict:
    """The baseline with and without SN on D (Miyato et al. 2018) at every ``cfg.lr_factors`` times its learning
    rate, every rate and seed one model (``train.PerRunLR``): ``modes`` and ``hq`` by (kind, factor), final."""
    cfg, grid, seeds = t.cfg, t.toys["grid"], t.seeds
    tables, seconds, n = [baseline_table(t, baseline).assign(variant="plain 1x")], {}, len(seeds)
    for kind, recipe in (("SN", Recipe(constraints=(constraints.SpectralNorm(),))), ("plain", Recipe())):
        factors = [f for f in cfg.lr_factors if kind == "SN" or f != 1]  # plain 1x is the baseline
        rates = tuple(cfg.lr * f for f in factors for _ in seeds)
        tc = train.TrainConfig(steps=t.steps, lr_d=rates, lr_g=rates, betas=cfg.betas, log_every=t.eval_every)
        runs = chapter.train_variants({kind: (recipe, seeds * len(factors))}, t.build, grid, tc, **t.variant_kw(grid))
        runs = runs.split(kind, {f"{kind} {f}x": slice(i * n, (i + 1) * n) for i, f in enumerate(factors)})
        tables.append(runs.table), seconds.update(runs.seconds)
    table = pd.concat(tables, ignore_index=True)
    modes = {(kind, f): final_of(table, f"{kind} {f}x", "modes") for kind in ("plain", "SN") for f in cfg.lr_factors}
    hq = {(kind, f): final_of(table, f"{kind} {f}x", "hq_fraction") for kind in ("plain", "SN") for f in cfg.lr_factors}
    for (kind, f), m in modes.items():
        print(f"{kind:>5} {f:>2}x lr: final modes {m.tolist()}, HQ {np.round(hq[kind, f], 2).tolist()}")
    return dict(table=table, modes=modes, hq=hq, seconds=seconds, factors=tuple(cfg.lr_factors))


def sn_figure(result: dict, lr: float):
    factors = result["factors"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, values, ylabel in ((axes[0], result["modes"], "final modes covered (of 25)"),
                               (axes[1], result["hq"], "final HQ fraction")):
        for kind, color, shift in (("plain", plotting.COLORS[0], 0.97), ("SN", plotting.COLORS[1], 1.03)):
            v = np.array([values[kind, f] for f in factors])  # (factors, seeds)
            med = np.median(v, 1)
            ax.errorbar(np.array(factors) * shift, med, yerr=[med - v.min(1), v.max(1) - med], color=color,
                        marker="o", capsize=3, label="spectral norm" if kind == "SN" else "no normalisation")
        ax.set_xscale("log"), ax.set_xticks(factors, [f"{f}x" for f in factors])
        ax.set_xlabel(f"learning rate (x {lr:g})"), ax.set_ylabel(ylabel)
    axes[0].legend()
    plotting.label_panels(axes)
    return _closed(fig)


def _worst(modes: dict, kind: str, factors) -> float:
    return min(np.median(modes[kind, f]) for f in factors)


def sn_numbers(result: dict) -> dict:
    return dict(sn_worst=_worst(result["modes"], "SN", result["factors"]),
                plain_worst=_worst(result["modes"], "plain", result["factors"]))


def sn_reading(result: dict) -> str:
    """The median modes per learning rate, and a sentence if the normalised runs are not the robust ones."""
    modes, n = result["modes"], sn_numbers(result)
    per_lr = "; ".join(f"{f}x: {np.median(modes['SN', f]):.0f} with SN, {np.median(modes['plain', f]):.0f} without"
                       for f in result["factors"])
    return f"Median modes covered per learning rate: {per_lr}." + (
        " On this toy, with the non-saturating loss, the normalised runs are not the robust ones: at their worst "
        "learning rate they cover fewer modes than the unnormalised runs at theirs."
        if n["sn_worst"] <= n["plain_worst"] else "")


# --- 3. truncation ----------------------------------------------------------------------------------------

def quality(cfg, x, toy, real):
    """Every metric of samples x (S, n, 2) against the data: a dict of (S,) arrays (HQ fraction and modes,
    precision and recall of Kynkaanniemi et al. 2019, density and coverage of Naeem et al. 2020)."""
    out = metrics.evaluate(x, toy, cfg.k_std)
    out.update(metrics.precision_recall(real, x, cfg.pr_k))
    out.update(metrics.density_coverage(real, x, cfg.dc_k))
    return out


def references(t: Tricks) -> dict:
    """``cfg.n_eval`` fresh data samples per toy, the reference of the sample metrics."""
    return {name: toy.sample((t.cfg.n_eval,), generator(t.seed, "reference")) for name, toy in t.toys.items()}


def truncation_experiment(t: Tricks, baseline: dict, real: dict) -> dict:
    """The grid baseline's fixed latents, untruncated (key None) and truncated at every ``cfg.truncations``
    (Brock et al. 2019), scored by ``quality``: {threshold: {metric: (S,)}}."""
    gen, trunc = generator(t.seed, "truncation"), {}
    z0 = baseline["grid"]["streams"].fixed_latent(t.cfg.n_eval)
    with torch.no_grad():
        for th in (None, *t.cfg.truncations):
            z = z0 if th is None else sampling.truncate(z0, th, gen)
            trunc[th] = quality(t.cfg, baseline["grid"]["g"](z), t.toys["grid"], real["grid"])
    print(pd.DataFrame({("none" if th is None else th): {k: np.round(v, 3).tolist() for k, v in q.items()}
                        for th, q in trunc.items()}).T.to_string())
    return trunc


def truncation_figure(trunc: dict, truncations):
    thresholds = np.array(truncations)
    x_none = thresholds.max() * 2  # where "no truncation" is drawn
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))
    for ax, keys in zip(axes, (("precision", "recall"), ("density", "coverage"), ("hq_fraction", "modes"))):
        for key, color in zip(keys, plotting.COLORS):
            ys = np.array([trunc[th][key] for th in (None, *truncations)]).T  # (seeds, 1 + thresholds)
            scale_ = 25 if key == "modes" else 1
            plotting.band(ax, np.array([x_none, *thresholds]), ys / scale_, color=color, marker="o", ms=3,
                          label=key if key != "modes" else "modes / 25")
        ax.set_xscale("log"), ax.set_xlabel("truncation threshold")
        ax.set_xticks([*thresholds, x_none], [*(f"{t:g}" for t in thresholds), "none"])
        ax.legend()
    axes[0].set_ylabel("fraction")
    plotting.label_panels(axes)
    return _closed(fig)


def truncation_numbers(trunc: dict) -> dict:
    t = threshold("ch6.truncation-tradeoff")["truncation"]
    return dict(trunc_t=t, trunc_p0=np.median(trunc[None]["precision"]), trunc_p=np.median(trunc[t]["precision"]),
                trunc_r0=np.median(trunc[None]["recall"]), trunc_r=np.median(trunc[t]["recall"]))


# --- 4. refinement with the trained discriminator ------------------------------------------------------

def refine(t: Tricks, baseline: dict, name: str) -> dict:
    """Plain, DRS, DDLS and DGFlow samples of one baseline, from the same fixed latents where they start."""
    b = baseline[name]
    g, d, z0 = b["g"], b["d"], b["streams"].fixed_latent(t.cfg.n_eval)
    gen = generator(t.seed, "refine", name)
    t0 = time.perf_counter()
    with torch.no_grad():
        plain = g(z0)
    plain_s = (time.perf_counter() - t0) / z0[..., 0].numel()
    out = {"plain": sampling.Sampled(plain, z0, sampling.Cost(1.0, 0.0, plain_s), {})}
    for method, refine_with in sampling.REFINERS.items():  # DRS, DDLS, DGFlow
        out[method] = refine_with(g, d, z0, t.cfg, gen)
    return out


def refinement_experiment(t: Tricks, baseline: dict, real: dict) -> tuple[dict, dict]:
    """Every toy's refined samples (``refine``) and their ``quality``: ``(refined, scores)`` by toy and method."""
    refined = {name: refine(t, baseline, name) for name in t.toys}
    scores = {name: {m: quality(t.cfg, r.samples, t.toys[name], real[name]) for m, r in out.items()}
              for name, out in refined.items()}
    return refined, scores


def refinement_table(refined: dict, scores: dict) -> pd.DataFrame:
    """Medians over seeds of each method's metrics and costs per returned sample, by toy and method."""
    rows = []
    for name, out in refined.items():
        for method, r in out.items():
            q = scores[name][method]
            rows.append({"data": name, "method": method, "HQ fraction": np.median(q["hq_fraction"]),
                         "modes": np.median(q["modes"]), "precision": np.median(q["precision"]),
                         "recall": np.median(q["recall"]), "coverage": np.median(q["coverage"]),
                         "D evals / sample": float(np.median(r.cost.d_evals)),
                         "G evals / sample": float(np.median(r.cost.g_evals)), "us / sample": 1e6 * r.cost.seconds})
    return pd.DataFrame(rows).set_index(["data", "method"])


def refinement_figure(refined: dict, scores: dict, toys: dict, n_plot: int):
    methods = list(refined["grid"])
    fig, axes = plt.subplots(len(refined), len(methods), figsize=(2.2 * len(methods), 2.2 * len(refined)),
                             squeeze=False)
    for row, (name, out) in enumerate(refined.items()):
        lim = 5.2 if name == "grid" else 1.5
        for col, method in enumerate(methods):
            ax = axes[row, col]
            x = out[method].samples[0, :n_plot].cpu().numpy()
            ax.scatter(*x.T, s=2, alpha=0.5, linewidths=0)
            ax.scatter(*toys[name].centers.numpy().T, marker="x", s=12, color=plotting.COLORS[1], linewidths=0.8)
            ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal"), ax.set_xticks([]), ax.set_yticks([])
            hq = scores[name][method]["hq_fraction"][0]
            ax.set_title(f"{method} ({name}): HQ {hq:.2f}", fontsize=9)
    fig.tight_layout()
    return _closed(fig)


def refinement_numbers(cfg, refined: dict, scores: dict) -> dict:
    """The numbers section 4's prose reads, on the grid."""
    out = dict(drs_percentile=cfg.drs_percentile, ddls_steps=cfg.ddls_steps, ddls_step=cfg.ddls_step, n_plot=cfg.n_plot)
    for method in REFINED:
        q, cid = scores["grid"][method], CLAIM_OF[method]
        out.update({f"{cid}_hq": np.median(q["hq_fraction"]), f"{cid}_modes": np.median(q["modes"]),
                    f"{cid}_d_evals": float(np.median(refined["grid"][method].cost.d_evals))})
    plain_q = scores["grid"]["plain"]
    out.update(plain_hq=np.median(plain_q["hq_fraction"]), plain_modes=np.median(plain_q["modes"]))
    return out


def refinement_reading(scores: dict) -> str:
    """Which samplers lose modes on the grid, and why (empty when none does); DRS moves no sample."""
    plain_modes = np.median(scores["grid"]["plain"]["modes"])
    lost = [m for m in REFINED if plain_modes - np.median(scores["grid"][m]["modes"]) > 1]
    reading = "" if not lost else (
        f"{' and '.join(lost)} {'moves' if len(lost) == 1 else 'move'} latents up the discriminator's gradient, which "
        "gathers them on the modes D rates highest: modes are lost ("
        + ", ".join(f"{m}: {np.median(scores['grid'][m]['modes']):.0f}" for m in lost) + f" against {plain_modes:.0f})."
        + (" DGFlow's update, like its authors' code, has no prior term to hold the latents back." if "DGFlow" in lost
           else ""))
    if "DRS" not in lost:
        reading += " Rejection sampling only removes samples: it moves none of them."
    return reading


# --- 5. LOGAN and 6. top-k --------------------------------------------------------------------------------

def side_experiment(t: Tricks, baseline: dict) -> dict:
    """LOGAN's latent step (Wu et al. 2019) and top-k training (Sinha et al. 2020) against the baseline, on the
    grid: the tidy ``table``, the final HQ fraction (``hq``) and modes per variant and seed, and the recipes."""
    cfg, grid = t.cfg, t.toys["grid"]
    topk = selections.TopK(cfg.topk_gamma, cfg.topk_nu, epoch_steps=max(1, t.steps // cfg.epochs))
    variants = {
        "LOGAN": (Recipe(latent_step=latent.LatentOptimisation(cfg.logan_alpha, cfg.logan_beta, "natural")), t.seeds),
        "top-k": (Recipe(selection=topk), t.seeds),
    }
    runs = chapter.train_variants(variants, t.build, grid, t.config(), **t.variant_kw(grid))
    table = pd.concat([baseline_table(t, baseline), runs.table], ignore_index=True)
    hq = {v: final_of(table, v, "hq_fraction") for v in ("baseline", *variants)}
    modes = {v: final_of(table, v, "modes") for v in ("baseline", *variants)}
    for v in hq:
        print(f"{v:>8}: final HQ {np.round(hq[v], 3).tolist()}, modes {modes[v].tolist()}")
    return dict(table=table, hq=hq, modes=modes, topk=topk, recipes={v: r for v, (r, _) in variants.items()})


def seconds_per_step(t: Tricks, recipe: Recipe, n: int = 20) -> float:
    """Seconds per training step of a short run of ``recipe`` on the grid."""
    g, d = t.build(t.seeds)
    st = streams.ToyStreams(t.toys["grid"], t.seeds, t.cfg.batch_size, t.cfg.latent_dim, device=t.device)
    t0 = time.perf_counter()
    train.train(g, d, st, train.TrainConfig(steps=n, lr_d=t.cfg.lr, lr_g=t.cfg.lr, log_every=n), progress=False,
                **recipe.parts())
    return (time.perf_counter() - t0) / n


def step_costs(t: Tricks, recipes: dict, rounds: int = 3) -> dict:
    """Each recipe's cost per step relative to the baseline's: short runs interleaved, ``rounds`` rounds, the
    fastest of each kept (the machine may be shared)."""
    recipes = {"baseline": Recipe(), **recipes}
    times = {v: [] for v in recipes}
    for _ in range(rounds):
        for v, r in recipes.items():
            times[v].append(seconds_per_step(t, r))
    timing = {v: min(ts) for v, ts in times.items()}
    print({v: f"{1e3 * s:.2f} ms/step" for v, s in timing.items()})
    return {v: timing[v] / timing["baseline"] for v in recipes if v != "baseline"}


def side_figure(t: Tricks, result: dict):
    fig, axes = _curves_figure(result["table"], ["baseline", *result["recipes"]], extra_axes=1)
    t_axis = np.arange(0, t.steps + 1, max(1, t.steps // 200))
    batch = t.cfg.batch_size
    axes[2].plot(t_axis, [result["topk"].k(s, batch) / batch for s in t_axis], color=plotting.COLORS[2])
    axes[2].set_xlabel("generator step"), axes[2].set_ylabel("k / B"), axes[2].set_title("top-k: kept fraction")
    plotting.label_panels(axes)
    return _closed(fig)


def side_numbers(result: dict, cost_ratio: dict) -> dict:
    hq = result["hq"]
    return dict(side_base_hq=np.median(hq["baseline"]), logan_hq=np.median(hq["LOGAN"]), topk_hq=np.median(hq["top-k"]),
                logan_cost=cost_ratio["LOGAN"], topk_cost=cost_ratio["top-k"])


# --- the claims' verdicts -----------------------------------------------------------------------------------

def threshold(claim_id: str) -> dict:
    """The claim's thresholds (a copy of ``CATALOGUE[claim_id].threshold``)."""
    return dict(CATALOGUE[claim_id].threshold)


def annealed_noise_helps(final: dict) -> Verdict:
    """ch6.annealed-noise-helps from the final HQ fraction per seed of "baseline", "fixed noise" and "annealed
    noise": the median with annealed noise is strictly above the median with fixed noise."""
    annealed, fixed = np.median(final["annealed noise"]), np.median(final["fixed noise"])
    return Verdict(bool(annealed > fixed), {k: np.asarray(v).tolist() for k, v in final.items()},
                   f"median final HQ fraction annealed {annealed:.3f} vs fixed {fixed:.3f} (none: "
                   f"{np.median(final['baseline']):.3f})")


def sn_robust(modes: dict) -> Verdict:
    """ch6.sn-robust from the final modes per seed by (kind, learning-rate factor), kind "SN" or "plain", at the
    claim's factors: the worst median over the factors is strictly higher with SN."""
    factors = threshold("ch6.sn-robust")["lr_factors"]
    worst_sn, worst_plain = _worst(modes, "SN", factors), _worst(modes, "plain", factors)
    return Verdict(bool(worst_sn > worst_plain), {f"{k} {f}x": np.asarray(v).tolist() for (k, f), v in modes.items()},
                   f"worst median final modes over lr x{list(factors)}: SN {worst_sn:.1f} vs plain {worst_plain:.1f}")


def truncation_tradeoff(trunc: dict) -> Verdict:
    """ch6.truncation-tradeoff from {threshold: {"precision": (S,), "recall": (S,), ...}} (None: untruncated):
    at the claim's threshold precision is strictly higher and recall strictly lower for every seed."""
    t = threshold("ch6.truncation-tradeoff")["truncation"]
    p0, p, r0, r = (np.asarray(trunc[k][m]) for k, m in ((None, "precision"), (t, "precision"), (None, "recall"),
                                                         (t, "recall")))
    p_up, r_down = p > p0, r < r0
    return Verdict(bool(p_up.all() and r_down.all()),
                   {str(th): {k: np.asarray(v).tolist() for k, v in q.items()} for th, q in trunc.items()},
                   f"threshold {t:g} vs none: precision up in {p_up.sum()}/{len(p0)} seeds, recall down in "
                   f"{r_down.sum()}/{len(p0)} (medians P {np.median(p0):.2f} -> {np.median(p):.2f}, "
                   f"R {np.median(r0):.2f} -> {np.median(r):.2f})")


def refinement_improves_quality(method: str, plain: dict, refined: dict) -> Verdict:
    """ch6.refinement-improves-quality-<drs|ddls|dgflow> from the plain and the refined samples' "hq_fraction"
    and "modes" per seed: the HQ fraction is strictly higher for every seed and the median modes covered drops
    by at most the claim's ``max_mode_loss``."""
    th = threshold(f"ch6.refinement-improves-quality-{CLAIM_OF[method]}")
    up = np.asarray(refined["hq_fraction"]) > np.asarray(plain["hq_fraction"])
    mode_loss = float(np.median(plain["modes"]) - np.median(refined["modes"]))
    return Verdict(bool(up.all() and mode_loss <= th["max_mode_loss"]),
                   {"plain": np.asarray(plain["hq_fraction"]).tolist(),
                    "refined": np.asarray(refined["hq_fraction"]).tolist()},
                   f"HQ fraction up in {up.sum()}/{len(up)} seeds (median {np.median(plain['hq_fraction']):.3f} -> "
                   f"{np.median(refined['hq_fraction']):.3f}), median modes {np.median(plain['modes']):.0f} -> "
                   f"{np.median(refined['modes']):.0f}")


def drs_costlier(d_evals: dict) -> Verdict:
    """ch6.drs-costlier from the discriminator evaluations per returned sample by method (DRS: per seed, its
    median is used): DRS's is strictly above both DDLS's and DGFlow's."""
    drs = float(np.median(d_evals["DRS"]))
    chains = {m: float(d_evals[m]) for m in ("DDLS", "DGFlow")}
    return Verdict(bool(drs > max(chains.values())), {},
                   f"D evaluations per returned sample: DRS {drs:.1f}, DDLS {chains['DDLS']:.0f}, "
                   f"DGFlow {chains['DGFlow']:.0f}")


def helps(variant_hq, variant_modes, baseline_hq, baseline_modes) -> Verdict:
    """ch6.latent-optimisation-helps and ch6.top-k-helps from the final HQ fraction and modes per seed of the
    variant and the baseline: the variant's median HQ fraction is strictly above the baseline's."""
    hq, base_hq = np.median(variant_hq), np.median(baseline_hq)
    return Verdict(bool(hq > base_hq),
                   {"variant": np.asarray(variant_hq).tolist(), "baseline": np.asarray(baseline_hq).tolist()},
                   f"median final HQ fraction {hq:.3f} vs baseline {base_hq:.3f} (modes "
                   f"{np.median(variant_modes):.0f} vs {np.median(baseline_modes):.0f})")

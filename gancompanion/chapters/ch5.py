"""Chapter 5: the ablation of Salimans et al.'s (2016) techniques, one baseline, each technique alone, all together.

Every variant is a seed-batched generator/discriminator pair and a set of parts for ``train.train``; all
variants of one table train on the same seeds, data and step budget. ``VARIANTS`` names them in table order.
The chapter's experiments (the toy game, label smoothing, the ring and digits ablations, the classifier
score), their tables and figures, and the tested verdicts of its claims live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import plotting
from ..evaluation import classifier, metrics
from ..pipeline.claims import CATALOGUE
from ..techniques import improved
from ..training import train
from ..device import generator
from ..training.objectives import get_objective
from ..training.streams import ToyStreams
from ..techniques.improved import (FeatureDiscriminator, FeatureMatching, HistoricalAveraging, MLPGenerator,
                                   without_g_loss)
from ..validation import choose, nonnegative
from .checks import Verdict, all_above, all_at_most, all_below

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


def standardised(dist):
    """The mixture with its centres divided by their RMS coordinate (unit spread per coordinate; the ring of 8:
    by 0.707) and its std with them: the scaling of Gulrajani et al.'s toy code, under which Adam's step sizes
    and the nets' initial outputs are of the data's size. The HQ and mode metrics are unchanged by it (they are
    measured in units of the std). Returns ``(mixture, factor)``."""
    from ..data import GaussianMixture

    factor = float(dist.centers.pow(2).mean().sqrt())
    return GaussianMixture(dist.centers / factor, dist.std / factor), factor


def techniques_of(variant: str) -> tuple[str, ...]:
    """The techniques a variant uses."""
    choose("variant", variant, VARIANTS)
    return TECHNIQUES if variant == "all together" else tuple(t for t in TECHNIQUES if t == variant)


def build(variant: str, cfg, seeds, data_dim: int, output: str = "linear"):
    """Networks and parts of one variant. ``cfg`` needs: latent_dim, g_hidden, d_hidden, kernels, kernel_dim,
    ha_weight, real_target, vbn_ref; optional kernel_weight_norm and kernel_bias (the minibatch layer's
    weight-normalised T and the initial value of its per-kernel bias, as the paper's code; default: neither).

    Returns:
        ``(g, d, parts)`` with ``parts`` the keyword arguments of ``train.train`` (objective, terms).
    """
    used = techniques_of(variant)
    g = MLPGenerator([cfg.latent_dim, *cfg.g_hidden, data_dim], seeds, activation="relu", output=output,
                     vbn=cfg.vbn_ref if "virtual batch norm" in used else None)
    layer = (cfg.kernels, cfg.kernel_dim, dict(weight_norm=cfg.get("kernel_weight_norm", False),
                                               bias=cfg.get("kernel_bias", None)))
    d = FeatureDiscriminator([data_dim, *cfg.d_hidden], seeds, activation="leaky_relu",
                             minibatch=layer if "minibatch discrimination" in used else None)
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
                           log_every=min(cfg.log_every, cfg.steps), **_schedule(cfg))
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
    return dict(samples=snaps, history=hist, modes=ev["modes"], modes_k=ev["modes_k"], hq=ev["hq_fraction"],
                reverse_kl=ev["reverse_kl"], p_real=last, hopping=mode_hopping(late, dist), g=g, d=d)


def _schedule(cfg) -> dict:
    """The learning-rate schedule of ``cfg`` as ``TrainConfig`` keywords (none: a constant rate)."""
    if cfg.get("lr_schedule", "constant") == "constant":
        return {}
    return dict(lr_schedule=cfg.lr_schedule, lr_floor=cfg.lr_floor)


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


# --- the notebook's experiments, tables and figures ---------------------------------------------------

def game(cfg) -> dict:
    """The toy game of sec. 3.3, V(x, y) = (f(x) - 1)(y - 1), by simultaneous gradient steps without and with
    historical averaging (``improved.ha_game``; ``cfg``: start, lr, steps, weight).

    Returns ``paths`` and ``distance`` (to the equilibrium (1, 1), steps 0 to T) by penalty weight, the final /
    initial distance without (``gd_ratio``) and with (``ha_ratio``) the penalty, ``rate``, the fitted exponent a
    of the distance's fall like t^a with the penalty (``fitted_rate`` over the claim's span), and ``predicted``,
    the linearised theory's exponent (``predicted_rate``).
    """
    paths = {w: improved.ha_game(cfg.start, cfg.lr, cfg.steps, w) for w in (0.0, cfg.weight)}
    dist = {w: np.linalg.norm(p - 1.0, axis=1) for w, p in paths.items()}
    gd_ratio = float(dist[0.0][-1] / dist[0.0][0])
    ha_ratio = float(dist[cfg.weight][-1] / dist[cfg.weight][0])
    rate = fitted_rate(dist[cfg.weight], _threshold("ch5.historical-averaging-converges")["fit_from"])
    return dict(paths=paths, distance=dist, gd_ratio=gd_ratio, ha_ratio=ha_ratio, rate=rate,
                predicted=predicted_rate(cfg.weight))


OMEGA = 2.0  # the toy game's rotation rate at its equilibrium: f'(1) = 2


def predicted_rate(weight: float) -> float:
    """The exponent a of the distance's fall like t^a that the toy game linearised at (1, 1) predicts with
    historical averaging of ``weight`` (sec. 3.3): a = -1 / (1 + w^2), w = 2 * weight / omega, omega = f'(1).

    With u = x - 1, v = y - 1 the game rotates, u' = -omega v, v' = omega u; the penalty's pull 2 * weight
    (theta - m) brings theta onto theta* = 2 weight / (2 weight - i omega) m (as a complex number u + i v), and
    the mean m of the past moves as dm/dt = (theta* - m) / t = (i omega / (2 weight - i omega)) m / t, whose
    real part, -omega^2 / (omega^2 + 4 weight^2), is a. ``weight`` 0 has no averaging and no rate: nan.
    """
    weight = nonnegative("weight", weight)
    if weight == 0:
        return float("nan")
    w = 2.0 * weight / OMEGA
    return -1.0 / (1.0 + w * w)


def fitted_rate(distance: np.ndarray, fit_from: float = 0.5) -> float:
    """The least-squares slope of log distance against log step over steps ``fit_from * T`` to T (``distance``
    holds steps 0 to T)."""
    distance = np.asarray(distance, dtype=float)
    if distance.ndim != 1 or len(distance) < 3:
        raise ValueError(f"distance must be one distance per step, at least 3 steps, got shape {distance.shape}")
    steps = len(distance) - 1
    t = np.arange(max(1, int(fit_from * steps)), steps + 1)
    return float(np.polyfit(np.log(t), np.log(distance[t]), 1)[0])


def game_numbers(result: dict, cfg) -> dict:
    """The numbers the game's prose reads (glue keys without the chapter's prefix)."""
    return dict(game_gd_ratio=result["gd_ratio"], game_ha_ratio=result["ha_ratio"], game_steps=cfg.steps,
                game_lr=cfg.lr, game_weight=cfg.weight, game_rate=result["rate"], game_predicted=result["predicted"],
                game_tolerance=_threshold("ch5.historical-averaging-converges")["rate_tolerance"],
                game_gd_max=result["distance"][0.0].max())


def game_figure(result: dict, cfg):
    """The game's trajectories and distances to the equilibrium (log-log), without and with the penalty."""
    fig, (ax_p, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8))
    for (w, p), color in zip(result["paths"].items(), plotting.COLORS):
        label = "gradient descent" if w == 0 else f"with historical averaging (weight {w:g})"
        ax_p.plot(p[:, 0], p[:, 1], color=color, lw=0.8, label=label)
        ax_d.loglog(np.arange(1, len(p) + 1), result["distance"][w], color=color, label=label)
    ax_p.plot(*cfg.start, "ko", ms=4, label="start")
    ax_p.plot(1, 1, "k*", ms=10, label="equilibrium (1, 1)")
    ax_p.set_xlabel("x (minimises V)"), ax_p.set_ylabel("y (maximises V)"), ax_p.legend(fontsize=8.5, loc="lower right")
    ax_d.set_xlabel("step"), ax_d.set_ylabel("distance to (1, 1)"), ax_d.legend(fontsize=8.5)
    ax_p.set_title("trajectories"), ax_d.set_title("distance to the equilibrium")
    plotting.label_panels([ax_p, ax_d])
    return _closed(fig)


def _closed(fig):
    """``fig``, closed, so that it shows once: where ``chapter.glue`` displays it."""
    plt.close(fig)
    return fig


def smoothing(cfg, dist, seeds, device) -> dict:
    """``smoothing_probe`` without smoothing (real target 1) and with the target ``cfg.real_target`` (sec. 3.4)."""
    return {t: smoothing_probe(cfg, dist, seeds, t, device) for t in (1.0, cfg.real_target)}


def smoothing_finals(probes: dict, cfg) -> tuple:
    """``(plain_real, smooth_real, smooth_fake)``: the final mean D(x) on real samples without and with
    smoothing, and the final mean D(G(z)) with it, per seed (the inputs of ``label_smoothing_less_confident``)."""
    smooth = probes[cfg.real_target]
    return probes[1.0]["final"], smooth["final"], smooth["final_fake"]


def smoothing_numbers(probes: dict, cfg) -> dict:
    plain, smooth, _ = smoothing_finals(probes, cfg)
    return dict(sm_plain_min=plain.min(), sm_smooth_max=smooth.max(), sm_steps=cfg.steps, sm_seeds=len(plain),
                sm_target=cfg.real_target)


def smoothing_figure(probes: dict, cfg):
    """Mean D(x) on real batches during training, median and range over seeds, with and without smoothing."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for (t, r), color in zip(probes.items(), plotting.COLORS):
        plotting.band(ax, np.arange(1, cfg.steps + 1), r["p_real"].T, color=color,
                      label="no smoothing (target 1)" if t == 1.0 else f"one-sided smoothing (target {t:g})")
    ax.axhline(cfg.real_target, color="grey", ls=":", lw=0.8)
    ax.set_xlabel("discriminator step"), ax.set_ylabel("mean D(x) on real batches"), ax.legend(loc="lower right")
    return _closed(fig)


def toy_ablation(cfg, dist, seeds, device, variants=VARIANTS) -> tuple[dict, pd.DataFrame]:
    """The ``variants`` (of ``VARIANTS``) on the 2-D mixture ``dist`` (``run_toy``): the runs by variant and a tidy
    table, one row per variant and seed (modes_k, modes, hq, reverse_kl, hopping, p_real)."""
    runs = {v: run_toy(v, cfg, dist, seeds, device) for v in variants}
    rows = [dict(variant=v, seed=s, modes_k=int(r["modes_k"][i]), modes=int(r["modes"][i]), hq=float(r["hq"][i]),
                 reverse_kl=float(r["reverse_kl"][i]), hopping=float(r["hopping"][i]), p_real=float(r["p_real"][i]))
            for v, r in runs.items() for i, s in enumerate(seeds)]
    return runs, pd.DataFrame(rows)


def toy_numbers(cfg, seeds) -> dict:
    return dict(toy_steps=cfg.steps, toy_seeds=len(seeds), toy_batch=cfg.batch_size, toy_kernels=cfg.kernels,
                toy_kernel_dim=cfg.kernel_dim, toy_ha=cfg.ha_weight, toy_min_count=metrics.min_count(cfg.n_eval, 8))


def summarise(table: pd.DataFrame, columns, formats) -> pd.DataFrame:
    """Median [min, max] over seeds of each column, one row per variant in table order."""
    out = {}
    for v in [v for v in VARIANTS if v in set(table.variant)]:
        part = table[table.variant == v]
        out[v] = {c: f"{f.format(part[c].median())} [{f.format(part[c].min())}, {f.format(part[c].max())}]"
                  for c, f in zip(columns, formats)}
    return pd.DataFrame(out).T


def toy_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The ring ablation's table: mean modes (>= k HQ samples each) over seeds, then median [range] of the modes,
    high-quality %, reverse KL, mode hopping and D(x) on real."""
    out = summarise(table.assign(hq=100 * table.hq), ["modes_k", "hq", "reverse_kl", "hopping", "p_real"],
                    ["{:.0f}", "{:.1f}", "{:.2f}", "{:.3f}", "{:.2f}"])
    out.columns = ["modes of 8", "high quality (%)", "reverse KL", "mode hopping", "D(x) on real"]
    means = table.groupby("variant").modes_k.mean()
    out.insert(0, "mean modes", [f"{means[v]:.1f}" for v in out.index])
    return out


def toy_figure(runs: dict, dist):
    """2500 samples of the first seed of each variant at the last snapshot, beside the data."""
    fig, axes = plt.subplots(2, 4, figsize=(10.4, 5.6), sharex=True, sharey=True)
    truth = dist.sample(2500, generator=torch.Generator().manual_seed(0)).numpy()
    lim = 1.6 * float(dist.centers.abs().max())
    panels = [("data", truth)] + [(v, r["samples"][max(r["samples"])][0]) for v, r in runs.items()]
    for ax, (name, pts) in zip(axes.flat, panels):
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.3, color=plotting.COLORS[0] if name == "data" else "k")
        ax.set_title(name, fontsize=9), ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal")
    return _closed(fig)


def digits_classifier(cfg, device) -> dict:
    """The digits split, the in-house classifier (``classifier.load_or_train``, cached) and the real digits'
    references: held-out features, classifier score and the Frechet distance of as many training digits."""
    x_train, y_train, x_test, y_test = classifier.digits_split(cfg.test_fraction, seed=0, device=device)
    config = classifier.ClassifierConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, width=cfg.width,
                                         shift=cfg.shift)
    clf, accuracy = classifier.load_or_train(x_train, y_train, x_test, y_test, config=config)
    ref_features = clf.embed(x_test).cpu().numpy()
    real_score = float(classifier.classifier_score(clf.probabilities(x_test)))
    real_fd = classifier.frechet_distance(clf.embed(x_train[:len(x_test)]).cpu().numpy(), ref_features)
    return dict(clf=clf, accuracy=accuracy, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                ref_features=ref_features, real_score=real_score, real_fd=real_fd)


def digits_numbers(ref: dict) -> dict:
    return dict(clf_accuracy=100 * ref["accuracy"], real_score=ref["real_score"], real_fd=ref["real_fd"],
                n_test=len(ref["x_test"]))


def digits_ablation(cfg, ref: dict, seeds, device) -> tuple[dict, pd.DataFrame]:
    """Every variant on the digits (``run_digits``), scored by the classifier: the runs by variant and a tidy
    table, one row per variant and seed (classifier score, Frechet distance)."""
    runs = {v: run_digits(v, cfg, ref["x_train"], seeds, device) for v in VARIANTS}
    rows = []
    for v, r in runs.items():
        scores = classifier.score_samples(ref["clf"], r["samples"], ref["ref_features"])
        rows += [dict(variant=v, seed=s, score=float(scores["score"][i]), fd=float(scores["fd"][i]))
                 for i, s in enumerate(seeds)]
    return runs, pd.DataFrame(rows)


def digits_summary(table: pd.DataFrame, ref: dict) -> pd.DataFrame:
    """The digits ablation's table, median [range], with the held-out digits' row."""
    out = summarise(table, ["score", "fd"], ["{:.2f}", "{:.1f}"])
    out.columns = ["classifier score", "Fréchet distance"]
    out.loc["real held-out digits"] = [f"{ref['real_score']:.2f}", f"{ref['real_fd']:.1f}"]
    return out


def digits_figure(runs: dict, x_test: torch.Tensor):
    """64 samples of the first seed of each variant, beside held-out digits."""
    fig, axes = plt.subplots(2, 4, figsize=(11, 6))
    panels = [("real digits", x_test[:64].cpu().numpy())] + [(v, r["samples"][0, :64].cpu().numpy())
                                                              for v, r in runs.items()]
    for ax, (name, imgs) in zip(axes.flat, panels):
        plotting.image_grid(ax, imgs.reshape(-1, 1, 8, 8), nrow=8)
        ax.set_title(name, fontsize=9)
    return _closed(fig)


# --- the claims' verdicts ----------------------------------------------------------------------------

def _threshold(claim_id: str) -> dict:
    return dict(CATALOGUE[claim_id].threshold)


def historical_averaging_converges(distance: dict, weight: float) -> Verdict:
    """ch5.historical-averaging-converges (sec. 3.3) from ``distance``, the distance to (1, 1) at steps 0 to T by
    penalty weight (``game``'s): without the penalty (key 0.0) the final / initial distance stays at least
    ``gd_min_ratio`` (it orbits); with it (key ``weight``) the fitted exponent of the distance's fall like t^a
    over the second half is at most the linearised theory's ``predicted_rate(weight)`` plus ``rate_tolerance``.
    ``weight`` 0 (no averaging) fails: the theory gives no rate."""
    th = _threshold("ch5.historical-averaging-converges")
    gd, ha = np.asarray(distance[0.0], dtype=float), np.asarray(distance[weight], dtype=float)
    gd_ratio = float(gd[-1] / gd[0])
    rate, predicted = fitted_rate(ha, th["fit_from"]), predicted_rate(weight)
    bound = predicted + th["rate_tolerance"]
    passed = bool(gd_ratio >= th["gd_min_ratio"]) and bool(rate <= bound)
    first = max(1, int(th["fit_from"] * (len(ha) - 1)))
    return Verdict(passed, {"gd_ratio": gd_ratio, "ha_ratio": float(ha[-1] / ha[0]), "rate": rate,
                            "predicted": predicted, "weight": weight},
                   f"final / initial distance to (1, 1) {gd_ratio:.2f} without averaging (>= {th['gd_min_ratio']} "
                   f"needed); with weight {weight:g} it falls like t^{rate:.3f} over steps {first}-{len(ha) - 1} "
                   f"(theory -1/(1+w^2) = {predicted:.3f}; <= {bound:.3f} needed)")


def label_smoothing_less_confident(plain_real, smooth_real, smooth_fake) -> Verdict:
    """ch5.label-smoothing-less-confident (sec. 3.4) from each seed's final mean D on real samples without and
    with smoothing, and on generated samples with smoothing: one-sided smoothing caps D(x) at the real target
    and leaves the generated target at 0 (two-sided smoothing lifts D(G(z)) to its fake target); a NaN fails."""
    th = _threshold("ch5.label-smoothing-less-confident")
    plain_real, smooth_real, smooth_fake = (np.asarray(a, dtype=float) for a in (plain_real, smooth_real, smooth_fake))
    passed = (all_at_most(smooth_real, th["real_target"] + th["tolerance"]) and all_above(plain_real, th["confident"])
              and all_below(smooth_fake, 1 - th["confident"]))
    return Verdict(passed, {"plain": plain_real.tolist(), "smooth": smooth_real.tolist(),
                            "smooth_fake": smooth_fake.tolist()},
                   f"mean D(x) on real samples: {smooth_real.max():.3f} at most with target {th['real_target']} "
                   f"(<= {th['real_target'] + th['tolerance']:.2f} needed), {plain_real.min():.3f} at least without "
                   f"(> {th['confident']} needed); mean D(G(z)) with smoothing {smooth_fake.max():.3g} at most "
                   f"(< {1 - th['confident']:.2g} needed)")


def _per_seed(table: pd.DataFrame, variant: str, column: str) -> np.ndarray:
    return table[table.variant == variant][column].to_numpy()


def toy_baseline_trained(table: pd.DataFrame):
    """ch5.toy-baseline-trained: the ring ablation's baseline against the protocol's trained level on the ring of 8
    (``verdicts.baseline_trained("ring8", ...)``: HQ fraction >= 0.8 and >= 6 modes with >= k HQ samples each)."""
    from ..evaluation import verdicts

    return verdicts.baseline_trained("ring8", _per_seed(table, "baseline", "hq"), _per_seed(table, "baseline", "modes_k"))


def minibatch_reduces_collapse(table: pd.DataFrame, baseline=None):
    """ch5.minibatch-discrimination-reduces-collapse from the ring ablation's table (sec. 3.2): the declared effect,
    modes covered (>= k HQ samples each) with minibatch discrimination minus without, paired by seed, judged with
    its interval (``verdicts.judge``); INCONCLUSIVE when ``baseline`` (``toy_baseline_trained``'s result) did not
    train (``verdicts.gated``). ``baseline`` None: judged ungated."""
    from ..evaluation import verdicts

    order = table.sort_values("seed")
    base, mbd = _per_seed(order, "baseline", "modes_k"), _per_seed(order, "minibatch discrimination", "modes_k")
    result = verdicts.judge(verdicts.declared("ch5.minibatch-discrimination-reduces-collapse"), mbd, base)
    return result if baseline is None else verdicts.gated(result, baseline)


def feature_matching_stabilises(table: pd.DataFrame) -> Verdict:
    """ch5.feature-matching-stabilises from the ring ablation's table (sec. 3.1): the median over seeds of the
    mode hopping is strictly lower with feature matching than for the baseline."""
    base, fm = _per_seed(table, "baseline", "hopping"), _per_seed(table, "feature matching", "hopping")
    base_hop, fm_hop = np.median(base), np.median(fm)
    return Verdict(bool(fm_hop < base_hop), {"baseline": base.tolist(), "fm": fm.tolist()},
                   f"median mode hopping {fm_hop:.3f} with feature matching, {base_hop:.3f} without (strictly lower "
                   f"needed)")


def classifier_score_real_highest(accuracy: float, real_score: float, table: pd.DataFrame) -> Verdict:
    """ch5.classifier-score-real-highest (sec. 4): the classifier is accurate enough, and the held-out digits'
    score is strictly above every variant and seed of the digits ablation's ``table``."""
    th = _threshold("ch5.classifier-score-real-highest")
    best = float(table.score.max())
    return Verdict(bool(accuracy >= th["min_accuracy"]) and bool(real_score > best),
                   {"accuracy": accuracy, "real": real_score, "gans": table.to_dict("list")},
                   f"classifier test accuracy {accuracy:.3f} (>= {th['min_accuracy']} needed); held-out digits score "
                   f"{real_score:.2f}, the best GAN variant and seed {best:.2f} (strictly lower needed)")

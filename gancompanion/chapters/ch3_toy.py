"""Chapter 3's run of Roth et al.'s (2017) Figure 1 toy: its variants, networks, evaluation, cost and the
checks of the two claims made on it (``regulariser_faster``, ``regulariser_stable``).

The settings come from ``scales.settings("ch3.roth", scale)`` (their ``3DGAN.py``); the chapter calls
these helpers so that its cells hold only the experiment and its reading.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from . import chapter
from ..evaluation import metrics
from ..training import nets, train
from ..techniques.noise import InstanceNoise
from ..training.parts import Recipe
from ..techniques.d_terms import Penalty

PAPER_STEPS = 100_000  # MAX_STEPS of 3DGAN.py
PAPER_RUNS = 3  # NUM_RUNS of 3DGAN.py
NAMES = ("unregularised", "instance noise", "annealed noise", "Roth et al.", "R1")
COMPARED = ("unregularised", "Roth et al.")  # the variants the claims compare; the others have no claim


def variants(cfg, seeds: list[int], extra_seeds: list[int]) -> dict[str, tuple[Recipe, list[int]]]:
    """The discriminators compared: name -> (recipe, seeds), without the variants given no seeds; all use
    the saturating minimax G loss."""
    sigma = math.sqrt(cfg.gamma)  # gamma is a noise variance
    out = {
        "unregularised": (Recipe(cfg.objective), seeds),
        "instance noise": (Recipe(cfg.objective, noise=InstanceNoise(sigma)), extra_seeds),
        "annealed noise": (Recipe(cfg.objective, noise=InstanceNoise(sigma, "exponential", math.sqrt(cfg.decay))),
                           extra_seeds),
        "Roth et al.": (Recipe(cfg.objective, d_terms=[Penalty("roth", cfg.gamma)]), seeds),
        "R1": (Recipe(cfg.objective, d_terms=[Penalty("r1", cfg.gamma / 2)]), extra_seeds),
    }
    return {name: v for name, v in out.items() if v[1]}


def builder(cfg, device):
    """``seeds -> (g, d)``: the paper's tanh MLPs, seed-batched, on ``device``."""
    def build(run_seeds):
        g = nets.mlp_generator(cfg.latent_dim, [cfg.hidden] * 2, 3, run_seeds, init_std=cfg.init_std)
        d = nets.mlp_discriminator(3, [cfg.hidden] * 2, run_seeds, init_std=cfg.init_std)
        return g.to(device), d.to(device)
    return build


def evaluator(cfg, toy, frame_steps):
    """``(step, g, streams) -> metrics``, with samples kept at ``frame_steps`` for the figure."""
    def evaluate(step, g, st):
        with torch.no_grad():
            x = g(st.fixed_latent(cfg.n_eval)).cpu().numpy()  # (S, n_eval, 3)
        samples = {"samples": x[:, : cfg.n_plot]} if step in frame_steps else {}
        return {**metrics.evaluate(x, toy, cfg.k_std), **samples}
    return evaluate


def train_config(cfg, steps: int | None = None, lr: float | None = None) -> train.TrainConfig:
    """The loop's settings: one D step per G step, Adam(beta1 0.5) at the scale's (or the given) rate."""
    lr = cfg.lr if lr is None else lr
    return train.TrainConfig(steps=steps or cfg.steps, lr_d=lr, lr_g=lr, betas=cfg.betas, log_every=cfg.eval_every)


def frame_steps(cfg) -> list[int]:
    """The snapshot steps drawn in the figure: ``cfg.frames`` evenly spaced, on the evaluation grid."""
    return sorted({int(round(s / cfg.eval_every)) * cfg.eval_every for s in np.linspace(0, cfg.steps, cfg.frames)})


def seconds_per_step(cfg, toy, device, *, together: bool, steps: int) -> float:
    """Measured seconds per step of the paper's protocol (3 runs of each variant, lr 1e-3), all variants.

    Trains ``steps + 1`` steps (one model, or one per variant) and times steps 2 to ``steps + 1`` of each
    with a hook at every step (the first step warms up and is not counted); nothing is evaluated.
    """
    runs = list(range(PAPER_RUNS))
    clock: list[tuple[int, float]] = []

    def tick(step, g, st):
        clock.append((step, time.perf_counter()))
        return {}

    kw = dict(batch_size=cfg.batch_size, latent_dim=cfg.latent_dim, evaluate=tick, eval_every=1, device=device,
              together=together)
    chapter.train_variants(variants(cfg, runs, runs), builder(cfg, device), toy, train_config(cfg, steps + 1, lr=1e-3),
                           **kw)
    at = {}  # per model: the clock at step 1 and at the last step
    model = -1
    for step, t in clock:
        model += step == 0
        at.setdefault(model, {})[step] = t
    return sum((t[steps + 1] - t[1]) / steps for t in at.values())


def collect(out: chapter.VariantRuns, variants_: dict, frames: list[int]) -> dict[str, dict]:
    """Per variant: steps, (T, S) modes_k / modes / hq_fraction / off_plane, the frames' samples, divergences."""
    runs = {}
    for name, (_, run_seeds) in variants_.items():
        steps = chapter.per_seed(out.table, name, "modes")[0]
        values = {k: chapter.per_seed(out.table, name, k)[1] for k in ("modes_k", "modes", "hq_fraction", "off_plane")}
        runs[name] = dict(steps=steps, seeds=list(run_seeds), **values, diverged=out.diverged[name],
                          frames={s: out.records[name][s]["samples"] for s in frames})
    return runs


def reading_text(final: dict) -> str:
    """The last snapshot's medians, unregularised against Roth et al."""
    unreg, roth = final["unregularised"], final["Roth et al."]
    return (f"At the last step (medians over seeds) the unregularised generator covers {unreg['modes_k']:.0f} modes "
            f"with a high-quality fraction of {unreg['hq_fraction']:.2f}, the regularised one {roth['modes_k']:.0f} "
            f"modes with {roth['hq_fraction']:.2f}.")


def steps_text(values) -> str:
    """'[300, never]' for first-coverage steps (inf: never), as the CLAIM lines print them."""
    return "[" + ", ".join("never" if not np.isfinite(v) else f"{v:.0f}" for v in values) + "]"


def censored(first, steps: int, eval_every: int) -> np.ndarray:
    """First-coverage steps with "never" (inf) counted as ``steps + eval_every``: the first evaluation after the
    run, the earliest a run that has not covered the modes could still do so (a conservative stand-in, so that
    an interval over seeds exists; it favours neither variant more than its runs' length allows). NaN stays NaN."""
    first = np.asarray(first, dtype=float)
    return np.where(np.isinf(first), float(steps + eval_every), first)


def first_range(first, steps: int, eval_every: int, paper_steps: int = PAPER_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Per run, the earliest and latest step at which it could first cover every mode in the paper's run of
    ``paper_steps``, seen only up to ``steps``: its step where it did; for one that had not, from the next
    evaluation (``censored``) to never (``paper_steps + eval_every``, the declared count at the paper's length)."""
    first = np.asarray(first, dtype=float)
    return censored(first, steps, eval_every), censored(first, max(steps, paper_steps), eval_every)


def kept_range(steps, modes_k, n_modes: int, eval_every: int, paper_steps: int = PAPER_STEPS
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per run, the least and most of ``metrics.kept_fraction`` that the paper's run of ``paper_steps`` could
    give, seen only up to the last of ``steps``: of its ``M`` evaluations after the first full coverage, the
    ``m`` seen kept all modes ``a`` times, so the fraction lies in ``[a / M, (a + M - m) / M]``; a run with no
    evaluation seen after a full coverage lies in [0, 1] (in [0, 0] at the paper's length)."""
    steps, full = np.asarray(steps, dtype=float), np.asarray(modes_k, dtype=float) >= n_modes  # (T,), (T, S)
    first = metrics.first_full_coverage(steps, modes_k, n_modes)
    unseen = max(0.0, (paper_steps - steps[-1]) / eval_every)  # evaluations of the paper's run after the cut
    lo, hi = np.zeros(full.shape[1]), np.zeros(full.shape[1])
    for s in range(full.shape[1]):
        later = steps > first[s]
        m, a = int(later.sum()), int(full[later, s].sum())
        if np.isfinite(first[s]) and m:
            lo[s], hi[s] = a / (m + unseen), (a + unseen) / (m + unseen)
        else:
            hi[s] = float(unseen > 0)
    return lo, hi


def _remainder(steps: int, paper_steps: int) -> str:
    return f"the paper's steps {steps:,}-{paper_steps:,}, beyond this run,"


def regulariser_faster(first: dict, steps: int, eval_every: int, baseline=None, paper_steps: int = PAPER_STEPS):
    """ch3.regulariser-faster (Huszar 2017, on Roth et al. 2017 Fig. 1): the declared effect, the step of first full
    coverage (every mode with >= k HQ samples) with Roth's regulariser minus without, paired by seed, "never" counted
    as ``censored`` does, judged with its interval (``verdicts.judge``); gated by ``baseline`` when given. A run of
    fewer than ``paper_steps`` decides it only where every step its uncovered runs could reach in the paper's run
    gives the same outcome (``first_range``, ``verdicts.completions``)."""
    from ..evaluation import verdicts

    effect = verdicts.declared("ch3.regulariser-faster")
    (roth_lo, roth_hi), (unreg_lo, unreg_hi) = (first_range(first[n], steps, eval_every, paper_steps)
                                                 for n in ("Roth et al.", "unregularised"))
    result = verdicts.judge(effect, roth_lo, unreg_lo)
    if steps < paper_steps:  # the claim says "sooner": its favourable end is Roth's earliest, the other's latest
        result = verdicts.completions(result, effect, (roth_lo, unreg_hi), (roth_hi, unreg_lo),
                                      _remainder(steps, paper_steps))
    return result if baseline is None else verdicts.gated(result, baseline)


def regulariser_stable(run: dict, n_modes: int, eval_every: int, paper_steps: int = PAPER_STEPS):
    """ch3.regulariser-stable (Huszar 2017, on Roth et al. 2017 Fig. 1): the declared effect, the fraction of the
    evaluations after the first full coverage that still cover every mode (>= k HQ samples each) with Roth's
    regulariser (``run``: its evaluation ``steps`` and (T, S) ``modes_k``), 0 for a run that never covers them,
    against the declared level (``verdicts.judge``). A run of fewer than ``paper_steps`` decides it only where
    every continuation to the paper's length gives the same outcome (``kept_range``, ``verdicts.completions``)."""
    from ..evaluation import verdicts

    effect = verdicts.declared("ch3.regulariser-stable")
    result = verdicts.judge(effect, metrics.kept_fraction(run["steps"], run["modes_k"], n_modes))
    end = int(np.asarray(run["steps"])[-1])
    if end < paper_steps:
        lo, hi = kept_range(run["steps"], run["modes_k"], n_modes, eval_every, paper_steps)
        result = verdicts.completions(result, effect, (hi,), (lo,), _remainder(end, paper_steps))
    return result


def when(values) -> str:
    """'step 2,300, never, ...' for first-coverage steps (inf: never)."""
    return ", ".join("never" if not np.isfinite(v) else f"step {v:,.0f}" for v in values)


def extras_text(final: dict) -> str:
    """The last snapshot of the variants without a claim, or why this scale has none."""
    extras = [n for n in NAMES if n not in COMPARED and n in final]
    if not extras:
        return ("At this scale only the two variants the claims compare are trained, to fit its time budget; the "
                "`paper` scale trains the other three as well.")
    parts = [f"{name} ends at {final[name]['modes_k']:.0f} modes (high-quality fraction {final[name]['hq_fraction']:.2f})"
             for name in extras]
    return "The variants without a claim, on fewer seeds: " + ", ".join(parts) + "."

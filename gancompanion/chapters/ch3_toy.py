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
from .checks import Verdict, _array, all_at_least, least, threshold
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
    """Per variant: steps, (T, S) modes / hq_fraction / off_plane, the frames' samples, divergences."""
    runs = {}
    for name, (_, run_seeds) in variants_.items():
        steps = chapter.per_seed(out.table, name, "modes")[0]
        values = {k: chapter.per_seed(out.table, name, k)[1] for k in ("modes", "hq_fraction", "off_plane")}
        runs[name] = dict(steps=steps, seeds=list(run_seeds), **values, diverged=out.diverged[name],
                          frames={s: out.records[name][s]["samples"] for s in frames})
    return runs


def verdict_text(faster: str, stable: str, kept_roth, kept_required: float) -> str:
    """One sentence on the toy's two claims, from their statuses (PASS, FAIL or SKIP)."""
    if faster == "SKIP":
        return ("At this scale the runs are too short for the two statistical claims about the 3-D toy, which print "
                "SKIP; the `book` and `paper` scales check them.")
    found = ("the regularised runs found all seven modes sooner than the unregularised ones" if faster == "PASS" else
             "the regularised runs did **not** find all seven modes sooner than the unregularised ones")
    held = (f"every regularised seed then kept them in at least {kept_required:.0%} of the later snapshots"
            if stable == "PASS" else
            f"not every regularised seed then kept them in {kept_required:.0%} of the later snapshots (the lowest "
            f"kept them in {min(kept_roth):.0%}), so the stability claim fails by the threshold we set")
    return f"On the 3-D toy {found}, and {held}."


def reading_text(final: dict) -> str:
    """The last snapshot's medians, unregularised against Roth et al., and what a difference between them means."""
    unreg, roth = final["unregularised"], final["Roth et al."]
    text = (f"At the last step (medians over seeds) the unregularised generator covers {unreg['modes']:.0f} modes with "
            f"a high-quality fraction of {unreg['hq_fraction']:.2f}, the regularised one {roth['modes']:.0f} modes "
            f"with {roth['hq_fraction']:.2f}.")
    if unreg["modes"] < roth["modes"] and unreg["hq_fraction"] > roth["hq_fraction"]:
        text += (" Without the penalty the GAN loses modes rather than sharpness; with it the generator covers the "
                 "ring but its clusters are wider, as one expects from the small-noise limit of training against "
                 "data blurred by noise of variance gamma. With a criterion of 3 std (0.03), a cluster slightly too "
                 "wide or off-centre drops a mode from one snapshot to the next, which is what the stability check "
                 "counts.")
    return text


def steps_text(values) -> str:
    """'[300, never]' for first-coverage steps (inf: never), as the CLAIM lines print them."""
    return "[" + ", ".join("never" if not np.isfinite(v) else f"{v:.0f}" for v in values) + "]"


def regulariser_faster(first: dict, seeds: list[int], departures: str = "") -> Verdict:
    """ch3.regulariser-faster (Huszar 2017, on Roth et al. 2017 Fig. 1) from the steps to first full coverage
    of every variant (``first[name]``: per seed, inf if never): Roth et al.'s median strictly below the
    unregularised one."""
    roth, unreg = first["Roth et al."], first["unregularised"]
    med_reg, med_unreg = float(np.median(_array(roth))), float(np.median(_array(unreg)))
    evidence = (f"steps to first cover all 7 modes, median over seeds {seeds}: Roth {steps_text([med_reg])[1:-1]} "
                f"{steps_text(roth)} vs unregularised {steps_text([med_unreg])[1:-1]} {steps_text(unreg)}")
    values = {"first": {k: np.asarray(v, dtype=float).tolist() for k, v in first.items()}, "seeds": list(seeds),
              "departures": departures, "median_regularised": med_reg, "median_unregularised": med_unreg}
    return Verdict(bool(med_reg < med_unreg), values, evidence)


def regulariser_stable(first: dict, kept: dict, seeds: list[int], departures: str = "") -> Verdict:
    """ch3.regulariser-stable (Huszar 2017, on Roth et al. 2017 Fig. 1) from every variant's first full
    coverage and kept fractions: every Roth et al. seed covers all modes and keeps them in the claim's fraction."""
    need = threshold("ch3.regulariser-stable")["kept"]
    roth_first, roth_kept = _array(first["Roth et al."]), _array(kept["Roth et al."])
    passed = bool(roth_first.size) and bool(np.all(np.isfinite(roth_first))) and all_at_least(roth_kept, need)
    evidence = (f"Roth: all 7 modes kept in {', '.join(f'{v:.2f}' for v in roth_kept)} of the snapshots after the "
                f"first full coverage (seeds {seeds}; >= {need:.2f} each required); unregularised: "
                f"{', '.join(f'{v:.2f}' for v in kept['unregularised'])}")
    values = {"kept": {k: np.asarray(v, dtype=float).tolist() for k, v in kept.items()}, "seeds": list(seeds),
              "departures": departures, "kept_min": least(roth_kept)}
    return Verdict(passed, values, evidence)


def when(values) -> str:
    """'step 2,300, never, ...' for first-coverage steps (inf: never)."""
    return ", ".join("never" if not np.isfinite(v) else f"step {v:,.0f}" for v in values)


def extras_text(final: dict) -> str:
    """The last snapshot of the variants without a claim, or why this scale has none."""
    extras = [n for n in NAMES if n not in COMPARED and n in final]
    if not extras:
        return ("At this scale only the two variants the claims compare are trained, to fit its time budget; the "
                "`paper` scale trains the other three as well.")
    parts = [f"{name} ends at {final[name]['modes']:.0f} modes (high-quality fraction {final[name]['hq_fraction']:.2f})"
             for name in extras]
    return "The variants without a claim, on fewer seeds: " + ", ".join(parts) + "."

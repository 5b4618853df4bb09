"""Chapter 6's costs side by side, in one run: the samplers per returned sample, LOGAN and top-k per step.

- Samplers (``gancompanion.sampling``) on one trained seed-batched toy GAN (the chapter's grid of 25):
  plain sampling, DRS, DDLS and DGFlow, with the chapter's settings; each one's generator and
  discriminator evaluations per returned sample, and its seconds per returned sample as a multiple of
  plain sampling's.
  The chains' step sizes come from the chapter's rule (``ch6.step_rule``: a chain's typical total latent
  displacement is at most a quarter of the prior's std); the GAN is trained briefly (``--train-steps``),
  which changes the samplers' acceptance (DRS) but not the chains' cost per sample.
- Training steps (``gancompanion.training.train``) with the chapter's networks and standardised grid: the
  plain step, the step with LOGAN as in Wu et al.'s Algorithm 1 (``LatentOptimisation.published``: both
  players' gradients through dz, the ``|dz|^2`` terms, U(-1, 1) latents) and the step with top-k selection,
  each as a multiple of the plain step.

Timings are interleaved: every round times each subject once, in turn, and ratios are taken within a
round (this machine's speed drifts while others use it); the summary is the median and range of the
ratios over the rounds. Run: ``python benchmarks/parts_ch6.py [--rounds 5] [--out results/parts_ch6.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
import timing  # noqa: E402

from gancompanion import sampling, settings  # noqa: E402
from gancompanion.chapters import ch6  # noqa: E402
from gancompanion.techniques import latent, selections  # noqa: E402
from gancompanion.training import nets, streams, train  # noqa: E402
from gancompanion.device import generator  # noqa: E402
from gancompanion.training.parts import Recipe  # noqa: E402


def build(cfg, seeds):
    hidden = [cfg.hidden] * cfg.depth
    return (nets.mlp_generator(cfg.latent_dim, hidden, 2, seeds, activation=cfg.activation),
            nets.mlp_discriminator(2, hidden, seeds, activation=cfg.activation))


GRID = ch6.standardised(ch6.data.grid())[0]


def trained_gan(cfg, seeds, steps):
    g, d = build(cfg, seeds)
    st = streams.ToyStreams(GRID, seeds, cfg.batch_size, cfg.latent_dim)
    train.train(g, d, st, train.TrainConfig(steps=steps, lr_d=cfg.lr, lr_g=cfg.lr, betas=cfg.betas,
                                             lr_schedule="cosine", lr_floor=cfg.lr_floor), progress=False)
    return g, d, st


def samplers(cfg, g, d, z0, seeds):
    """Each sampler as a function returning a ``sampling.Sampled`` (plain sampling with its own cost)."""
    gen = generator(0, "bench")

    def plain():
        t0 = time.perf_counter()
        with torch.no_grad():
            x = g(z0)
        return sampling.Sampled(x, z0, sampling.Cost(1.0, 0.0, (time.perf_counter() - t0) / z0[..., 0].numel()), {})

    rule = ch6.step_rule(cfg, float(np.median(ch6.latent_gradient(g, d, z0))))

    def drs():
        with sampling._frozen(g, d):
            return sampling.REFINERS["DRS"](g, d, z0, cfg, gen)

    def ddls():
        return sampling.ddls(g, d, z0, step_size=rule["ddls_step"], steps=cfg.ddls_steps, generator=gen)

    def dgflow():
        return sampling.dgflow(g, d, z0, eta=rule["dgflow_eta"], gamma=cfg.dgflow_gamma, steps=cfg.dgflow_steps,
                               generator=gen)
    return {"plain": plain, "DRS": drs, "DDLS": ddls, "DGFlow": dgflow}


def step_timer(cfg, seeds, recipe, n, prior="normal"):
    def run():
        g, d = build(cfg, seeds)
        st = streams.ToyStreams(GRID, seeds, cfg.batch_size, cfg.latent_dim, prior=prior)
        tc = train.TrainConfig(steps=n, lr_d=cfg.lr, lr_g=cfg.lr, betas=cfg.betas, log_every=n)
        t0 = time.perf_counter()
        train.train(g, d, st, tc, progress=False, **recipe.parts())
        return (time.perf_counter() - t0) / n
    return run


def summary(ratios):
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scale", default="book", choices=["smoke", "book", "paper"])
    p.add_argument("--train-steps", type=int, default=500, help="steps of the GAN whose samplers are timed")
    p.add_argument("--step-block", type=int, default=30, help="training steps per timed block")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = settings("ch6.tricks", args.scale)
    seeds = list(range(cfg.seeds))
    g, d, st = trained_gan(cfg, seeds, args.train_steps)
    z0 = st.fixed_latent(cfg.n_eval)
    sample_fns = samplers(cfg, g, d, z0, seeds)
    topk = selections.TopK(cfg.topk_gamma, cfg.topk_nu, epoch_steps=max(1, cfg.steps // cfg.epochs))
    step_fns = {"plain step": step_timer(cfg, seeds, Recipe(), args.step_block),
                "LOGAN step": step_timer(cfg, seeds, Recipe(latent_step=latent.LatentOptimisation.published(
                    cfg.logan_penalty, cfg.logan_alpha, cfg.logan_beta, "natural")), args.step_block, prior="uniform"),
                "top-k step": step_timer(cfg, seeds, Recipe(selection=topk), args.step_block)}
    for fn in [*sample_fns.values(), *step_fns.values()]:  # warm-up
        fn()
    s_ratio = {k: [] for k in sample_fns}
    t_ratio = {k: [] for k in step_fns}
    evals, seconds, step_s = {}, {k: [] for k in sample_fns}, {k: [] for k in step_fns}
    for r in range(args.rounds):
        out = {k: fn() for k, fn in sample_fns.items()}
        for k, o in out.items():
            seconds[k].append(o.cost.seconds)
            s_ratio[k].append(o.cost.seconds / out["plain"].cost.seconds)
            evals[k] = (float(np.median(o.cost.g_evals)), float(np.median(o.cost.d_evals)))
        times = {k: fn() for k, fn in step_fns.items()}
        for k, t in times.items():
            step_s[k].append(t)
            t_ratio[k].append(t / times["plain step"])
    result = {"scale": args.scale, "seeds": len(seeds), "n": cfg.n_eval, "threads": args.threads,
              "rounds": args.rounds, "torch": torch.__version__,
              "samplers": {k: {"g_evals_per_sample": evals[k][0], "d_evals_per_sample": evals[k][1],
                               "us_per_sample": 1e6 * statistics.median(seconds[k]),
                               "time_vs_plain": summary(s_ratio[k])} for k in sample_fns},
              "training": {k: {"ms_per_step": 1e3 * statistics.median(step_s[k]),
                               "time_vs_plain": summary(t_ratio[k])} for k in step_fns}}
    print(f"{'subject':>12} {'G evals':>8} {'D evals':>8} {'us/sample':>10} {'x plain (median, range)':>28}")
    for k, v in result["samplers"].items():
        t = v["time_vs_plain"]
        print(f"{k:>12} {v['g_evals_per_sample']:8.2f} {v['d_evals_per_sample']:8.2f} {v['us_per_sample']:10.2f} "
              f"{t['median']:12.2f} [{t['min']:.2f}, {t['max']:.2f}]")
    print(f"{'subject':>12} {'ms/step':>8} {'x plain (median, range)':>28}")
    for k, v in result["training"].items():
        t = v["time_vs_plain"]
        print(f"{k:>12} {v['ms_per_step']:8.2f} {t['median']:12.2f} [{t['min']:.2f}, {t['max']:.2f}]")
    timing.write(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

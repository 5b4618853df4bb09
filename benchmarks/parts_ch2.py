"""Chapter 2's Lipschitz constraints side by side, in one run: the cost of one D + G step.

On the chapter's seed-batched toy MLPs (``ch2.objectives``: ReLU, the grid of 25), one training step
(one D update and one G update, ``n_dis = 1`` for all, through ``train.train``) with:

- the plain step (non-saturating GAN), the yardstick;
- spectral normalisation (``constraints.SpectralNorm``: one power iteration per layer and per seed in
  every D forward pass), hinge loss;
- weight clipping (``constraints.WeightClip(0.01)`` after every D step), WGAN loss;
- the WGAN-GP penalty (``d_terms.Penalty("wgan_gp", 0.1)``: a double backward pass), WGAN loss.

Targets: spectral norm <= 1.15x and WGAN-GP <= 1.6x the plain step. Timings are interleaved: every
round times each subject once, in an order rotated every round, and ratios are taken within a round
(this machine's speed drifts while others use it); the summary is the median and range of the ratios.
Run: ``python benchmarks/parts_ch2.py [--rounds 7] [--scale book] [--out results/parts_ch2.json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
import timing  # noqa: E402

from gancompanion.techniques import constraints, d_terms  # noqa: E402
from gancompanion import data, settings  # noqa: E402
from gancompanion.training import nets, streams, train  # noqa: E402
from gancompanion.training.parts import Recipe  # noqa: E402

TARGETS = {"spectral norm": 1.15, "WGAN-GP": 1.6}


def recipes(cfg) -> dict[str, Recipe]:
    return {"plain": Recipe("nonsaturating"),
            "spectral norm": Recipe("hinge", constraints=(constraints.SpectralNorm(1),)),
            "weight clipping": Recipe("wgan", constraints=(constraints.WeightClip(cfg.clip),)),
            "WGAN-GP": Recipe("wgan", d_terms=(d_terms.Penalty("wgan_gp", cfg.gp_weight),))}


def step_timer(cfg, seeds, recipe, n):
    """A function that trains fresh nets for ``n`` steps and returns the seconds per step."""
    def run():
        hidden = [cfg.hidden] * cfg.depth
        g = nets.mlp_generator(cfg.latent_dim, hidden, 2, seeds, activation="relu")
        d = nets.mlp_discriminator(2, hidden, seeds, activation="relu")
        st = streams.ToyStreams(data.grid(), seeds, cfg.batch_size, cfg.latent_dim)
        tc = train.TrainConfig(steps=n, lr_d=cfg.lr, lr_g=cfg.lr, betas=cfg.betas, log_every=n)
        t0 = time.perf_counter()
        train.train(g, d, st, tc, progress=False, **recipe.parts())
        return (time.perf_counter() - t0) / n
    return run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--scale", default="book", choices=["smoke", "book", "paper"])
    p.add_argument("--block", type=int, default=100, help="training steps per timed block")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = settings("ch2.objectives", args.scale)
    seeds = list(range(cfg.seeds))
    fns = {k: step_timer(cfg, seeds, r, args.block) for k, r in recipes(cfg).items()}
    seconds, ratios = timing.interleaved(fns, args.rounds)
    names = list(fns)
    result = {"scale": args.scale, "seeds": len(seeds), "hidden": cfg.hidden, "depth": cfg.depth,
              "batch_size": cfg.batch_size, "threads": args.threads, "rounds": args.rounds, "torch": torch.__version__,
              "steps": {k: {"ms_per_step": 1e3 * statistics.median(seconds[k]),
                            "time_vs_plain": timing.summary(ratios[k]),
                            "target": TARGETS.get(k)} for k in names}}
    print(f"{'subject':>16} {'ms/step':>8} {'x plain (median, range)':>26} {'target':>8}")
    for k, v in result["steps"].items():
        t = v["time_vs_plain"]
        target = "" if v["target"] is None else f"<= {v['target']:.2f}" + (" ok" if t["median"] <= v["target"] else " MISSED")
        print(f"{k:>16} {v['ms_per_step']:8.2f} {t['median']:12.2f} [{t['min']:.2f}, {t['max']:.2f}] {target:>12}")
    timing.write(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

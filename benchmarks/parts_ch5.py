"""Chapter 5's techniques side by side, in one run: the cost of one D + G step relative to the plain step.

On the chapter's seed-batched ring-of-8 MLPs (``ch5.toy``), one training step (one D update and one G
update through ``train.train``) of:

- the plain step (the non-saturating baseline of ``ch5.build("baseline", ...)``), the yardstick;
- minibatch discrimination (``layers.MinibatchDiscrimination`` before D's head: pairwise L1 distances
  between the samples of each batch, for every kernel; D scores real and generated batches separately);
- feature matching (``techniques.FeatureMatching``: D's features on the generated batch and on a second
  real batch in the G step);
- virtual batch norm in G (``layers.VirtualBatchNorm``: the reference batch travels with every G call).

Timings are interleaved: every round times each subject once, in an order rotated every round, and
ratios are taken within a round (this machine's speed drifts while others use it); the summary is the
median and range of the ratios.
Run: ``python benchmarks/parts_ch5.py [--rounds 7] [--scale book] [--out results/parts_ch5.json]``.
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

from gancompanion.chapters import ch5  # noqa: E402
from gancompanion import data, settings  # noqa: E402
from gancompanion.training import streams, train  # noqa: E402

SUBJECTS = {"plain": "baseline", "minibatch discrimination": "minibatch discrimination",
            "feature matching": "feature matching", "virtual batch norm": "virtual batch norm"}


def step_timer(cfg, seeds, variant, n):
    """A function that trains fresh nets of ``variant`` for ``n`` steps and returns the seconds per step."""
    def run():
        g, d, parts = ch5.build(variant, cfg, seeds, 2)
        st = streams.ToyStreams(data.ring(), seeds, cfg.batch_size, cfg.latent_dim)
        tc = train.TrainConfig(steps=n, lr_d=cfg.lr, lr_g=cfg.lr, betas=tuple(cfg.betas), log_every=n)
        t0 = time.perf_counter()
        train.train(g, d, st, tc, progress=False, compile=False, **parts)
        return (time.perf_counter() - t0) / n
    return run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--scale", default="book", choices=["smoke", "book", "paper"])
    p.add_argument("--block", type=int, default=50, help="training steps per timed block")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = settings("ch5.toy", args.scale)
    seeds = list(range(cfg.seeds))
    fns = {k: step_timer(cfg, seeds, v, args.block) for k, v in SUBJECTS.items()}
    seconds, ratios = timing.interleaved(fns, args.rounds)
    names = list(fns)
    result = {"scale": args.scale, "seeds": len(seeds), "batch_size": cfg.batch_size, "kernels": cfg.kernels,
              "kernel_dim": cfg.kernel_dim, "vbn_ref": cfg.vbn_ref, "threads": args.threads, "rounds": args.rounds,
              "torch": torch.__version__,
              "steps": {k: {"ms_per_step": 1e3 * statistics.median(seconds[k]),
                            "time_vs_plain": timing.summary(ratios[k])} for k in names}}
    print(f"{'subject':>26} {'ms/step':>8} {'x plain (median, range)':>26}")
    for k, v in result["steps"].items():
        t = v["time_vs_plain"]
        print(f"{k:>26} {v['ms_per_step']:8.2f} {t['median']:12.2f} [{t['min']:.2f}, {t['max']:.2f}]")
    timing.write(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What seed-batching buys: the step cost of S runs trained as one seed-batched model against one run.

At the chapters' toy sizes (the plain non-saturating GAN on the grid of 25, latent 2: G and D with 2 or 3
hidden layers of 128 at batch 256, and the grid recipe of Chapters 2 and 6, 3 hidden layers of 96 at batch
512), one ``train()`` step (one D and one G update) for S = 1, 8, 32 and 64
runs at once, on one CPU thread as the chapters train (or on ``--device cuda``). Reported per S: the
step's seconds, its cost as a multiple of one run's step (``ratio``) and the speed-up over training the S
runs one after another (``S / ratio``).

Timings are interleaved (``timing.interleaved``): every round times each S once, in turn, and the ratios
are taken within a round (this machine's speed drifts while others use it); the summary is the median and
range over the rounds. Run: ``python benchmarks/seed_batching.py [--rounds 5]
[--out results/seed_batching-cpu.json]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
import timing  # noqa: E402

from gancompanion import data  # noqa: E402
from gancompanion.training import nets, streams, train  # noqa: E402

RUNS = (1, 8, 32, 64)
SIZES = {"2x128": ((128, 128), 256), "3x128": ((128, 128, 128), 256), "3x96-b512": ((96, 96, 96), 512)}
LATENT = 2
TARGET_S = 0.3  # seconds per timed block, about


def step_timer(hidden, batch: int, n_runs: int, steps: int, device: str):
    """A function timing ``steps`` training steps of ``n_runs`` seed-batched runs; returns seconds per step."""
    seeds = list(range(n_runs))

    def run():
        g = nets.mlp_generator(LATENT, list(hidden), 2, seeds).to(device)
        d = nets.mlp_discriminator(2, list(hidden), seeds).to(device)
        st = streams.ToyStreams(data.grid(), seeds, batch, LATENT, device=device)
        cfg = train.TrainConfig(steps=steps, lr_d=1e-3, lr_g=1e-3, log_every=steps)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train.train(g, d, st, cfg, progress=False, compile=False)
        if device == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) / steps

    return run


def block_steps(hidden, batch: int, device: str) -> dict[int, int]:
    """Steps per timed block for each S, so that a block lasts about ``TARGET_S`` (from one probe of each)."""
    out = {}
    for s in RUNS:
        per_step = step_timer(hidden, batch, s, 5, device)()
        out[s] = max(5, round(TARGET_S / per_step))
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the chapters train on 1)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = {"what": "seconds per training step (one D and one G update) of S seed-batched runs, and its ratio "
                      "to one run's step (interleaved rounds; median and range over rounds)",
              "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(),
              "threads": args.threads, "batch": {n: b for n, (_, b) in SIZES.items()}, "latent": LATENT,
              "rounds": args.rounds,
              "torch": torch.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
              "load_average_before": os.getloadavg(), "sizes": {}}
    for name, (hidden, batch) in SIZES.items():
        steps = block_steps(hidden, batch, args.device)
        fns = {s: step_timer(hidden, batch, s, steps[s], args.device) for s in RUNS}
        seconds, ratios = timing.interleaved(fns, args.rounds, reference=1)
        result["sizes"][name] = {
            str(s): {"steps_per_block": steps[s], "seconds": timing.summary(seconds[s]),
                     "ratio": timing.summary(ratios[s]),
                     "speedup_over_sequential": timing.summary([s / r for r in ratios[s]])}
            for s in RUNS}
        for s in RUNS:
            r = result["sizes"][name][str(s)]
            print(f"{name} S={s:>2}: {1e3 * r['seconds']['median']:.2f} ms/step, x{r['ratio']['median']:.2f} one run "
                  f"[{r['ratio']['min']:.2f}, {r['ratio']['max']:.2f}], speed-up over sequential "
                  f"{r['speedup_over_sequential']['median']:.2f}")
    result["load_average_after"] = os.getloadavg()  # other processes on the machine: wide ranges when high
    timing.write(result, args.out)
    return result


if __name__ == "__main__":
    main()

"""Trained toy-GAN baselines: the cheapest settings at which each objective reaches the literature's level.

Before any comparison of training variants on the toy mixtures (Chapters 2, 3, 5 and 6), its baseline must
have *trained*. The levels are fixed from the literature before any run (PacGAN's plain GAN, Lin et al. 2018,
Table 1: 94.8 % high-quality samples and 17.3 modes on the grid of 25; 98.2 % and 6.3 modes on the ring of 8):

- grid of 25 (VEEGAN/PacGAN: {-4, -2, 0, 2, 4}^2, std 0.05): HQ fraction >= 0.80 and >= 15 covered modes;
- ring of 8 (radius 1, std 0.01): HQ fraction >= 0.80 and >= 6 covered modes;
- Roth et al.'s (2017) 7 Gaussians on a ring in R^3 (std 0.01): all 7 modes covered.

A sample is high quality (HQ) within 3 std of its nearest mode (VEEGAN/PacGAN); a mode is *covered* when it
holds at least ``K_COVER`` = 10 HQ samples of ``N_EVAL`` = 2500 (a uniform blob, an isotropic Gaussian blob and
a one-mode collapse then cover at most 2 modes; PacGAN's ">= 1" count is kept beside it as ``modes_1``).

The protocol of every setting is fixed in ``SETTINGS`` before it is run: seeds 0-7 in one seed-batched model,
``steps`` generator updates, evaluation every ``steps / 20`` on 2500 samples of fixed latents per seed. A
setting *reaches the level* when at its last step the median over seeds meets both thresholds; it *reaches
it on every seed* when its worst seed does. "Steps to level" is the first evaluated step at which the median
meets both (and "steps to 80 % HQ" the first at which the median HQ fraction does).

Rules fixed before the runs:
- data scaling: ``std`` standardises the mixture to unit spread per coordinate (centres divided by their RMS
  coordinate: 2.828 for the grid, 0.707 for the ring). This is exactly the scaling of Gulrajani et al.'s
  ``gan_toy.py`` (25 Gaussians / 2.828, 8 Gaussians radius 2 / 1.414, std 0.02 / 1.414). The metrics are
  invariant to it (centres and std scale together).
- learning-rate schedule: Adam lr 1e-3 decayed by a cosine to 1e-5 over the run (set per step from a hook
  on the loop's optimisers, which ``train`` builds with ``train.make_optimizer``), betas (0.5, 0.999).
- the other objectives of Chapter 2 get the nets, batch, latent, steps and schedule of the plain GAN's
  recommended setting, and their papers' own algorithm settings:
  * LSGAN (Mao et al. 2017): a=0, b=c=1, Adam as the GAN.
  * WGAN with clipping (Arjovsky et al. 2017, Algorithm 1): RMSProp, 5 critic steps per G step, clip
    c = 0.01 (the paper's value for inputs of unit scale: the standardised data has unit spread);
    RMSProp's rate half Adam's (Chapter 2's ratio, 5e-4 against 1e-3), same cosine.
  * WGAN-GP (Gulrajani et al. 2017): 5 critic steps, lambda = 0.1, the toy code's value, set for exactly
    this standardised data (``gan_toy.py`` divides the grid by 2.828).
  * SN-GAN with the hinge loss (Miyato et al. 2018), one D step, one power iteration: the spectrally
    normalised D is 1-Lipschitz, so its logit can move by at most |x - y| between two points. The hinge
    asks for logits >= +1 on data and <= -1 on fakes, a swing of 2; the rule lets the logit make that swing
    across half the spacing s between neighbouring modes: a fixed output gain K = 2 / (s / 2) = 4 / s in
    data units (grid standardised: s = 0.707, K = 5.66; ring: s = 1.082, K = 3.70). K = 1 (no gain) is run
    beside it as the control.
  * EBGAN (Zhao et al. 2017): margin m = 1 in units of the standardised data (the data's spread), pulling-
    away weight 0.1 (the paper's), the chapter's autoencoder D (embedding 16).
- Roth et al.'s toy (Chapter 3): their ``3DGAN.py`` settings (``scales`` ``ch3.roth``: tanh 2x128 nets,
  truncated-normal(0.1) init, batch 512, saturating minimax G loss, gamma 0.1, Adam(1e-3, beta1 0.5) at a
  constant rate, no data scaling), 3 seeds (the paper's NUM_RUNS), the unregularised and the regularised
  runs; reported: seconds per 1000 steps and the first step at which all 7 modes are covered.

Costs: the CPU seconds (``time.process_time``, one thread) of the seed-batched training including its
evaluations, per seed; and in ``timing`` the seconds per step of 1 run against 8 seed-batched runs.

Run: ``nice -n 10 python benchmarks/baselines.py [--only grid-gan-* ...] [--seeds 8]``; each setting's
result is merged into ``benchmarks/results/baselines.json`` (atomically) as soon as it is done; a run's curve
so far is kept under ``partial`` at every evaluation. Runs made in parallel into other ``--out`` files are
merged with ``--merge FILE ...``. The committed results were made so: grid ladder and objectives, the ring and
Roth's toy in parallel processes, then merged; WGAN-GP and WGAN-clip were stopped at the study's deadline
(their curves are under ``partial``).
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gancompanion import data, files  # noqa: E402
from gancompanion.evaluation import metrics  # noqa: E402
from gancompanion.pipeline import scales  # noqa: E402
from gancompanion.techniques import constraints, d_terms, ebgan  # noqa: E402
from gancompanion.training import nets, objectives, streams, train  # noqa: E402
from gancompanion.training.parts import Recipe  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "baselines.json"
K_COVER = 10  # HQ samples a mode needs to count as covered (of N_EVAL)
N_EVAL = 2500  # VEEGAN/PacGAN
K_STD = 3.0  # HQ: within 3 std of the nearest mode
LEVELS = {"grid": dict(hq=0.80, modes=15), "ring": dict(hq=0.80, modes=6), "ring7_3d": dict(hq=0.0, modes=7)}


# --------------------------------------------------------------------------------------------
# Data


def toy(name: str, standardise: bool):
    """The mixture and the factor its coordinates were divided by (1 when not standardised)."""
    dist = {"grid": data.grid, "ring": data.ring, "ring7_3d": data.ring7_3d}[name]()
    if name == "ring7_3d" or not standardise:
        return dist, 1.0
    scale = float(dist.centers.pow(2).mean().sqrt())  # RMS coordinate of the centres (they are centred on 0)
    return data.GaussianMixture(dist.centers / scale, dist.std / scale), scale


def mode_spacing(dist) -> float:
    """The smallest distance between two mode centres."""
    c = dist.centers.double()
    d = torch.cdist(c, c) + torch.eye(len(c), dtype=c.dtype) * 1e9
    return float(d.min())


# --------------------------------------------------------------------------------------------
# Settings (the protocol, fixed before the runs)


@dataclass(frozen=True)
class Setting:
    name: str
    toy: str = "grid"
    standardise: bool = True
    objective: str = "gan"  # gan, lsgan, wgan_clip, wgan_gp, sn_hinge, ebgan, roth_unreg, roth_reg
    hidden: tuple = (128, 128, 128)
    batch: int = 256
    latent: int = 2
    steps: int = 5000
    lr: float = 1e-3
    lr_end: float = 1e-5
    schedule: str = "cosine"  # or "constant"
    betas: tuple = (0.5, 0.999)
    n_dis: int = 1
    sn_gain: str = "rule"  # for sn_hinge: "rule" (K = 4 / spacing) or "one"
    seeds: int = 8
    first_seed: int = 0  # seeds first_seed .. first_seed + seeds - 1 (pilots use seeds no chapter publishes)
    note: str = ""


def gan_ladder(toy_name: str) -> list[Setting]:
    """The plain non-saturating GAN: issue-size nets at 10k and 5k steps, and (grid) a cheaper net at 5k.

    Run in this order, most expensive first; the cheaper rungs planned below 2x128/batch 128 (2x64, 2500
    steps, and the raw-data and constant-lr controls there) were dropped once 2x128/batch 128 at 5k steps
    failed (a control on a setting that does not train measures nothing)."""
    out = [Setting(f"{toy_name}-gan-3x128-b256-10k", toy_name, steps=10_000),
           Setting(f"{toy_name}-gan-3x128-b256-5k", toy_name, steps=5000),
           # stronger rungs, for a baseline whose interval over seeds must clear the level (not only its median)
           Setting(f"{toy_name}-gan-3x128-b256-20k", toy_name, steps=20_000),
           Setting(f"{toy_name}-gan-3x128-b512-10k", toy_name, batch=512, steps=10_000),
           Setting(f"{toy_name}-gan-3x128-b512-5k", toy_name, batch=512, steps=5000),  # b256-10k's cost
           # narrower nets at batch 512 (a recipe the book can afford for six objectives and Chapter 6)
           Setting(f"{toy_name}-gan-3x64-b512-10k", toy_name, hidden=(64,) * 3, batch=512, steps=10_000),
           Setting(f"{toy_name}-gan-3x96-b512-10k", toy_name, hidden=(96,) * 3, batch=512, steps=10_000),
           Setting(f"{toy_name}-gan-3x128-b256-10k-z8", toy_name, latent=8, steps=10_000)]
    if toy_name == "grid":
        out.append(Setting(f"{toy_name}-gan-2x128-b128-5k", toy_name, hidden=(128, 128), batch=128, steps=5000))
    return out


def objective_set(base: Setting) -> list[Setting]:
    """Chapter 2's other objectives at ``base``'s nets, batch, latent, steps and schedule (rules above)."""
    stem = base.name.replace("-gan-", "-{}-")
    base = replace(base, seeds=OBJECTIVE_SEEDS)
    return [
        replace(base, name=stem.format("lsgan"), objective="lsgan", note=""),
        replace(base, name=stem.format("wgan_clip"), objective="wgan_clip", n_dis=5, lr=base.lr / 2,
                lr_end=base.lr_end / 2, note=""),
        replace(base, name=stem.format("wgan_gp"), objective="wgan_gp", n_dis=5, note=""),
        replace(base, name=stem.format("sn_hinge"), objective="sn_hinge", note=""),
        replace(base, name=stem.format("sn_hinge_K1"), objective="sn_hinge", sn_gain="one",
                note="control: no gain (Lipschitz 1 in data units)"),
        replace(base, name=stem.format("ebgan"), objective="ebgan", note=""),
    ]


def roth_settings(steps: int) -> list[Setting]:
    cfg = scales.settings("ch3.roth", "paper")
    common = dict(toy="ring7_3d", standardise=False, hidden=(cfg.hidden,) * 2, batch=cfg.batch_size,
                  latent=cfg.latent_dim, steps=steps, lr=cfg.lr, lr_end=cfg.lr, schedule="constant",
                  betas=tuple(cfg.betas), seeds=cfg.seeds)
    return [Setting(f"roth-unregularised-{steps // 1000}k", objective="roth_unreg", **common),
            Setting(f"roth-regularised-{steps // 1000}k", objective="roth_reg", **common)]


# The plain-GAN settings the objectives use, chosen from the ladder by the rule stated before it ran: the
# cheapest setting (CPU-seconds per seed) whose every seed reaches the level, or failing that the cheapest
# whose median does (grid: only 3x128/batch 256/10k steps reached it, 5 of 8 seeds). The objectives run on
# 4 seeds (0-3), not 8: with 5 critic steps per G step the two WGANs cost 3-5x the GAN, and the study had
# about an hour of a shared 2-core machine.
OBJECTIVE_BASE = {"grid": "grid-gan-3x128-b256-10k", "ring": "ring-gan-3x128-b256-10k"}
OBJECTIVE_SEEDS = 4


def all_settings() -> dict[str, Setting]:
    out = {}
    for t in ("grid", "ring"):
        ladder = gan_ladder(t)
        out.update({s.name: s for s in ladder})
        base = next(s for s in ladder if s.name == OBJECTIVE_BASE[t])
        out.update({s.name: s for s in objective_set(base)})
    out.update({s.name: s for s in roth_settings(20_000)})
    return out


# --------------------------------------------------------------------------------------------
# Building a run


class Gain(nn.Module):
    """``K * net(x)``: a fixed gain on a (spectrally normalised) discriminator's logit."""

    per_sample = True

    def __init__(self, net: nn.Module, gain: float):
        super().__init__()
        self.net, self.gain = net, float(gain)

    def forward(self, x):
        return self.gain * self.net(x)


def build(s: Setting, dist, seeds):
    """Fresh (g, d), the recipe, and the loop's optimiser kind for setting ``s``."""
    if s.objective.startswith("roth"):
        cfg = scales.settings("ch3.roth", "paper")
        g = nets.mlp_generator(s.latent, list(s.hidden), 3, seeds, init_std=cfg.init_std)
        d = nets.mlp_discriminator(3, list(s.hidden), seeds, init_std=cfg.init_std)
        terms = (d_terms.Penalty("roth", cfg.gamma),) if s.objective == "roth_reg" else ()
        return g, d, Recipe(cfg.objective, d_terms=terms), "adam", {}
    g = nets.mlp_generator(s.latent, list(s.hidden), dist.dim, seeds, activation="relu")
    if s.objective == "ebgan":
        d = ebgan.AutoencoderD(dist.dim, list(s.hidden[:-1] or s.hidden), 16, seeds)
        recipe = Recipe(objectives.get_objective("ebgan", margin=1.0), g_terms=(ebgan.PullingAway(0.1),))
        return g, d, recipe, "adam", {"margin": 1.0, "pt_weight": 0.1}
    d = nets.mlp_discriminator(dist.dim, list(s.hidden), seeds, activation="relu")
    if s.objective == "gan":
        return g, d, Recipe("nonsaturating"), "adam", {}
    if s.objective == "lsgan":
        return g, d, Recipe("least_squares"), "adam", {}
    if s.objective == "wgan_clip":
        return g, d, Recipe("wgan", constraints=(constraints.WeightClip(0.01),)), "rmsprop", {"clip": 0.01}
    if s.objective == "wgan_gp":
        return g, d, Recipe("wgan", d_terms=(d_terms.Penalty("wgan_gp", 0.1),)), "adam", {"gp_weight": 0.1}
    if s.objective == "sn_hinge":
        gain = 4.0 / mode_spacing(dist) if s.sn_gain == "rule" else 1.0
        return g, Gain(d, gain), Recipe("hinge", constraints=(constraints.SpectralNorm(1),)), "adam", {"gain": gain}
    raise ValueError(f"unknown objective {s.objective!r}")


def lr_at(s: Setting, step: int) -> float:
    if s.schedule == "constant":
        return s.lr
    return s.lr_end + (s.lr - s.lr_end) * 0.5 * (1 + math.cos(math.pi * step / s.steps))


@contextlib.contextmanager
def captured_optimizers():
    """The optimisers ``train.train`` builds (it calls ``train.make_optimizer`` for D, then for G)."""
    made, original = [], train.make_optimizer

    def make(*args, **kwargs):
        opt = original(*args, **kwargs)
        made.append(opt)
        return opt

    train.make_optimizer = make
    try:
        yield made
    finally:
        train.make_optimizer = original


def evaluate(g, st, dist) -> dict[str, np.ndarray]:
    with torch.no_grad():
        x = g(st.fixed_latent(N_EVAL)).cpu().numpy()
    mask, idx = metrics.high_quality(x, dist, K_STD)
    n_modes = len(dist.centers)
    counts = np.stack([np.bincount(idx[r][mask[r]], minlength=n_modes) for r in range(len(x))])  # (S, K)
    return {"hq": mask.mean(-1), "modes": (counts >= K_COVER).sum(-1), "modes_1": (counts >= 1).sum(-1)}


def first_step(steps, ok) -> float | None:
    hit = [s for s, o in zip(steps, ok) if o]
    return hit[0] if hit else None


def run_setting(s: Setting, partial_out: Path | None = None) -> dict:
    """Train setting ``s`` on seeds 0..s.seeds-1 in one seed-batched model; its levels, curve and cost.

    With ``partial_out``, the curve so far is saved under ``partial/<name>`` at every evaluation (a run
    stopped early still leaves what it measured)."""
    torch.set_num_threads(1)
    dist, scale = toy(s.toy, s.standardise)
    seeds = list(range(s.first_seed, s.first_seed + s.seeds))
    g, d, recipe, optimizer, extra = build(s, dist, seeds)
    st = streams.ToyStreams(dist, seeds, s.batch, s.latent)
    cfg = train.TrainConfig(steps=s.steps, n_dis=s.n_dis, lr_d=s.lr, lr_g=s.lr, betas=s.betas, optimizer=optimizer,
                            log_every=max(s.steps // 20, 1))
    every = max(s.steps // 20, 1)
    evals: dict[int, dict] = {}
    eval_seconds = [0.0]

    with captured_optimizers() as opts:
        def set_lr(step, g_, d_, st_):
            lr = lr_at(s, step)
            for opt in opts:
                for group in opt.param_groups:
                    group["lr"] = lr

        def eval_hook(step, g_, d_, st_):
            t0 = time.process_time()
            evals[step] = evaluate(g_, st_, dist)
            eval_seconds[0] += time.process_time() - t0
            if partial_out is not None:
                ts = sorted(evals)
                save(f"partial/{s.name}", {
                    "setting": asdict(s), "cpu_seconds_so_far": round(time.process_time() - cpu0, 2),
                    "step": ts, "hq_median": [round(float(np.median(evals[t]["hq"])), 4) for t in ts],
                    "hq_worst": [round(float(evals[t]["hq"].min()), 4) for t in ts],
                    "modes_median": [float(np.median(evals[t]["modes"])) for t in ts],
                    "modes_worst": [int(evals[t]["modes"].min()) for t in ts]}, partial_out)

        hooks = [train.Hook("lr", 1, set_lr), train.Hook("eval", every, eval_hook)] if s.schedule != "constant" \
            else [train.Hook("eval", every, eval_hook)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = train.train(g, d, st, cfg, hooks=hooks, progress=False, desc=s.name, **recipe.parts())
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0

    level = LEVELS[s.toy]
    steps = sorted(evals)
    hq = np.array([evals[t]["hq"] for t in steps])  # (T, S)
    modes = np.array([evals[t]["modes"] for t in steps])
    modes_1 = np.array([evals[t]["modes_1"] for t in steps])
    med_ok = (np.median(hq, 1) >= level["hq"]) & (np.median(modes, 1) >= level["modes"])
    seed_ok = (hq >= level["hq"]) & (modes >= level["modes"])  # (T, S)
    out = {
        "setting": asdict(s), "data_divided_by": scale, "seeds": seeds, "extra": extra, "level": level,
        "k_cover": K_COVER, "n_eval": N_EVAL,
        "final": {"hq_median": float(np.median(hq[-1])), "hq_worst": float(hq[-1].min()),
                  "modes_median": float(np.median(modes[-1])), "modes_worst": int(modes[-1].min()),
                  "modes_1_median": float(np.median(modes_1[-1])),
                  "hq_per_seed": [round(float(v), 4) for v in hq[-1]], "modes_per_seed": modes[-1].tolist()},
        "reaches_level_median": bool(med_ok[-1]), "reaches_level_every_seed": bool(seed_ok[-1].all()),
        "seeds_at_level": int(seed_ok[-1].sum()),
        "steps_to_level_median": first_step(steps, med_ok),
        "steps_to_hq80_median": first_step(steps, np.median(hq, 1) >= 0.8),
        "steps_to_level_per_seed": [first_step(steps, seed_ok[:, i]) for i in range(len(seeds))],
        "curve": {"step": steps, "hq_median": np.median(hq, 1).round(4).tolist(),
                  "hq_worst": hq.min(1).round(4).tolist(), "modes_median": np.median(modes, 1).tolist(),
                  "modes_worst": modes.min(1).tolist()},
        "diverged": {str(seeds[i]): v for i, v in result.diverged.items()},
        "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2), "eval_cpu_seconds": round(eval_seconds[0], 2),
        "cpu_seconds_per_seed": round(cpu / len(seeds), 2),
        "cpu_ms_per_step_batched": round(1000 * (cpu - eval_seconds[0]) / s.steps, 3),
    }
    if s.toy == "ring7_3d":
        cov = modes >= 7
        out["first_full_coverage_per_seed"] = [first_step(steps, cov[:, i]) for i in range(len(seeds))]
        out["kept_after_first_coverage"] = metrics.kept_fraction(steps, modes, 7).round(3).tolist()
        out["cpu_seconds_per_1000_steps"] = round(1000 * (cpu - eval_seconds[0]) / s.steps, 2)
    return out


def time_steps(s: Setting, runs: int, n: int = 300, warm: int = 30) -> float:
    """CPU milliseconds per step (one thread) of setting ``s`` with ``runs`` seed-batched runs, no evaluation."""
    torch.set_num_threads(1)
    dist, _ = toy(s.toy, s.standardise)
    seeds = list(range(runs))
    g, d, recipe, optimizer, _ = build(s, dist, seeds)
    st = streams.ToyStreams(dist, seeds, s.batch, s.latent)
    clock = {}

    def tick(step, g_, d_, st_):
        clock[step] = time.process_time()

    cfg = train.TrainConfig(steps=warm + n, n_dis=s.n_dis, lr_d=s.lr, lr_g=s.lr, betas=s.betas, optimizer=optimizer,
                            log_every=warm + n)
    train.train(g, d, st, cfg, hooks=[train.Hook("t", warm, tick)], progress=False, **recipe.parts())
    return 1000 * (clock[warm + n] - clock[warm]) / n if (warm + n) % warm == 0 else float("nan")


# --------------------------------------------------------------------------------------------


def save(key: str, value, path: Path = OUT) -> None:
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc.setdefault("protocol", {})
    doc["protocol"].update({"levels": LEVELS, "k_cover": K_COVER, "n_eval": N_EVAL, "k_std": K_STD,
                            "torch": torch.__version__, "threads": 1,
                            "doc": "see benchmarks/baselines.py's docstring"})
    section, _, name = key.partition("/")
    doc.setdefault(section, {})[name] = value
    files.atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=False) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", default=["*"], help="glob patterns of setting names (see --list)")
    ap.add_argument("--list", action="store_true", help="list the settings and exit")
    ap.add_argument("--timing", nargs="*", default=[], help="settings whose step cost to time at 1 and 8 runs")
    ap.add_argument("--seeds", type=int, default=None, help="override the number of seeds (default: the setting's)")
    ap.add_argument("--first-seed", type=int, default=0, help="the first seed (pilots: a block no chapter publishes)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--merge", nargs="*", type=Path, default=[],
                    help="results files (of runs made in parallel into other --out files) to merge into --out")
    args = ap.parse_args(argv)
    for other in args.merge:
        doc = json.loads(other.read_text())
        for section in ("runs", "timing", "partial"):
            for name, value in doc.get(section, {}).items():
                save(f"{section}/{name}", value, args.out)
    if args.merge:
        return 0
    settings = all_settings()
    if args.list:
        for name, s in settings.items():
            print(name, s)
        return 0
    chosen = [n for n in settings if any(fnmatch.fnmatch(n, p) for p in args.only)] if not args.timing else []
    for name in chosen:
        s = settings[name] if args.seeds is None else replace(settings[name], seeds=args.seeds)
        s = replace(s, first_seed=args.first_seed)
        print(f"== {name}", flush=True)
        r = run_setting(s, args.out)
        save(f"runs/{name}", r, args.out)
        f = r["final"]
        print(f"   HQ median {f['hq_median']:.3f} worst {f['hq_worst']:.3f} | modes median {f['modes_median']} "
              f"worst {f['modes_worst']} (>=1: {f['modes_1_median']}) | level median {r['reaches_level_median']} "
              f"every seed {r['reaches_level_every_seed']} ({r['seeds_at_level']}/{len(r['seeds'])}) | "
              f"to level {r['steps_to_level_median']} to 80% {r['steps_to_hq80_median']} | "
              f"{r['cpu_seconds_per_seed']} cpu-s/seed ({r['cpu_seconds']} cpu-s, {r['wall_seconds']} wall)",
              flush=True)
        if "first_full_coverage_per_seed" in r:
            print(f"   first full coverage {r['first_full_coverage_per_seed']} kept {r['kept_after_first_coverage']}"
                  f" {r['cpu_seconds_per_1000_steps']} cpu-s/1000 steps", flush=True)
    for name in [n for n in settings if any(fnmatch.fnmatch(n, p) for p in args.timing)]:
        s = settings[name]
        one, eight = time_steps(s, 1), time_steps(s, 8)
        value = {"ms_per_step_1_run": round(one, 3), "ms_per_step_8_runs": round(eight, 3),
                 "ratio_8_to_1": round(eight / one, 2),
                 "cpu_seconds_per_seed_one_at_a_time": round(one * s.steps / 1000, 2),
                 "cpu_seconds_per_seed_batched_8": round(eight * s.steps / 8000, 2), "steps": s.steps}
        save(f"timing/{name}", value, args.out)
        print(f"== timing {name}: {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

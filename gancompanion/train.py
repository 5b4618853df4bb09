"""One readable GAN training loop: n_dis discriminator steps, one generator step, hooks, checkpoints.

It serves the seed-batched toy MLPs and the DCGAN alike: tensors are ``(*runs, batch, *event)``,
losses come out one per run, and their sum is what is differentiated, so run s's gradients are
exactly those it would get trained alone. The history is a plain DataFrame (one row per run
per logged step) that a reader can plot again.

Speed (measured in ``benchmarks/``; see the book's Performance page): Adam is the fused kernel where
torch has one; D scores real and generated samples in one call when it treats samples independently
(``d.per_sample``) and no regulariser needs their input gradients; nothing inside the
loop reads a tensor's value on the host except every ``log_every`` steps (no ``.item()``, no Python
branch on a tensor; noise and penalty weights are Python floats), so a GPU never waits for the CPU.
``compile=True`` runs the networks through ``torch.compile`` (D only without a gradient penalty:
compiled graphs do not support double backward).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch

from .progress import bar
from .noise import SCHEDULES, InstanceNoise, anneal
from .objectives import get_objective
from .regularizers import get_regularizer
from .validation import choose, nonnegative, positive_int

NAN_POLICIES = ("warn", "raise")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run besides the networks and the data."""

    steps: int  # generator updates
    objective: str = "nonsaturating"  # see objectives.OBJECTIVES
    n_dis: int = 1  # discriminator updates per generator update
    lr_d: float = 2e-4  # Adam learning rates
    lr_g: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam (beta1, beta2)
    regularizer: str | None = None  # see regularizers.REGULARIZERS
    reg_weight: float = 0.0  # gamma (Roth, R1, R2) or lambda (WGAN-GP)
    reg_schedule: str = "fixed"  # annealing of reg_weight, see noise.SCHEDULES
    reg_decay: float = 0.01  # reg_weight falls by this factor over the run ("exponential")
    noise_sigma: float = 0.0  # instance-noise std at step 0
    noise_schedule: str = "fixed"
    noise_decay: float = 0.01
    weight_clip: float | None = None  # WGAN: clip D's parameters to [-c, c] after each step
    log_every: int = 100  # steps between history rows (metrics stay on the device in between)
    nan_policy: str = "warn"  # what a non-finite loss does: "warn" (record, go on) or "raise"

    def __post_init__(self):
        positive_int("steps", self.steps)
        positive_int("n_dis", self.n_dis)
        positive_int("log_every", self.log_every)
        get_objective(self.objective)
        if self.regularizer is not None:
            get_regularizer(self.regularizer)
        for name in ("lr_d", "lr_g", "reg_weight", "noise_sigma"):
            nonnegative(name, getattr(self, name))
        choose("reg_schedule", self.reg_schedule, SCHEDULES)
        choose("nan_policy", self.nan_policy, NAN_POLICIES)
        InstanceNoise(self.noise_sigma, self.noise_schedule, self.noise_decay)  # validates
        if self.weight_clip is not None:
            nonnegative("weight_clip", self.weight_clip)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Hook:
    """Call ``fn(step, g, d, streams)`` at step 0 and every ``every`` steps; its return value is kept
    in ``TrainResult.records[name][step]`` (and in checkpoints)."""

    name: str
    every: int
    fn: Callable[[int, torch.nn.Module, torch.nn.Module, Any], Any]


@dataclass
class TrainResult:
    history: pd.DataFrame  # columns: step, run, d_loss, g_loss, penalty, d_real, d_fake
    records: dict[str, dict[int, Any]]  # hook outputs by name and step
    diverged: dict[int, int] = field(default_factory=dict)  # run index -> first step with a non-finite loss


def samples_hook(n: int, every: int, name: str = "samples") -> Hook:
    """A hook keeping ``n`` generator samples per run (from fixed latents) as a NumPy array."""

    def fn(step, g, d, streams):
        with torch.no_grad():
            return g(streams.fixed_latent(n)).cpu().numpy()

    return Hook(name, every, fn)


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _config_mismatch(stored: dict, current: dict) -> list[str]:
    keys = sorted(set(stored) | set(current))
    return [f"{k}: {stored.get(k)!r} -> {current.get(k)!r}" for k in keys if stored.get(k) != current.get(k)]


COMPILE_CHOICES = ("auto", True, False)


def make_adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam as one fused kernel per step where torch has it (CPU and CUDA), else the default loop."""
    params = list(params)
    if torch.device(device).type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
        except (RuntimeError, TypeError):  # an older torch or an unsupported dtype
            pass
    return torch.optim.Adam(params, lr=lr, betas=betas)


def use_compile(compile: bool | str, device: torch.device | str) -> bool:
    """Resolve ``compile="auto"``: on by default only on CUDA (on the CPU it measured slower, see
    ``benchmarks/``); ``True`` falls back to eager with a warning where ``torch.compile`` is missing."""
    choose("compile", compile, COMPILE_CHOICES)
    wanted = torch.device(device).type == "cuda" if compile == "auto" else bool(compile)
    if wanted and not hasattr(torch, "compile"):
        warnings.warn("torch.compile is not available in this torch; training eagerly", RuntimeWarning)
        return False
    return wanted


def fuses_d_calls(d: torch.nn.Module, needs_grad: tuple[str, ...]) -> bool:
    """Whether D may score real and generated samples in one call: D must score each sample on its
    own (``d.per_sample``: no batch norm, no minibatch features), and no regulariser may need an input
    gradient (with Roth's regulariser the fused call measured slower: its double backward runs on
    activations twice as large)."""
    return bool(getattr(d, "per_sample", False)) and not needs_grad


def train(g: torch.nn.Module, d: torch.nn.Module, streams, cfg: TrainConfig, *, hooks: list[Hook] = (),
          checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 1000, progress: bool = True,
          desc: str = "train", compile: bool | str = "auto") -> TrainResult:
    """Train ``g`` against ``d`` on ``streams`` for ``cfg.steps`` generator updates.

    Args:
        g, d: generator (latents -> samples) and discriminator (samples -> logits), on streams.device.
        streams: a ``ToyStreams`` or ``DatasetStreams``.
        cfg: the run's settings.
        hooks: callbacks at fixed step counts (snapshots, evaluations).
        checkpoint: a file to resume from (if it exists and was written with the same ``cfg``) and
            to save to every ``checkpoint_every`` steps and at the end, atomically.
        compile: run g and d through ``torch.compile`` (True, False, or "auto": only on CUDA).
            D stays eager when a regulariser differentiates through its input gradient.
    Returns:
        TrainResult with the history DataFrame, the hooks' records, and the runs that diverged.
    """
    objective = get_objective(cfg.objective)
    reg = get_regularizer(cfg.regularizer) if cfg.regularizer else None
    noise = InstanceNoise(cfg.noise_sigma, cfg.noise_schedule, cfg.noise_decay)
    opt_d = make_adam(d.parameters(), cfg.lr_d, cfg.betas, streams.device)
    opt_g = make_adam(g.parameters(), cfg.lr_g, cfg.betas, streams.device)
    event_ndim, total = streams.event_ndim, cfg.steps
    needs_grad = reg.needs_grad if reg is not None else ()
    fuse = fuses_d_calls(d, needs_grad)
    g_fwd, d_fwd = g, d  # the forward passes of the training steps (hooks see the plain modules)
    if use_compile(compile, streams.device):
        g_fwd = torch.compile(g)
        d_fwd = d if reg is not None else torch.compile(d)
    logs: list[tuple[int, torch.Tensor]] = []  # (step, stacked metrics (5, *runs)) kept on the device
    records: dict[str, dict[int, Any]] = {h.name: {} for h in hooks}
    diverged: dict[int, int] = {}
    start = 0

    ckpt_path = Path(checkpoint) if checkpoint is not None else None
    signature = {**cfg.to_dict(), "runs": list(getattr(streams, "seeds", [getattr(streams, "seed", None)]))}
    if ckpt_path is not None and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=streams.device, weights_only=False)
        mismatch = _config_mismatch(state["config"], signature)
        if mismatch:
            raise ValueError(f"checkpoint {str(ckpt_path)!r} was written by a different run ("
                             + "; ".join(mismatch) + "); delete it or choose another checkpoint path")
        g.load_state_dict(state["g"]), d.load_state_dict(state["d"])
        opt_g.load_state_dict(state["opt_g"]), opt_d.load_state_dict(state["opt_d"])
        streams.load_state_dict(state["streams"])
        start, logs, records, diverged = state["step"], state["logs"], state["records"], state["diverged"]

    def save(step: int) -> None:
        if ckpt_path is not None:
            _atomic_save({"config": signature, "step": step, "g": g.state_dict(), "d": d.state_dict(),
                          "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                          "streams": streams.state_dict(), "logs": logs, "records": records,
                          "diverged": diverged}, ckpt_path)

    def run_hooks(step: int) -> None:
        for h in hooks:
            if step % h.every == 0 and step not in records[h.name]:
                records[h.name][step] = h.fn(step, g, d, streams)

    def d_step(x_real: torch.Tensor, x_fake: torch.Tensor, t: int):
        # D: maximise E log D(x) + E log(1 - D(G(z)))  (or the chosen objective), plus a penalty
        real_in = noise(x_real, streams.noise(), t, total) if cfg.noise_sigma else x_real
        fake_in = noise(x_fake, streams.noise(), t, total) if cfg.noise_sigma else x_fake
        real_in = real_in.detach().requires_grad_(True) if "real" in needs_grad else real_in
        fake_in = fake_in.detach().requires_grad_(True) if "fake" in needs_grad else fake_in
        if fuse:  # one call on the real and generated samples side by side: (*runs, 2B, *event)
            logits = d_fwd(torch.cat([real_in, fake_in], dim=real_in.ndim - event_ndim - 1))
            batch_sizes = [real_in.shape[-event_ndim - 1], fake_in.shape[-event_ndim - 1]]
            real_logits, fake_logits = logits.split(batch_sizes, dim=-1)  # (*runs, B) each
        else:
            real_logits, fake_logits = d_fwd(real_in), d_fwd(fake_in)
        loss = objective.d_loss(real_logits, fake_logits)
        penalty = torch.zeros_like(loss)
        if reg is not None:
            weight = anneal(cfg.reg_weight, t, total, cfg.reg_schedule, cfg.reg_decay)  # a Python float
            penalty = reg.penalty(real=real_in, fake=fake_in, real_logits=real_logits, fake_logits=fake_logits,
                                  event_ndim=event_ndim, weight=weight, d=d, uniform=streams.uniform)
        opt_d.zero_grad(set_to_none=True)
        (loss + penalty).sum().backward()
        opt_d.step()
        if cfg.weight_clip is not None:
            with torch.no_grad():
                for p in params_d:
                    p.clamp_(-cfg.weight_clip, cfg.weight_clip)
        return loss.detach(), penalty.detach(), real_logits.detach(), fake_logits.detach()

    def g_step(x_fake: torch.Tensor, t: int) -> torch.Tensor:
        # G: minimise the objective's generator loss, e.g. -E log D(G(z)) (non-saturating)
        d.requires_grad_(False)
        fake_in = noise(x_fake, streams.noise(), t, total) if cfg.noise_sigma else x_fake
        loss = objective.g_loss(d_fwd(fake_in))
        opt_g.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt_g.step()
        d.requires_grad_(True)
        return loss.detach()

    def flush_nonfinite(step: int, metrics: torch.Tensor) -> None:
        bad = (~torch.isfinite(metrics[:3]).all(dim=0)).reshape(-1).tolist()
        new = [i for i, b in enumerate(bad) if b and i not in diverged]
        for i in new:
            diverged[i] = step
        if new:
            msg = f"{desc}: non-finite loss at step {step} in run(s) {new}"
            if cfg.nan_policy == "raise":
                raise FloatingPointError(msg)
            warnings.warn(msg + "; their rows in the history hold NaN/inf from here on", RuntimeWarning)

    params_d = list(d.parameters())
    g.train(), d.train()
    run_hooks(start)
    pbar = bar(total=total, initial=start, desc=desc, enabled=progress)
    try:
        for step in range(start, total):
            for k in range(cfg.n_dis):
                x_real, z = streams.real(), streams.latent()
                if k < cfg.n_dis - 1:
                    with torch.no_grad():
                        x_fake = g_fwd(z)
                else:  # the last D step shares its G forward pass with the G step
                    x_fake = g_fwd(z)
                d_loss, penalty, real_logits, fake_logits = d_step(x_real, x_fake.detach(), step)
            g_loss = g_step(x_fake, step)
            done = step + 1
            if done % cfg.log_every == 0 or done == total:
                metrics = torch.stack([d_loss, g_loss, penalty, torch.sigmoid(real_logits).mean(-1),
                                       torch.sigmoid(fake_logits).mean(-1)])
                logs.append((done, metrics))
                flush_nonfinite(done, metrics)
                pbar.update(done - pbar.n)
            run_hooks(done)
            if ckpt_path is not None and (done % checkpoint_every == 0 or done == total):
                save(done)
    finally:  # an interrupted run resumes from its last checkpoint
        pbar.close()
    return TrainResult(_history(logs, streams), records, diverged)


def _history(logs: list[tuple[int, torch.Tensor]], streams) -> pd.DataFrame:
    cols = ["d_loss", "g_loss", "penalty", "d_real", "d_fake"]
    if not logs:
        return pd.DataFrame(columns=["step", "run", *cols])
    steps = [s for s, _ in logs]
    values = torch.stack([m for _, m in logs]).float().cpu()  # (T, 5, *runs)
    values = values.reshape(len(steps), len(cols), -1)  # (T, 5, S)
    runs = list(getattr(streams, "seeds", [getattr(streams, "seed", 0)]))
    rows = {"step": [s for s in steps for _ in runs], "run": [r for _ in steps for r in runs]}
    for j, c in enumerate(cols):
        rows[c] = values[:, j, :].reshape(-1).numpy()
    return pd.DataFrame(rows)

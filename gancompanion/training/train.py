"""One readable GAN training loop, composed of parts (``gancompanion.training.parts``), and its two public steps.

Tensors are ``(*runs, batch, *event)``: the seed-batched toy MLPs carry S runs at once, the DCGAN none.
Losses come out one per run and their sum is what is differentiated, so run s's gradients are exactly
those it would get trained alone. The history is a tidy DataFrame (one row per run per logged step)
whose columns are the metrics the steps return.

Speed (measured in ``benchmarks/``; see the book's Performance page): Adam is the fused kernel where
torch has one; D scores real and generated samples in one call when it treats samples independently
(``d.per_sample``) and no part needs input gradients or features; nothing inside the loop reads a
tensor's value on the host except every ``log_every`` steps and at checkpoints (no ``.item()``, no
Python branch on a tensor), so a GPU never waits for the CPU. ``compile=True`` runs the networks
through ``torch.compile`` (D only when no part differentiates through its input gradient).
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

from . import allocator, lr_schedule
from .. import files
from .objectives import Objective, get_objective
from .parts import DOutput, DView, GView, check_names, check_streams, describe, discriminate, needs_of, select
from ..progress import bar
from ..validation import choose, nonnegative, positive_int

NAN_POLICIES = ("warn", "raise")
OPTIMIZERS = ("adam", "rmsprop")
COMPILE_CHOICES = ("auto", True, False)


@dataclass(frozen=True)
class TrainConfig:
    """What every training run has; the techniques are parts with their own settings."""

    steps: int  # generator updates
    n_dis: int = 1  # discriminator updates per generator update
    lr_d: float | tuple[float, ...] = 2e-4  # learning rates: one, or one per seed-batched run (``PerRunLR``)
    lr_g: float | tuple[float, ...] = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam (beta1, beta2); RMSProp ignores them
    optimizer: str = "adam"  # "adam" or "rmsprop" (WGAN's Algorithm 1)
    log_every: int = 100  # steps between history rows (metrics stay on the device in between)
    nan_policy: str = "warn"  # what a non-finite loss does: "warn" (record, go on) or "raise"
    lr_schedule: str = "constant"  # "constant" or "cosine" (decay to lr_floor; ``lr_schedule``)
    lr_floor: float | tuple[float, ...] | None = None  # cosine: fraction of each rate at the last step (per run too)
    lr_warmup: int = 0  # steps of linear warm-up before the schedule

    def __post_init__(self):
        positive_int("steps", self.steps)
        positive_int("n_dis", self.n_dis)
        positive_int("log_every", self.log_every)
        for name in ("lr_d", "lr_g"):
            lr = getattr(self, name)
            if isinstance(lr, bool) or not isinstance(lr, (int, float, tuple, list)):
                raise ValueError(f"{name} must be a number >= 0 or a non-empty sequence of them (one per run), "
                                 f"got {lr!r}")
            if isinstance(lr, (int, float)):
                nonnegative(name, lr)
            else:
                if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in lr):
                    raise ValueError(f"{name} must be a number >= 0 or a non-empty sequence of them (one per run), "
                                     f"got {lr!r}")
                lr = tuple(nonnegative(name, float(v)) for v in lr)
                if not lr:
                    raise ValueError(f"{name} must be a number >= 0 or a non-empty sequence of them (one per run)")
                object.__setattr__(self, name, lr)
        choose("optimizer", self.optimizer, OPTIMIZERS)
        choose("nan_policy", self.nan_policy, NAN_POLICIES)
        floor = lr_schedule.check(self.lr_schedule, self.lr_floor, self.lr_warmup, self.steps)
        object.__setattr__(self, "lr_floor", floor)
        n = lr_schedule.runs(self.lr_d, self.lr_g, floor)
        for name in ("lr_d", "lr_g"):  # a per-run floor makes every rate per run (``PerRunLR``)
            if n is not None and not isinstance(getattr(self, name), tuple):
                object.__setattr__(self, name, (float(getattr(self, name)),) * n)

    @property
    def scheduled(self) -> bool:
        """Whether the learning rates change during the run."""
        return self.lr_schedule != "constant" or self.lr_warmup > 0

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
    history: pd.DataFrame  # columns: step, run, then the metrics of the steps (d_loss, g_loss, ...)
    records: dict[str, dict[int, Any]]  # hook outputs by name and step
    diverged: dict[int, int] = field(default_factory=dict)  # run index -> first step with a non-finite loss


def samples_hook(n: int, every: int, name: str = "samples") -> Hook:
    """A hook keeping ``n`` generator samples per run (from fixed latents) as a NumPy array."""

    def fn(step, g, d, streams):
        with torch.no_grad():
            return g(streams.fixed_latent(n)).cpu().numpy()

    return Hook(name, every, fn)


class PerRunLR:
    """An optimiser with one learning rate per seed-batched run: runs that differ only in their learning
    rate train as one model.

    Adam's and RMSProp's update is linear in the learning rate (the moments do not depend on it), so the
    inner optimiser steps at lr = 1 and each run's share of the change is scaled by its rate:
    ``p <- p_old + lr_s (p_new - p_old)``. Every parameter must have the runs as its first axis.
    """

    def __init__(self, params, lr: tuple[float, ...], make: Callable[[list, float], torch.optim.Optimizer]):
        self.params = list(params)
        rates = torch.tensor(lr, dtype=torch.float64)
        for p in self.params:
            if p.ndim == 0 or p.shape[0] != len(lr):
                raise ValueError(f"a per-run learning rate needs parameters whose first axis has the {len(lr)} runs, "
                                 f"got a parameter shaped {tuple(p.shape)}")
        self.factors = [rates.to(p).reshape(-1, *([1] * (p.ndim - 1))) for p in self.params]
        self.optimizer = make(self.params, 1.0)

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self) -> None:
        before = [p.detach().clone() for p in self.params]
        self.optimizer.step()
        torch._foreach_sub_(self.params, before)  # p_new - p_old
        torch._foreach_mul_(self.params, self.factors)
        torch._foreach_add_(self.params, before)

    @torch.no_grad()
    def set_rates(self, rates) -> None:
        """New per-run learning rates (a schedule's step; the same number of runs)."""
        n = self.factors[0].numel() if self.factors else len(rates)
        if len(rates) != n:
            raise ValueError(f"need {n} per-run learning rates, got {len(rates)}")
        new = torch.tensor(rates, dtype=torch.float64)
        for f in self.factors:
            f.copy_(new.to(f).reshape(f.shape))

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)


def make_optimizer(params, lr, betas: tuple[float, float], device, kind: str = "adam"):
    """Adam as one fused kernel per step where torch has it (CPU and CUDA), or RMSProp; ``lr`` one number
    or one per seed-batched run (``PerRunLR``)."""
    params = list(params)
    if not isinstance(lr, (int, float)):
        return PerRunLR(params, tuple(lr), lambda ps, base: make_optimizer(ps, base, betas, device, kind))
    if choose("optimizer", kind, OPTIMIZERS) == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
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


def fuses_d_calls(d: torch.nn.Module, needs: frozenset[str]) -> bool:
    """Whether D may score real and generated samples in one call: D must score each sample on its own
    (``d.per_sample``: no batch norm, no minibatch features) and no part may need input gradients or
    features (with Roth's regulariser the fused call measured slower: its double backward runs on
    activations twice as large)."""
    return bool(getattr(d, "per_sample", False)) and not needs


def _noisy(noise, x: torch.Tensor, streams, step: int, total: int) -> torch.Tensor:
    return noise(x, streams.noise(noise.stream), step, total) if noise is not None and noise.active else x


def _values(terms, view, step: int, total: int) -> dict[str, torch.Tensor]:
    """Each term's value by its name; two terms with one name are refused (one would replace the other)."""
    values = {t.name: t(view, step, total) for t in terms}
    if len(values) < len(terms):
        check_names(terms)
    return values


def d_step(d, opt_d, real, fake, *, objective: Objective, terms=(), constraints=(), noise=None, streams=None,
           step: int = 0, total: int = 1, event_ndim: int = 1, fuse: bool = False,
           metrics: bool = True) -> dict[str, torch.Tensor]:
    """One discriminator update on a real and a generated batch; returns its losses, one value per run,
    and (with ``metrics``) the objective's metrics of D's scores.

    D: minimise  d_loss(D(x + e), D(G(z) + e')) + sum_k term_k    (e.g. -E log D(x) - E log(1 - D(G(z))))
    """
    needs = needs_of(terms)
    real = _noisy(noise, real, streams, step, total)
    fake = _noisy(noise, fake, streams, step, total)
    real = real.detach().requires_grad_(True) if "real_grad" in needs else real
    fake = fake.detach().requires_grad_(True) if "fake_grad" in needs else fake
    if fuse:  # one call on the real and generated samples side by side: (*runs, 2B, *event)
        scores = d(torch.cat([real, fake], dim=real.ndim - event_ndim - 1))
        real_out, fake_out = (DOutput(s) for s in scores.split([real.shape[-event_ndim - 1]] * 2, dim=-1))
    else:
        real_out, fake_out = (discriminate(d, x, "features" in needs) for x in (real, fake))
    loss = objective.d_loss(real_out.score, fake_out.score)
    view = DView(real, fake, real_out, fake_out, d, streams, event_ndim)
    values = _values(terms, view, step, total)
    opt_d.zero_grad(set_to_none=True)
    sum([loss, *values.values()]).sum().backward()
    opt_d.step()
    for c in constraints:
        c.after_step(d)
    out = {"d_loss": loss.detach(), **{k: v.detach() for k, v in values.items()}}
    if metrics:
        with torch.no_grad():
            out.update(objective.metrics(real_out.score.detach(), fake_out.score.detach()))
    return out


def g_step(d, opt_g, fake, *, objective: Objective, terms=(), noise=None, selection=None, streams=None,
           step: int = 0, total: int = 1, event_ndim: int = 1, g=None) -> dict[str, torch.Tensor]:
    """One generator update from generated samples ``fake`` (in G's graph); returns its metrics per run.

    G: minimise  g_loss(D(G(z) + e')[selected]) + sum_k term_k    (e.g. -E log D(G(z)), non-saturating)
    """
    needs = needs_of(terms)
    d.requires_grad_(False)
    try:
        fake = _noisy(noise, fake, streams, step, total)
        fake_out = discriminate(d, fake, "features" in needs)
        view = GView(fake, fake_out, g, d, streams, event_ndim)
        if "real" in needs:
            with torch.no_grad():
                view.real = _noisy(noise, streams.real(), streams, step, total)
                view.real_out = discriminate(d, view.real, "features" in needs)
        kept = fake_out if selection is None else select(fake_out, selection(fake_out, step, total))
        loss = objective.g_loss(kept.score)
        values = _values(terms, view, step, total)
        opt_g.zero_grad(set_to_none=True)
        sum([loss, *values.values()]).sum().backward()
        opt_g.step()
    finally:
        d.requires_grad_(True)
    return {"g_loss": loss.detach(), **{k: v.detach() for k, v in values.items()}}


class _Divergence:
    """Remembers on the device the first step at which each run's metrics turned non-finite."""

    def __init__(self):
        self.first: torch.Tensor | None = None  # (runs,) long, -1 while finite

    def update(self, losses: dict[str, torch.Tensor], step: int) -> None:
        bad = ~torch.isfinite(sum(losses.values())).reshape(-1)  # NaN and inf propagate through the sum
        if self.first is None:
            self.first = torch.full_like(bad, -1, dtype=torch.long)
        self.first = torch.where(bad & (self.first < 0), torch.full_like(self.first, step), self.first)

    def runs(self) -> dict[int, int]:
        """Run index -> first non-finite step (a host read: only at log steps and checkpoints)."""
        return {} if self.first is None else {i: s for i, s in enumerate(self.first.tolist()) if s >= 0}


def train(g: torch.nn.Module, d: torch.nn.Module, streams, cfg: TrainConfig, *,
          objective: str | Objective = "nonsaturating", d_terms=(), g_terms=(), constraints=(), noise=None,
          latent_step=None, selection=None, hooks: list[Hook] = (), checkpoint: str | os.PathLike | None = None,
          checkpoint_every: int = 1000, progress: bool = True, desc: str = "train",
          compile: bool | str = "auto") -> TrainResult:
    """Train ``g`` against ``d`` on ``streams`` for ``cfg.steps`` generator updates.

    Args:
        g, d: generator (latents -> samples) and discriminator (samples -> scores), on streams.device.
        streams: a ``ToyStreams`` or ``DatasetStreams``.
        cfg: what every run has (steps, optimisers and their learning-rate schedule, n_dis, logging, NaN policy).
        objective, d_terms, g_terms, constraints, noise, latent_step, selection: the parts (``parts``).
        hooks: callbacks at fixed step counts (snapshots, evaluations).
        checkpoint: a file to resume from (if it exists and was written by the same run) and to save to
            every ``checkpoint_every`` steps and at the end, atomically; never from a non-finite state. Every
            part needs a ``checkpoint_id`` (``parts``): a part without one is refused.
        compile: run g and d through ``torch.compile`` (True, False, or "auto": only on CUDA).
    Returns:
        TrainResult with the history DataFrame, the hooks' records, and the runs that diverged.
    """
    checkpoint_every = positive_int("checkpoint_every", checkpoint_every)
    allocator.keep_freed_memory()  # a step's freed activations stay for the next step (no page faults)
    objective = get_objective(objective)
    if latent_step is not None and hasattr(latent_step, "terms"):  # a latent step's own loss terms (LOGAN's |dz|^2)
        step_d_terms, step_g_terms = latent_step.terms(cfg.n_dis)
        d_terms, g_terms = (*d_terms, *step_d_terms), (*g_terms, *step_g_terms)
    parts = [*d_terms, *g_terms, *constraints]
    check_names([*d_terms, *g_terms])
    check_streams([p for p in (objective, noise, *parts, latent_step, selection) if p is not None])
    for c in constraints:
        c.prepare(d)
    for p in parts:
        getattr(p, "bind", lambda g, d: None)(g, d)
    opt_d = make_optimizer(d.parameters(), cfg.lr_d, cfg.betas, streams.device, cfg.optimizer)
    opt_g = make_optimizer(g.parameters(), cfg.lr_g, cfg.betas, streams.device, cfg.optimizer)
    g_fwd, d_fwd = g, d  # the forward passes of the training steps (hooks see the plain modules)
    d_needs = needs_of(d_terms)
    if use_compile(compile, streams.device):
        g_fwd = torch.compile(g)
        d_fwd = d if d_needs & {"real_grad", "fake_grad"} or d_terms else torch.compile(d)
    common = dict(objective=objective, noise=noise, streams=streams, total=cfg.steps, event_ndim=streams.event_ndim)
    d_kw = dict(common, terms=tuple(d_terms), constraints=tuple(constraints), fuse=fuses_d_calls(d, d_needs))
    g_kw = dict(common, terms=tuple(g_terms), selection=selection, g=g)
    run = _Run(g, d, opt_g, opt_d, streams, cfg, parts, hooks, checkpoint, desc,
               signature=[objective, d_terms, g_terms, constraints, noise, latent_step, selection])
    g.train(), d.train()
    run.hooks(run.start)
    pbar = bar(total=cfg.steps, initial=run.start, desc=desc, enabled=progress)
    try:
        for step in range(run.start, cfg.steps):
            done = step + 1
            log_now = done % cfg.log_every == 0 or done == cfg.steps
            if cfg.scheduled:  # 0. the learning rates of this step (a function of the step: resumes exactly)
                f = lr_schedule.factor(cfg.lr_schedule, cfg.lr_floor, cfg.lr_warmup, cfg.steps, step)
                lr_schedule.apply(opt_d, cfg.lr_d, f)
                lr_schedule.apply(opt_g, cfg.lr_g, f)
            z = streams.latent()
            if latent_step is not None:  # 1. latent step (LOGAN)
                z = latent_step(z, g_fwd, d_fwd, objective, step, cfg.steps)
            x_fake = g_fwd(z)  # 2. G forward
            for k in range(cfg.n_dis):  # 3. n_dis D steps (earlier ones on fresh samples, without G's graph)
                if k < cfg.n_dis - 1:
                    with torch.no_grad():
                        fake_k = g_fwd(streams.latent())
                else:
                    fake_k = x_fake
                d_metrics = d_step(d_fwd, opt_d, streams.real(), fake_k.detach(), step=step, metrics=log_now, **d_kw)
            g_metrics = g_step(d_fwd, opt_g, x_fake, step=step, **g_kw)  # 4. selection and G step
            run.divergence.update({**d_metrics, **g_metrics}, done)
            if log_now:
                run.log(done, {**d_metrics, **g_metrics})
                pbar.update(done - pbar.n)
            run.hooks(done)
            if run.path is not None and (done % checkpoint_every == 0 or done == cfg.steps):
                run.save(done)
    finally:  # an interrupted run resumes from its last checkpoint
        pbar.close()
    return TrainResult(_history(run.logs, streams), run.records, run.divergence.runs())


class _Run:
    """The bookkeeping of one ``train`` call: history rows, hook records, divergence, checkpoints."""

    def __init__(self, g, d, opt_g, opt_d, streams, cfg, parts, hooks, checkpoint, desc, signature):
        self.modules = dict(g=g, d=d, opt_g=opt_g, opt_d=opt_d, streams=streams)
        self.g, self.d, self.streams, self.cfg, self.parts, self.desc = g, d, streams, cfg, parts, desc
        self.hook_list = list(hooks)
        self.logs: list[tuple[int, dict[str, torch.Tensor]]] = []  # kept on the device until the end
        self.records: dict[str, dict[int, Any]] = {h.name: {} for h in hooks}
        self.divergence = _Divergence()
        self.reported: set[int] = set()
        self.start = 0
        self.path = Path(checkpoint) if checkpoint is not None else None
        self.signature = {**cfg.to_dict(), "parts": describe(signature) if self.path is not None else None,
                          "runs": list(getattr(streams, "seeds", [getattr(streams, "seed", None)])),
                          "data": data_signature(streams), "networks": network_signature(g=g, d=d)}
        if self.path is not None and self.path.exists():
            self.load()

    def hooks(self, step: int) -> None:
        for h in self.hook_list:
            if step % h.every == 0 and step not in self.records[h.name]:
                self.records[h.name][step] = h.fn(step, self.g, self.d, self.streams)

    def log(self, step: int, metrics: dict[str, torch.Tensor]) -> None:
        self.logs.append((step, metrics))
        self.check_finite()

    def check_finite(self) -> bool:
        """Warn about (or raise for) runs that turned non-finite since the last check; True if all finite."""
        bad = self.divergence.runs()
        new = {i: s for i, s in bad.items() if i not in self.reported}
        if new:
            self.reported |= set(new)
            msg = f"{self.desc}: non-finite loss in run(s) " + ", ".join(f"{i} at step {s}" for i, s in new.items())
            if self.cfg.nan_policy == "raise":
                raise FloatingPointError(msg + "; the last checkpoint (if any) is kept")
            warnings.warn(msg + "; their rows in the history hold NaN/inf from there on", RuntimeWarning)
        return not bad

    def save(self, step: int) -> None:
        """Checkpoint atomically, unless a run is non-finite (then the last good file is kept)."""
        if not self.check_finite():
            return
        state = {name: m.state_dict() for name, m in self.modules.items()}
        state["parts"] = [getattr(p, "state_dict", dict)() for p in self.parts]
        files.torch_save({"config": self.signature, "step": step, "logs": self.logs, "records": self.records,
                          **state}, self.path)

    def load(self) -> None:
        try:
            state = torch.load(self.path, map_location=self.streams.device, weights_only=False)
            stored = state["config"]
        except Exception as exc:  # truncated, not a checkpoint, or from an unrelated program
            raise ValueError(f"checkpoint {str(self.path)!r} cannot be read ({type(exc).__name__}: {exc}); "
                             f"delete it or choose another checkpoint path") from None
        mismatch = _config_mismatch(stored, self.signature)
        if mismatch:
            raise ValueError(f"checkpoint {str(self.path)!r} was written by a different run ("
                             + "; ".join(mismatch) + "); delete it or choose another checkpoint path")
        for name, m in self.modules.items():
            m.load_state_dict(state[name])
        for p, s in zip(self.parts, state["parts"]):
            getattr(p, "load_state_dict", lambda s: None)(s)
        self.start, self.logs = state["step"], state["logs"]
        for name in self.records:  # a hook the checkpoint did not have starts empty
            self.records[name] = state["records"].get(name, {})


def _config_mismatch(stored: dict, current: dict, prefix: str = "") -> list[str]:
    """What differs between two signatures, ``name: old -> new`` (nested dicts by their differing keys)."""
    out = []
    for k in sorted(set(stored) | set(current)):
        a, b = stored.get(k), current.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _config_mismatch(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} -> {b!r}")
    return out


def _digest(x: torch.Tensor) -> str:
    import hashlib

    return hashlib.sha256(x.detach().to("cpu", torch.float64).contiguous().numpy().tobytes()).hexdigest()[:16]


def data_signature(streams) -> dict:
    """What a checkpoint's data stream was: its kind, batch size, latent size and a fingerprint of the data
    (a toy distribution: its class and settings, tensors by digest; a dataset: its shape and up to 4096 evenly
    spaced samples). A resume on other data would train on a mix of two streams."""
    sig = {"streams": type(streams).__name__, "batch_size": getattr(streams, "batch_size", None),
           "latent_dim": getattr(streams, "latent_dim", None)}
    if getattr(streams, "prior", "normal") != "normal":  # only when set: older checkpoints keep resuming
        sig["prior"] = streams.prior
    dist, data = getattr(streams, "dist", None), getattr(streams, "data", None)
    if dist is not None:
        sig["dataset"] = _describe_data(dist)
    elif isinstance(data, torch.Tensor):
        step = max(1, len(data) // 4096)
        sig["dataset"] = f"{tuple(data.shape)}:{data.dtype}:{_digest(data[::step])}"
    return sig


def _describe_data(obj) -> str:
    """A distribution as its class and fields (a tensor by its digest, a nested distribution likewise)."""
    if isinstance(obj, torch.Tensor):
        return f"tensor{tuple(obj.shape)}:{_digest(obj)}"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = ", ".join(f"{f.name}={_describe_data(getattr(obj, f.name))}" for f in dataclasses.fields(obj))
        return f"{type(obj).__name__}({fields})"
    return repr(obj)


def network_signature(**modules) -> dict:
    """Each network's class and the shapes of its parameters and buffers (its architecture)."""
    return {name: f"{type(m).__name__}(" + ", ".join(f"{k}={tuple(v.shape)}" for k, v in m.state_dict().items())
            + ")" for name, m in modules.items()}


def _history(logs: list[tuple[int, dict[str, torch.Tensor]]], streams) -> pd.DataFrame:
    """One row per run per logged step; the columns are the metrics' names."""
    if not logs:
        return pd.DataFrame(columns=["step", "run"])
    cols = list(logs[0][1])
    steps = [s for s, _ in logs]
    values = torch.stack([torch.stack([m[c].float() for c in cols]) for _, m in logs]).cpu()  # (T, C, *runs)
    values = values.reshape(len(steps), len(cols), -1)  # (T, C, S)
    runs = list(getattr(streams, "seeds", [getattr(streams, "seed", 0)]))
    rows = {"step": [s for s in steps for _ in runs], "run": [r for _ in steps for r in runs]}
    for j, c in enumerate(cols):
        rows[c] = values[:, j, :].reshape(-1).numpy()
    return pd.DataFrame(rows)

"""The perfect-discriminator probe of Arjovsky & Bottou (2017), Figs. 1-3.

Freeze a generator, train a *fresh* discriminator against it from scratch, and record as it
learns: its cross-entropy and accuracy on each training batch (Fig. 1), and the norm of the
generator's parameter gradient under the original cost E log(1 - D(G(z))) (Fig. 2) and the
-log D cost (Fig. 3), over several batches at each checkpoint of the discriminator's training.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from .. import files
from ..plotting import running_mean
from ..progress import bar
from ..techniques.noise import InstanceNoise
from ..training.objectives import get_objective, minimax_g_loss, nonsaturating_g_loss
from ..training.train import d_step
from ..validation import nonnegative, positive_int

GENERATOR_COSTS = {"original": minimax_g_loss, "nonsaturating": nonsaturating_g_loss}


def fit_discriminator(d: torch.nn.Module, real: Callable[[], torch.Tensor], fake: Callable[[], torch.Tensor], *,
                      iterations: int, lr: float, betas=(0.5, 0.999), eps: float = 1e-8, every: int = 10,
                      on_check: Callable[[int], None] | None = None, progress: bool = True,
                      desc: str = "D", objective: str = "nonsaturating") -> pd.DataFrame:
    """Train ``d`` to tell ``real()`` batches from ``fake()`` batches with ``train.d_step`` (the GAN
    cross-entropy by default, Adam).

    ``on_check(iteration)`` is called before iteration 0, every ``every`` iterations and after the
    last one (with ``d`` frozen), for measurements.

    Returns:
        pandas.DataFrame: one row per iteration with ``iteration``, ``cross_entropy`` (mean per sample
        over the real and fake batch, before the update), ``accuracy`` (fraction right at 1/2), and run.
    """
    positive_int("iterations", iterations)
    positive_int("every", every)
    nonnegative("lr", lr)
    obj = get_objective(objective)
    opt = torch.optim.Adam(d.parameters(), lr=lr, betas=betas, eps=eps)
    losses, accuracies = [], []

    def check(it: int) -> None:
        if on_check is not None:
            d.requires_grad_(False)
            on_check(it)
            d.requires_grad_(True)

    for it in bar(range(iterations), desc=desc, enabled=progress):
        if it % every == 0:
            check(it)
        m = d_step(d, opt, real(), fake(), objective=obj)
        losses.append(m["d_loss"] / 2)
        accuracies.append(m["accuracy"])
    check(iterations)
    ce, acc = (torch.stack(v).double().cpu().numpy() for v in (losses, accuracies))  # (iterations, *runs)
    return _per_run_frame({"cross_entropy": ce, "accuracy": acc})


def _per_run_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A tidy frame from (iterations, *runs) arrays: one row per iteration (and run, when there are runs)."""
    first = next(iter(columns.values()))
    n_iter, n_runs = first.shape[0], int(np.prod(first.shape[1:], dtype=int))
    frame = {"iteration": np.repeat(np.arange(n_iter), n_runs)}
    if first.ndim > 1:
        frame["run"] = np.tile(np.arange(n_runs), n_iter)
    frame.update({k: v.reshape(-1) for k, v in columns.items()})
    return pd.DataFrame(frame)


@dataclass
class ProbeResult:
    steps: pd.DataFrame  # iteration, cross_entropy, accuracy: the fresh D's training batches
    grads: pd.DataFrame  # iteration, cost ('original' | 'nonsaturating'), batch, grad_norm


def gradient_norm(loss: torch.Tensor, params: list[torch.nn.Parameter], retain_graph: bool) -> float:
    """Euclidean norm of d loss / d params over all ``params`` together."""
    grads = torch.autograd.grad(loss, params, retain_graph=retain_graph)
    return torch.sqrt(sum(g.pow(2).sum() for g in grads)).item()


def perfect_discriminator_probe(g: torch.nn.Module, make_discriminator: Callable[[], torch.nn.Module], streams, *,
                                iterations: int, lr: float = 2e-4, betas=(0.5, 0.999), eps: float = 1e-8,
                                grad_every: int = 10,
                                grad_batches: int = 4, noise_sigma: float = 0.0, progress: bool = True,
                                desc: str = "probe") -> ProbeResult:
    """Train a fresh discriminator for ``iterations`` steps against the frozen generator ``g``.

    Args:
        g: the generator, frozen (put in eval mode; its parameters are not updated).
        make_discriminator: builds the fresh discriminator (on streams.device).
        streams: real batches, latents and noise (``gancompanion.training.streams``), one run.
        iterations: discriminator updates (the paper: 4000).
        lr, betas, eps: Adam settings of the fresh discriminator.
        grad_every: measure the generator's gradients every this many iterations (and after the last).
        grad_batches: batches the gradient norms are measured on at each measurement (the spread).
        noise_sigma: std of Gaussian instance noise added to every input of the discriminator (0: none).
    Returns:
        ProbeResult with one row per discriminator iteration and one per gradient measurement.
    """
    positive_int("grad_batches", grad_batches)
    noise = InstanceNoise(nonnegative("noise_sigma", noise_sigma))
    d = make_discriminator()
    g.eval()
    g_params = [p for p in g.parameters() if p.requires_grad]

    def noisy(x: torch.Tensor) -> torch.Tensor:
        return noise(x, streams.noise()) if noise_sigma else x

    def fake() -> torch.Tensor:
        with torch.no_grad():
            return noisy(g(streams.latent()))

    grads: dict[str, list] = {"iteration": [], "cost": [], "batch": [], "grad_norm": []}

    def measure(it: int) -> None:
        for b in range(grad_batches):
            logits = d(noisy(g(streams.latent())))
            for i, (cost, fn) in enumerate(GENERATOR_COSTS.items()):
                norm = gradient_norm(fn(logits).sum(), g_params, retain_graph=i < len(GENERATOR_COSTS) - 1)
                grads["iteration"].append(it), grads["cost"].append(cost)
                grads["batch"].append(b), grads["grad_norm"].append(norm)

    steps = fit_discriminator(d, lambda: noisy(streams.real()), fake, iterations=iterations, lr=lr, betas=betas,
                              eps=eps, every=grad_every, on_check=measure, progress=progress, desc=desc)
    return ProbeResult(steps, pd.DataFrame(grads))


def fall_from_peak(norms: pd.Series, tail: float = 0.1) -> float:
    """How many times the peak of a gradient-norm series exceeds its end.

    The end is the geometric mean over the last ``tail`` fraction of the series (at least one
    value), so that one lucky batch does not decide the verdict.
    """
    values = norms.to_numpy(dtype=float)
    k = max(1, int(round(len(values) * tail)))
    return float(values.max() / np.exp(np.log(values[-k:]).mean()))


def growth(values: pd.Series, tail: float = 0.1) -> float:
    """Ratio of the geometric mean over the last ``tail`` of a series to that over its first ``tail``."""
    logs = np.log(values.to_numpy(dtype=float))
    k = max(1, int(round(len(logs) * tail)))
    return float(np.exp(logs[-k:].mean() - logs[:k].mean()))


def input_gradient_norm(d: torch.nn.Module, x: torch.Tensor) -> float:
    """Mean over the points ``x`` of ``|grad_x D(x)|``, with D = sigmoid(logit): how flat D is there."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.sigmoid(d(x)).sum(), x)
    return grad.norm(dim=-1).mean().item()


def supports_probe(d: torch.nn.Module, real, fake, *, sigma: float, iterations: int, lr: float, batch_size: int,
                   every: int, gen: torch.Generator, progress: bool = True) -> pd.DataFrame:
    """Arjovsky & Bottou's Theorems 2.1-2.2 in the plane: fit ``d`` to tell samples of the curve ``real``
    from samples of ``fake`` (both ``data.Curve``), with instance noise of std ``sigma`` on both.

    Every ``every`` iterations, on the noiseless curves themselves: D's accuracy and the mean norm of its
    input gradient on each support (a perfect D is flat on both). Returns one row per check.
    """
    noise = InstanceNoise(nonnegative("sigma", sigma))
    device = next(d.parameters()).device
    support_real, support_fake = (c.points(400).to(device).reshape(1, -1, 2) for c in (real, fake))
    rows: dict[str, list] = {"iteration": [], "accuracy": [], "grad_real": [], "grad_fake": []}

    def draw(curve):
        x = curve.sample((1, batch_size), gen)
        return noise(x, torch.randn(x.shape, generator=gen, device=device))

    def check(it: int) -> None:
        with torch.no_grad():
            acc = 0.5 * ((d(support_real) > 0).float().mean() + (d(support_fake) < 0).float().mean()).item()
        rows["iteration"].append(it), rows["accuracy"].append(acc)
        rows["grad_real"].append(input_gradient_norm(d, support_real))
        rows["grad_fake"].append(input_gradient_norm(d, support_fake))

    fit_discriminator(d, lambda: draw(real), lambda: draw(fake), iterations=iterations, lr=lr, every=every,
                      on_check=check, progress=progress, desc=f"supports, sigma={sigma:g}")
    return pd.DataFrame(rows)


# --- The batched probe: every checkpoint and noise level trained in lockstep ---------------------------


@dataclass(frozen=True)
class AdamSettings:
    """The fresh discriminator's optimiser: Adam (Kingma & Ba 2015) as ``torch.optim.Adam`` computes it."""

    lr: float = 2e-4  # learning rate
    betas: tuple[float, float] = (0.5, 0.999)  # decay rates of the first and second moment estimates
    eps: float = 1e-8  # added to sqrt(v_hat) in the denominator of the step

    def __post_init__(self):
        nonnegative("lr", self.lr)
        nonnegative("eps", self.eps)
        if not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")


class StackedAdam:
    """Adam over parameters stacked along a leading runs axis, with each run's own settings.

    Adam is elementwise, so one ``StackedAdam`` over R stacked copies computes what R separate
    ``torch.optim.Adam`` would (the formula of torch's single-tensor implementation). ``step`` also
    returns, per run, the norm of the loss gradient, the norm of the update and the mean of
    sqrt(v_hat): the quantities that show what Adam does when the loss gradient becomes tiny.
    """

    def __init__(self, params: Sequence[torch.Tensor], settings: Sequence[AdamSettings]):
        self.params, self.t = list(params), 0
        as64 = lambda values: torch.tensor(values, dtype=torch.float64, device=self.params[0].device)  # (R,)
        self.lr, self.eps = as64([s.lr for s in settings]), as64([s.eps for s in settings])
        self.b1, self.b2 = as64([s.betas[0] for s in settings]), as64([s.betas[1] for s in settings])
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> dict[str, torch.Tensor]:
        self.t += 1
        size = (1 - self.b1**self.t, (1 - self.b2**self.t).sqrt())  # bias corrections, (R,) in float64
        sq = {"grad": 0.0, "update": 0.0}
        root_v, count = 0.0, 0
        for p, m, v in zip(self.params, self.m, self.v):
            shape = (-1, *([1] * (p.ndim - 1)))  # (R,) -> (R, 1, ..., 1)
            b1, b2, lr, eps, c1, c2 = (x.to(p.dtype).reshape(shape) for x in (self.b1, self.b2, self.lr, self.eps,
                                                                                   *size))
            g = p.grad
            m.lerp_(g, 1 - b1)  # m = b1 m + (1 - b1) g
            v.mul_(b2).addcmul_(g, g * (1 - b2))  # v = b2 v + (1 - b2) g^2
            sqrt_v_hat = v.sqrt() / c2
            update = -(lr / c1) * m / (sqrt_v_hat + eps)
            p.add_(update)
            dims = tuple(range(1, p.ndim))
            sq["grad"] = sq["grad"] + g.pow(2).sum(dims)
            sq["update"] = sq["update"] + update.pow(2).sum(dims)
            root_v, count = root_v + sqrt_v_hat.sum(dims), count + p[0].numel()
        self.last = {"d_grad_norm": sq["grad"].sqrt(), "update_norm": sq["update"].sqrt(), "sqrt_v": root_v / count}
        return self.last

    def state_dict(self) -> dict:
        return {"t": self.t, "m": self.m, "v": self.v}

    def load_state_dict(self, state: dict) -> None:
        self.t = state["t"]
        for mine, saved in zip(self.m + self.v, state["m"] + state["v"]):
            mine.copy_(saved)


class StackedModules(torch.nn.Module):
    """R networks of one architecture with their own parameters, stacked along a leading runs axis.

    Input ``(R, N, ...)`` -> output ``(R, N, ...)``; run r is ``modules[r]``. With ``vectorise`` the
    runs go through ``torch.func.vmap`` in one call; without (the default on the CPU, where it measured
    faster than a grouped convolution) each run is computed on its own slice of the stacked parameters.
    The parameters are one tensor per layer either way, so one optimiser updates every run at once.
    """

    def __init__(self, modules: Sequence[torch.nn.Module], vectorise: bool | None = None):
        super().__init__()
        params, buffers = torch.func.stack_module_state(list(modules))
        if buffers:
            raise ValueError("StackedModules stacks parameters only; these modules have buffers")
        self.names = list(params)
        self.stacked = torch.nn.ParameterList([torch.nn.Parameter(params[n].detach().clone()) for n in self.names])
        self._template = [copy.deepcopy(modules[0]).to("meta")]  # a list: not a registered submodule
        device = self.stacked[0].device
        self.vectorise = device.type != "cpu" if vectorise is None else bool(vectorise)

    def __len__(self) -> int:
        return self.stacked[0].shape[0]

    def _call(self, params: dict, x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self._template[0], params, (x,))

    def run(self, r: int, x: torch.Tensor) -> torch.Tensor:
        """Run r alone on ``x`` (its own batch, without the runs axis)."""
        return self._call({n: p[r] for n, p in zip(self.names, self.stacked)}, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.vectorise:
            return torch.func.vmap(self._call)(dict(zip(self.names, self.stacked)), x)
        return torch.stack([self.run(r, x[r]) for r in range(len(self))])


def _fingerprint(g: torch.nn.Module) -> float:
    """A number that changes when a generator's weights do (checkpoints refuse another generator)."""
    with torch.no_grad():
        return round(float(sum(p.double().abs().sum() for p in g.state_dict().values() if p.is_floating_point())), 6)


def perfect_discriminator_probes(generators: Sequence[torch.nn.Module], discriminators: Sequence[torch.nn.Module],
                                 streams: Sequence, *, iterations: int,
                                 optimizer: AdamSettings | Sequence[AdamSettings] = AdamSettings(),
                                 noise_sigmas: Sequence[float] | None = None, grad_every: int = 10,
                                 grad_batches: int = 4, checkpoint: str | os.PathLike | None = None,
                                 checkpoint_every: int = 500, progress: bool = True, desc: str = "probes",
                                 vectorise: bool | None = None) -> list[ProbeResult]:
    """``perfect_discriminator_probe`` for R probes at once: one stacked discriminator, one Adam.

    Probe r trains the fresh discriminator ``discriminators[r]`` against the frozen ``generators[r]``
    (several probes may share one) on its own ``streams[r]`` (real batches, latents, noise), with
    instance noise of std ``noise_sigmas[r]`` and Adam settings ``optimizer`` (one for all, or one per
    probe). Each probe draws from its streams in the order the one-at-a-time probe does, so it gets
    the same numbers (to float rounding). The generator's gradient norms are measured per probe.

    Args:
        iterations, grad_every, grad_batches: as in ``perfect_discriminator_probe``.
        checkpoint: a file to resume from (if it exists and was written by the same probes) and to
            save to every ``checkpoint_every`` iterations and at the end, atomically.
        vectorise: see ``StackedModules`` (None: vmap off the CPU only).
    Returns:
        One ProbeResult per probe; its ``steps`` also hold the Adam diagnostics ``d_grad_norm`` (norm
        of the discriminator's loss gradient), ``update_norm`` (norm of its update) and ``sqrt_v``
        (mean of sqrt(v_hat)), one row per iteration.
    """
    n = len(streams)
    positive_int("iterations", iterations), positive_int("grad_every", grad_every)
    positive_int("grad_batches", grad_batches), positive_int("checkpoint_every", checkpoint_every)
    settings = [optimizer] * n if isinstance(optimizer, AdamSettings) else list(optimizer)
    sigmas = [nonnegative("noise_sigma", s) for s in (noise_sigmas if noise_sigmas is not None else [0.0] * n)]
    if not (len(generators) == len(discriminators) == len(settings) == len(sigmas) == n):
        raise ValueError("give one generator, discriminator, noise level (and optimiser, if a list) per stream")
    device = streams[0].device
    d = StackedModules(discriminators, vectorise)
    opt = StackedAdam(list(d.parameters()), settings)
    objective = get_objective("nonsaturating")
    groups: dict[int, list[int]] = {}  # probes that share a generator get their fakes from one call
    for r, g in enumerate(generators):
        groups.setdefault(id(g), []).append(r)
        g.eval()
    g_params = [[p for p in g.parameters() if p.requires_grad] for g in generators]
    logs: dict[str, list[torch.Tensor]] = {k: [] for k in ("cross_entropy", "accuracy", "d_grad_norm",
                                                           "update_norm", "sqrt_v")}
    grads: list[tuple[int, int, int, torch.Tensor]] = []  # (iteration, cost index, batch, (R,) norms)
    signature = {"iterations": iterations, "optimizer": [dataclasses.astuple(s) for s in settings],
                 "noise_sigmas": sigmas, "grad_every": grad_every, "grad_batches": grad_batches,
                 "generators": [_fingerprint(g) for g in generators], "runs": n}
    path, start = (Path(checkpoint) if checkpoint is not None else None), 0

    def save(it: int) -> None:
        files.torch_save({"signature": signature, "iteration": it, "d": d.state_dict(), "opt": opt.state_dict(),
                          "streams": [s.state_dict() for s in streams], "logs": logs, "grads": grads}, path)

    if path is not None and path.exists():
        state = torch.load(path, map_location=device, weights_only=False)
        if state["signature"] != signature:
            raise ValueError(f"checkpoint {str(path)!r} was written by other probes; delete it or choose another path")
        d.load_state_dict(state["d"]), opt.load_state_dict(state["opt"])
        for s, saved in zip(streams, state["streams"]):
            s.load_state_dict(saved)
        logs, grads, start = state["logs"], state["grads"], state["iteration"]

    def noisy(r: int, x: torch.Tensor) -> torch.Tensor:
        return x + sigmas[r] * streams[r].noise() if sigmas[r] else x

    def fake() -> torch.Tensor:
        out: list = [None] * n
        with torch.no_grad():
            for members in groups.values():
                z = torch.cat([streams[r].latent() for r in members])  # (len(members) * B, latent)
                for r, x in zip(members, generators[members[0]](z).chunk(len(members))):
                    out[r] = x
        return torch.stack([noisy(r, x) for r, x in enumerate(out)])  # (R, B, *event)

    def measure(it: int) -> None:
        d.requires_grad_(False)
        for b in range(grad_batches):
            norms = torch.zeros(len(GENERATOR_COSTS), n, dtype=torch.float64, device=device)
            for r in range(n):
                x = generators[r](streams[r].latent())
                logits = d.run(r, noisy(r, x))
                for c, fn in enumerate(GENERATOR_COSTS.values()):
                    gs = torch.autograd.grad(fn(logits).sum(), g_params[r], retain_graph=c < len(GENERATOR_COSTS) - 1)
                    norms[c, r] = torch.sqrt(sum(gr.double().pow(2).sum() for gr in gs))
            grads.extend((it, c, b, norms[c]) for c in range(len(GENERATOR_COSTS)))
        d.requires_grad_(True)

    for it in bar(range(start, iterations), desc=desc, enabled=progress):
        if path is not None and it > start and it % checkpoint_every == 0:
            save(it)
        if it % grad_every == 0:
            measure(it)
        real = torch.stack([noisy(r, s.real()) for r, s in enumerate(streams)])  # (R, B, *event)
        m = d_step(d, opt, real, fake(), objective=objective, event_ndim=real.ndim - 2, fuse=True)  # train()'s step
        logs["cross_entropy"].append(m["d_loss"] / 2)
        logs["accuracy"].append(m["accuracy"])
        for k, v in opt.last.items():
            logs[k].append(v)
    if start < iterations or not grads or grads[-1][0] != iterations:
        measure(iterations)
    if path is not None:
        save(iterations)
    return _results(logs, grads, n)


def _results(logs: dict[str, list[torch.Tensor]], grads: list, n: int) -> list[ProbeResult]:
    """One ProbeResult per probe from the stacked logs."""
    columns = {k: torch.stack(v).double().cpu().numpy() for k, v in logs.items()}  # (iterations, R)
    norms = torch.stack([g[3] for g in grads]).cpu().numpy() if grads else np.zeros((0, n))  # (rows, R)
    costs = list(GENERATOR_COSTS)
    out = []
    for r in range(n):
        steps = pd.DataFrame({"iteration": np.arange(len(columns["accuracy"])),
                              **{k: v[:, r] for k, v in columns.items()}})
        table = pd.DataFrame({"iteration": [g[0] for g in grads], "cost": [costs[g[1]] for g in grads],
                              "batch": [g[2] for g in grads], "grad_norm": norms[:, r]})
        out.append(ProbeResult(steps, table))
    return out


def batch_means(res: ProbeResult, cost: str) -> pd.Series:
    """The mean over batches of one cost's gradient norm, by measurement iteration."""
    return res.grads[res.grads.cost == cost].groupby("iteration").grad_norm.mean()


def batch_stds(res: ProbeResult, cost: str) -> pd.Series:
    """The standard deviation over batches of one cost's gradient norm, by measurement iteration."""
    return res.grads[res.grads.cost == cost].groupby("iteration").grad_norm.std()


def norm_table(res: ProbeResult, cost: str) -> tuple[np.ndarray, np.ndarray]:
    """One cost's gradient norms as (batches, measurements), and the measurement iterations."""
    table = res.grads[res.grads.cost == cost].pivot(index="batch", columns="iteration", values="grad_norm")
    return table.to_numpy(), table.columns.to_numpy()


def running_average(res: ProbeResult, column: str, window: int) -> np.ndarray:
    """The trailing running average of one per-iteration column (the paper plots running averages)."""

    return running_mean(res.steps[column].to_numpy(), window)


def noise_levels(epochs, sweep: Sequence[float], sweep_epochs, always: Sequence[float]) -> dict:
    """The instance-noise levels (fractions of the data-model distance) each checkpoint is probed at:
    ``always`` for every checkpoint, and every level of ``sweep`` for those in ``sweep_epochs`` (None: all)."""
    return {e: sorted(set(always) | (set(sweep) if sweep_epochs is None or e in sweep_epochs else set()))
            for e in epochs}


def estimate_seconds(generators: Sequence[torch.nn.Module], make_discriminator: Callable[[], torch.nn.Module],
                     make_streams: Callable[[], object], *, iterations: int, grad_every: int, grad_batches: int,
                     trial: int = 3, **kw) -> float:
    """Seconds ``perfect_discriminator_probes`` will take at these sizes, extrapolated from two short trial
    runs (``trial`` and ``2 * trial`` iterations, one measurement batch) on throwaway discriminators and
    streams; the global random state is left as it was."""
    device = make_streams().device

    def run(k: int) -> float:
        start = time.perf_counter()
        perfect_discriminator_probes(generators, [make_discriminator() for _ in generators],
                                     [make_streams() for _ in generators], iterations=k, grad_every=k,
                                     grad_batches=1, progress=False, **kw)
        return time.perf_counter() - start

    with torch.random.fork_rng(devices=[] if device.type == "cpu" else None):
        run(1)  # warm-up
        short, long = run(trial), run(2 * trial)
    per_iteration = max(long - short, 0.0) / trial
    per_measurement = max(short - trial * per_iteration, 0.0) / 2  # each trial measures twice (start, end)
    return iterations * per_iteration + (iterations // grad_every + 1) * per_measurement * grad_batches


def estimate_training_seconds(g: torch.nn.Module, d: torch.nn.Module, streams, steps: int, cfg, trial: int = 4,
                              **kw) -> float:
    """Seconds ``train.train`` will take for ``steps`` steps, from ``trial`` steps on copies of ``g``, ``d``
    and a copy of ``streams`` state; the originals and the global random state are untouched."""
    from ..training import train

    trial_cfg = dataclasses.replace(cfg, steps=trial, log_every=trial)
    state = streams.state_dict()
    with torch.random.fork_rng(devices=[] if streams.device.type == "cpu" else None):
        train.train(copy.deepcopy(g), copy.deepcopy(d), streams, trial_cfg, progress=False, **kw)  # warm-up
        start = time.perf_counter()
        train.train(copy.deepcopy(g), copy.deepcopy(d), streams, trial_cfg, progress=False, **kw)
        seconds = (time.perf_counter() - start) / trial * steps
    streams.load_state_dict(state)
    return seconds


def climb_back(series: np.ndarray) -> tuple[float, int]:
    """The largest factor by which a (running-average) error rose above its lowest value so far, and where."""
    values = np.asarray(series, dtype=float)
    ratio = values / np.minimum.accumulate(values)
    at = int(np.nanargmax(ratio))
    return float(ratio[at]), at


def adam_step_ceiling(settings: AdamSettings, n_params: int) -> float:
    """The norm of Adam's step when one gradient, much larger than every earlier one, hits all ``n_params``
    coordinates at once: each then moves by about lr (1 - beta1) / sqrt(1 - beta2) (bias corrections ~1)."""
    beta1, beta2 = settings.betas
    return float(settings.lr * (1 - beta1) / np.sqrt(1 - beta2) * np.sqrt(n_params))


def spike_evidence(steps: pd.DataFrame, window: int, quiet: int = 200) -> dict[str, float]:
    """The numbers behind the largest jump of a probe's error: where the running-average error climbed
    most above its lowest value so far (``climb``, ``climb_at``), the largest update in the ``window``
    iterations before it (``jump``, at ``jump_at``), and, over the ``quiet`` iterations before that
    update, the median update norm (``quiet_update``), the median gradient norm (``quiet_grad``) and
    the median step per unit gradient (``quiet_ratio``)."""
    ce = running_mean(steps.cross_entropy.to_numpy(), window)
    climb, at = climb_back(ce)
    update, grad = steps.update_norm.to_numpy(), steps.d_grad_norm.to_numpy()
    lo = max(at - window, 0)
    jump_at = lo + int(np.argmax(update[lo: at + 1]))
    before = slice(max(jump_at - quiet, 0), max(jump_at - 2, 1))
    return {"climb": climb, "climb_at": float(at), "jump": float(update[jump_at]), "jump_at": float(jump_at),
            "jump_grad": float(grad[jump_at]), "quiet_update": float(np.median(update[before])),
            "quiet_grad": float(np.median(grad[before])), "quiet_ratio": float(np.median((update / grad)[before]))}

"""The perfect-discriminator probe of Arjovsky & Bottou (2017), Figs. 1-3.

Freeze a generator, train a *fresh* discriminator against it from scratch, and record as it
learns: its cross-entropy and accuracy on each training batch (Fig. 1), and the norm of the
generator's parameter gradient under the original cost E log(1 - D(G(z))) (Fig. 2) and the
-log D cost (Fig. 3), over several batches at each checkpoint of the discriminator's training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch

from .progress import bar
from .noise import InstanceNoise
from .objectives import get_objective, minimax_g_loss, nonsaturating_g_loss
from .train import d_step
from .validation import nonnegative, positive_int

GENERATOR_COSTS = {"original": minimax_g_loss, "nonsaturating": nonsaturating_g_loss}


def fit_discriminator(d: torch.nn.Module, real: Callable[[], torch.Tensor], fake: Callable[[], torch.Tensor], *,
                      iterations: int, lr: float, betas=(0.5, 0.999), every: int = 10,
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
    opt = torch.optim.Adam(d.parameters(), lr=lr, betas=betas)
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
                                iterations: int, lr: float = 2e-4, betas=(0.5, 0.999), grad_every: int = 10,
                                grad_batches: int = 4, noise_sigma: float = 0.0, progress: bool = True,
                                desc: str = "probe") -> ProbeResult:
    """Train a fresh discriminator for ``iterations`` steps against the frozen generator ``g``.

    Args:
        g: the generator, frozen (put in eval mode; its parameters are not updated).
        make_discriminator: builds the fresh discriminator (on streams.device).
        streams: real batches, latents and noise (``gancompanion.streams``), one run.
        iterations: discriminator updates (the paper: 4000).
        lr, betas: Adam settings of the fresh discriminator.
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
                              every=grad_every, on_check=measure, progress=progress, desc=desc)
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

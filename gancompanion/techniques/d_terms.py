"""Discriminator terms: what a run adds to D's loss (a "D term" of ``training.parts``), one value per run.

Here are the gradient penalties, each returning one penalty per run, shaped ``(*runs,)``: functions of
the discriminator's *logit* phi and of its gradient with respect to its input, taken per sample over the
flattened event and averaged over the batch. ``Penalty`` makes one a D term, ``Penalties`` several at the
cost of one pass of input gradients. A new D term goes here (see the book's "Extending the library").
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import torch

from .noise import SCHEDULES, anneal
from ..training.parts import Part, per_run
from ..validation import choose, nonnegative

Tensor = torch.Tensor


def input_gradient(logits: Tensor, x: Tensor) -> Tensor:
    """d phi / d x per sample (same shape as ``x``), kept in the graph for double backpropagation."""
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad


def squared_norm(grad: Tensor, event_ndim: int) -> Tensor:
    """Per-sample squared Euclidean norm over the last ``event_ndim`` axes: ``(*runs, B, *event) -> (*runs, B)``."""
    return grad.pow(2).flatten(start_dim=grad.ndim - event_ndim).sum(-1)


def _from_norms(kind: str, d_real, d_fake, g_real, g_fake, weight) -> Tensor:
    """Roth's, R1 or R2 from D's outputs and the squared input-gradient norms, each (*runs, B) (the terms a
    penalty does not use may be None)."""
    if kind == "roth":
        return 0.5 * weight * (((1 - d_real) ** 2 * g_real).mean(-1) + (d_fake**2 * g_fake).mean(-1))
    return 0.5 * weight * (g_real if kind == "r1" else g_fake).mean(-1)


def roth_js(real: Tensor, fake: Tensor, real_logits: Tensor, fake_logits: Tensor, event_ndim: int,
            weight: float, **_) -> Tensor:
    """Roth et al. (2017) JS regulariser, (gamma/2) * Omega with D = sigmoid(phi):

    ``Omega = E_P[(1 - D(x))^2 |grad phi(x)|^2] + E_Q[D(x~)^2 |grad phi(x~)|^2]`` (their ``3DGAN.py``).
    It is the analytic, small-noise stand-in for instance noise of variance gamma.
    """
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    # One backward pass gives both input gradients: the real logits do not depend on the fake
    # inputs, nor the fake logits on the real ones (they come from separate calls of D).
    grad_real, grad_fake = torch.autograd.grad(real_logits.sum() + fake_logits.sum(), (real, fake), create_graph=True)
    return _from_norms("roth", d_real, d_fake, squared_norm(grad_real, event_ndim), squared_norm(grad_fake, event_ndim),
                       weight)


def r1(real: Tensor, real_logits: Tensor, event_ndim: int, weight: float, **_) -> Tensor:
    """R1 (Mescheder et al. 2018, eq. 9): ``(gamma/2) E_P |grad phi(x)|^2``, zero-centred, on real data."""
    return _from_norms("r1", None, None, squared_norm(input_gradient(real_logits, real), event_ndim), None, weight)


def r2(fake: Tensor, fake_logits: Tensor, event_ndim: int, weight: float, **_) -> Tensor:
    """R2 (Mescheder et al. 2018, eq. 10): ``(gamma/2) E_Q |grad phi(x~)|^2``, on generated samples."""
    return _from_norms("r2", None, None, None, squared_norm(input_gradient(fake_logits, fake), event_ndim), weight)


def wgan_gp(real: Tensor, fake: Tensor, event_ndim: int, weight: float, d: Callable, uniform: Callable,
            one_sided: bool = False, **_) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1): ``lambda E (|grad D(x^)| - 1)^2`` at ``x^ = e x + (1-e) x~``.

    ``one_sided`` penalises only norms above 1: ``lambda E max(0, |grad D(x^)| - 1)^2``.
    """
    eps = uniform(real.shape[: real.ndim - event_ndim]).reshape(*real.shape[: real.ndim - event_ndim],
                                                                *([1] * event_ndim))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    norm = squared_norm(input_gradient(d(x_hat), x_hat), event_ndim).add(1e-12).sqrt()
    gap = norm - 1
    if one_sided:
        gap = gap.clamp(min=0)
    return weight * gap.pow(2).mean(-1)


class Regularizer(NamedTuple):
    penalty: Callable[..., Tensor]
    needs: frozenset[str]  # which D inputs must require grad before D is evaluated (see ``parts.NEEDS``)
    random: bool = False  # draws uniforms (from the penalty's own stream)


REGULARIZERS: dict[str, Regularizer] = {
    "roth": Regularizer(roth_js, frozenset({"real_grad", "fake_grad"})),
    "r1": Regularizer(r1, frozenset({"real_grad"})),
    "r2": Regularizer(r2, frozenset({"fake_grad"})),
    "wgan_gp": Regularizer(wgan_gp, frozenset(), random=True),
    "wgan_gp_one_sided": Regularizer(partial(wgan_gp, one_sided=True), frozenset(), random=True),
}


def get_regularizer(name: str) -> Regularizer:
    """Look a regulariser up by name; an unknown name lists the choices."""
    return REGULARIZERS[choose("regularizer", name, REGULARIZERS)]


class Penalty(Part):
    """A gradient penalty as a D term of the training loop: ``kind`` from ``REGULARIZERS``, with weight
    ``weight`` (gamma or lambda; one number, or one per seed-batched run), optionally annealed
    (``schedule``/``decay`` as in ``noise.anneal``; Roth et al. anneal gamma by 0.01^(t/T)). Its ``name``
    (the history column) is ``<kind>_penalty`` unless given; a penalty that draws uniforms (WGAN-GP) draws
    them from its ``stream``, ``"uniform"`` unless given."""

    def __init__(self, kind: str, weight, schedule: str = "fixed", decay: float = 0.01, name: str | None = None,
                 stream: str | None = None):
        self.kind, self.fn = kind, get_regularizer(kind).penalty
        self.needs = get_regularizer(kind).needs
        self._defaults = {"name": f"{kind}_penalty", "stream": "uniform" if get_regularizer(kind).random else None}
        self.name = name or self._defaults["name"]
        self.stream = (stream or "uniform") if get_regularizer(kind).random else None
        if stream is not None and self.stream is None:
            raise ValueError(f"the {kind!r} penalty draws no random numbers, so it takes no stream; got {stream!r}")
        weights = [weight] if isinstance(weight, (int, float)) else list(weight)
        for w in weights:
            nonnegative("weight", w)
        self.weight = float(weight) if isinstance(weight, (int, float)) else tuple(float(w) for w in weights)
        self.schedule, self.decay = choose("schedule", schedule, SCHEDULES), float(decay)
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {decay!r}")

    def __repr__(self) -> str:
        chosen = "".join(f", {k}={getattr(self, k)!r}" for k, v in self._defaults.items() if getattr(self, k) != v)
        return (f"Penalty({self.kind!r}, weight={self.weight!r}, schedule={self.schedule!r}, decay={self.decay!r}"
                f"{chosen})")

    def weight_at(self, like: Tensor, step: int, total: int):
        """The weight at ``step`` of ``total``: a float, or one per run shaped like ``like``'s runs axes."""
        factor = anneal(1.0, step, total, self.schedule, self.decay)  # a Python float: no host read
        return per_run(self.weight, like, 0) * factor

    def __call__(self, v, step: int, total: int) -> Tensor:
        return self.fn(real=v.real, fake=v.fake, real_logits=v.real_out.score, fake_logits=v.fake_out.score,
                       event_ndim=v.event_ndim, weight=self.weight_at(v.real_out.score, step, total), d=v.d,
                       uniform=partial(v.streams.uniform, stream=self.stream))


SHARED_GRADIENT = ("roth", "r1", "r2")  # the penalties that are functions of the logit's input gradients


class Penalties(Part):
    """Several penalties of ``SHARED_GRADIENT`` as one D term, from one pass of input gradients.

    Runs that differ only in which of these penalties they get, and how much (per-run weights, 0 for
    none), then train as one seed-batched model at about the cost of one penalty.

    Args:
        penalties: ``Penalty`` objects of distinct kinds from ``SHARED_GRADIENT``.
        name: the history column of their sum.
    """

    def __init__(self, penalties, name: str = "penalties"):
        self.penalties = tuple(penalties)
        kinds = [choose("penalty sharing input gradients", p.kind, SHARED_GRADIENT) for p in self.penalties]
        if not kinds or len(set(kinds)) != len(kinds):
            raise ValueError(f"Penalties needs distinct kinds, got {kinds!r}")
        self.name = name
        self.needs = frozenset().union(*(p.needs for p in self.penalties))

    def __repr__(self) -> str:
        return f"Penalties({list(self.penalties)!r}" + (f", name={self.name!r})" if self.name != "penalties" else ")")

    def __call__(self, v, step: int, total: int) -> Tensor:
        sides = [(x, out) for x, out, need in ((v.real, v.real_out, "real_grad"), (v.fake, v.fake_out, "fake_grad"))
                 if need in self.needs]
        grads = torch.autograd.grad(sum(out.score.sum() for _, out in sides), [x for x, _ in sides], create_graph=True)
        norms = {id(x): squared_norm(gr, v.event_ndim) for (x, _), gr in zip(sides, grads)}
        g_real, g_fake = norms.get(id(v.real)), norms.get(id(v.fake))
        d_real, d_fake = torch.sigmoid(v.real_out.score), torch.sigmoid(v.fake_out.score)
        out = 0
        for p in self.penalties:
            out = out + _from_norms(p.kind, d_real, d_fake, g_real, g_fake, p.weight_at(v.real_out.score, step, total))
        return out

"""The kinds of part a training run is composed of, and what each one sees.

``train.train`` runs the algorithm box of a GAN paper; every technique is a small object of one of
these kinds, carrying (and validating) its own settings:

==================  ==============================================================  ===================
kind                protocol                                                        examples
==================  ==============================================================  ===================
objective           ``d_loss(real, fake)``, ``g_loss(fake)``, ``metrics(real, fake)``  ``objectives``
D term              ``name``, ``needs``, ``__call__(DView, step, total) -> (*runs,)``   ``regularizers.Penalty``
G term              ``name``, ``needs``, ``__call__(GView, step, total) -> (*runs,)``   feature matching
constraint          ``prepare(d)`` once, ``after_step(d)`` after each D update        weight clipping
latent step         ``__call__(z, g, d, objective, step, total) -> z``               LOGAN
selection           ``__call__(DOutput, step, total) -> indices (*runs, k)``         top-k
instance noise      ``__call__(x, standard_normal, step, total)``                    ``noise.InstanceNoise``
==================  ==============================================================  ===================

A term declares in ``needs`` what the loop must prepare for it, so the plain path prepares nothing:
``"real_grad"`` / ``"fake_grad"`` (D's inputs require grad), ``"features"`` (D is called through
``forward_features``), ``"real"`` (the G step also scores a real batch, without grad). Terms and
constraints may define ``bind(g, d)`` (called once before training) and ``state_dict`` /
``load_state_dict`` (kept in checkpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from ..validation import choose

Tensor = torch.Tensor
NEEDS = ("real_grad", "fake_grad", "features", "real")


class DOutput(NamedTuple):
    """What a discriminator says of a batch: one score per sample, and optionally named features."""

    score: Tensor  # (*runs, B): a logit, a critic value or (EBGAN) an energy
    features: dict[str, Tensor] = {}  # e.g. {"hidden": (*runs, B, H)}, {"class_logits": (*runs, B, K)}


def discriminate(d: torch.nn.Module, x: Tensor, features: bool = False) -> DOutput:
    """Score ``x`` with ``d``: ``d(x)`` on the plain path, ``d.forward_features(x)`` when features are needed."""
    if not features:
        return DOutput(d(x))
    if not hasattr(d, "forward_features"):
        raise ValueError(f"a part needs the discriminator's features, but {type(d).__name__} has no "
                         "forward_features(x) -> DOutput")
    return d.forward_features(x)


def select(out: DOutput, idx: Tensor) -> DOutput:
    """The samples ``idx`` (*runs, k) of a ``DOutput`` (scores and every feature)."""
    def take(t: Tensor) -> Tensor:
        index = idx.reshape(*idx.shape, *([1] * (t.ndim - idx.ndim))).expand(*idx.shape, *t.shape[idx.ndim:])
        return t.gather(idx.ndim - 1, index)
    return DOutput(take(out.score), {k: take(v) for k, v in out.features.items()})


@dataclass
class DView:
    """What one discriminator step saw, handed to every D term."""

    real: Tensor  # D's inputs after instance noise, (*runs, B, *event); require grad iff a term needs it
    fake: Tensor
    real_out: DOutput
    fake_out: DOutput
    d: torch.nn.Module
    streams: Any
    event_ndim: int


@dataclass
class GView:
    """What one generator step saw, handed to every G term."""

    fake: Tensor  # G's samples as D saw them, in the graph
    fake_out: DOutput
    g: torch.nn.Module | None
    d: torch.nn.Module
    streams: Any
    event_ndim: int
    real: Tensor | None = None  # only when a term needs "real" (scored without grad)
    real_out: DOutput | None = None


def needs_of(parts) -> frozenset[str]:
    """The union of what ``parts`` need, each name checked against ``NEEDS``."""
    out: set[str] = set()
    for p in parts:
        for n in getattr(p, "needs", ()):
            out.add(choose(f"need of {getattr(p, 'name', type(p).__name__)}", n, NEEDS))
    return frozenset(out)


def per_run(value, like: Tensor, trailing: int = 0) -> float | Tensor:
    """A setting given as one number (a Python float, kept on the host) or one number per run.

    A per-run sequence becomes a tensor shaped ``(*runs, 1 x trailing)`` on ``like``'s device, so
    variants that differ only in this number train as one seed-batched model.
    """
    if isinstance(value, (int, float)):
        return float(value)
    t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return t.reshape(*t.shape, *([1] * trailing))


def describe(part) -> str:
    """A stable description of a part and its settings (what a checkpoint's signature records)."""
    if part is None:
        return "None"
    if isinstance(part, (list, tuple)):
        return "[" + ", ".join(describe(p) for p in part) + "]"
    return repr(part)


@dataclass
class Recipe:
    """The parts of one training run, by kind (see the module docstring). ``objective`` may be a name."""

    objective: Any = "nonsaturating"
    d_terms: tuple = ()
    g_terms: tuple = ()
    constraints: tuple = ()
    noise: Any = None
    latent_step: Any = None
    selection: Any = None

    def parts(self) -> dict:
        """The parts as keyword arguments of ``train.train``."""
        return dict(objective=self.objective, d_terms=tuple(self.d_terms), g_terms=tuple(self.g_terms),
                    constraints=tuple(self.constraints), noise=self.noise, latent_step=self.latent_step,
                    selection=self.selection)

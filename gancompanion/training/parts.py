"""The kinds of part a training run is composed of, and what each one sees.

``train.train`` runs the algorithm box of a GAN paper; every technique is a small object of one of
these kinds, carrying (and validating) its own settings:

==============  =================================================================  =======================
kind            protocol                                                           examples
==============  =================================================================  =======================
objective       ``d_loss(real, fake)``, ``g_loss(fake)``, ``metrics(real, fake)``  ``objectives``
D term          ``name``, ``needs``, ``__call__(DView, step, total) -> (*runs,)``  ``d_terms.Penalty``
G term          ``name``, ``needs``, ``__call__(GView, step, total) -> (*runs,)``  feature matching
constraint      ``prepare(d)`` once, ``after_step(d)`` after each D update         weight clipping
latent step     ``__call__(z, g, d, objective, step, total) -> z``                 LOGAN
selection       ``__call__(DOutput, step, total) -> indices (*runs, k)``           top-k
instance noise  ``__call__(x, standard_normal, step, total)``                      ``noise.InstanceNoise``
every part      ``checkpoint_id``; ``stream`` if it draws random numbers           ``parts.Part``
==============  =================================================================  =======================

A term declares in ``needs`` what the loop must prepare for it, so the plain path prepares nothing:
``"real_grad"`` / ``"fake_grad"`` (D's inputs require grad), ``"features"`` (D is called through
``forward_features``), ``"real"`` (the G step also scores a real batch, without grad). Terms and
constraints may define ``bind(g, d)`` (called once before training) and ``state_dict`` /
``load_state_dict`` (kept in checkpoints). A latent step may define ``terms(n_dis) -> (d_terms, g_terms)``:
loss terms of its own that the loop adds to the run's (LOGAN's ``|dz|^2`` penalty).

Every part also has:

- ``checkpoint_id``: a string naming its kind and every setting that changes its numbers. A checkpoint
  records the ids of its run's parts and resumes only under the same ids; a part without one is refused
  when checkpointing. Subclasses of ``Part`` have their ``repr`` as their id (so a ``Part`` needs a
  ``repr`` that shows every setting: a dataclass's does); any other class defines ``checkpoint_id``.
- ``name`` (terms): the history column of its value; the terms of one run must have distinct names.
- ``stream`` (a part that draws random numbers): the name of its own random stream, drawn with
  ``streams.noise(stream)`` or ``streams.uniform(shape, stream)``; no two parts of one run share a stream.
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
    """The samples ``idx`` ``(*runs, k)`` of a ``DOutput`` (scores and every feature)."""
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


class Part:
    """A part whose ``repr`` is its checkpoint identity (see the module docstring)."""

    @property
    def checkpoint_id(self) -> str:
        return repr(self)


def describe(part) -> str:
    """A part's checkpoint identity (``checkpoint_id``), and of a list of parts; what a checkpoint records."""
    if part is None or isinstance(part, str):  # a part may be named (an objective by its registry name)
        return repr(part)
    if isinstance(part, (list, tuple)):
        return "[" + ", ".join(describe(p) for p in part) + "]"
    ident = getattr(part, "checkpoint_id", None)
    if not isinstance(ident, str):
        raise TypeError(f"part {type(part).__name__} has no checkpoint_id, so a checkpoint cannot tell whether it "
                        "resumes the same run; subclass parts.Part (its repr is its id) or define checkpoint_id")
    return ident


def _label(part) -> str:
    ident = getattr(part, "checkpoint_id", None)
    return ident if isinstance(ident, str) else type(part).__name__


def check_names(terms) -> None:
    """Refuse two terms of one run with the same ``name`` (one value would silently replace the other)."""
    seen: dict[str, Any] = {}
    for t in terms:
        if t.name in seen:
            raise ValueError(f"two parts are both named {t.name!r}: {_label(seen[t.name])} and {_label(t)}; "
                             "give each a distinct name (name=...)")
        seen[t.name] = t


def check_streams(parts) -> None:
    """Refuse two parts of one run that draw from the same random stream (see the module docstring)."""
    seen: dict[str, Any] = {}
    for p in parts:
        stream = getattr(p, "stream", None)
        if stream is None:
            continue
        if stream in seen:
            raise ValueError(f"two parts draw from the random stream {stream!r}: {_label(seen[stream])} and "
                             f"{_label(p)}; give each its own stream (stream=...)")
        seen[stream] = p


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

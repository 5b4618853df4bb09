"""Random streams that feed a training loop: real batches, latents, and one stream per random part.

``ToyStreams`` serves S independent runs at once: every run has its own generator per quantity,
seeded from its own seed alone (``device.derive_seed``), so run s sees exactly the numbers it
would see if it were trained on its own. Numbers are drawn in chunks of ``chunk`` steps to keep
the per-step cost low. ``DatasetStreams`` serves one run on a fixed dataset (shuffled epochs).

Both return tensors shaped ``(*runs, batch, *event)``: ``runs`` is ``(S,)`` for toys, ``()`` for images.
A part that draws random numbers names its own stream (``parts``): ``noise(stream)`` and
``uniform(shape, stream)`` serve each name from its own generator per run, so what one part draws never
shifts another's numbers. Instance noise draws from ``"noise"``, WGAN-GP's interpolation from ``"uniform"``.

The latent prior is N(0, I) by default; ``prior="uniform"`` draws z ~ U(-1, 1)^d instead (LOGAN's prior,
Wu et al. 2019, consistent with clipping latents to [-1, 1]).

``ConditionalToyStreams`` serves a class-conditional GAN on a mixture (Mirza & Osindero 2014): the class is
the index of a sample's mode, carried as a one-hot vector appended to the sample and to the latent
(``with_class``), so that the loop, G (``nets.ClassConditional``) and D need nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..device import generator
from ..validation import choose, positive_int

QUANTITIES = ("data", "latent", "noise", "uniform", "eval")
LOOP_STREAMS = ("data", "latent", "eval")  # the loop's own; no part may draw from them
PRIORS = ("normal", "uniform")


def draw_latent(prior: str, shape: tuple[int, ...], gen: torch.Generator, device) -> torch.Tensor:
    """Latents of ``shape`` from the prior: N(0, 1) or U(-1, 1) entries."""
    if prior == "uniform":
        return 2 * torch.rand(*shape, generator=gen, device=device) - 1
    return torch.randn(*shape, generator=gen, device=device)


def seed_words(stream: str) -> tuple[str, ...]:
    """What a stream's seeds are derived from (``device.derive_seed``): the name of one of ``QUANTITIES``,
    or ``"part"`` and a part's stream name in pieces of 4 characters (``derive_seed`` reads 4 bytes of a word)."""
    if stream in QUANTITIES:
        return (stream,)
    if not (isinstance(stream, str) and stream and stream.isascii()):
        raise ValueError(f"a stream's name must be a non-empty ASCII string, got {stream!r}")
    return ("part", *(stream[i:i + 4] for i in range(0, len(stream), 4)))


def _kind_of(stream: str, kind: str, kinds: dict[str, str]) -> None:
    if stream in LOOP_STREAMS and stream != kind:
        raise ValueError(f"the stream {stream!r} is the loop's own; a part names a stream of its own")
    if kinds.setdefault(stream, kind) != kind:
        raise ValueError(f"the stream {stream!r} serves {kinds[stream]} draws; it cannot also serve {kind} draws")


class ToyStreams:
    """Per-seed streams for S toy runs of a ``sample(shape, generator)`` distribution.

    Args:
        dist: a distribution from ``gancompanion.data`` (has ``dim`` and ``sample``).
        seeds: one seed per run.
        batch_size: samples per run per draw.
        latent_dim: dimension of z.
        device: where the numbers are drawn and kept.
        chunk: how many draws of each quantity are made at once per generator.
        prior: the latents' distribution, ``"normal"`` (N(0, I)) or ``"uniform"`` (U(-1, 1)^d).
    """

    def __init__(self, dist, seeds: Sequence[int], batch_size: int, latent_dim: int, device="cpu",
                 chunk: int = 64, prior: str = "normal"):
        self.prior = choose("prior", prior, PRIORS)
        self.dist, self.seeds = dist, tuple(int(s) for s in seeds)
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        self.batch_size = positive_int("batch_size", batch_size)
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.chunk = positive_int("chunk", chunk)
        self.device = torch.device(device)
        self.event_shape = (dist.dim,)
        self._gens: dict[str, list[torch.Generator]] = {}
        self._kinds: dict[str, str] = {}
        self._buffers: dict[str, torch.Tensor] = {}
        self._pos: dict[str, int] = {}
        for q in QUANTITIES[:4]:  # the loop's quantities, in every state_dict
            self._generators(q)

    @property
    def runs(self) -> tuple[int, ...]:
        return (len(self.seeds),)

    @property
    def event_ndim(self) -> int:
        return len(self.event_shape)

    def _draw(self, kind: str, gen: torch.Generator) -> torch.Tensor:
        shape = (self.chunk, self.batch_size)
        if kind == "data":
            return self.dist.sample(shape, gen)
        if kind == "latent":
            return draw_latent(self.prior, (*shape, self.latent_dim), gen, self.device)
        if kind == "noise":
            return torch.randn(*shape, *self.event_shape, generator=gen, device=self.device)
        return torch.rand(*shape, generator=gen, device=self.device)

    def _generators(self, stream: str) -> list[torch.Generator]:
        if stream not in self._gens:
            self._gens[stream] = [generator(s, *seed_words(stream), device=self.device) for s in self.seeds]
            self._pos[stream] = self.chunk
        return self._gens[stream]

    def _next(self, stream: str, kind: str) -> torch.Tensor:
        _kind_of(stream, kind, self._kinds)
        gens = self._generators(stream)
        if self._pos[stream] == self.chunk:
            self._buffers[stream] = torch.stack([self._draw(kind, g) for g in gens])
            self._pos[stream] = 0
        out = self._buffers[stream][:, self._pos[stream]]
        self._pos[stream] += 1
        return out

    def real(self) -> torch.Tensor:
        """``(S, B, *event)`` samples of the data distribution."""
        return self._next("data", "data")

    def latent(self) -> torch.Tensor:
        """(S, B, latent_dim) draws of z from the prior."""
        return self._next("latent", "latent")

    def noise(self, stream: str = "noise") -> torch.Tensor:
        """``(S, B, *event)`` standard normal draws from ``stream`` (instance noise's is ``"noise"``)."""
        return self._next(stream, "noise")

    def uniform(self, shape: tuple[int, ...], stream: str = "uniform") -> torch.Tensor:
        """(S, B) draws of U[0, 1] from ``stream`` (WGAN-GP's interpolation's is ``"uniform"``); ``shape``
        must be (S, B)."""
        if tuple(shape) != (*self.runs, self.batch_size):
            raise ValueError(f"uniform draws come as {(*self.runs, self.batch_size)}, not {tuple(shape)}")
        return self._next(stream, "uniform")

    def fixed_latent(self, n: int) -> torch.Tensor:
        """(S, n, latent_dim): the same latents every call (an evaluation set per run)."""
        return torch.stack([draw_latent(self.prior, (n, self.latent_dim), generator(s, "eval", device=self.device),
                                        self.device) for s in self.seeds])

    def state_dict(self) -> dict:
        return {"gens": {q: [g.get_state() for g in gs] for q, gs in self._gens.items()},
                "buffers": dict(self._buffers), "pos": dict(self._pos)}

    def load_state_dict(self, state: dict) -> None:
        """Back to ``state``: a stream first drawn from after it was saved starts afresh."""
        self._gens, self._pos = {}, {}
        for q, states in state["gens"].items():
            for g, s in zip(self._generators(q), states):
                g.set_state(s)
        self._buffers = {q: b.to(self.device) for q, b in state["buffers"].items()}
        self._pos.update(state["pos"])


class DatasetStreams:
    """Streams for one run on a fixed dataset: reshuffled every epoch, last partial batch dropped.

    Args:
        data: ``(N, *event)`` tensor (already on ``device``).
        batch_size: samples per draw.
        latent_dim: dimension of z.
        seed: seeds the shuffling, the latents and the noise.
        prior: the latents' distribution, ``"normal"`` (N(0, I)) or ``"uniform"`` (U(-1, 1)^d).
    """

    def __init__(self, data: torch.Tensor, batch_size: int, latent_dim: int, seed: int, prior: str = "normal"):
        self.prior = choose("prior", prior, PRIORS)
        self.data = data
        self.device = data.device
        self.batch_size = positive_int("batch_size", batch_size)
        if self.batch_size > len(data):
            raise ValueError(f"batch_size {batch_size} is larger than the dataset ({len(data)} samples)")
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.seed = int(seed)
        self.event_shape = tuple(data.shape[1:])
        self._gens = {q: generator(self.seed, *seed_words(q), device=self.device) for q in QUANTITIES[:4]}
        self._kinds: dict[str, str] = {}
        self._order = torch.empty(0, dtype=torch.long, device=self.device)
        self._pos = 0

    runs: tuple[int, ...] = ()

    @property
    def event_ndim(self) -> int:
        return len(self.event_shape)

    @property
    def batches_per_epoch(self) -> int:
        return len(self.data) // self.batch_size

    def _generator(self, stream: str, kind: str) -> torch.Generator:
        _kind_of(stream, kind, self._kinds)
        if stream not in self._gens:
            self._gens[stream] = generator(self.seed, *seed_words(stream), device=self.device)
        return self._gens[stream]

    def real(self) -> torch.Tensor:
        if self._pos + self.batch_size > len(self._order):
            self._order = torch.randperm(len(self.data), generator=self._generator("data", "data"), device=self.device)
            self._pos = 0
        idx = self._order[self._pos: self._pos + self.batch_size]
        self._pos += self.batch_size
        return self.data[idx]

    def latent(self) -> torch.Tensor:
        return draw_latent(self.prior, (self.batch_size, self.latent_dim), self._generator("latent", "latent"),
                           self.device)

    def noise(self, stream: str = "noise") -> torch.Tensor:
        return torch.randn(self.batch_size, *self.event_shape, generator=self._generator(stream, "noise"),
                           device=self.device)

    def uniform(self, shape: tuple[int, ...], stream: str = "uniform") -> torch.Tensor:
        return torch.rand(*shape, generator=self._generator(stream, "uniform"), device=self.device)

    def fixed_latent(self, n: int) -> torch.Tensor:
        return draw_latent(self.prior, (n, self.latent_dim), generator(self.seed, "eval", device=self.device),
                           self.device)

    def state_dict(self) -> dict:
        return {"gens": {q: g.get_state() for q, g in self._gens.items()}, "order": self._order, "pos": self._pos}

    def load_state_dict(self, state: dict) -> None:
        self._gens = {}  # a stream first drawn from after the state was saved starts afresh
        for q, s in state["gens"].items():
            self._gens[q] = generator(self.seed, *seed_words(q), device=self.device)
            self._gens[q].set_state(s)
        self._order, self._pos = state["order"].to(self.device), state["pos"]


def with_class(x: torch.Tensor, labels, n_classes: int) -> torch.Tensor:
    """``x`` (..., dim) with the one-hot vector of its class appended: (..., dim + n_classes). ``labels`` is an
    integer tensor broadcastable to ``x.shape[:-1]`` (or one integer: the same class for every row)."""
    labels = torch.as_tensor(labels, device=x.device).expand(x.shape[:-1])
    return torch.cat([x, F.one_hot(labels.long(), positive_int("n_classes", n_classes)).to(x.dtype)], dim=-1)


class ConditionalToyStreams(ToyStreams):
    """Per-seed streams for S class-conditional runs on a mixture (``data.GaussianMixture``): the class of a
    real sample is the index of its mode (Mirza & Osindero 2014, conditioning by concatenation).

    ``real()`` gives ``(S, B, dim + K)``: a sample and the one-hot of its mode; ``latent()`` gives
    ``(S, B, latent_dim + K)``: z from the prior and a class drawn uniformly (each from its run's own stream:
    the mode and noise from ``"data"``, z and the class from ``"latent"``). ``fixed_latent(n)`` cycles
    through the classes (n / K latents per class when K divides n). Arguments as ``ToyStreams``.
    """

    def __init__(self, dist, seeds: Sequence[int], batch_size: int, latent_dim: int, device="cpu",
                 chunk: int = 64, prior: str = "normal"):
        if not hasattr(dist, "centers"):
            raise ValueError("a conditional stream needs a mixture with `centers` (its classes are the modes), got "
                             f"{type(dist).__name__}")
        super().__init__(dist, seeds, batch_size, latent_dim, device, chunk, prior)
        self.n_classes = len(dist.centers)
        self.event_shape = (dist.dim + self.n_classes,)

    def _draw(self, kind: str, gen: torch.Generator) -> torch.Tensor:
        shape, k = (self.chunk, self.batch_size), self.n_classes
        if kind == "data":  # GaussianMixture.sample's draws, keeping the mode's index
            idx = torch.randint(k, shape, generator=gen, device=self.device)
            eps = torch.randn(*shape, self.dist.dim, generator=gen, device=self.device)
            return with_class(self.dist.centers.to(self.device)[idx] + self.dist.std * eps, idx, k)
        if kind == "latent":
            z = draw_latent(self.prior, (*shape, self.latent_dim), gen, self.device)
            return with_class(z, torch.randint(k, shape, generator=gen, device=self.device), k)
        return super()._draw(kind, gen)

    def fixed_latent(self, n: int) -> torch.Tensor:
        """(S, n, latent_dim + K): the same latents every call, latent i of class i mod K."""
        z = super().fixed_latent(n)
        return with_class(z, torch.arange(n, device=z.device) % self.n_classes, self.n_classes)

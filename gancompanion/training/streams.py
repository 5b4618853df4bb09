"""Random streams that feed a training loop: real batches, latents, instance noise, uniforms.

``ToyStreams`` serves S independent runs at once: every run has its own generator per quantity,
seeded from its own seed alone (``device.derive_seed``), so run s sees exactly the numbers it
would see if it were trained on its own. Numbers are drawn in chunks of ``chunk`` steps to keep
the per-step cost low. ``DatasetStreams`` serves one run on a fixed dataset (shuffled epochs).

Both return tensors shaped ``(*runs, batch, *event)``: ``runs`` is ``(S,)`` for toys, ``()`` for images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..device import generator
from ..validation import positive_int

QUANTITIES = ("data", "latent", "noise", "uniform", "eval")


class ToyStreams:
    """Per-seed streams for S toy runs of a ``sample(shape, generator)`` distribution.

    Args:
        dist: a distribution from ``gancompanion.data`` (has ``dim`` and ``sample``).
        seeds: one seed per run.
        batch_size: samples per run per draw.
        latent_dim: dimension of z ~ N(0, I).
        device: where the numbers are drawn and kept.
        chunk: how many draws of each quantity are made at once per generator.
    """

    def __init__(self, dist, seeds: Sequence[int], batch_size: int, latent_dim: int, device="cpu",
                 chunk: int = 64):
        self.dist, self.seeds = dist, tuple(int(s) for s in seeds)
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        self.batch_size = positive_int("batch_size", batch_size)
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.chunk = positive_int("chunk", chunk)
        self.device = torch.device(device)
        self.event_shape = (dist.dim,)
        self._gens = {q: [generator(s, q, device=self.device) for s in self.seeds] for q in QUANTITIES[:4]}
        self._buffers: dict[str, torch.Tensor] = {}
        self._pos = {q: self.chunk for q in QUANTITIES[:4]}

    @property
    def runs(self) -> tuple[int, ...]:
        return (len(self.seeds),)

    @property
    def event_ndim(self) -> int:
        return len(self.event_shape)

    def _draw(self, quantity: str, gen: torch.Generator) -> torch.Tensor:
        shape = (self.chunk, self.batch_size)
        if quantity == "data":
            return self.dist.sample(shape, gen)
        if quantity == "latent":
            return torch.randn(*shape, self.latent_dim, generator=gen, device=self.device)
        if quantity == "noise":
            return torch.randn(*shape, *self.event_shape, generator=gen, device=self.device)
        return torch.rand(*shape, generator=gen, device=self.device)

    def _next(self, quantity: str) -> torch.Tensor:
        if self._pos[quantity] == self.chunk:
            self._buffers[quantity] = torch.stack([self._draw(quantity, g) for g in self._gens[quantity]])
            self._pos[quantity] = 0
        out = self._buffers[quantity][:, self._pos[quantity]]
        self._pos[quantity] += 1
        return out

    def real(self) -> torch.Tensor:
        """``(S, B, *event)`` samples of the data distribution."""
        return self._next("data")

    def latent(self) -> torch.Tensor:
        """(S, B, latent_dim) draws of z ~ N(0, I)."""
        return self._next("latent")

    def noise(self) -> torch.Tensor:
        """``(S, B, *event)`` standard normal draws, for instance noise."""
        return self._next("noise")

    def uniform(self, shape: tuple[int, ...]) -> torch.Tensor:
        """(S, B) draws of U[0, 1] (for WGAN-GP's interpolation); ``shape`` must be (S, B)."""
        if tuple(shape) != (*self.runs, self.batch_size):
            raise ValueError(f"uniform draws come as {(*self.runs, self.batch_size)}, not {tuple(shape)}")
        return self._next("uniform")

    def fixed_latent(self, n: int) -> torch.Tensor:
        """(S, n, latent_dim): the same latents every call (an evaluation set per run)."""
        return torch.stack([torch.randn(n, self.latent_dim, generator=generator(s, "eval", device=self.device),
                                        device=self.device) for s in self.seeds])

    def state_dict(self) -> dict:
        return {"gens": {q: [g.get_state() for g in gs] for q, gs in self._gens.items()},
                "buffers": dict(self._buffers), "pos": dict(self._pos)}

    def load_state_dict(self, state: dict) -> None:
        for q, states in state["gens"].items():
            for g, s in zip(self._gens[q], states):
                g.set_state(s)
        self._buffers = {q: b.to(self.device) for q, b in state["buffers"].items()}
        self._pos = dict(state["pos"])


class DatasetStreams:
    """Streams for one run on a fixed dataset: reshuffled every epoch, last partial batch dropped.

    Args:
        data: ``(N, *event)`` tensor (already on ``device``).
        batch_size: samples per draw.
        latent_dim: dimension of z ~ N(0, I).
        seed: seeds the shuffling, the latents and the noise.
    """

    def __init__(self, data: torch.Tensor, batch_size: int, latent_dim: int, seed: int):
        self.data = data
        self.device = data.device
        self.batch_size = positive_int("batch_size", batch_size)
        if self.batch_size > len(data):
            raise ValueError(f"batch_size {batch_size} is larger than the dataset ({len(data)} samples)")
        self.latent_dim = positive_int("latent_dim", latent_dim)
        self.seed = int(seed)
        self.event_shape = tuple(data.shape[1:])
        self._gens = {q: generator(self.seed, q, device=self.device) for q in QUANTITIES[:4]}
        self._order = torch.empty(0, dtype=torch.long, device=self.device)
        self._pos = 0

    runs: tuple[int, ...] = ()

    @property
    def event_ndim(self) -> int:
        return len(self.event_shape)

    @property
    def batches_per_epoch(self) -> int:
        return len(self.data) // self.batch_size

    def real(self) -> torch.Tensor:
        if self._pos + self.batch_size > len(self._order):
            self._order = torch.randperm(len(self.data), generator=self._gens["data"], device=self.device)
            self._pos = 0
        idx = self._order[self._pos: self._pos + self.batch_size]
        self._pos += self.batch_size
        return self.data[idx]

    def latent(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.latent_dim, generator=self._gens["latent"], device=self.device)

    def noise(self) -> torch.Tensor:
        return torch.randn(self.batch_size, *self.event_shape, generator=self._gens["noise"], device=self.device)

    def uniform(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.rand(*shape, generator=self._gens["uniform"], device=self.device)

    def fixed_latent(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator(self.seed, "eval", device=self.device),
                           device=self.device)

    def state_dict(self) -> dict:
        return {"gens": {q: g.get_state() for q, g in self._gens.items()}, "order": self._order, "pos": self._pos}

    def load_state_dict(self, state: dict) -> None:
        for q, s in state["gens"].items():
            self._gens[q].set_state(s)
        self._order, self._pos = state["order"].to(self.device), state["pos"]

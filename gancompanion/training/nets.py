"""Generators and discriminators: seed-batched MLPs for the toys, a small DCGAN for digits.

Shape convention used throughout the package: samples are ``(*runs, batch, *event)`` and
discriminator outputs (logits) are ``(*runs, batch)``. The toy MLPs carry one leading ``runs``
axis holding S independent networks (one per seed) that are computed together with batched
matrix products; the DCGAN has no ``runs`` axis. ``ClassConditional`` makes a toy generator class-conditional
(the one-hot class concatenated to z and passed on to D with the sample).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..device import generator
from ..validation import choose, positive_int

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


class SeedBatchedLinear(nn.Module):
    """S independent affine maps applied at once: ``y[s] = x[s] @ weight[s] + bias[s]``.

    Args:
        weight: (S, in, out) initial weights.
        bias: (S, out) initial biases.
    Input (S, B, in) -> output (S, B, out).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias.unsqueeze(1))  # (S, 1, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, i, _ = self.weight.shape
        if x.ndim != 3 or x.shape[0] != s or x.shape[2] != i:
            raise ValueError(f"a seed-batched layer takes inputs shaped (runs, batch, {i}) with runs = {s}, got "
                             f"{tuple(x.shape)}; a latent needs its runs axis first (z[None] for one run)")
        return torch.baddbmm(self.bias, x, self.weight)  # (S, B, out)

    def extra_repr(self) -> str:
        s, i, o = self.weight.shape
        return f"runs={s}, in={i}, out={o}"


def _init_layer(fan_in: int, fan_out: int, gen: torch.Generator, init_std: float | None):
    """One layer's (in, out) weight and (out,) bias for one seed.

    ``init_std=None`` copies ``nn.Linear``'s default (uniform +-1/sqrt(fan_in) for both); a number
    gives a normal truncated at 2 std with zero biases, as in Roth et al.'s ``3DGAN.py`` (std 0.1).
    """
    if init_std is None:
        bound = 1 / math.sqrt(fan_in)
        w = (torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * bound
        b = (torch.rand(fan_out, generator=gen) * 2 - 1) * bound
    else:
        w = torch.empty(fan_in, fan_out)
        nn.init.trunc_normal_(w, std=init_std, a=-2 * init_std, b=2 * init_std, generator=gen)
        b = torch.zeros(fan_out)
    return w, b


class MLP(nn.Sequential):
    """S seed-batched multilayer perceptrons ``sizes[0] -> ... -> sizes[-1]``.

    Run s is initialised from ``seeds[s]`` alone, so an MLP built for seeds [3, 5] holds exactly the
    networks that seeds [3] and [5] would give on their own. Input (S, B, sizes[0]) -> (S, B, sizes[-1]);
    with ``squeeze=True`` (discriminators) the last axis of size 1 is dropped, giving logits (S, B).
    """

    per_sample = True  # each sample's output depends on that sample alone (the loop may batch calls)

    def __init__(self, sizes: Sequence[int], seeds: Sequence[int], role: str, activation: str = "tanh",
                 init_std: float | None = None, squeeze: bool = False):
        choose("activation", activation, ACTIVATIONS)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output size, got {sizes!r}")
        for size in sizes:
            try:
                positive_int("sizes", size)
            except ValueError:
                raise ValueError(f"sizes must be layer widths, integers >= 1, got {list(sizes)!r}") from None
        seeds = list(seeds)
        if not seeds:
            raise ValueError("seeds must name at least one seed")
        gens = [generator(s, "init", role) for s in seeds]
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            pairs = [_init_layer(fan_in, fan_out, g, init_std) for g in gens]
            layers.append(SeedBatchedLinear(torch.stack([w for w, _ in pairs]), torch.stack([b for _, b in pairs])))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes, self.seeds, self.squeeze = tuple(sizes), tuple(seeds), squeeze

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y.squeeze(-1) if self.squeeze else y


def mlp_generator(latent_dim: int, hidden: Sequence[int], out_dim: int, seeds: Sequence[int],
                  activation: str = "tanh", init_std: float | None = None) -> MLP:
    """Seed-batched MLP generator ``z (S, B, latent_dim) -> x (S, B, out_dim)``, linear output."""
    return MLP([latent_dim, *hidden, out_dim], seeds, "G", activation, init_std)


def mlp_discriminator(in_dim: int, hidden: Sequence[int], seeds: Sequence[int], activation: str = "tanh",
                      init_std: float | None = None) -> MLP:
    """Seed-batched MLP discriminator ``x (S, B, in_dim) -> logits (S, B)``."""
    return MLP([in_dim, *hidden, 1], seeds, "D", activation, init_std, squeeze=True)


class ClassConditional(nn.Module):
    """A class-conditional generator by concatenation (Mirza & Osindero 2014): ``net`` maps ``[z, y]`` (y the
    one-hot of a class, the last ``n_classes`` entries of its input) to a sample x, and the output is ``[x, y]``,
    so that D sees a generated sample with its class as a real one carries it (``streams.ConditionalToyStreams``).
    """

    per_sample = True

    def __init__(self, net: nn.Module, n_classes: int):
        super().__init__()
        self.net, self.n_classes = net, positive_int("n_classes", n_classes)

    def forward(self, zy: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.net(zy), zy[..., -self.n_classes:]], dim=-1)


# --------------------------------------------------------------------------------------------
# A small DCGAN (Radford et al. 2016) for 16x16 / 32x32 / 64x64 single-channel images.


def _check_size(image_size: int) -> int:
    choose("image_size", image_size, (8, 16, 32, 64))
    return int(math.log2(image_size))


def dcgan_init(m: nn.Module) -> None:
    """DCGAN's initialisation: convolutions N(0, 0.02), batch-norm scales N(1, 0.02), zero biases."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z (..., latent_dim) -> images (..., channels, S, S) in [-1, 1].

    Transposed convolutions double the side from 4x4 up to S, with batch norm and ReLU between
    them and tanh at the end, as in DCGAN.
    """

    def __init__(self, latent_dim: int = 16, image_size: int = 16, width: int = 32, channels: int = 1):
        super().__init__()
        positive_int("latent_dim", latent_dim)
        positive_int("width", width)
        n_up = _check_size(image_size) - 2  # 4x4 -> S takes n_up doublings
        c = width * 2 ** max(n_up - 1, 0)
        layers: list[nn.Module] = [  # state: (c, 4, 4)
            nn.ConvTranspose2d(latent_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
        for _ in range(n_up - 1):  # state: (c, s, s) -> (c/2, 2s, 2s)
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]  # (channels, S, S)
        self.net = nn.Sequential(*layers)
        self.net.apply(dcgan_init)
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        lead = z.shape[:-1]
        x = self.net(z.reshape(-1, self.latent_dim, 1, 1))
        return x.reshape(*lead, *x.shape[1:])


class DCGANDiscriminator(nn.Module):
    """images (..., channels, S, S) -> logits (...).

    Strided convolutions halve the side down to 4x4 (LeakyReLU 0.2), then a 4x4 convolution gives one
    logit. No batch norm: the perfect-discriminator probe scores all-real and all-fake batches, and
    batch statistics would leak which is which.
    """

    per_sample = True  # each image's logit depends on that image alone (the loop may batch calls)

    def __init__(self, image_size: int = 16, width: int = 32, channels: int = 1):
        super().__init__()
        positive_int("width", width)
        n_down = _check_size(image_size) - 2
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # (w, S/2, S/2)
        c = width
        for _ in range(n_down - 1):  # (c, s, s) -> (2c, s/2, s/2)
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers += [nn.Conv2d(c, 1, 4, 1, 0)]  # (1, 1, 1)
        self.net = nn.Sequential(*layers)
        self.net.apply(dcgan_init)
        self.image_size, self.channels = image_size, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-3]
        return self.net(x.reshape(-1, self.channels, self.image_size, self.image_size)).reshape(lead)


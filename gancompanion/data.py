"""Data that needs no network: toy distributions, scikit-learn's 8x8 digits, local MNIST/CIFAR files.

Every sampler takes a ``torch.Generator`` (or uses torch's global one) and returns tensors on the
generator's device, shaped ``(*shape, dim)``.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .validation import choose, nonnegative, positive_int


def _device_of(generator: torch.Generator | None, device) -> torch.device:
    if generator is not None:
        return generator.device
    return torch.device(device or "cpu")


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """Equal-weight mixture of isotropic Gaussians; ``std=0`` gives Diracs.

    Attributes:
        centers: (K, dim) tensor of component means.
        std: component standard deviation (the same for all components).
    """

    centers: torch.Tensor
    std: float

    def __post_init__(self):
        nonnegative("std", self.std)
        if self.centers.ndim != 2:
            raise ValueError(f"centers must be a (K, dim) tensor, got shape {tuple(self.centers.shape)}")

    @property
    def dim(self) -> int:
        return self.centers.shape[1]

    def sample(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
               device=None) -> torch.Tensor:
        """Draw samples of shape ``(*shape, dim)``."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        device = _device_of(generator, device)
        centers = self.centers.to(device)
        idx = torch.randint(len(centers), shape, generator=generator, device=device)
        eps = torch.randn(*shape, self.dim, generator=generator, device=device)
        return centers[idx] + self.std * eps


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """Ring of ``n_modes`` Gaussians (VEEGAN/PacGAN convention: 8 modes, radius 1, std 0.01)."""
    positive_int("n_modes", n_modes)
    angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    centers = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(centers.float(), std)


def grid(n_per_side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """Square grid of Gaussians centred on 0 (VEEGAN/PacGAN: 5x5 at {-4,-2,0,2,4}^2, std 0.05)."""
    positive_int("n_per_side", n_per_side)
    ticks = (torch.arange(n_per_side, dtype=torch.float32) - (n_per_side - 1) / 2) * spacing
    centers = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture(centers, std)


def gaussians_1d(means, std: float = 0.0) -> GaussianMixture:
    """1-D Diracs (``std=0``) or Gaussians at ``means``, as a (K, 1) mixture."""
    return GaussianMixture(torch.as_tensor(means, dtype=torch.float32).reshape(-1, 1), std)


# The toys of Gulrajani et al.'s (2017) ``gan_toy.py``, with that code's own scaling.

def wgan_gp_8gaussians() -> GaussianMixture:
    """``gan_toy.py``'s 8 Gaussians: centres (+-1, 0), (0, +-1), (+-1, +-1)/sqrt 2 times 2, std 0.02,
    then everything divided by 1.414 (so the radius is 2/1.414 and the std 0.02/1.414)."""
    r = 1 / math.sqrt(2)
    unit = torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1], [r, r], [r, -r], [-r, r], [-r, -r]], dtype=torch.float64)
    return GaussianMixture((2 * unit / 1.414).float(), 0.02 / 1.414)


def wgan_gp_25gaussians() -> GaussianMixture:
    """``gan_toy.py``'s 25 Gaussians: a grid 2 * {-2, ..., 2}^2, std 0.05, divided by 2.828.

    The code draws a fixed set of 100,000 such points once and cycles through it shuffled; we draw
    i.i.d. from the same mixture."""
    return grid(5, 2.0 / 2.828, 0.05 / 2.828)


@dataclass(frozen=True)
class SwissRoll:
    """``gan_toy.py``'s Swiss roll: scikit-learn's ``make_swiss_roll(noise=0.25)``, columns (0, 2), / 7.5.

    t = 1.5 pi (1 + 2u), u ~ U[0, 1]; the point is (t cos t, t sin t) plus N(0, noise^2) per coordinate,
    all divided by ``scale``. A curve, not a mixture: it has no ``centers``.
    """

    noise: float = 0.25
    scale: float = 7.5
    dim: int = 2

    def __post_init__(self):
        nonnegative("noise", self.noise)
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale!r}")

    def sample(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
               device=None) -> torch.Tensor:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        device = _device_of(generator, device)
        t = 1.5 * math.pi * (1 + 2 * torch.rand(*shape, generator=generator, device=device))
        eps = torch.randn(*shape, 2, generator=generator, device=device)
        x = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=-1) + self.noise * eps
        return x / self.scale

    def points(self, n: int = 400) -> torch.Tensor:
        """``n`` noise-free points along the roll, for drawing it."""
        t = 1.5 * math.pi * (1 + 2 * torch.linspace(0, 1, n))
        return torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=-1) / self.scale


@dataclass(frozen=True, eq=False)
class FixedGenerator:
    """Data plus Gaussian noise: ``x + std * N(0, I)``, x from ``base``.

    Gulrajani et al.'s (2017) Fig. 1 holds the "generator" fixed at the real data plus unit-variance
    noise (``gan_toy.py``'s ``FIXED_GENERATOR``) to show the critics' value surfaces.
    """

    base: object
    std: float = 1.0

    def __post_init__(self):
        nonnegative("std", self.std)

    @property
    def dim(self) -> int:
        return self.base.dim

    def sample(self, shape, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        x = self.base.sample(shape, generator, device)
        return x + self.std * torch.randn(x.shape, generator=generator, device=x.device)


@dataclass(frozen=True)
class Segment:
    """The vertical unit segment at x = ``theta``: the law of (theta, Z), Z ~ U[0, 1].

    Arjovsky et al.'s (2017) Example 1 compares P_0 with P_theta: parallel lines that do not overlap
    unless theta = 0 (``divergences.parallel_lines`` has the closed forms).
    """

    theta: float = 0.0
    dim: int = 2

    def sample(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
               device=None) -> torch.Tensor:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        device = _device_of(generator, device)
        z = torch.rand(*shape, generator=generator, device=device)
        return torch.stack([torch.full_like(z, float(self.theta)), z], dim=-1)


WGAN_GP_TOYS = {"8gaussians": wgan_gp_8gaussians, "25gaussians": wgan_gp_25gaussians, "swissroll": SwissRoll}


def wgan_gp_toy(name: str):
    """One of ``gan_toy.py``'s datasets by its name there: 8gaussians, 25gaussians, swissroll."""
    return WGAN_GP_TOYS[choose("dataset", name, WGAN_GP_TOYS)]()


@dataclass(frozen=True, eq=False)
class EmbeddedMixture:
    """A mixture in a low dimension mapped affinely into a higher one: ``x @ matrix + offset``.

    The samples lie exactly on the affine subspace (noise is added before the embedding), as in
    Roth et al.'s (2017) 3-D toy.
    """

    base: GaussianMixture
    matrix: torch.Tensor  # (base.dim, dim), orthonormal rows
    offset: torch.Tensor  # (dim,)

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    @property
    def std(self) -> float:
        return self.base.std

    @property
    def centers(self) -> torch.Tensor:
        return self.base.centers @ self.matrix + self.offset

    def sample(self, shape, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        x = self.base.sample(shape, generator, device)
        return x @ self.matrix.to(x.device) + self.offset.to(x.device)

    def distance_off(self, x: torch.Tensor) -> torch.Tensor:
        """Euclidean distance of each point of ``x`` (..., dim) from the embedding's subspace."""
        m, t = self.matrix.to(x.device), self.offset.to(x.device)
        y = x - t
        return (y - (y @ m.T) @ m).norm(dim=-1)


def rotation(axis, angle: float) -> torch.Tensor:
    """Rodrigues' rotation matrix about the unit vector along ``axis`` by ``angle`` radians."""
    k = torch.as_tensor(axis, dtype=torch.float64)
    k = k / k.norm()
    cross = torch.tensor([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross


def ring7_3d(std: float = 0.01) -> EmbeddedMixture:
    """Roth et al. (2017) Fig. 1 toy (their ``3DGAN.py``): 7 Gaussians on a unit ring in a plane of R^3.

    Centres (sin a, cos a) for a in linspace(0, 2 pi, 8)[:-1]; the plane z = 0 is rotated by pi/4
    about (1, -1, 0)/sqrt(2) (row vectors times the Rodrigues matrix) and shifted by (1, 1, 1)/sqrt(3).
    """
    angles = torch.linspace(0, 2 * math.pi, 8, dtype=torch.float64)[:-1]
    base = GaussianMixture(torch.stack([torch.sin(angles), torch.cos(angles)], 1).float(), std)
    embed = torch.eye(3, dtype=torch.float64)[:2] @ rotation((1.0, -1.0, 0.0), math.pi / 4)
    offset = torch.ones(3, dtype=torch.float64) / math.sqrt(3)
    return EmbeddedMixture(base, embed.float(), offset.float())


@dataclass(frozen=True)
class Curve:
    """Points on the 1-D curve ``(t, amplitude * sin(frequency * t) + offset)``, t ~ U[-1, 1].

    A distribution whose support is a 1-D manifold of the plane: the setting of Arjovsky & Bottou's
    perfect-discriminator theorems (two such curves almost surely do not align).
    """

    amplitude: float = 0.5
    frequency: float = math.pi
    offset: float = 0.0
    dim: int = 2

    def sample(self, shape: int | tuple[int, ...], generator: torch.Generator | None = None,
               device=None) -> torch.Tensor:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        device = _device_of(generator, device)
        t = torch.rand(*shape, generator=generator, device=device) * 2 - 1
        return torch.stack([t, self.amplitude * torch.sin(self.frequency * t) + self.offset], dim=-1)

    def points(self, n: int = 200) -> torch.Tensor:
        """``n`` evenly spaced points along the curve, for drawing it."""
        t = torch.linspace(-1, 1, n)
        return torch.stack([t, self.amplitude * torch.sin(self.frequency * t) + self.offset], dim=-1)


# --------------------------------------------------------------------------------------------
# Images


def load_digits(image_size: int = 8, device=None) -> torch.Tensor:
    """scikit-learn's bundled 8x8 digits (1797 images) as a (N, 1, S, S) float tensor in [-1, 1].

    ``image_size`` > 8 upsamples bilinearly. Upsampling is linear, so the upsampled digits still
    lie in a 64-dimensional subspace of the S*S-dimensional image space.
    """
    from sklearn.datasets import load_digits as _load

    choose("image_size", image_size, (8, 16, 32, 64))
    x = torch.from_numpy(_load().images.astype(np.float32)).unsqueeze(1) / 8.0 - 1.0  # (N, 1, 8, 8)
    if image_size != 8:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x.to(device or "cpu")


def _folder(path) -> Path:
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"data folder {str(path)!r} does not exist; pass the folder that "
                                "holds the downloaded files (this package downloads nothing)")
    return path


def read_mnist(folder, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Read MNIST-format IDX files (optionally gzipped) from a local folder.

    Looks for ``{train,t10k}-images-idx3-ubyte[.gz]`` and the matching labels file.

    Returns:
        images (N, 1, H, W) float in [-1, 1] and labels (N,) int64.
    """
    import gzip

    choose("split", split, ("train", "test"))
    folder = _folder(folder)
    prefix = "train" if split == "train" else "t10k"

    def read(kind: str, magic: int) -> np.ndarray:
        for name in (f"{prefix}-{kind}", f"{prefix}-{kind}.gz"):
            f = folder / name
            if f.exists():
                raw = (gzip.open if name.endswith(".gz") else open)(f, "rb").read()
                break
        else:
            raise FileNotFoundError(f"no {prefix}-{kind}[.gz] in data folder {str(folder)!r}")
        if int.from_bytes(raw[:4], "big") != magic:
            raise ValueError(f"{f} is not an IDX file of the expected kind (magic {magic})")
        ndim = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)

    images = read("images-idx3-ubyte", 2051)
    labels = read("labels-idx1-ubyte", 2049)
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1) / 127.5 - 1.0
    return x, torch.from_numpy(labels.astype(np.int64))


def read_cifar10(folder, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Read the CIFAR-10 "python version" pickles (``data_batch_*``, ``test_batch``) from a folder.

    Returns:
        images (N, 3, 32, 32) float in [-1, 1] and labels (N,) int64.
    """
    choose("split", split, ("train", "test"))
    folder = _folder(folder)
    names = sorted(folder.glob("data_batch_*")) if split == "train" else [folder / "test_batch"]
    names = [n for n in names if n.exists()]
    if not names:
        raise FileNotFoundError(f"no CIFAR-10 {split} batches in data folder {str(folder)!r}")
    xs, ys = [], []
    for name in names:
        with open(name, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
    x = torch.from_numpy(np.concatenate(xs).astype(np.float32)) / 127.5 - 1.0
    return x, torch.from_numpy(np.concatenate(ys))

"""Device choice and seeding: the two facts every notebook prints and records."""

from __future__ import annotations

import random

import numpy as np
import torch

from .validation import choose
from .validation import seed as check_seed

DEVICES = ("auto", "cpu", "cuda")


def pick_device(device: str = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA when a GPU is visible, else the CPU.

    Asking for ``"cuda"`` on a machine without a GPU is an error rather than a silent fallback,
    so that a paper-scale run never quietly takes days on the CPU.
    """
    choose("device", device, DEVICES)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is visible; use 'cpu' or 'auto'")
    return torch.device(device)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a CPU ``torch.Generator`` seeded alike."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def derive_seed(seed: int, *stream: str | int) -> int:
    """A 63-bit seed for an independent named stream of ``seed`` (NumPy ``SeedSequence``).

    ``derive_seed(3, "latent")`` and ``derive_seed(3, "data")`` give unrelated streams, and the
    same arguments always give the same number, whatever other runs are trained beside it.
    """
    words = [int(seed)]
    for name in stream:  # every byte of the name counts, and its length: "eval" and "eval-real" differ
        raw = str(name).encode()
        words += [len(raw), *np.frombuffer(raw.ljust(-(-len(raw) // 4) * 4, b"\0"), dtype="<u4").tolist()]
    return int(np.random.SeedSequence(words).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1)


def generator(seed: int, *stream: str | int, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``derive_seed(seed, *stream)``."""
    return torch.Generator(device=device).manual_seed(derive_seed(seed, *stream))

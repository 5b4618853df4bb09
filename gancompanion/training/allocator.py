"""Keep the CPU memory a training step frees for the next step, instead of handing it back to the OS.

A training step allocates and frees the same activations every step. glibc's ``malloc`` serves blocks
above its mmap threshold (128 KiB at start) with fresh mappings, and trims freed heap above 128 KiB back
to the OS, so every step faults its activations in again: about 100 minor page faults per step of the
benchmark toy with Roth et al.'s regulariser (512 samples, 128 units), 5-9 % of its time in side-by-side
runs (``benchmarks/``). PyTorch's CPU performance notes suggest jemalloc or tcmalloc for the same reason;
glibc's own ``mallopt`` does it here, with nothing to install. The numbers computed do not change.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
TRIM_THRESHOLD = 1 << 30  # keep up to 1 GiB of freed heap
MMAP_THRESHOLD = 32 << 20  # blocks up to 32 MiB (glibc's largest) come from the reused heap

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's trim and mmap thresholds once per process (Linux only; elsewhere nothing happens).

    Returns whether the thresholds are set. The process then keeps its peak heap for reuse, which is
    what a training loop wants.
    """
    global _applied
    if _applied is None:
        _applied = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _applied = bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and \
                    bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
            except (OSError, AttributeError):  # not glibc (musl has no mallopt)
                _applied = False
    return _applied

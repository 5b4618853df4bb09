"""Progress bars (tqdm) that the runner can switch off for executed notebooks.

``GANCOMPANION_PROGRESS=0`` disables every bar: the runner sets it for the kernels it starts, so
that bars do not end up in the book's pages.
"""

from __future__ import annotations

import os

from tqdm import tqdm


def bar(iterable=None, *, enabled: bool = True, **kwargs) -> tqdm:
    """A ``tqdm`` bar, disabled when ``enabled`` is False or ``GANCOMPANION_PROGRESS=0``."""
    off = not enabled or os.environ.get("GANCOMPANION_PROGRESS", "1") == "0"
    kwargs.setdefault("mininterval", 1.0)
    kwargs.setdefault("leave", False)
    return tqdm(iterable, disable=off, **kwargs)

"""One house style for the book's figures, and the few plot types every chapter uses.

The library never picks a matplotlib backend: notebooks keep the inline one so that glued
figures are stored as images, which is what the book and a downloaded notebook show.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
}


def use_style() -> None:
    """Apply the house style to matplotlib's rcParams."""
    mpl.rcParams.update(STYLE)


def running_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing running average (the first ``window-1`` values average what is there so far)."""
    x = np.asarray(x, dtype=float)
    c = np.cumsum(np.insert(x, 0, 0.0))
    n = np.arange(1, len(x) + 1)
    lo = np.maximum(n - window, 0)
    return (c[n] - c[lo]) / (n - lo)


def band(ax: plt.Axes, x: np.ndarray, ys: np.ndarray, label: str | None = None, color=None,
         spread: str = "minmax", log: bool = False, **line_kw) -> None:
    """A centre line with a shaded spread over the first axis of ``ys`` (runs or batches).

    Args:
        ys: (n, len(x)) values; the centre is the median (geometric mean if ``log``).
        spread: ``"minmax"`` or ``"quartiles"`` (25-75%).
    """
    ys = np.asarray(ys, dtype=float)
    centre = np.exp(np.mean(np.log(ys), axis=0)) if log else np.median(ys, axis=0)
    if spread == "minmax":
        lo, hi = ys.min(axis=0), ys.max(axis=0)
    elif spread == "quartiles":
        lo, hi = np.percentile(ys, [25, 75], axis=0)
    else:
        raise ValueError(f"unknown spread {spread!r}; choose one of: 'minmax', 'quartiles'")
    (line,) = ax.plot(x, centre, label=label, color=color, **line_kw)
    if len(ys) > 1:
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)


def image_grid(ax: plt.Axes, images: np.ndarray, nrow: int = 8) -> None:
    """Tile (N, 1, H, W) images in [-1, 1] into one grey picture on ``ax``."""
    images = np.asarray(images)[:, 0]
    n, h, w = images.shape
    ncol = int(np.ceil(n / nrow))
    canvas = np.zeros((ncol * (h + 1) + 1, nrow * (w + 1) + 1))  # white separators
    for i, im in enumerate(images):
        r, c = divmod(i, nrow)
        canvas[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w] = (im + 1) / 2
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()


def label_panels(axes: Sequence[plt.Axes], x: float = -0.12, y: float = 1.04) -> None:
    """Letter the panels (a), (b), ... in their top-left corners."""
    for i, ax in enumerate(axes):
        ax.text(x, y, f"({chr(97 + i)})", transform=ax.transAxes, fontweight="bold", va="bottom")

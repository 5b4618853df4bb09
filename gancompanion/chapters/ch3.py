"""Chapter 3 (instance noise to gradient regularisation): its figures, each returning a matplotlib Figure,
and the checks of its exact claims (Huszar 2017; Roth et al. 2017; Mescheder et al. 2018), each returning a
``checks.Verdict`` whose evidence is the CLAIM line's text."""

from __future__ import annotations

import math

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from .. import plotting
from ..analytic.divergences import LOG2
from .checks import Verdict, all_below, least, no_nan, threshold, worst

ROTH_BOX = ((-1, 2), (-1, 2), (-0.5, 1.5))  # the axis limits of 3DGAN.py's plots


def js_figure(theta, js_curves: dict, js_grads: dict, theta_max: float):
    """(a) JS between two blurred point masses against theta, per sigma (0: no noise); (b) its derivative."""
    fig, (ax_l, ax_r) = plt.subplots(1, 2, figsize=(10, 3.5))
    nz = theta != 0
    for s, color in zip(js_curves, plotting.COLORS):
        label = "no noise" if s == 0 else f"$\\sigma$ = {s:g}"
        if s == 0:
            ax_l.plot(theta[nz], js_curves[s][nz], ".", ms=2.5, color=color, label=label)
            ax_l.plot([0], [0], "o", color=color, ms=4)
            ax_r.plot(theta[nz], js_grads[s][nz], ".", ms=2.5, color=color, label=label)
        else:
            ax_l.plot(theta, js_curves[s], color=color, label=label)
            ax_r.plot(theta, js_grads[s], color=color, label=label)
    ax_l.axhline(LOG2, color="grey", lw=0.8, ls="--")
    ax_l.text(-theta_max, LOG2 * 1.02, "log 2", color="grey", fontsize=8.5)
    ax_l.set_xlabel(r"$\theta$")
    ax_l.set_ylabel(r"$\mathrm{JS}[\delta_\theta * \mathcal{N}_\sigma \,\|\, \delta_0 * \mathcal{N}_\sigma]$")
    ax_l.set_title("Jensen-Shannon divergence"), ax_l.legend(loc="lower left")
    ax_r.set_xlabel(r"$\theta$"), ax_r.set_ylabel(r"$\partial \mathrm{JS} / \partial \theta$")
    ax_r.set_title("its derivative: the signal the generator gets"), ax_r.legend(loc="lower right")
    plotting.label_panels([ax_l, ax_r])
    return fig


def taylor_figure(sigmas, leading, gap, slope: float, p: tuple, q: tuple):
    """The penalty term and the Taylor gap against sigma (log-log), with a slope-2 guide."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    ax.loglog(sigmas, leading, "s-", color=plotting.COLORS[0], label=r"penalty term $\frac{\sigma^2}{2}\Omega(\varphi^*)$")
    ax.loglog(sigmas, gap, "o-", color=plotting.COLORS[1],
              label=r"gap $|F_\sigma - F + \frac{\sigma^2}{2}\Omega|$" + f", slope {slope:.2f}")
    ax.loglog(sigmas, gap[0] * (sigmas / sigmas[0]) ** 2, ":", color="grey", label=r"slope 2 (an $O(\sigma^2)$ error)")
    ax.set_xlabel(r"noise std $\sigma$"), ax.set_ylabel("size")
    ax.set_title(f"P = N({p[0]:g}, {p[1]:g}²), Q = N({q[0]:g}, {q[1]:g}²)")
    ax.legend()
    return fig


def scatter3d(ax, x, centers, title: str) -> None:
    """Roth et al.'s panel: a 3-D scatter in their box, coloured by a Gaussian KDE of the samples themselves."""
    x = x[np.all(np.isfinite(x), axis=1)]
    inside = x[np.all([(x[:, i] >= lo) & (x[:, i] <= hi) for i, (lo, hi) in enumerate(ROTH_BOX)], axis=0)]
    try:
        density = stats.gaussian_kde(inside.T)(inside.T)
    except (np.linalg.LinAlgError, ValueError):  # degenerate (e.g. collapsed) samples: no colouring
        density = np.ones(len(inside))
    order = density.argsort()
    ax.scatter(*inside[order].T, c=density[order], s=1.5, cmap="viridis", linewidths=0, depthshade=False)
    ax.scatter(*centers.T, marker="x", color=plotting.COLORS[1], s=12, linewidths=0.8, depthshade=False)
    ax.set_xlim(*ROTH_BOX[0]), ax.set_ylim(*ROTH_BOX[1]), ax.set_zlim(*ROTH_BOX[2])
    ax.view_init(azim=30)
    ax.set_xticklabels([]), ax.set_yticklabels([]), ax.set_zticklabels([])
    ax.set_title(title, fontsize=8.5, pad=0)


def roth_frames(runs: dict, frame_steps: list[int], centers, run: int = 0):
    """Figure 1 of Roth et al.: one block of rows per variant, one 3-D frame per snapshot step, of run ``run``.

    A block holds at most four frames a row (balanced: 6 frames are two rows of 3), so that the figure keeps
    the width of the page's column and its text stays legible however many snapshots a scale takes.
    """
    per_row = math.ceil(len(frame_steps) / math.ceil(len(frame_steps) / 4))
    rows_each = math.ceil(len(frame_steps) / per_row)
    n_rows = len(runs) * rows_each
    fig = plt.figure(figsize=(1.9 * per_row + 0.8, 1.9 * n_rows))
    for v, (name, r) in enumerate(runs.items()):
        for i, step in enumerate(frame_steps):
            row, col = v * rows_each + i // per_row, i % per_row
            ax = fig.add_subplot(n_rows, per_row, row * per_row + col + 1, projection="3d")
            scatter3d(ax, r["frames"][step][run], np.asarray(centers), f"step {step}")
            if i == 0:
                ax.text2D(-0.25, 0.5, name, transform=ax.transAxes, rotation=90, va="center", ha="center", fontsize=9)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.01, top=0.97, wspace=0.02, hspace=0.12)
    return fig


def roth_curves(runs: dict):
    """(a) modes covered, (b) high-quality fraction, (c) distance off the plane: median and range over seeds."""
    fig, axes = plt.subplots(1, 3, figsize=(8.6, 3.3), layout="constrained")
    for (name, r), color in zip(runs.items(), plotting.COLORS):
        plotting.band(axes[0], r["steps"], r["modes_k"].T, label=name, color=color)
        plotting.band(axes[1], r["steps"], r["hq_fraction"].T, color=color)
        off = np.where(np.isfinite(r["off_plane"]), r["off_plane"], np.nan)
        plotting.band(axes[2], r["steps"], np.clip(off, 1e-5, None).T, color=color, log=True)
    axes[0].set_ylabel("modes covered (of 7)"), axes[0].set_ylim(-0.3, 7.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=len(runs))
    axes[1].set_ylabel("high-quality fraction"), axes[1].set_ylim(-0.02, 1.02)
    axes[2].set_ylabel("mean distance off the plane"), axes[2].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("generator steps")
    plotting.label_panels(axes)
    return fig


def dirac_figure(fields: dict, trajectories: dict, titles: dict, schemes, lim: float, grid: int, clip: float):
    """Vector fields and trajectories of the Dirac-GAN: one column per field, one row per update scheme."""
    ticks = np.linspace(-lim, lim, grid)
    grid_th, grid_ps = np.meshgrid(ticks, ticks)
    fig, axes = plt.subplots(2, len(fields), figsize=(1.72 * len(fields), 4.2), sharex=True, sharey=True,
                             layout="constrained")
    for row, scheme in enumerate(schemes):
        for col, (name, f) in enumerate(fields.items()):
            ax = axes[row, col]
            ax.quiver(grid_th, grid_ps, *f(grid_th, grid_ps), color="0.45", angles="xy", width=0.006)
            if name == "wgan":
                for lo, hi in ((clip, lim), (-lim, -clip)):
                    ax.axhspan(lo, hi, color="0.85", zorder=0)
            tr = trajectories[scheme, name]
            ax.plot(tr[:, 0], tr[:, 1], "^", color=plotting.COLORS[0], ms=2.2, alpha=0.7)
            ax.plot(*tr[0], "o", color=plotting.COLORS[1], ms=5)
            ax.plot(0, 0, "k+", ms=8)
            ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal"), ax.grid(False)
            if row == 0:
                ax.set_title(titles[name])
            if row == 1:
                ax.set_xlabel(r"$\theta$ (generator)")
            if col == 0:
                ax.set_ylabel(f"{scheme}\n" + r"$\psi$ (discriminator)")
    return fig


def eigen_figure(numeric: dict, closed: dict, strengths: dict):
    """Numerical (dots, coloured by strength) and closed-form (lines) Jacobian eigenvalues, R1 and noise."""
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.9), sharey=True)
    labels = {"r1": (r"R1 weight $\gamma$", "R1"), "instance_noise": (r"noise std $\sigma$", "instance noise")}
    for ax, key in zip(axes, ("r1", "instance_noise")):
        for branch in range(2):
            ax.plot(closed[key][:, branch].real, closed[key][:, branch].imag, "-", color=plotting.COLORS[0],
                    lw=1.2, label="closed form" if branch == 0 else None)
            sc = ax.scatter(numeric[key][:, branch].real, numeric[key][:, branch].imag, c=strengths[key], s=14,
                            cmap="viridis", zorder=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.plot([0, 0], [-0.5, 0.5], "o", color=plotting.COLORS[1], ms=5, label="unregularised $\\pm i/2$")
        ax.set_xlabel("real part"), ax.set_title(labels[key][1])
        fig.colorbar(sc, ax=ax, label=labels[key][0])
        ax.legend(loc="lower left")
    axes[0].set_ylabel("imaginary part")
    plotting.label_panels(axes)
    return fig


# --- the exact claims' checks --------------------------------------------------------------------------

def fd_error(fd: Mapping, analytic: Mapping) -> float:
    """Largest relative difference between central differences and the analytic derivative, over the
    points where ``abs(analytic)`` exceeds the claim's ``fd_min_grad`` (NaN if any value is NaN)."""
    floor = threshold("ch3.noise-smooths-js")["fd_min_grad"]
    errors = []
    for s, grad in analytic.items():
        grad, diff = np.asarray(grad, dtype=float), np.asarray(fd[s], dtype=float)
        if not no_nan(grad, diff):
            return float("nan")
        usable = np.abs(grad) > floor
        errors.append(np.abs(diff[usable] - grad[usable]) / np.abs(grad[usable]))
    return worst(np.concatenate(errors)) if errors else float("nan")


def noise_smooths_js(theta, plain_js, plain_grad, js: Mapping, grads: Mapping, fd: Mapping) -> Verdict:
    """ch3.noise-smooths-js (Huszar 2017; Arjovsky & Bottou 2017, sec. 3).

    Args:
        theta: the grid of generator positions.
        plain_js, plain_grad: JS without noise and its central difference, computed independently of the
            noisy formula (from the atoms of the two point masses).
        js, grads, fd: per noise std, the smoothed JS, its analytic derivative and its central differences.
    """
    t = threshold("ch3.noise-smooths-js")
    theta, plain_js, plain_grad = (np.asarray(a, dtype=float) for a in (theta, plain_js, plain_grad))
    nonzero = theta != 0
    flat = (no_nan(plain_js, plain_grad) and bool(np.all(np.abs(plain_js[nonzero] - LOG2) <= t["atol"]))
            and bool(np.all(np.abs(plain_js[~nonzero]) <= t["atol"]))
            and bool(np.all(np.abs(plain_grad[nonzero]) <= t["atol"])))
    smooth = {}
    for s in js:
        v, g = np.asarray(js[s], dtype=float), np.asarray(grads[s], dtype=float)
        smooth[s] = (no_nan(v, g) and bool(np.all((v[nonzero] > 0) & (v[nonzero] < LOG2)))
                     and bool(np.all(g[theta > 0] > 0)) and bool(np.all(g[theta < 0] < 0)))
    error = fd_error(fd, grads)
    min_grad = least([least(np.abs(np.asarray(grads[s], dtype=float)[nonzero])) for s in grads])
    passed = flat and bool(smooth) and all(smooth.values()) and bool(error < t["fd_rtol"])
    evidence = (f"no noise (from the atoms): JS = log 2 and gradient 0 at all {int(nonzero.sum())} theta != 0: "
                f"{flat}; sigma in {list(js)}: 0 < JS < log 2, gradient signed like theta "
                f"(|grad| >= {min_grad:.2g}), matches finite differences to {error:.0e} (< {t['fd_rtol']:g} needed)")
    return Verdict(passed, {"flat": flat, "smooth": smooth, "fd_error": error, "min_grad": min_grad}, evidence)


def taylor_order(sigmas, gap, omega: float | None = None, omega_regulariser: float | None = None) -> Verdict:
    """ch3.taylor-order (Roth et al. 2017, sec. 3): the log-log slope of the Taylor gap against sigma is within
    ``tolerance`` of ``order`` (``omega``, ``omega_regulariser``: Omega by quadrature and by the trained
    regulariser, kept in the record)."""
    t = threshold("ch3.taylor-order")
    sigmas, gap = np.asarray(sigmas, dtype=float), np.asarray(gap, dtype=float)
    if sigmas.size < 2 or not (np.all(np.isfinite(gap)) and np.all(gap > 0) and np.all(sigmas > 0)):
        slope, passed = float("nan"), False
    else:
        slope = float(np.polyfit(np.log(sigmas), np.log(gap), 1)[0])
        passed = bool(abs(slope - t["order"]) < t["tolerance"])
    evidence = (f"log-log slope of the gap {slope:.2f} over sigma in [{sigmas[0]:.2g}, {sigmas[-1]:.2g}] "
                f"(within {t['tolerance']:g} of the theory's {t['order']:g} required; a wrong sigma^2 term gives 2)"
                if sigmas.size else f"no sigmas (slope {slope})")
    values = {"slope": slope, "sigmas": sigmas.tolist(), "gap": gap.tolist()}
    for name, value in (("omega", omega), ("omega_regulariser", omega_regulariser)):
        if value is not None:
            values[name] = float(value)
    return Verdict(passed, values, evidence)


def dirac_unreg_cycles(growth: float, modulus: float, modulus_closed: float, h: float = float("nan"),
                       steps: int = 0) -> Verdict:
    """ch3.dirac-unreg-cycles (Mescheder et al. 2018, sec. 2-3) from the distance's growth over ``steps``
    simultaneous steps of size ``h`` and the linearised step's spectral radius (numerical and closed form)."""
    t = threshold("ch3.dirac-unreg-cycles")
    passed = bool(growth > 1) and bool(modulus > 1) and bool(abs(modulus - modulus_closed) < t["modulus_tol"])
    evidence = (f"simultaneous GD, h = {h:g}: distance to the equilibrium x{growth:.3g} after {steps} steps; "
                f"linearised step modulus {modulus:.6f} = sqrt(1 + h^2/4) > 1 (to {t['modulus_tol']:g})")
    values = {"growth": float(growth), "modulus": float(modulus), "modulus_closed": float(modulus_closed)}
    return Verdict(passed, values, evidence)


def dirac_r1_converges(shrink: Mapping, real_parts: Mapping) -> Verdict:
    """ch3.dirac-r1-converges (Mescheder et al. 2018, sec. 3-4) from each run's final/initial distance and each
    Jacobian's largest real part (keys ``r1`` and ``instance_noise``)."""
    need = threshold("ch3.dirac-r1-converges")["shrink"]
    passed = all_below(shrink, need) and all_below(real_parts, 0.0)
    values = {"shrink": dict(shrink), "real_parts": dict(real_parts), "shrink_max": worst(shrink),
              "real_part_max": worst(real_parts)}
    evidence = (f"distance to the equilibrium shrinks to at most {values['shrink_max']:.1e} of the start (< {need:g} "
                f"required) for R1 and instance noise, simultaneous and alternating; Jacobian eigenvalues' real parts "
                f"{real_parts.get('r1', float('nan')):.3f} (R1) and "
                f"{real_parts.get('instance_noise', float('nan')):.3f} (noise)")
    return Verdict(passed, values, evidence)


# --- the experiments' plumbing: the notebook's cells call these -----------------------------------------

def plain_js(theta, fd_step: float):
    """JS between point masses at 0 and at each theta without noise, computed from their atoms
    (``divergences.js_smoothed`` with sigma 0, independently of ``js_dirac``), and its central differences."""
    from ..analytic.divergences import Mixture1D, js_smoothed

    def js(th):
        return np.array([js_smoothed(Mixture1D.dirac(0.0), Mixture1D.dirac(t), 0.0) for t in th])

    return js(theta), (js(theta + fd_step) - js(theta - fd_step)) / (2 * fd_step)


DIRAC_PANELS = {  # field name: (its panel's title, the settings of cfg it takes)
    "gan": ("unregularised", {}),
    "wgan": ("WGAN (clip {clip:g})", {"clip": "wgan_clip"}),
    "wgan_gp": ("WGAN-GP ($\\gamma$ = {gamma:g})", {"gamma": "wgan_gp_gamma"}),
    "instance_noise": ("instance noise ($\\sigma$ = {sigma:g})", {"sigma": "noise_sigma"}),
    "r1": ("R1 ($\\gamma$ = {gamma:g})", {"gamma": "r1_gamma"}),
}


def dirac_runs(cfg) -> dict:
    """The Dirac-GAN of Mescheder et al. (2018) under each regularisation of ``DIRAC_PANELS``: its vector
    fields, the panels' titles, the update schemes, and ``cfg.steps`` steps of size ``cfg.h`` from
    ``cfg.start`` by simultaneous and alternating gradient descent, with their distances to (0, 0)."""
    from ..analytic import dirac

    settings = {name: {k: cfg[v] for k, v in kw.items()} for name, (_, kw) in DIRAC_PANELS.items()}
    fields = {name: dirac.make_field(name, **kw) for name, kw in settings.items()}
    schemes = {
        "simultaneous": lambda f: dirac.simultaneous(f, cfg.start, cfg.h, cfg.steps),
        "alternating": lambda f: dirac.alternating(f, cfg.start, cfg.h, cfg.steps),
    }
    trajectories = {(s, n): run(f) for s, run in schemes.items() for n, f in fields.items()}
    radius = {key: np.linalg.norm(tr, axis=1) for key, tr in trajectories.items()}  # distance to (0, 0)
    titles = {name: DIRAC_PANELS[name][0].format(**kw) for name, kw in settings.items()}
    return dict(fields=fields, titles=titles, schemes=schemes, trajectories=trajectories, radius=radius)


def eigen_comparison(cfg) -> dict:
    """The Dirac-GAN's Jacobian eigenvalues at the equilibrium for R1 weights in [0, ``cfg.gamma_max``] and
    noise stds in [0, ``cfg.sigma_max``]: numerical (``dirac.jacobian``) and closed form (Mescheder et al.
    2018), sorted, and their largest difference away from the critical point (gamma = 1, sigma = sqrt 2, where
    the Jacobian is defective and a 1e-11 error in it moves the eigenvalues by ~1e-6)."""
    from ..analytic import dirac

    strengths = {"r1": np.linspace(0, cfg.gamma_max, cfg.n_eig),
                 "instance_noise": np.linspace(0, cfg.sigma_max, cfg.n_eig)}
    arg = {"r1": "gamma", "instance_noise": "sigma"}
    numeric = {k: np.array([np.sort_complex(np.linalg.eigvals(dirac.jacobian(dirac.make_field(k, **{arg[k]: v}))))
                            for v in strengths[k]]) for k in strengths}
    closed = {k: np.array([np.sort_complex(np.asarray(e)) for e in dirac.eigenvalues(k, **{arg[k]: strengths[k]})])
              for k in strengths}
    away = {"r1": np.abs(strengths["r1"] - 1) > 0.02,
            "instance_noise": np.abs(strengths["instance_noise"] - np.sqrt(2)) > 0.02}
    error = max(float(np.max(np.abs(numeric[k][away[k]] - closed[k][away[k]]))) for k in numeric)
    return dict(numeric=numeric, closed=closed, strengths=strengths, error=error)

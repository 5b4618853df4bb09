"""Chapter 2: when supports do not overlap (Lee 2018's slides on Arjovsky et al. 2017, Gulrajani et al. 2017,
Mao et al. 2017, Miyato et al. 2018 and Zhao et al. 2017).

The chapter's experiments: JS, KL, TV and W between parallel segments and their estimates by a trained
discriminator and critic (Arjovsky et al.'s Example 1 and Fig. 1), the discriminator and clipped critic
between two Gaussians (their Fig. 2), the earth mover's distance as a linear program, critics kept
Lipschitz by clipping or the gradient penalty (Gulrajani et al.'s Fig. 1), six objectives on the grid of 25
Gaussians, and spectral normalisation's power iteration and Lipschitz bound. Their figures, the numbers
the prose reads and the tested verdicts of the chapter's claims (thresholds from ``claims.CATALOGUE``) live
here too.
"""

from __future__ import annotations

import copy
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy import stats

from .. import data, plotting
from ..analytic import divergences, transport
from ..analytic.divergences import LOG2
from ..evaluation import metrics, verdicts
from ..pipeline import claims
from ..pipeline.claims import CATALOGUE
from ..progress import bar
from ..techniques import constraints, d_terms, ebgan
from ..training import nets, objectives, streams, train
from ..training.parts import Recipe
from ..validation import choose
from .checks import Verdict, all_at_most


def threshold(claim_id: str) -> dict:
    """The claim's thresholds (a copy of ``CATALOGUE[claim_id].threshold``)."""
    return dict(CATALOGUE[claim_id].threshold)


def _closed(fig):
    """``fig``, closed, so that it shows once: where ``chapter.glue`` displays it."""
    plt.close(fig)
    return fig


def fit_critic(d, real_st, fake, iterations, objective, device, *, lr, betas=(0.5, 0.9), optimizer="adam",
               terms=(), cons=(), desc="critic"):
    """Train d alone for `iterations` D steps on real_st.real() against fake() batches, through the library's
    discriminator step ``train.d_step`` (the objective, penalty terms and constraints of the training loop)."""
    for c in cons:
        c.prepare(d)  # e.g. spectral norm converts the layers before the optimiser is built
    opt = train.make_optimizer(d.parameters(), lr, betas, device, optimizer)
    obj = objectives.get_objective(objective)
    for it in bar(range(iterations), desc=desc):
        train.d_step(d, opt, real_st.real(), fake(), objective=obj, terms=terms, constraints=cons,
                     streams=real_st, step=it, total=iterations, event_ndim=1, metrics=False)
    return d


def toy_streams(dist, run_seeds, batch, device, offset=0):
    """Per-run streams of dist; a different offset gives independent draws for the same runs."""
    chunk = max(1, min(64, 2**14 // batch))  # draws made at once: few for the large evaluation batches
    return streams.ToyStreams(dist, [s + offset for s in run_seeds], batch, 1, device=device, chunk=chunk)


# --- JS is log 2 when the supports do not overlap (Arjovsky et al. 2017, Example 1 and Fig. 1) -------------

def lines_experiment(cfg, seed: int, device) -> dict:
    """Closed forms on ``cfg.n_theta`` theta, and estimates of JS (a GAN discriminator: log 2 - L_D / 2) and W
    (a WGAN-GP critic: E f(P_0) - E f(P_theta)) at ``cfg.n_estimate`` theta, one run per theta and seed.
    ``estimates`` are (theta, seed) by estimator."""
    theta = np.linspace(-cfg.theta_max, cfg.theta_max, cfg.n_theta)  # the paper's grid
    closed = divergences.parallel_lines(theta)
    theta_est = np.linspace(-cfg.theta_max, cfg.theta_max, cfg.n_estimate)
    n_runs = len(theta_est) * cfg.seeds
    line_seeds = [seed * n_runs + r for r in range(n_runs)]  # run r: theta_est[r // seeds]
    run_theta = torch.tensor(np.repeat(theta_est, cfg.seeds), dtype=torch.float32, device=device)
    shift = torch.stack([run_theta, torch.zeros_like(run_theta)], -1)[:, None, :]  # (R, 1, 2): P_0 -> P_theta
    p0 = data.Segment(0.0)
    estimators = {"GAN discriminator": ("nonsaturating", ()),
                  "WGAN-GP critic": ("wgan", (d_terms.Penalty("wgan_gp", cfg.gp_weight),))}
    estimates = {}
    for name, (objective, terms) in estimators.items():
        d = nets.mlp_discriminator(2, [cfg.hidden] * 2, line_seeds, activation="relu").to(device)
        real_st = toy_streams(p0, line_seeds, cfg.batch_size, device)
        fake_st = toy_streams(p0, line_seeds, cfg.batch_size, device, 10**6)
        fit_critic(d, real_st, lambda: fake_st.real() + shift, cfg.steps, objective, device, lr=cfg.lr,
                   betas=cfg.betas, terms=terms, desc=name)
        eval_st = toy_streams(p0, line_seeds, cfg.n_eval, device, 2 * 10**6)
        with torch.no_grad():
            s_real, s_fake = d(eval_st.real()), d(eval_st.real() + shift)
        value = (LOG2 - objectives.bce_d_loss(s_real, s_fake) / 2 if objective == "nonsaturating"
                 else s_real.mean(-1) - s_fake.mean(-1))
        estimates[name] = value.cpu().numpy().reshape(len(theta_est), cfg.seeds)  # (theta, seed)
    return dict(theta=theta, closed=closed, theta_est=theta_est, estimates=estimates)


def lines_figure(lines: dict):
    """Fig. 1 of Arjovsky et al. (2017) with the estimates: (a) W and the critic's, (b) JS, TV and the
    discriminator's (median and range over seeds)."""
    theta, closed, theta_est = lines["theta"], lines["closed"], lines["theta_est"]
    fig, (ax_w, ax_js) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_w.plot(theta, closed["W"], ".", ms=3, color=plotting.COLORS[0], label="$W = |\\theta|$ (closed form)")
    apart = theta != 0
    ax_js.plot(theta[apart], closed["JS"][apart], ".", ms=3, color=plotting.COLORS[0], label="JS (closed form)")
    ax_js.plot([0], [0], "o", ms=4, color=plotting.COLORS[0])
    ax_js.plot(theta[theta != 0], closed["TV"][theta != 0] * LOG2, "_", ms=4, color="grey",
               label="TV $\\times \\log 2$ (closed form, = 1 off 0)")
    for ax, name, color in ((ax_w, "WGAN-GP critic", plotting.COLORS[1]),
                            (ax_js, "GAN discriminator", plotting.COLORS[2])):
        est = lines["estimates"][name]
        med = np.median(est, 1)
        ax.errorbar(theta_est, med, yerr=[med - est.min(1), est.max(1) - med], fmt="s", ms=4, color=color,
                    capsize=2, label=f"estimated by a {name}")
        ax.set_xlabel("$\\theta$"), ax.legend(loc="lower left" if ax is ax_js else "upper center")
    ax_w.set_ylabel("earth mover's distance"), ax_js.set_ylabel("Jensen-Shannon divergence")
    ax_js.set_ylim(-0.03, 0.8), ax_w.set_ylim(-0.05, 1.25)
    plotting.label_panels([ax_w, ax_js])
    return _closed(fig)


def _lines_readings(lines: dict) -> dict:
    """Medians over seeds of the two estimates, the theta of the claim (``|theta|`` >= theta_min) and the critic's
    relative error there."""
    theta_est = lines["theta_est"]
    far = np.abs(theta_est) >= threshold("ch2.estimates-saturate")["theta_min"]
    js_med = np.median(lines["estimates"]["GAN discriminator"], 1)
    w_med = np.median(lines["estimates"]["WGAN-GP critic"], 1)
    w_rel = np.abs(w_med[far] - np.abs(theta_est[far])) / np.abs(theta_est[far])
    return dict(far=far, js_med=js_med, w_med=w_med, w_rel=w_rel)


def lines_numbers(lines: dict, cfg) -> dict:
    r = _lines_readings(lines)
    return {"lines_seeds": cfg.seeds, "lines_steps": cfg.steps, "lines_js_min": r["js_med"][r["far"]].min(),
            "lines_js_zero": r["js_med"][lines["theta_est"] == 0][0], "lines_w_rel": r["w_rel"].max(),
            "lines_theta_min": threshold("ch2.estimates-saturate")["theta_min"], "lines_w_one": r["w_med"][-1]}


def js_saturates(theta, closed: dict) -> Verdict:
    """ch2.js-saturates from the closed forms on ``theta``: JS = log 2, KL = inf and TV = 1 exactly at every
    theta != 0, all 0 at theta = 0, and W = ``|theta|``."""
    theta = np.asarray(theta)
    apart = theta != 0
    exact = bool(np.all(closed["JS"][apart] == LOG2) and np.all(np.isinf(closed["KL"][apart]))
                 and np.all(closed["TV"][apart] == 1) and np.all(closed["W"] == np.abs(theta))
                 and closed["JS"][~apart].sum() == closed["TV"][~apart].sum() == closed["KL"][~apart].sum() == 0)
    return Verdict(exact, {}, f"at all {int(apart.sum())} theta != 0 of {len(theta)} in [-1, 1]: JS = log 2, KL = inf, "
                              f"TV = 1; all 0 at theta = 0; W = |theta|: {exact}")


def estimates_saturate(lines: dict) -> Verdict:
    """ch2.estimates-saturate from the estimates of ``lines_experiment``: the discriminator's JS estimate is near
    log 2 far from theta = 0 and near 0 at it; the critic's W estimate is within ``w_rtol`` of ``|theta|``."""
    th, r, theta_est = threshold("ch2.estimates-saturate"), _lines_readings(lines), lines["theta_est"]
    js_med, far = r["js_med"], r["far"]
    js_ok = bool(js_med[far].min() >= th["js_frac"] * LOG2 and js_med[theta_est == 0][0] <= th["js_zero_frac"] * LOG2)
    return Verdict(js_ok and bool(r["w_rel"].max() <= th["w_rtol"]),
                   {"theta": theta_est.tolist(), "js": js_med.tolist(), "w": r["w_med"].tolist()},
                   f"GAN JS estimate >= {js_med[far].min():.3f} at |theta| >= {th['theta_min']:g} (>= "
                   f"{th['js_frac'] * LOG2:.3f} required), {js_med[theta_est == 0][0]:.3f} at 0 (<= "
                   f"{th['js_zero_frac'] * LOG2:.3f}); critic W estimate within {r['w_rel'].max():.0%} of |theta| "
                   f"(<= {th['w_rtol']:.0%})")


# --- the optimal discriminator and the critic between two Gaussians (Arjovsky et al. 2017, Fig. 2) --------

def gaussians_experiment(cfg, seed: int, device) -> dict:
    """A GAN discriminator (Adam) and a WGAN critic with clipped weights (RMSProp) trained between N(-5, 1) and
    N(5, 1): their values (D(x), f(x)) and slopes on a grid of x in [-8, 8]."""
    real, fake = data.gaussians_1d([-5.0], 1.0), data.gaussians_1d([5.0], 1.0)
    fig2_seeds, trained = [seed], {}
    for name, objective, kw in (("GAN discriminator", "nonsaturating", dict(lr=cfg.lr)),
                                ("WGAN critic (clip)", "wgan", dict(lr=cfg.fig2_lr_critic, optimizer="rmsprop",
                                                                    cons=(constraints.WeightClip(cfg.fig2_clip),)))):
        d = nets.mlp_discriminator(1, [cfg.fig2_hidden] * 2, fig2_seeds, activation="relu").to(device)
        r_st = toy_streams(real, fig2_seeds, cfg.batch_size, device)
        f_st = toy_streams(fake, fig2_seeds, cfg.batch_size, device, 10**6)
        trained[name] = fit_critic(d, r_st, f_st.real, cfg.fig2_steps, objective, device, betas=cfg.betas, desc=name,
                                   **kw)
    xs = torch.linspace(-8, 8, 401, device=device)[None, :, None].requires_grad_(True)
    curves, slopes = {}, {}
    for name, d in trained.items():
        out = d(xs)
        value = torch.sigmoid(out) if name.startswith("GAN") else out  # D(x) in [0, 1]; the critic's raw value
        (grad,) = torch.autograd.grad(value.sum(), xs)
        curves[name], slopes[name] = value.detach().cpu().numpy()[0], grad.detach().cpu().numpy()[0, :, 0]
    x = xs.detach().cpu().numpy()[0, :, 0]
    return dict(x=x, curves=curves, slopes=slopes, fake_zone=np.abs(x - 5) <= 2)  # where the generated samples are


def gaussians_figure(g: dict):
    x, curves = g["x"], g["curves"]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(x, stats.norm.pdf(x, -5, 1), color=plotting.COLORS[0], label="data density N(-5, 1)")
    ax.plot(x, stats.norm.pdf(x, 5, 1), color=plotting.COLORS[2], label="generator density N(5, 1)")
    ax.plot(x, curves["GAN discriminator"], color=plotting.COLORS[1], label="GAN discriminator D(x)")
    ax.set_ylim(-0.4, 1.05), ax.set_xlabel("x"), ax.set_ylabel("density, D(x)")
    ax2 = ax.twinx()
    ax2.plot(x, curves["WGAN critic (clip)"], color=plotting.COLORS[6], label="WGAN critic f(x) (right axis)")
    ax2.set_ylabel("critic value"), ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    lines_ = ax.get_lines() + ax2.get_lines()
    ax.legend(lines_, [line.get_label() for line in lines_], loc="upper center", fontsize=8.5)
    return _closed(fig)


def gaussians_numbers(g: dict, cfg) -> dict:
    slopes, zone = g["slopes"], g["fake_zone"]
    return {"gauss_d_slope": np.abs(slopes["GAN discriminator"][zone]).max(),
            "gauss_c_slope_min": np.abs(slopes["WGAN critic (clip)"][zone]).min(),
            "gauss_c_slope_data": np.abs(slopes["WGAN critic (clip)"][np.abs(g["x"] + 5) <= 2]).mean(),
            "gauss_steps": cfg.fig2_steps}


# --- the moving plan: the earth mover's distance as a linear program -----------------------------------------

def plan_experiment(cfg, seed: int) -> dict:
    """The best plan between ``cfg.p`` and ``cfg.q`` (``transport.earth_movers``), the independent plan's cost,
    the 1-D closed form, and the LP against two references on the claim's ``n_random`` random pairs."""
    th = threshold("ch2.emd-lp-matches")
    best = transport.earth_movers(cfg.p, cfg.q, cfg.x_p, cfg.x_q)
    independent = np.outer(cfg.p, cfg.q)  # a valid but wasteful plan: every pile spread everywhere
    cost_independent = float((independent * best.distances).sum())
    closed_1d = transport.wasserstein_1d(cfg.x_p, cfg.p, cfg.x_q, cfg.q)
    rng = np.random.default_rng(seed)
    errors, marginal_errors, negative = [], [], 0.0
    for _ in range(th["n_random"]):  # random pairs of 1-D distributions
        n_p, n_q = rng.integers(1, cfg.max_points + 1, size=2)
        x_p, x_q = rng.normal(size=n_p), rng.normal(0.5, 2.0, size=n_q)
        p, q = rng.dirichlet(np.ones(n_p)), rng.dirichlet(np.ones(n_q))
        res = transport.earth_movers(p, q, x_p, x_q)
        refs = (transport.wasserstein_1d(x_p, p, x_q, q), stats.wasserstein_distance(x_p, x_q, p, q))
        errors.append(max(abs(res.cost - r) / max(abs(r), th["atol"] / th["rtol"]) for r in refs))
        marginal_errors.append(max(np.abs(res.plan.sum(1) - p).max(), np.abs(res.plan.sum(0) - q).max()))
        negative = min(negative, float(res.plan.min()))
    print(f"best plan {best.cost:.6f}, closed form {closed_1d:.6f}, independent plan {cost_independent:.4f}")
    return dict(best=best, cost_independent=cost_independent, closed=closed_1d, errors=errors,
                marginal_errors=marginal_errors, negative=negative)


def plan_figure(plan: dict, cfg):
    """(a) P and Q with arrows where the optimal plan sends the earth; (b) the plan as a matrix."""
    best = plan["best"]
    fig, (ax_d, ax_p) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.1, 1]})
    ax_d.bar(cfg.x_p, cfg.p, width=0.3, color=plotting.COLORS[0], label="P (the pile)")
    ax_d.bar(cfg.x_q, -np.asarray(cfg.q), width=0.3, color=plotting.COLORS[1], label="Q (the target), drawn down")
    for i, xp in enumerate(cfg.x_p):
        for j, xq in enumerate(cfg.x_q):
            if best.plan[i, j] > 1e-9:
                arrow = dict(arrowstyle="->", lw=0.5 + 8 * best.plan[i, j], color="0.4")
                ax_d.annotate("", (xq, -0.02), (xp, 0.02), arrowprops=arrow)
    ax_d.axhline(0, color="k", lw=0.6), ax_d.set_xlabel("position"), ax_d.set_ylabel("mass")
    ax_d.legend(loc="upper right")
    ax_p.imshow(best.plan, cmap="Greens", vmin=0)
    for (i, j), v in np.ndenumerate(best.plan):
        ax_p.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8.5, color="k" if v < 0.2 else "w")
    ax_p.set_xticks(range(len(cfg.x_q)), [f"{v:g}" for v in cfg.x_q]), ax_p.set_xlabel("$x_q$ (to)")
    ax_p.set_yticks(range(len(cfg.x_p)), [f"{v:g}" for v in cfg.x_p]), ax_p.set_ylabel("$x_p$ (from)")
    ax_p.grid(False), ax_p.set_title("the optimal plan $\\gamma(x_p, x_q)$")
    plotting.label_panels([ax_d, ax_p])
    return _closed(fig)


def plan_numbers(plan: dict) -> dict:
    return {"plan_cost": plan["best"].cost, "plan_closed": plan["closed"], "plan_independent": plan["cost_independent"],
            "plan_error": max(plan["errors"]), "plan_n_random": len(plan["errors"])}


def emd_lp_matches(cost: float, closed: float, errors, marginal_errors, negative: float) -> Verdict:
    """ch2.emd-lp-matches: the example's LP cost equals the closed form, and over the random pairs the largest
    scaled error is within ``rtol``, the marginals within 1e-9 and the plan never negative (NaN fails)."""
    th = threshold("ch2.emd-lp-matches")
    example_ok = abs(cost - closed) <= max(th["rtol"] * closed, th["atol"])
    ok = bool(example_ok and np.max(errors) <= th["rtol"] and np.max(marginal_errors) <= 1e-9 and negative >= 0)
    return Verdict(ok, {"cost": cost, "closed": closed, "max_scaled_error": max(errors)},
                   f"example: LP {cost:.6f} = closed form {closed:.6f}; {len(errors)} random pairs: largest error "
                   f"{max(errors):.0e} relative (<= {th['rtol']:.0e}), marginals to {max(marginal_errors):.0e}, "
                   f"plan >= 0")


# --- keeping the critic Lipschitz (Gulrajani et al. 2017, Fig. 1) ----------------------------------------------

def surfaces_experiment(cfg, seed: int, device) -> dict:
    """Critics with clipped weights and with the gradient penalty against a generator fixed at the data plus unit
    noise on three toys (Fig. 1a), and the median ``|grad D|`` at the penalty's points per seed (``gp_norms``)."""
    toys = {"8 Gaussians": data.wgan_gp_8gaussians(), "25 Gaussians": data.wgan_gp_25gaussians(),
            "Swiss roll": data.SwissRoll()}
    surf_seeds = [seed * cfg.seeds + i for i in range(cfg.seeds)]
    lipschitz = {"weight clipping": dict(lr=cfg.lr_clip, optimizer="rmsprop", cons=(constraints.WeightClip(cfg.clip),)),
                 "gradient penalty": dict(lr=cfg.lr_gp, terms=(d_terms.Penalty("wgan_gp", cfg.gp_weight),))}
    critics, gp_norms = {}, {}
    for toy_name, toy in toys.items():
        fixed_g = data.FixedGenerator(toy, 1.0)
        for how, kw in lipschitz.items():
            d = nets.MLP([2, *[cfg.hidden] * 3, 1], surf_seeds, "D", activation="relu", squeeze=True).to(device)
            real_st = toy_streams(toy, surf_seeds, cfg.batch_size, device)
            fake_st = toy_streams(fixed_g, surf_seeds, cfg.batch_size, device, 10**6)
            critics[toy_name, how] = fit_critic(d, real_st, fake_st.real, cfg.iterations, "wgan", device,
                                                betas=cfg.betas, desc=f"{toy_name}, {how}", **kw)
            x = toy_streams(toy, surf_seeds, cfg.n_points, device, 2 * 10**6).real()  # the penalty's points x^
            x_fake = toy_streams(fixed_g, surf_seeds, cfg.n_points, device, 3 * 10**6).real()
            eps = torch.rand(x.shape[:-1] + (1,), generator=torch.Generator(device).manual_seed(seed), device=device)
            x_hat = (eps * x + (1 - eps) * x_fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(d(x_hat).sum(), x_hat)
            gp_norms[toy_name, how] = grad.norm(dim=-1).median(dim=-1).values.cpu().numpy()  # (seeds,)
    return dict(toys=toys, seeds=surf_seeds, lipschitz=lipschitz, critics=critics, gp_norms=gp_norms)


def surfaces_figure(surf: dict, cfg, seed: int, device):
    """Contours of the critics (top: clipping, bottom: penalty) with the data and the fixed generator's samples."""
    ticks = np.linspace(-cfg.extent, cfg.extent, cfg.plot_grid)
    grid_x, grid_y = np.meshgrid(ticks, ticks)
    points = torch.tensor(np.stack([grid_x.ravel(), grid_y.ravel()], -1), dtype=torch.float32, device=device)
    fig, axes = plt.subplots(2, 3, figsize=(8.6, 5.8), sharex=True, sharey=True, layout="constrained")
    for col, (toy_name, toy) in enumerate(surf["toys"].items()):
        real = toy.sample(300, torch.Generator().manual_seed(seed)).numpy()
        fake = data.FixedGenerator(toy).sample(300, torch.Generator().manual_seed(seed + 1)).numpy()
        for row, how in enumerate(surf["lipschitz"]):
            ax = axes[row, col]
            with torch.no_grad():
                value = surf["critics"][toy_name, how](points.expand(len(surf["seeds"]), -1, -1))[0].cpu().numpy()
            ax.contour(grid_x, grid_y, value.reshape(grid_x.shape), levels=12, cmap="viridis", linewidths=0.8)
            ax.plot(*real.T, "+", color=plotting.COLORS[4], ms=3, label="data")
            ax.plot(*fake.T, "+", color=plotting.COLORS[2], ms=3, alpha=0.5, label="fixed generator")
            ax.set_xlim(-cfg.extent, cfg.extent), ax.set_ylim(-cfg.extent, cfg.extent), ax.grid(False)
            ax.set_title(f"{toy_name}, {how}")
    axes[0, 0].legend(loc="lower left", fontsize=8.5)
    return _closed(fig)


def _norms_of(gp_norms: dict, how: str) -> np.ndarray:
    return np.concatenate([v for (t, h), v in gp_norms.items() if h == how])


def surfaces_numbers(surf: dict) -> dict:
    gp_all, clip_all = _norms_of(surf["gp_norms"], "gradient penalty"), _norms_of(surf["gp_norms"], "weight clipping")
    return {"gp_norm_min": gp_all.min(), "gp_norm_max": gp_all.max(), "clip_norm_max": clip_all.max()}


def gp_unit_gradient(gp_norms: dict, n_points: int, gp_weight: float) -> Verdict:
    """ch2.gp-unit-gradient from {(toy, "gradient penalty" or "weight clipping"): median ``|grad D|`` per seed}: every
    penalised critic's median lies in [low, high]. ``n_points``: the penalty points per seed behind each median."""
    th = threshold("ch2.gp-unit-gradient")
    gp_all, clip_all = _norms_of(gp_norms, "gradient penalty"), _norms_of(gp_norms, "weight clipping")
    norms_text = "; ".join(f"{t}: {', '.join(f'{v:.2f}' for v in v_)}" for (t, h), v_ in gp_norms.items()
                           if h == "gradient penalty")
    return Verdict(bool(np.all((gp_all >= th["low"]) & (gp_all <= th["high"]))),
                   {f"{t}/{h}": v.tolist() for (t, h), v in gp_norms.items()},
                   f"median |grad D| at {n_points} penalty points per seed, lambda {gp_weight:g}: {norms_text} "
                   f"(in [{th['low']}, {th['high']}] required); clipped critics <= {clip_all.max():.3f}")


def deep_experiment(cfg, surf: dict, device) -> dict:
    """12-layer ReLU critics on the Swiss roll against the fixed generator (Fig. 1b): clipped at every
    ``cfg.deep_clips`` (batched as runs of one net) and penalised; the norm of the loss's gradient at the input
    of every layer (``constraints.layer_gradient_norms``, in float64), as curves by variant."""
    roll, clips, surf_seeds = data.SwissRoll(), cfg.deep_clips, surf["seeds"]
    deep_runs = [(c, s) for c in clips for s in surf_seeds]  # run r of the clipped net: (c, seed)
    sizes = [2, *[cfg.deep_width] * (cfg.deep_layers - 1), 1]
    variants = {"weight clipping": ([s for _, s in deep_runs], dict(lr=cfg.lr_clip, optimizer="rmsprop",
                                    cons=(constraints.WeightClip(tuple(c for c, _ in deep_runs)),))),
                "gradient penalty": (surf_seeds, surf["lipschitz"]["gradient penalty"])}
    norms, trained = {}, {}
    for how, (run_seeds, kw) in variants.items():
        d = nets.MLP(sizes, run_seeds, "D", activation="relu", squeeze=True).to(device)
        real_st = toy_streams(roll, run_seeds, cfg.deep_batch, device)
        fake_st = toy_streams(data.FixedGenerator(roll), run_seeds, cfg.deep_batch, device, 10**6)
        trained[how] = fit_critic(d, real_st, fake_st.real, cfg.deep_iterations, "wgan", device, betas=cfg.betas,
                                  desc=f"deep critic, {how}", **kw)
        norms[how] = constraints.layer_gradient_norms(  # in float64: with c = 0.001 the gradient underflows float32
            copy.deepcopy(d).double(), toy_streams(roll, run_seeds, cfg.n_points, device, 2 * 10**6).real().double(),
            toy_streams(data.FixedGenerator(roll), run_seeds, cfg.n_points, device, 3 * 10**6).real().double())
    curves = {f"weight clipping c = {c:g}": norms["weight clipping"][:, [i for i, (cc, _) in enumerate(deep_runs)
                                                                          if cc == c]] for c in clips}
    curves["gradient penalty"] = norms["gradient penalty"]
    mid = [i for i, (c, s) in enumerate(deep_runs) if c == 0.01 and s == surf_seeds[0]][0]
    linear = nets.SeedBatchedLinear
    w_clip = torch.cat([m.weight[mid].flatten() for m in trained["weight clipping"] if isinstance(m, linear)])
    w_gp = torch.cat([m.weight[0].flatten() for m in trained["gradient penalty"] if isinstance(m, linear)])
    return dict(clips=clips, norms=norms, curves=curves, w_clip=w_clip, w_gp=w_gp, layers=cfg.deep_layers)


def deep_figure(deep: dict):
    """(a) Gradient norm at each layer's input, output back to data; (b) the clipped and penalised weights."""
    layers = np.arange(1, deep["layers"] + 1)
    fig, (ax_g, ax_h) = plt.subplots(1, 2, figsize=(10, 3.8))
    for (name, norms), color in zip(deep["curves"].items(), plotting.COLORS):
        plotting.band(ax_g, layers, np.log10(norms).T, label=name, color=color, marker="o", ms=3)
    ax_g.invert_xaxis(), ax_g.set_xlabel("discriminator layer (input of)"), ax_g.set_ylabel("log$_{10}$ gradient norm")
    ax_g.legend(fontsize=8.5)
    ax_h.hist(deep["w_clip"].detach().cpu().numpy(), bins=60, range=(-0.02, 0.02), color=plotting.COLORS[1],
              label="weight clipping c = 0.01")
    ax_h2 = ax_h.twiny()
    ax_h2.hist(deep["w_gp"].detach().cpu().numpy(), bins=60, color=plotting.COLORS[3], alpha=0.5,
               label="gradient penalty (top axis)")
    ax_h.set_xlabel("weight (clipping)"), ax_h.set_ylabel("count"), ax_h2.grid(False)
    ax_h.legend(handles=ax_h.patches[:1] + ax_h2.patches[:1],
                labels=["weight clipping c = 0.01", "gradient penalty (top axis)"], fontsize=8.5)
    plotting.label_panels([ax_g, ax_h])
    return _closed(fig)


def _first_last(curves: dict) -> dict:
    return {name: np.median(norms[0] / norms[-1]) for name, norms in curves.items()}


def _gp_spread(curves: dict) -> float:
    gp = curves["gradient penalty"]
    return float(np.median(gp.max(0) / gp.min(0)))


def deep_numbers(deep: dict, cfg) -> dict:
    first_last = _first_last(deep["curves"])
    at_bound = float((deep["w_clip"].abs() >= 0.01 * (1 - 1e-6)).float().mean())
    return {"deep_iterations": cfg.deep_iterations, "deep_gp_spread": _gp_spread(deep["curves"]),
            "deep_at_bound": at_bound,
            **{f"deep_ratio_{i}": np.log10(first_last[f"weight clipping c = {c:g}"])
               for i, c in enumerate(deep["clips"])}}


def clipping_explodes_or_vanishes(curves: dict, clips) -> Verdict:
    """ch2.clipping-explodes-or-vanishes from the layer norms by variant, (layers, runs): for every clip value the
    first/last ratio is at least ``clip_ratio`` either way; with the penalty the spread is at most ``gp_ratio``."""
    th = threshold("ch2.clipping-explodes-or-vanishes")
    first_last, gp_spread = _first_last(curves), _gp_spread(curves)
    clip_ok = all(bool(np.maximum(r, 1 / r) >= th["clip_ratio"]) for name, r in first_last.items()
                  if name.startswith("weight"))
    return Verdict(clip_ok and gp_spread <= th["gp_ratio"], {k: v.tolist() for k, v in curves.items()},
                   "first/last layer gradient norm, median over seeds: " + ", ".join(
                       f"c={c:g}: 10^{np.log10(first_last[f'weight clipping c = {c:g}']):.1f}" for c in clips)
                   + f" (>= {th['clip_ratio']:g} either way required); penalty: max/min over layers {gp_spread:.1f} "
                     f"(<= {th['gp_ratio']:g})")


# --- six objectives on the same toy ----------------------------------------------------------------------------

OBJECTIVES = ("GAN", "LSGAN", "WGAN (clip)", "WGAN-GP", "SN-GAN (hinge)", "EBGAN")
"""The six objectives of the comparison, in the slides' order."""
WGANS = ("WGAN (clip)", "WGAN-GP")
"""The objectives with ``n_critic`` critic steps per generator step, which train ``wgan_steps`` generator steps."""


def standardised(dist: data.GaussianMixture) -> tuple[data.GaussianMixture, float]:
    """The mixture divided by the RMS coordinate of its (centred) modes, and that factor: unit spread per
    coordinate, as Gulrajani et al.'s ``gan_toy.py`` scales its toys (25 Gaussians / 2.828). High quality and
    coverage do not change: centres and std scale together."""
    scale = float(dist.centers.double().pow(2).mean().sqrt())
    return data.GaussianMixture(dist.centers / scale, dist.std / scale), scale


def mode_spacing(dist) -> float:
    """The smallest distance between two of the mixture's modes."""
    c = dist.centers.double()
    return float((torch.cdist(c, c) + torch.eye(len(c), dtype=c.dtype) * 1e9).min())


def sn_gain(dist, swing: float = 2.0) -> float:
    """The fixed gain K on a spectrally normalised (1-Lipschitz) discriminator's logit: the hinge asks for a
    logit swing of ``swing`` (+1 on data, -1 on samples), and the rule lets the logit make it across half the
    spacing s between neighbouring modes, K = swing / (s / 2). Standardised grid: s = 0.707, K = 5.66."""
    return swing / (mode_spacing(dist) / 2)


class OutputGain(torch.nn.Module):
    """``gain * net(x)``: a fixed gain on a discriminator's logit (``net`` stays 1-Lipschitz under spectral
    normalisation; the product is ``gain``-Lipschitz)."""

    per_sample = True

    def __init__(self, net: torch.nn.Module, gain: float):
        super().__init__()
        self.net, self.gain = net, float(gain)

    def forward(self, x):
        return self.gain * self.net(x)


def objective_variants(cfg, dist) -> dict:
    """name: (the parts, TrainConfig settings that differ from the common ones) of the six objectives on ``dist``
    (the rules of ``scales.TABLE["ch2.objectives"]``)."""
    lr_rms = cfg.lr_rmsprop
    return {
        "GAN": (Recipe("nonsaturating"), {}),
        "LSGAN": (Recipe("least_squares"), {}),
        "WGAN (clip)": (Recipe("wgan", constraints=(constraints.WeightClip(cfg.clip),)),
                        dict(n_dis=cfg.n_critic, optimizer="rmsprop", lr_d=lr_rms, lr_g=lr_rms)),
        "WGAN-GP": (Recipe("wgan", d_terms=(d_terms.Penalty("wgan_gp", cfg.gp_weight),)), dict(n_dis=cfg.n_critic)),
        "SN-GAN (hinge)": (Recipe("hinge", constraints=(constraints.SpectralNorm(1),)), {}),
        "EBGAN": (Recipe(objectives.get_objective("ebgan", margin=cfg.margin),
                         g_terms=(ebgan.PullingAway(cfg.pt_weight),)), {}),
    }


def budget(cfg, name: str, steps: int | None = None) -> int:
    """Generator steps of objective ``name``: ``cfg.steps`` (or ``steps``), the WGANs ``cfg.wgan_steps`` (in
    the same ratio when ``steps`` overrides the scale's)."""
    one = cfg.steps if steps is None else steps
    return max(1, round(one * cfg.wgan_steps / cfg.steps)) if name in WGANS else one


def _build(cfg, name, run_seeds, dist, device):
    hidden = [cfg.hidden] * cfg.depth
    g = nets.mlp_generator(cfg.latent_dim, hidden, 2, run_seeds, activation="relu")
    if name == "EBGAN":
        d = ebgan.AutoencoderD(2, hidden[:-1] or hidden, cfg.embed_dim, run_seeds)
    else:
        d = nets.mlp_discriminator(2, hidden, run_seeds, activation="relu")
        if name.startswith("SN"):
            d = OutputGain(d, sn_gain(dist, cfg.sn_gain_swing))
    return g.to(device), d.to(device)


def _eval_hook(cfg, toy):
    """Every ``eval_every`` steps: the metrics of ``n_eval`` samples from fixed latents, and ``n_plot`` of them."""
    def fn(step, g, d, st):
        with torch.no_grad():
            x = g(st.fixed_latent(cfg.n_eval))
        out = metrics.evaluate(x, toy, cfg.k_std)
        out["samples"] = x[:, : cfg.n_plot].cpu().numpy()
        return out
    return train.Hook("eval", cfg.eval_every, fn)


def _sn_fn(step, g, d, st):
    """Each SN layer's spectral norm from the stored power-iteration vectors and by SVD, (layers, S)."""
    layers_ = [m for m in d.modules() if constraints.has_spectral_norm(m)]
    return {"estimate": np.stack([constraints.spectral_norm_estimate(m).cpu().numpy() for m in layers_]),
            "svd": np.stack([constraints.spectral_norm_exact(m).cpu().numpy() for m in layers_])}  # (layers, S)


def mixtures(names) -> dict:
    """The standardised mixtures by name ("grid": VEEGAN/PacGAN's grid of 25, "ring": their ring of 8)."""
    raw = {"grid": data.grid, "ring": data.ring}
    return {n: standardised(raw[n]())[0] for n in names}


def objectives_experiment(cfg, names, seeds, scale: str, device, steps: int | None = None) -> dict:
    """The objectives ``names`` (of ``OBJECTIVES``) on every ``cfg.datasets`` mixture, standardised, with the same
    nets, schedule and seeds, each for ``budget`` generator steps; the SN-GAN runs also record their spectral
    norms. Long runs checkpoint (``cfg.checkpoint_every``). Returns {(dataset, variant): dict(result, g, d, st,
    toy, steps)}."""
    runs = {}
    for toy_name, toy in mixtures(cfg.datasets).items():
        variants = objective_variants(cfg, toy)
        for name in names:
            recipe, extra = variants[choose("objective", name, OBJECTIVES)]
            n_steps = budget(cfg, name, steps)
            g, d = _build(cfg, name, seeds, toy, device)
            st = streams.ToyStreams(toy, seeds, cfg.batch_size, cfg.latent_dim, device=device)
            tc = train.TrainConfig(**{"steps": n_steps, "lr_d": cfg.lr, "lr_g": cfg.lr, "betas": cfg.betas,
                                      "log_every": cfg.eval_every, "lr_schedule": "cosine",
                                      "lr_floor": cfg.lr_floor, **extra})
            hooks = [_eval_hook(cfg, toy)] + ([train.Hook("sn", max(n_steps // 50, 1), _sn_fn)] if "SN" in name else [])
            ckpt = None
            if "checkpoint_every" in cfg:
                ckpt = (claims.results_dir().parent / "checkpoints"
                        / f"ch2_{scale}_{toy_name}_{name.split()[0]}_{seeds[0]}.pt")
                ckpt.parent.mkdir(parents=True, exist_ok=True)
            result = train.train(g, d, st, tc, hooks=hooks, checkpoint=ckpt,
                                 checkpoint_every=cfg.get("checkpoint_every", 1000), desc=f"{toy_name}: {name}",
                                 **recipe.parts())
            runs[toy_name, name] = dict(result=result, g=g, d=d, st=st, toy=toy, steps=n_steps,
                                        centres=toy.centers.numpy())
    return runs


def _variants(runs: dict, toy_name: str) -> list[str]:
    return [name for name in OBJECTIVES if (toy_name, name) in runs]


def last_eval(runs: dict, toy_name: str, name: str) -> dict:
    """The last evaluation of a variant's runs on a dataset."""
    rec = runs[toy_name, name]["result"].records["eval"]
    return rec[max(rec)]


def final_metric(runs: dict, toy_name: str, metric: str) -> dict:
    """``metric`` ("hq_fraction", "modes_k", "modes", "reverse_kl") per seed at the last step, by variant."""
    return {name: np.asarray(last_eval(runs, toy_name, name)[metric]) for name in _variants(runs, toy_name)}


LEVEL_TOYS = {"grid": "grid25", "ring": "ring8"}
"""The mixtures' names in ``verdicts.BASELINE_LEVELS``."""


def steps_to_level(runs: dict, toy_name: str, name: str, every: int) -> np.ndarray:
    """Per seed, the first evaluated generator step at which the run is at the trained level
    (``verdicts.BASELINE_LEVELS``: HQ fraction and covered modes ``modes_k``); a seed that never gets there
    counts as the budget plus one interval ``every`` (it got there later, if at all)."""
    level = verdicts.BASELINE_LEVELS[LEVEL_TOYS[toy_name]]
    rec = runs[toy_name, name]["result"].records["eval"]
    steps_ = sorted(rec)
    ok = np.stack([(rec[s]["hq_fraction"] >= level["hq_fraction"]) & (rec[s]["modes_k"] >= level["modes_k"])
                   for s in steps_])  # (T, S)
    never = runs[toy_name, name]["steps"] + every
    return np.array([steps_[int(np.argmax(col))] if col.any() else never for col in ok.T], dtype=float)


def at_level(runs: dict, toy_name: str) -> dict:
    """Each variant's ``verdicts.baseline_trained`` result at its last step (has it reached the trained level?)."""
    hq, mk = final_metric(runs, toy_name, "hq_fraction"), final_metric(runs, toy_name, "modes_k")
    return {name: verdicts.baseline_trained(LEVEL_TOYS[toy_name], hq[name], mk[name]) for name in hq}


def critic_pull(runs: dict, toy_name: str, names=None) -> dict:
    """What each trained discriminator tells the generator, and what the generator has matched, at its last step,
    per seed on 2500 samples from the fixed latents: ``grad`` the median norm of the input gradient of D's output
    at the samples; ``aligned`` the length of the mean of the gradients' unit directions (1: every sample is pushed
    the same way, as by a linear critic); ``mean`` the norm of the samples' mean and ``std`` their standard
    deviation per coordinate, averaged over the coordinates (the standardised data: 0 and 1)."""
    out = {}
    for name in names or _variants(runs, toy_name):
        run = runs[toy_name, name]
        with torch.no_grad():
            x = run["g"](run["st"].fixed_latent(2500))
        x = x.detach().requires_grad_(True)
        d = run["d"]
        was_training = d.training
        d.eval()  # SN: the stored vectors, no new power iteration while we measure
        (grad,) = torch.autograd.grad(d(x).sum(), x)
        d.train(was_training)
        norm = grad.norm(dim=-1)  # (S, n)
        unit = grad / norm.clamp_min(1e-30)[..., None]
        xd = x.detach()
        out[name] = {"grad": norm.median(-1).values.cpu().numpy(),
                     "aligned": unit.mean(1).norm(dim=-1).cpu().numpy(),
                     "mean": xd.mean(1).norm(dim=-1).cpu().numpy(), "std": xd.std(1).mean(-1).cpu().numpy()}
    return out


def blob_hq(toy) -> float:
    """The HQ fraction of a uniform blob over the modes' bounding box: the share of the box within ``k`` = 3 std
    of a mode (the discs do not overlap on the toys)."""
    c = toy.centers.double()
    side = (c.max(0).values - c.min(0).values).prod()
    return float(len(c) * np.pi * (3 * toy.std) ** 2 / side)


def objectives_figures(runs: dict, toy_name: str):
    """The samples of each objective's first seed at its last step, and the covered modes and HQ fraction over
    training (median and range over seeds): two figures."""
    variants = _variants(runs, toy_name)
    centres = runs[toy_name, variants[0]]["centres"]
    lim = 1.25 * float(np.abs(centres).max())
    cols = -(-len(variants) // 2)
    fig, axes = plt.subplots(2, cols, figsize=(2.9 * cols, 5.6), sharex=True, sharey=True, layout="constrained")
    for ax in axes.flat[len(variants):]:  # two rows of panels: legible at the page's width
        ax.set_visible(False)
    for ax, name in zip(axes.flat, variants):
        last = last_eval(runs, toy_name, name)
        x = last["samples"][0]
        ax.plot(*centres.T, "x", color=plotting.COLORS[1], ms=4, mew=0.8)
        ax.plot(*x.T, ".", ms=1.2, alpha=0.5, color=plotting.COLORS[0])
        ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal"), ax.grid(False)
        ax.set_title(f"{name}, {runs[toy_name, name]['steps']} steps\n{int(last['modes_k'][0])} modes, "
                     f"HQ {last['hq_fraction'][0]:.0%}", fontsize=8.5)
    fig2, (ax_m, ax_q) = plt.subplots(1, 2, figsize=(8.6, 3.6), layout="constrained")
    for name, color in zip(variants, plotting.COLORS):
        rec = runs[toy_name, name]["result"].records["eval"]
        steps_ = np.array(sorted(rec))
        plotting.band(ax_m, steps_, np.stack([rec[s]["modes_k"] for s in steps_]).T, label=name, color=color)
        plotting.band(ax_q, steps_, np.stack([rec[s]["hq_fraction"] for s in steps_]).T, color=color)
    level = verdicts.BASELINE_LEVELS[LEVEL_TOYS[toy_name]]
    ax_m.axhline(level["modes_k"], color="grey", ls=":", lw=1)
    ax_q.axhline(level["hq_fraction"], color="grey", ls=":", lw=1)
    ax_m.set_ylabel(f"modes covered (of {len(centres)})"), ax_q.set_ylabel("high-quality fraction")
    for ax in (ax_m, ax_q):
        ax.set_xlabel("generator steps")
    fig2.legend(*ax_m.get_legend_handles_labels(), loc="outside lower center", ncol=3)
    plotting.label_panels([ax_m, ax_q])
    return _closed(fig), _closed(fig2)


PUBLISHED = [("GAN", "VEEGAN Table 1", "3.3", "0.5"), ("ALI", "VEEGAN Table 1", "15.8", "1.6"),
             ("Unrolled GAN", "VEEGAN Table 1", "23.6", "16"), ("VEEGAN", "VEEGAN Table 1", "24.6", "40"),
             ("GAN", "PacGAN Table 1", "17.3 ± 0.8", "94.8 ± 0.7"),
             ("ALI", "PacGAN Table 1", "24.1 ± 0.4", "95.7 ± 0.6"),
             ("PacGAN2", "PacGAN Table 1", "23.8 ± 0.7", "91.3 ± 0.8"),
             ("PacGAN3", "PacGAN Table 1", "24.6 ± 0.4", "94.2 ± 0.4"),
             ("PacGAN4", "PacGAN Table 1", "24.8 ± 0.2", "93.6 ± 0.6")]
"""The rows (method, source, modes, HQ %) of VEEGAN's Table 1 (Srivastava et al. 2017) and of PacGAN's Table 1
(Lin et al. 2018) that the chapter prints beside its own; their modes count >= 1 HQ sample."""

LEVEL_WORDS = {"REPRODUCED": "yes", "NOT REPRODUCED": "no", "INCONCLUSIVE": "undecided"}
"""How the table reads ``verdicts.baseline_trained``'s outcome (has the run reached the trained level?)."""


def _mean_ci(values, scale: float = 1.0, fmt: str = ".1f") -> str:
    est, lo, hi = verdicts.bootstrap_interval(np.asarray(values, dtype=float) * scale)
    return f"{est:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def objectives_table(runs: dict, toy_name: str) -> pd.DataFrame:
    """Our six objectives (mean over seeds and its 95 % bootstrap interval of the HQ %, the covered modes and
    PacGAN's >= 1 count; whether each reached the trained level) beside the published numbers, labelled as theirs."""
    rows, levels = [], at_level(runs, toy_name)
    for name in _variants(runs, toy_name):
        last = last_eval(runs, toy_name, name)
        rows.append({"method": name, "who": f"this book, {runs[toy_name, name]['steps']} steps",
                     "high quality %": _mean_ci(last["hq_fraction"], 100),
                     "modes (>= 10 HQ)": _mean_ci(last["modes_k"]),
                     "modes (>= 1 HQ)": _mean_ci(last["modes"]),
                     "trained level": LEVEL_WORDS[levels[name].outcome]})
    rows += [{"method": m, "who": f"theirs: {w}", "high quality %": b, "modes (>= 10 HQ)": "",
              "modes (>= 1 HQ)": a, "trained level": ""} for m, w, a, b in PUBLISHED]
    return pd.DataFrame(rows)


def objectives_numbers(runs: dict, toy_name: str, cfg, seeds) -> dict:
    hq, mk, m1 = (final_metric(runs, toy_name, k) for k in ("hq_fraction", "modes_k", "modes"))
    toy = runs[toy_name, _variants(runs, toy_name)[0]]["toy"]
    out = {"obj_depth": cfg.depth, "obj_hidden": cfg.hidden, "obj_batch": cfg.batch_size, "obj_seeds": len(seeds),
           "obj_eval_every": cfg.eval_every, "obj_seed0": seeds[0],
           "obj_k": metrics.min_count(cfg.n_eval, len(toy.centers)),
           "obj_spacing": mode_spacing(toy), "obj_sn_gain": sn_gain(toy, cfg.sn_gain_swing),
           "obj_scale": standardised({"grid": data.grid, "ring": data.ring}[toy_name]())[1]}
    keys = {"GAN": "gan", "LSGAN": "lsgan", "WGAN (clip)": "clip", "WGAN-GP": "gp", "SN-GAN (hinge)": "sn",
            "EBGAN": "ebgan"}
    level = verdicts.BASELINE_LEVELS[LEVEL_TOYS[toy_name]]
    for name, key in keys.items():
        if name in hq:
            at_end = (hq[name] >= level["hq_fraction"]) & (mk[name] >= level["modes_k"])  # per seed
            out[f"obj_{key}_at_end"] = int(at_end.sum())
            out.update({f"obj_{key}_hq": float(np.mean(hq[name])), f"obj_{key}_modes": float(np.mean(mk[name])),
                        f"obj_{key}_modes1": float(np.mean(m1[name])),
                        f"obj_{key}_steps": runs[toy_name, name]["steps"], f"obj_{key}_seeds": len(hq[name])})
    return out


def pull_numbers(pull: dict, runs: dict, toy_name: str, cfg) -> dict:
    """The mean over seeds of ``critic_pull``'s numbers by objective, and the median steps to the trained level of
    the GAN and the two WGANs (``steps_to_level``; past the budget: never)."""
    keys = {"GAN": "gan", "LSGAN": "lsgan", "WGAN (clip)": "clip", "WGAN-GP": "gp", "SN-GAN (hinge)": "sn",
            "EBGAN": "ebgan"}
    out = {}
    for name, v in pull.items():
        out[f"obj_{keys[name]}_grad"] = float(np.mean(v["grad"]))
        out[f"obj_{keys[name]}_aligned"] = float(np.mean(v["aligned"]))
        out[f"obj_{keys[name]}_mean"] = float(np.mean(v["mean"]))
        out[f"obj_{keys[name]}_std"] = float(np.mean(v["std"]))
    out["obj_blob_hq"] = blob_hq(runs[toy_name, next(iter(pull))]["toy"])
    for name in ("GAN", "WGAN (clip)", "WGAN-GP"):
        if (toy_name, name) in runs:
            first = steps_to_level(runs, toy_name, name, cfg.eval_every)
            out[f"obj_{keys[name]}_first"] = float(np.median(first))
            out[f"obj_{keys[name]}_reached"] = int((first <= runs[toy_name, name]["steps"]).sum())
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def objectives_reading(n: dict) -> str:
    """The paragraph after the table: each objective's outcome with the measurements that explain it (Markdown;
    every number from ``objectives_numbers`` and ``pull_numbers``, means over seeds)."""
    seeds = n["obj_seeds"]
    text = [f"The plain GAN ends with {_pct(n['obj_gan_hq'])} HQ samples and {n['obj_gan_modes']:.1f} covered modes "
            f"({n['obj_gan_modes1']:.1f} by the one-sample count); {n['obj_gan_at_end']} of its {n['obj_gan_seeds']} "
            f"seeds end at the trained level."]
    if n["obj_gan_modes1"] - n["obj_gan_modes"] >= 1:
        text.append(f"The {n['obj_gan_modes1'] - n['obj_gan_modes']:.1f} modes on average that the two counts "
                    "disagree on are not empty but starved: each keeps between one and nine HQ samples, less than a "
                    "tenth of its share, so the GAN spreads its mass unevenly over the modes it has found.")
    def reaches(key: str, it: str) -> str:
        k = n[f"obj_{key}_reached"]
        if k == 0:
            return f"does not reach {it} within the budget"
        if k == seeds:
            return f"reaches {it} by step {n[f'obj_{key}_first']:.0f} (median over seeds)"
        return f"reaches {it} within the budget on {k} of {seeds} seeds"

    gp_first, clip_first = reaches("gp", "the trained level"), reaches("clip", "it")
    text.append(f"After {n['obj_gp_steps']:.0f} generator steps WGAN-GP has {_pct(n['obj_gp_hq'])} HQ samples on "
                f"{n['obj_gp_modes']:.1f} covered modes and {gp_first}; WGAN with clipping "
                f"has {_pct(n['obj_clip_hq'])} on {n['obj_clip_modes']:.1f} and {clip_first}.")
    text.append(f"The clipped WGAN's samples have a mean of norm {n['obj_clip_mean']:.2f} and a std per coordinate "
                f"of {n['obj_clip_std']:.2f} (the standardised data: 0 and 1), and {_pct(n['obj_clip_hq'])} of them "
                f"are high quality, where a uniform blob over the grid's box has {_pct(n['obj_blob_hq'])}.")
    if n["obj_clip_hq"] < 3 * n["obj_blob_hq"] and abs(n["obj_clip_std"] - 1) < 0.2 and n["obj_clip_mean"] < 0.5:
        text.append("The generator has matched the data's location and spread and nothing finer: the clipped "
                    "critic, a function too simple to see the modes (Gulrajani et al.'s Figure 1, and the surfaces "
                    "above), gives it no gradient that separates them.")
    text.append(f"Its input gradients at the samples have a median norm of {n['obj_clip_grad']:.1e}, against "
                f"{n['obj_gp_grad']:.2f} for the penalised critic (the penalty asks for 1).")
    text.append(f"LSGAN ends with {_pct(n['obj_lsgan_hq'])} HQ samples on {n['obj_lsgan_modes']:.1f} modes and EBGAN "
                f"with {_pct(n['obj_ebgan_hq'])} on {n['obj_ebgan_modes']:.1f}. SN-GAN ends with "
                f"{_pct(n['obj_sn_hq'])} on {n['obj_sn_modes']:.1f}, its samples a cloud of std {n['obj_sn_std']:.2f} "
                f"per coordinate; its discriminator's input gradients at the samples have a median norm of "
                f"{n['obj_sn_grad']:.2f}, where the gain allows up to {n['obj_sn_gain']:.2f}"
                + (": the normalised discriminator is nearly flat where the samples are." if n["obj_sn_grad"]
                   < 0.1 * n["obj_sn_gain"] else ".")
                + (" Why the hinge loss with this gain leaves the samples off the modes is not settled by these "
                   "measurements." if n["obj_sn_hq"] < 0.5 else ""))
    return " ".join(text)


def gp_reading(status_faster: str, first: dict, budget_steps: int) -> str:
    """The sentences after the two comparisons: on how many seeds each WGAN reaches the trained level within the
    budget, and at which steps (``steps_to_level``), and, where the steps are cut off by the budget, what would
    settle ch2.gp-faster-than-clipping."""
    def reached(name: str) -> str:
        v = np.asarray(first[name])
        hit = v[v <= budget_steps]
        return f"{len(hit)}" + (f" (at step {', '.join(f'{x:.0f}' for x in hit)})" if len(hit) else "")

    n = len(first["WGAN-GP"])
    text = [f"Of the {n} seeds, WGAN-GP reaches the trained level within its {budget_steps} steps on "
            f"{reached('WGAN-GP')} and WGAN with clipping on {reached('WGAN (clip)')}."]
    censored = both_cut_off(first["WGAN (clip)"], first["WGAN-GP"], budget_steps)
    one_sided = int(np.sum((np.asarray(first["WGAN-GP"]) <= budget_steps) != (np.asarray(first["WGAN (clip)"])
                                                                                <= budget_steps)))
    if one_sided:
        text.append(f"On {one_sided} seed(s) only one of them gets there; the other counts at the budget plus one "
                    "interval, so the difference there is a lower bound on how much sooner the first one got there.")
    if status_faster == "INCONCLUSIVE" and censored:
        text.append(f"On {censored} seed(s) neither gets there, so their steps to the level are cut off by the budget: "
                    "unknown, not equal. More seeds at this budget would not settle the comparison; a longer budget, "
                    "fixed before a new run, would.")
    return " ".join(text)


def objectives_baseline_trained(runs: dict, toy_name: str) -> verdicts.Result:
    """ch2.objectives-baseline-trained: the plain GAN's per-seed HQ fraction and covered modes against the trained
    level (``verdicts.baseline_trained``)."""
    return at_level(runs, toy_name)["GAN"]


def baseline_reading(result: verdicts.Result) -> str:
    """The sentence after ch2.objectives-baseline-trained: the two intervals against the level and what follows for
    the comparisons (Markdown)."""
    hq = (f"the mean HQ fraction is {0.8 + result.estimate:.3f} [{0.8 + result.low:.3f}, {0.8 + result.high:.3f}] "
          f"against 0.8, and the {result.reason}")
    if result.outcome == "REPRODUCED":
        return f"Over {result.n} seeds {hq}: both intervals lie above the level, so the comparisons below are judged."
    return (f"Over {result.n} seeds {hq}: the plain GAN has not been shown to reach the level at this budget, so each "
            f"comparison below prints INCONCLUSIVE with that reason, beside the effect and interval it measured.")


def gp_concentrates_on_modes(hq_gp, hq_clip, baseline: verdicts.Result) -> verdicts.Result:
    """ch2.gp-concentrates-on-modes: the declared effect (HQ fraction, WGAN-GP minus clipping, paired by seed) judged
    on the per-seed values, INCONCLUSIVE when the plain GAN did not train (``verdicts.gated``)."""
    return verdicts.gated(verdicts.judge(verdicts.declared("ch2.gp-concentrates-on-modes"), hq_gp, hq_clip), baseline)


def both_cut_off(steps_a, steps_b, budget_steps: int) -> int:
    """Seeds on which neither run reached the level within ``budget_steps`` (``steps_to_level`` counts such a run
    past the budget)."""
    return int(np.sum((np.asarray(steps_a) > budget_steps) & (np.asarray(steps_b) > budget_steps)))


def gp_faster_than_clipping(steps_clip, steps_gp, baseline: verdicts.Result, budget_steps: int) -> verdicts.Result:
    """ch2.gp-faster-than-clipping: the declared effect (steps to the trained level, clipping minus WGAN-GP, paired
    by seed) judged on the per-seed values of ``steps_to_level``, gated by the baseline.

    A seed on which neither run got there within ``budget_steps`` has an unknown difference, not a zero one: a
    NOT REPRODUCED that rests on such seeds is INCONCLUSIVE (a longer budget would settle it). A run of one side
    that got there against one that did not is a lower bound on the difference and is kept."""
    result = verdicts.judge(verdicts.declared("ch2.gp-faster-than-clipping"), steps_clip, steps_gp)
    both = both_cut_off(steps_clip, steps_gp, budget_steps)
    if result.outcome == "NOT REPRODUCED" and both:
        result = dataclasses.replace(result, outcome="INCONCLUSIVE", seeds_to_settle=None,
                                     reason=f"on {both} of {result.n} seeds neither run reached the trained level "
                                            "within the budget, so their steps to it are unknown, not equal")
    return verdicts.gated(result, baseline)


# --- spectral normalisation (Miyato et al. 2018) -----------------------------------------------------------------

def sn_measure(run: dict, seeds, seed: int, device) -> dict:
    """The SN-GAN run's spectral-norm records (estimate against SVD per layer, ``rel_gap`` (T, layers, S)), and its
    trained discriminator's largest input-gradient norm per seed (the normalised net, without its fixed output
    gain ``OutputGain``) on the claim's ``n_inputs`` random points of [-6, 6]^2 and a batch of data, its Lipschitz
    bound (``constraints.lipschitz_bound``) and the estimate's lag."""
    rec = run["result"].records["sn"]
    steps = np.array(sorted(rec))
    rel_gap = np.stack([np.abs(rec[s]["estimate"] - rec[s]["svd"]) / rec[s]["svd"] for s in steps])  # (T, layers, S)
    net = run["d"].net if isinstance(run["d"], OutputGain) else run["d"]  # the normalised net, without its gain
    iterated = [min(m.weight.shape[-2:]) > 1 for m in net.modules() if constraints.has_spectral_norm(m)]
    d_sn = net.eval()  # eval mode: the stored vectors, no new iteration while we measure
    n_inputs = threshold("ch2.sn-lipschitz")["n_inputs"]
    gen = torch.Generator(device).manual_seed(seed)
    box = torch.rand(len(seeds), n_inputs, 2, generator=gen, device=device) * 12 - 6
    x = torch.cat([box, run["st"].real()], dim=1).requires_grad_(True)
    (grad,) = torch.autograd.grad(d_sn(x).sum(), x)
    grad_max = grad.norm(dim=-1).amax(-1).cpu().numpy()  # (S,)
    bound = constraints.lipschitz_bound(d_sn).cpu().numpy()  # product of the layers' SVD norms, (S,)
    print("largest input-gradient norm per seed", np.round(grad_max, 4), "bound", np.round(bound, 4))
    return dict(rec=rec, steps=steps, rel_gap=rel_gap, iterated=iterated, grad_max=grad_max, bound=bound,
                lag=constraints.sn_lag(d_sn).numpy())  # 1 x the estimates' lag, (S,): 1 without SN


def sn_figure(sn: dict):
    """(a) Each layer's sigma by SVD and its estimate, first seed; (b) their relative gap over seeds (log)."""
    rec, steps, rel_gap, iterated = sn["rec"], sn["steps"], sn["rel_gap"], sn["iterated"]
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(8.6, 3.4), layout="constrained")
    for layer, color in zip(range(rel_gap.shape[1]), plotting.COLORS):
        ax_s.plot(steps, [rec[s]["svd"][layer, 0] for s in steps], color=color, label=f"layer {layer + 1}, SVD")
        ax_s.plot(steps, [rec[s]["estimate"][layer, 0] for s in steps], "o", ms=2.5, color=color,
                  label=f"layer {layer + 1}, " + ("power iteration" if iterated[layer] else "norm"))
        plotting.band(ax_e, steps, np.clip(rel_gap[:, layer, :].T, 1e-8, None), color=color, log=True,
                      label=f"layer {layer + 1}")
    ax_s.set_xlabel("generator steps"), ax_s.set_ylabel("$\\sigma(W)$ of the raw weight")
    ax_s.legend(fontsize=8.5, ncol=2)
    ax_e.set_yscale("log"), ax_e.set_xlabel("generator steps"), ax_e.set_ylabel("|estimate - SVD| / SVD")
    ax_e.legend(fontsize=8.5)
    plotting.label_panels([ax_s, ax_e])
    return _closed(fig)


def sn_numbers(sn: dict) -> dict:
    rel_gap, iterated = sn["rel_gap"], sn["iterated"]
    return {"sn_gap_late": np.median(rel_gap[len(sn["steps"]) // 2:, iterated]),
            "sn_gap_max": rel_gap[1:, iterated].max(),
            "sn_grad_max": sn["grad_max"].max(), "sn_bound_max": sn["bound"].max(),
            "sn_n_inputs": threshold("ch2.sn-lipschitz")["n_inputs"]}


def sn_lipschitz(grad_max, lag, bound=None) -> Verdict:
    """ch2.sn-lipschitz from each seed's largest input-gradient norm and the power-iteration estimate's lag
    (``constraints.sn_lag``): the norm is at most 1 times the lag, times 1 + rtol. Without spectral
    normalisation the lag is 1 and a trained discriminator's gradient exceeds it; a NaN fails.
    ``bound`` (the product of the layers' norms) is kept in the record only."""
    th = threshold("ch2.sn-lipschitz")
    grad_max, lag = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (grad_max, lag))
    bound = np.asarray([] if bound is None else bound)
    ratio = grad_max / lag if grad_max.shape == lag.shape or lag.size == 1 else np.full(grad_max.shape, np.nan)
    within = all_at_most(ratio, 1 + th["rtol"])
    return Verdict(within, {"grad_max": grad_max.tolist(), "bound": bound.tolist(), "lag": lag.tolist()},
                   f"largest input-gradient norm per seed {', '.join(f'{v:.3f}' for v in grad_max)} on "
                   f"{th['n_inputs']} random inputs and data; 1 x the estimate's lag "
                   f"{', '.join(f'{v:.4f}' for v in lag)}; norm <= 1 x lag x (1 + {th['rtol']:.0e}): {within}")


def sn_one_iteration(bound, steps: int) -> Verdict:
    """ch2.sn-one-iteration: every seed's product of the normalised layers' spectral norms is at most
    ``bound_max``."""
    th = threshold("ch2.sn-one-iteration")
    bound = np.asarray(bound)
    return Verdict(bool(bound.max() <= th["bound_max"]), {"bound": bound.tolist()},
                   f"after {steps} generator steps, product of the normalised layers' spectral norms per seed "
                   f"{', '.join(f'{v:.4f}' for v in bound)} (<= {th['bound_max']} required)")

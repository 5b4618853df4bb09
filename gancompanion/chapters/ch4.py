"""Chapter 4 (minibatch divergences, Huszar 2016): the closed-form single-sample Bernoulli divergences, the
checks of its exact claims (each returning a ``checks.Verdict`` whose evidence is the CLAIM line's text), the
numbers it reads and its figures.

The single-sample divergences are written out in closed form here, so that the minibatch identities compare
the binomial route (``minibatch_divergences.product_divergence``) with something computed another way (at
N = 1 as well). Divergences are in nats unless a name says bits.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import rel_entr

from .. import plotting
from ..analytic import minibatch_divergences as mbd
from ..analytic.minibatch_divergences import LOG2
from .checks import Verdict, all_above, all_at_most, least, no_nan, threshold, worst


def bernoulli_kl(a, b):
    """KL[B(a) || B(b)] in closed form (nats): a log(a / b) + (1 - a) log((1 - a) / (1 - b))."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return rel_entr(a, b) + rel_entr(1 - a, 1 - b)


def bernoulli_js(a, b):
    """JS[B(a) || B(b)] in closed form (nats): (KL[B(a) || B(m)] + KL[B(b) || B(m)]) / 2, m = (a + b) / 2."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    m = (a + b) / 2
    return (bernoulli_kl(a, m) + bernoulli_kl(b, m)) / 2


# --- the claims' checks ------------------------------------------------------------------------------

def kl_additive(one: Mapping, many: Mapping) -> Verdict:
    """ch4.kl-additive: KL^(N) = N KL on the grid of q.

    Args:
        one: ``{direction: KL}``, the closed-form single-sample KL on the grid of q.
        many: ``{(direction, N): KL^(N)}``, the minibatch KL of the same direction.
    """
    rtol = threshold("ch4.kl-additive")["rtol"]
    errors, together, clean = [], True, bool(many)
    for (direction, n), kl_n in many.items():
        kl_1, kl_n = np.asarray(one[direction], dtype=float), np.asarray(kl_n, dtype=float)
        clean &= no_nan(kl_1, kl_n)
        finite = np.isfinite(kl_1)
        together &= bool(np.all(np.isinf(kl_n[~finite]))) and bool(np.all(np.isfinite(kl_n[finite])))
        errors.append(np.abs(kl_n[finite] - n * kl_1[finite]) / np.maximum(1, n * kl_1[finite]))
    error = worst(np.concatenate(errors)) if errors else float("nan")
    ns = list(dict.fromkeys(n for _, n in many))
    n_q = np.asarray(next(iter(one.values()))).size if one else 0
    evidence = (f"N in {ns}, {n_q} q, both directions, against the closed-form KL: max |KL^(N) - N KL| / "
                f"max(1, N KL) = {error:.0e} (<= {rtol:g} needed); infinite together at q = 0 and 1: {together}")
    return Verdict(clean and together and bool(error <= rtol), {"worst_relative": error, "infinite_together": together},
                   evidence)


def js_subadditive(one, many: Mapping) -> Verdict:
    """ch4.js-subadditive from the closed-form single-sample JS and ``{N: JS^(N)}`` (nats)."""
    t = threshold("ch4.js-subadditive")
    one = np.asarray(one, dtype=float)
    slack = {n: worst(np.asarray(v, dtype=float) - n * one) for n, v in many.items()}
    gap = {n: worst(n * one - np.asarray(v, dtype=float)) for n, v in many.items() if n >= 2}
    passed = (no_nan(one, *many.values()) and bool(gap) and all_at_most(slack, t["atol"])
              and all_above(gap, t["strict"]))
    evidence = (f"max over q of JS^(N) - N JS (closed-form JS): "
                f"{', '.join(f'N={n}: {v:.0e}' for n, v in slack.items())} "
                f"(<= {t['atol']:g} needed); largest gap N JS - JS^(N) (bits): "
                f"{', '.join(f'N={n}: {v / LOG2:.3f}' for n, v in gap.items())} (> {t['strict']:g} nats needed)")
    return Verdict(passed, {"slack": slack, "strict_gap": gap}, evidence)


def js_per_sample_nonincreasing(per_sample) -> Verdict:
    """ch4.js-per-sample-nonincreasing from JS^(N)/N, shape (N = 1, 2, ..., q)."""
    per_sample = np.asarray(per_sample, dtype=float)
    atol = threshold("ch4.js-per-sample-nonincreasing")["atol"]
    rise = worst(np.diff(per_sample, axis=0))
    evidence = (f"N = 1..{per_sample.shape[0]}, {per_sample.shape[-1]} q: largest increase of JS^(N)/N from N-1 to N = "
                f"{rise:.0e} (<= {atol:g} needed)")
    return Verdict(no_nan(per_sample) and bool(rise <= atol), {"largest_increase": rise}, evidence)


def dip_widths(qs, js_bits) -> list[float]:
    """For each row of ``js_bits`` (N, q), the width of {q : JS < saturated_bits} (0 if empty; NaN if a NaN)."""
    level, qs = threshold("ch4.js-bounded")["saturated_bits"], np.asarray(qs, dtype=float)
    widths = []
    for row in np.asarray(js_bits, dtype=float):
        below = qs[row < level]
        widths.append(float("nan") if np.isnan(row).any() else float(np.ptp(below)) if below.size else 0.0)
    return widths


def js_bounded(qs, js_bits, ns) -> Verdict:
    """ch4.js-bounded from JS^(N) in bits, shape (N along ``ns``, q)."""
    t = threshold("ch4.js-bounded")
    js_bits = np.asarray(js_bits, dtype=float)
    clean = no_nan(js_bits)
    bounded = clean and bool(np.all(js_bits >= -t["atol"])) and bool(np.all(js_bits <= 1 + t["atol"]))
    smallest_change = least(np.diff(js_bits, axis=0))
    widths = dip_widths(qs, js_bits)
    full = float(np.ptp(np.asarray(qs, dtype=float)))
    saturated = [w for w in widths if w < full]
    narrowing = (no_nan(widths) and bool(np.all(np.diff(widths) <= 0)) and len(saturated) >= t["min_saturated"]
                 and bool(np.all(np.diff(saturated) < 0)))
    passed = bounded and bool(smallest_change >= -t["atol"]) and narrowing
    evidence = (f"N in {[int(n) for n in ns]}: within [0, 1] bit: {bounded}; smallest change from one N to the next = "
                f"{smallest_change:.0e}; width of {{q : JS < {t['saturated_bits']:g} bit}}: "
                f"{', '.join(f'{w:.3f}' for w in widths)} ({len(saturated)} N below the whole interval, "
                f"{t['min_saturated']} needed)")
    return Verdict(passed, {"bounded": bounded, "smallest_change": smallest_change, "dip_width": widths,
                            "saturated": len(saturated), "narrowing": narrowing}, evidence)


def relative_penalty(qs, js_bits: Mapping) -> dict:
    """``{N: mean JS^(N) over the low-entropy q / mean over the completely wrong q}`` (the claim's ranges)."""
    t, qs = threshold("ch4.low-entropy-penalty"), np.asarray(qs, dtype=float)
    low = (qs > t["low"][0]) & (qs < t["low"][1])
    wrong = (qs > t["wrong"][0]) & (qs < t["wrong"][1])
    return {n: float(np.mean(np.asarray(v, dtype=float)[low]) / np.mean(np.asarray(v, dtype=float)[wrong]))
            for n, v in js_bits.items()}


def low_entropy_penalty(qs, js_bits: Mapping) -> Verdict:
    """ch4.low-entropy-penalty: the relative penalty increases strictly along the N of ``js_bits``."""
    t = threshold("ch4.low-entropy-penalty")
    ratio = relative_penalty(qs, js_bits)
    ordered = [ratio[n] for n in sorted(ratio)]
    passed = len(ordered) >= 2 and no_nan(ordered) and bool(np.all(np.diff(ordered) > 0))
    evidence = (f"mean JS over q in {tuple(t['low'])} / over q in {tuple(t['wrong'])}: "
                + ", ".join(f"N={n}: {r:.3f}" for n, r in ratio.items()) + " (must increase)")
    return Verdict(passed, {"ratio": ratio}, evidence)


def preference_kl(qs, p: float, pref_kl, kl_qp, kl_pq, pref_js, js_single) -> Verdict:
    """ch4.preference-kl (all in bits): ``kl_qp``, ``kl_pq``, ``js_single`` are closed-form single-sample values."""
    t = threshold("ch4.preference-kl")
    qs = np.asarray(qs, dtype=float)
    pref_kl, kl_qp, kl_pq, pref_js, js_single = (np.asarray(a, dtype=float)
                                                 for a in (pref_kl, kl_qp, kl_pq, pref_js, js_single))
    inside = (qs > 0) & (qs < 1)
    clean = no_nan(pref_kl[inside], kl_qp[inside], kl_pq[inside], pref_js, js_single)
    kl_err = worst(np.abs(pref_kl[inside] - kl_qp[inside] - kl_pq[inside]) / np.maximum(1, pref_kl[inside]))
    js_gap = worst(np.abs(pref_js - 2 * js_single))
    nearest = float(qs[np.argmin(np.abs(qs - p))])
    argmins = {"JS": float(qs[np.argmin(pref_js)]), "KL": float(qs[inside][np.argmin(pref_kl[inside])])}
    at_p = all(v == nearest for v in argmins.values())
    passed = clean and bool(kl_err <= t["rtol"]) and bool(js_gap > t["js_gap_bits"]) and at_p
    evidence = (f"|KL[QxP||PxQ] - KL[Q||P] - KL[P||Q]| / max(1, KL[QxP||PxQ]): {kl_err:.0e} (<= {t['rtol']:g} needed); "
                f"|JS[QxP||PxQ] - 2 JS| up to {js_gap:.3f} bit (> {t['js_gap_bits']:g} needed); minimised at "
                f"q = {argmins['KL']:g} (KL), {argmins['JS']:g} (JS)")
    return Verdict(passed, {"kl_error": kl_err, "js_gap_bits": js_gap, "argmin": argmins, "at_p": at_p}, evidence)


# --- what the chapter computes and reads (the numbers its prose glues) ---------------------------------

def enumeration_error(p: float, qs, ns) -> float:
    """Largest ``|sum over all 2^N minibatches - binomial form|`` over ``qs`` and ``ns``, for JS, TV and KL
    (where the divergence is finite: KL is infinite at q = 0 and 1)."""
    error = 0.0
    for n in ns:
        for q in qs:
            for kind in ("js", "tv", "kl"):
                exact = mbd.product_divergence(p, q, n, kind)
                if np.isfinite(exact):
                    error = max(error, abs(mbd.enumerated_divergence(p, q, n, kind) - exact))
    return float(error)


def exact_numbers(cfg, qs, js_bits: Mapping, enum_error: float) -> dict:
    """The numbers the first section's prose reads: the enumeration check and the tails at q = 1."""
    return {"enum_error": float(enum_error), "enum_n_max": int(max(cfg.enumerate_ns)),
            "enum_sequences": int(2 ** max(cfg.enumerate_ns)), "p": float(cfg.p), "n_q": int(cfg.n_q),
            "js_first_at_1": float(js_bits[cfg.ns[0]][-1]), "js_last_at_1": float(js_bits[cfg.ns[-1]][-1])}


def describe_minima(qs, js_bits: Mapping) -> str:
    """Where each minibatch JS curve has its minimum over q, as one sentence."""
    minima = {n: float(qs[np.argmin(v)]) for n, v in js_bits.items()}
    if len(set(minima.values())) == 1:
        return f"Every curve has its minimum at q = {next(iter(minima.values())):g}."
    return "The minima differ: " + ", ".join(f"N = {n} at q = {m:g}" for n, m in minima.items()) + "."


def saturation_numbers(qs, sat_ns, dip: list[float], ratio: Mapping, ns) -> dict:
    """The numbers the saturation section's prose reads: the dip's width and the relative penalty."""
    t = threshold("ch4.low-entropy-penalty")
    return {"low_max": float(t["low"][1]), "wrong_min": float(t["wrong"][0]), "sat_n_max": int(max(sat_ns)),
            "dip_first": dip[0], "dip_last": dip[-1],
            "saturated_bits": float(threshold("ch4.js-bounded")["saturated_bits"]),
            "rel_first": ratio[ns[0]], "rel_last": ratio[ns[-1]], "n_last": int(ns[-1])}


def describe_penalty(increases: bool) -> str:
    """How the relative penalty reads against the source's summary and its body."""
    if increases:
        return ("The body of the post says instead that this relative penalty \"decreases\" as N grows; the numbers "
                "agree with the summary, whose wording is the claim we check.")
    return ("The ratio does not grow with N, so the summary's wording does not hold here; the body of the post says "
            "the relative penalty \"decreases\".")


def preference_numbers(qs, pref_js, js_bits: Mapping, js_single, verdict: Verdict) -> dict:
    """The numbers the preference section's prose reads (bits)."""
    return {"pref_gap_pairs": float(np.max(np.abs(pref_js - js_bits[2]))), "pref_gap": verdict.values["js_gap_bits"],
            "pref_q_max": float(qs[np.argmax(np.abs(pref_js - 2 * js_single))])}


def describe_preference_minima(verdict: Verdict) -> str:
    """Where the two preference divergences have their minima, as one sentence."""
    if verdict.values["at_p"]:
        return "Both are still minimised at q = p."
    return "Their minima: " + ", ".join(f"the {k} preference divergence at q = {m:g}"
                                        for k, m in verdict.values["argmin"].items()) + "."


def learned_bounds(p: float, qs, ns, seeds: list[int], cfg, device) -> tuple[dict, dict, float]:
    """Train one Deep-Sets discriminator (Zaheer et al. 2017) per N, q and seed on sampled minibatches and
    read its GAN objective's lower bound on the minibatch JS (Goodfellow et al. 2014), exactly over the
    binomial. Returns ``({N: (seeds, q) bits}, {N: exact JS^(N) on qs in bits}, training seconds)``."""
    learned = {}
    started = time.perf_counter()
    for n in ns:
        d, _ = mbd.fit_set_discriminators(p, qs, n, seeds=seeds, steps=cfg.steps, batch_size=cfg.batch_size,
                                          hidden=cfg.hidden, lr=cfg.lr, device=device, desc=f"N={n}")
        bound = mbd.js_lower_bound(d, p, np.tile(qs, len(seeds)), n) / LOG2
        learned[n] = bound.reshape(len(seeds), len(qs))
    seconds = time.perf_counter() - started
    exact = {n: mbd.product_divergence(p, qs, n, "js") / LOG2 for n in ns}
    return learned, exact, seconds


def learned_numbers(cfg, qs, seeds: list[int], learned: Mapping, exact: Mapping, seconds: float) -> tuple[dict, dict]:
    """The learned section's numbers (``glue_numbers``) and sentences (Markdown): how far below the exact
    curve the learned bounds fall, and by how much one exceeds it (rounding only, for a lower bound)."""
    shortfall = {n: float(np.max(exact[n] - learned[n])) for n in learned}  # worst gap below the exact value
    worst_n = max(shortfall, key=shortfall.get)
    numbers = {"learned_n_q": int(cfg.n_q), "learned_seeds": len(seeds), "learned_steps": int(cfg.steps),
               "learned_batch": int(cfg.batch_size), "shortfall_max": max(shortfall.values()),
               "shortfall_q": float(qs[np.argmax(np.max(exact[worst_n] - learned[worst_n], 0))]),
               "excess": max(float(np.max(learned[n] - exact[n])) for n in learned), "train_seconds": float(seconds)}
    texts = {"shortfall_n": str(worst_n),
             "shortfall_by_n": ", ".join(f"N = {n}: {v:.4f} bit" for n, v in shortfall.items())}
    return numbers, texts


# --- figures -----------------------------------------------------------------------------------------

def js_figure(qs, js_bits: Mapping, p: float):
    """The source's two plots: (a) the minibatch JS in bits against q, per N; (b) each divided by its maximum."""
    fig, (ax_raw, ax_norm) = plt.subplots(1, 2, figsize=(10, 3.6))
    for (n, v), color in zip(js_bits.items(), plotting.COLORS):
        ax_raw.plot(qs, v, color=color, label=f"N = {n}")
        ax_norm.plot(qs, v / v.max(), color=color, label=f"N = {n}")
    for ax in (ax_raw, ax_norm):
        ax.axvline(p, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("q (the model's Bernoulli parameter)")
    ax_raw.set_ylabel(r"$\mathrm{JS}[P^{(N)} \| Q^{(N)}]$ (bits)"), ax_raw.set_title("minibatch JS divergence")
    ax_norm.set_ylabel("JS / its maximum over q"), ax_norm.set_title("the same, normalised")
    ax_raw.legend(loc="upper center")
    plotting.label_panels([ax_raw, ax_norm])
    return fig


def saturation_figure(qs, sat, sat_ns, p: float, probe_q=(0.05, 0.3, 0.5, 0.8)):
    """(a) The minibatch JS against q for large N, against the bound of 1 bit; (b) for a few q, JS and JS / N
    against N (log axes)."""
    n_line = np.unique(np.geomspace(1, max(sat_ns), 60).round().astype(int))
    line = {q: np.array([float(mbd.product_divergence(p, q, n, "js")) / LOG2 for n in n_line]) for q in probe_q}
    fig, (ax_q, ax_n) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw=dict(wspace=0.45))
    cmap = plt.get_cmap("viridis")
    for i, (n, s) in enumerate(zip(sat_ns, sat)):
        ax_q.plot(qs, s, color=cmap(i / (len(sat_ns) - 1)), label=f"N = {n}")
    ax_q.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax_q.axvline(p, color="grey", lw=0.8, ls=":")
    ax_q.set_xlabel("q"), ax_q.set_ylabel("JS (bits)"), ax_q.set_title("minibatch JS saturates at 1 bit")
    ax_q.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8.5)
    for q, color in zip(probe_q, plotting.COLORS):
        ax_n.plot(n_line, line[q], color=color, label=f"q = {q:g}: JS")
        ax_n.plot(n_line, line[q] / n_line, color=color, ls="--", label=f"q = {q:g}: JS / N")
    ax_n.set_xscale("log"), ax_n.set_yscale("log")
    ax_n.set_xlabel("minibatch size N"), ax_n.set_ylabel("bits"), ax_n.set_title("against N")
    ax_n.legend(loc="lower left", fontsize=8.5, ncol=2)
    plotting.label_panels([ax_q, ax_n])
    return fig


def preference_figure(qs, p: float, pref_js, pref_kl, kl_qp, kl_pq, js_bits: Mapping):
    """The adversarial preference loss: (a) with JS, against twice the single-sample JS and the JS of pairs;
    (b) with KL, against the two KL directions (log axis, inside (0, 1))."""
    inside = (qs > 0) & (qs < 1)
    fig, (ax_js, ax_kl) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_js.plot(qs, pref_js, color=plotting.COLORS[0], label=r"$\mathrm{JS}[Q\times P \,\|\, P\times Q]$")
    ax_js.plot(qs, 2 * js_bits[1], color=plotting.COLORS[1], ls="--", label=r"$2\,\mathrm{JS}[Q \| P]$")
    ax_js.plot(qs, js_bits[2], color=plotting.COLORS[2], ls=":", label=r"$\mathrm{JS}[Q^{(2)} \| P^{(2)}]$")
    ax_kl.plot(qs[inside], pref_kl[inside], color=plotting.COLORS[0],
               label=r"$\mathrm{KL}[Q\times P \,\|\, P\times Q]$")
    ax_kl.plot(qs[inside], kl_qp[inside], color=plotting.COLORS[1], ls="--", label=r"$\mathrm{KL}[Q \| P]$")
    ax_kl.plot(qs[inside], kl_pq[inside], color=plotting.COLORS[2], ls="--", label=r"$\mathrm{KL}[P \| Q]$")
    ax_kl.set_yscale("log")
    for ax in (ax_js, ax_kl):
        ax.axvline(p, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("q"), ax.set_ylabel("bits"), ax.legend(loc="upper center", fontsize=8.5)
    ax_js.set_title("preference loss with JS"), ax_kl.set_title("preference loss with KL")
    plotting.label_panels([ax_js, ax_kl])
    return fig


def learned_figure(qs, js_bits: Mapping, learned_qs, learned: Mapping, exact: Mapping):
    """(a) The exact minibatch JS (lines) and the learned lower bounds (dots: median over seeds, bars: range);
    (b) the learned bounds' shortfall below the exact values."""
    fig, (ax_c, ax_g) = plt.subplots(1, 2, figsize=(10, 3.6))
    for n, color in zip(learned, plotting.COLORS):
        ax_c.plot(qs, js_bits[n], color=color, lw=1.2, label=f"N = {n}: exact")
        med, lo, hi = np.median(learned[n], 0), learned[n].min(0), learned[n].max(0)
        ax_c.errorbar(learned_qs, med, yerr=[med - lo, hi - med], fmt="o", ms=3.5, color=color, capsize=2)
        plotting.band(ax_g, learned_qs, exact[n] - learned[n], label=f"N = {n}", color=color, marker="o", ms=3)
    ax_c.set_xlabel("q"), ax_c.set_ylabel("JS (bits)"), ax_c.set_title("exact (lines) and learned (dots)")
    ax_c.legend(loc="upper center", fontsize=8.5)
    ax_g.axhline(0, color="grey", lw=0.8)
    ax_g.set_xlabel("q"), ax_g.set_ylabel("exact JS - learned bound (bits)"), ax_g.set_title("how far below")
    ax_g.legend(loc="upper right", fontsize=8.5)
    plotting.label_panels([ax_c, ax_g])
    return fig

"""The claims' checks: the numbers a chapter computed in, a verdict and the numbers behind it out.

Each function reads its thresholds from ``claims.CATALOGUE[claim_id].threshold``, the one place they
are written down, next to the statement they test. A NaN anywhere fails a check: every comparison
goes through NumPy on whole arrays (``np.max`` and ``np.min`` propagate NaN, Python's ``max`` and
``min`` silently drop it), and no verdict is the truthiness of a number.

The single-sample Bernoulli divergences are written out in closed form here, so that the minibatch
identities of Huszar (2016) compare the binomial route with something computed another way (at
N = 1 as well).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.special import rel_entr

from ..pipeline.claims import CATALOGUE

LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class Verdict:
    """A check's outcome: ``passed`` (a Python bool), the numbers behind it, and the one-line evidence the
    CLAIM line prints (rounded numbers, no timings; written by the chapter module's check function)."""

    passed: bool
    values: dict = field(default_factory=dict)
    evidence: str = ""


def threshold(claim_id: str) -> dict:
    """The claim's thresholds (a copy of ``CATALOGUE[claim_id].threshold``)."""
    return dict(CATALOGUE[claim_id].threshold)


def _array(values) -> np.ndarray:
    if isinstance(values, Mapping):
        values = list(values.values())
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)


def no_nan(*arrays) -> bool:
    """True when none of the arrays (or dicts of numbers) holds a NaN (infinities are allowed)."""
    return not any(np.isnan(_array(a)).any() for a in arrays)


def worst(values) -> float:
    """The largest value, NaN if any is NaN (NaN for no values)."""
    a = _array(values).ravel()
    return float(np.max(a)) if a.size else float("nan")


def least(values) -> float:
    """The smallest value, NaN if any is NaN (NaN for no values)."""
    a = _array(values).ravel()
    return float(np.min(a)) if a.size else float("nan")


def all_at_least(values, bound: float) -> bool:
    """Every value is >= ``bound`` (there is at least one, none is NaN)."""
    a = _array(values)
    return bool(a.size) and bool(np.all(a >= bound))


def all_below(values, bound: float) -> bool:
    """Every value is < ``bound`` (there is at least one, none is NaN)."""
    a = _array(values)
    return bool(a.size) and bool(np.all(a < bound))


def all_above(values, bound: float) -> bool:
    """Every value is > ``bound`` (there is at least one, none is NaN)."""
    a = _array(values)
    return bool(a.size) and bool(np.all(a > bound))


def all_at_most(values, bound: float) -> bool:
    """Every value is <= ``bound`` (there is at least one, none is NaN)."""
    a = _array(values)
    return bool(a.size) and bool(np.all(a <= bound))


# --- Chapter 1: the perfect discriminator (Arjovsky & Bottou 2017, Figs. 1-3) -------------------------

def first_reaching(series, level: float, within: int) -> int | None:
    """The first index < ``within`` at which ``series >= level``, or None."""
    hits = np.flatnonzero(np.asarray(series, dtype=float)[:within] >= level)
    return int(hits[0]) if hits.size else None


def perfect_discriminator(accuracy: Mapping, cross_entropy: Mapping) -> Verdict:
    """ch1.perfect-discriminator from each checkpoint's running-average accuracy and cross-entropy."""
    t = threshold("ch1.perfect-discriminator")
    first = {k: first_reaching(a, t["accuracy"], t["within"]) for k, a in accuracy.items()}
    fall = {k: float(np.asarray(ce, dtype=float)[0] / np.asarray(ce, dtype=float)[-1]) for k, ce in cross_entropy.items()}
    reached = bool(first) and all(v is not None for v in first.values())
    passed = reached and all_at_least(fall, t["ce_fall"])
    slowest = float(max(first.values())) if reached else float("inf")
    return Verdict(passed, {"first_perfect": first, "ce_fall": fall, "slowest": slowest, "ce_fall_min": least(fall)})


def gradient_vanishes(fall: Mapping) -> Verdict:
    """ch1.gradient-vanishes from each checkpoint's fall of the original cost's gradient from its peak."""
    return Verdict(all_at_least(fall, threshold("ch1.gradient-vanishes")["fall"]), {"fall_min": least(fall)})


def nonsaturating_unstable(growth: Mapping, std_growth: Mapping) -> Verdict:
    """ch1.nonsaturating-unstable from the growth of the -log D gradient's norm and of its batch std."""
    bound = threshold("ch1.nonsaturating-unstable")["growth"]
    passed = all_above(growth, bound) and all_above(std_growth, bound)
    return Verdict(passed, {"growth_min": least(growth), "std_growth_min": least(std_growth)})


def noise_keeps_gradient(fall: Mapping) -> Verdict:
    """ch1.noise-keeps-gradient from each checkpoint's fall with noise of the claim's std."""
    return Verdict(all_below(fall, threshold("ch1.noise-keeps-gradient")["fall"]), {"fall_max": worst(fall)})


# --- Chapter 2: spectral normalisation (Miyato et al. 2018) -------------------------------------------

def sn_lipschitz(grad_max, lag) -> Verdict:
    """ch2.sn-lipschitz from each seed's largest input-gradient norm and the estimate's lag
    (``constraints.sn_lag``): the norm is at most 1 times the lag, times 1 + rtol. Without spectral
    normalisation the lag is 1 and a trained discriminator's gradient exceeds it."""
    t = threshold("ch2.sn-lipschitz")
    grad_max, lag = _array(grad_max), _array(lag)
    ratio = grad_max / lag if grad_max.shape == lag.shape or lag.size == 1 else np.full(grad_max.shape, np.nan)
    return Verdict(all_at_most(ratio, 1 + t["rtol"]), {"ratio_max": worst(ratio), "lag_max": worst(lag)})


# --- Chapter 3: instance noise, the Taylor connection, the Dirac-GAN ----------------------------------

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
    """ch3.noise-smooths-js.

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
    return Verdict(passed, {"flat": flat, "smooth": smooth, "fd_error": error, "min_grad": min_grad})


def taylor_order(sigmas, gap) -> Verdict:
    """ch3.taylor-order: the log-log slope of the Taylor gap against sigma is within ``tolerance`` of ``order``."""
    t = threshold("ch3.taylor-order")
    sigmas, gap = np.asarray(sigmas, dtype=float), np.asarray(gap, dtype=float)
    if sigmas.size < 2 or not (np.all(np.isfinite(gap)) and np.all(gap > 0) and np.all(sigmas > 0)):
        return Verdict(False, {"slope": float("nan")})
    slope = float(np.polyfit(np.log(sigmas), np.log(gap), 1)[0])
    return Verdict(bool(abs(slope - t["order"]) < t["tolerance"]), {"slope": slope})


def regulariser_faster(first_regularised, first_unregularised) -> Verdict:
    """ch3.regulariser-faster from the steps to first full coverage per seed (inf: never)."""
    med_reg, med_unreg = float(np.median(_array(first_regularised))), float(np.median(_array(first_unregularised)))
    return Verdict(bool(med_reg < med_unreg), {"median_regularised": med_reg, "median_unregularised": med_unreg})


def regulariser_stable(first, kept) -> Verdict:
    """ch3.regulariser-stable from the regularised seeds' first full coverage and kept fractions."""
    t = threshold("ch3.regulariser-stable")
    first, kept = _array(first), _array(kept)
    passed = bool(first.size) and bool(np.all(np.isfinite(first))) and all_at_least(kept, t["kept"])
    return Verdict(passed, {"kept_min": least(kept)})


def dirac_unreg_cycles(growth: float, modulus: float, modulus_closed: float) -> Verdict:
    """ch3.dirac-unreg-cycles from the distance's growth and the linearised step's spectral radius."""
    t = threshold("ch3.dirac-unreg-cycles")
    passed = bool(growth > 1) and bool(modulus > 1) and bool(abs(modulus - modulus_closed) < t["modulus_tol"])
    return Verdict(passed, {"growth": float(growth), "modulus": float(modulus)})


def dirac_r1_converges(shrink: Mapping, real_parts: Mapping) -> Verdict:
    """ch3.dirac-r1-converges from each run's final/initial distance and each Jacobian's largest real part."""
    passed = all_below(shrink, threshold("ch3.dirac-r1-converges")["shrink"]) and all_below(real_parts, 0.0)
    return Verdict(passed, {"shrink_max": worst(shrink), "real_part_max": worst(real_parts)})


# --- Chapter 5: improved techniques (Salimans et al. 2016) --------------------------------------------

def label_smoothing_less_confident(plain_real, smooth_real, smooth_fake) -> Verdict:
    """ch5.label-smoothing-less-confident from each seed's final mean D on real samples without and with
    smoothing, and on generated samples with smoothing: one-sided smoothing caps D(x) at the real target
    and leaves the generated target at 0 (two-sided smoothing lifts D(G(z)) to its fake target)."""
    t = threshold("ch5.label-smoothing-less-confident")
    capped = all_at_most(smooth_real, t["real_target"] + t["tolerance"])
    confident = all_above(plain_real, t["confident"])
    one_sided = all_below(smooth_fake, 1 - t["confident"])
    return Verdict(capped and confident and one_sided,
                   {"smooth_max": worst(smooth_real), "plain_min": least(plain_real), "fake_max": worst(smooth_fake)})


# --- Chapter 4: minibatch divergences (Huszar 2016) ---------------------------------------------------

def bernoulli_kl(a, b):
    """KL[B(a) || B(b)] in closed form (nats): a log(a / b) + (1 - a) log((1 - a) / (1 - b))."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return rel_entr(a, b) + rel_entr(1 - a, 1 - b)


def bernoulli_js(a, b):
    """JS[B(a) || B(b)] in closed form (nats): (KL[B(a) || B(m)] + KL[B(b) || B(m)]) / 2, m = (a + b) / 2."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    m = (a + b) / 2
    return (bernoulli_kl(a, m) + bernoulli_kl(b, m)) / 2


def kl_additive(one: Mapping, many: Mapping) -> Verdict:
    """ch4.kl-additive.

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
    return Verdict(clean and together and bool(error <= rtol), {"worst_relative": error, "infinite_together": together})


def js_subadditive(one, many: Mapping) -> Verdict:
    """ch4.js-subadditive from the closed-form single-sample JS and ``{N: JS^(N)}`` (nats)."""
    t = threshold("ch4.js-subadditive")
    one = np.asarray(one, dtype=float)
    slack = {n: worst(np.asarray(v, dtype=float) - n * one) for n, v in many.items()}
    gap = {n: worst(n * one - np.asarray(v, dtype=float)) for n, v in many.items() if n >= 2}
    passed = (no_nan(one, *many.values()) and bool(gap) and all_at_most(slack, t["atol"])
              and all_above(gap, t["strict"]))
    return Verdict(passed, {"slack": slack, "strict_gap": gap})


def js_per_sample_nonincreasing(per_sample) -> Verdict:
    """ch4.js-per-sample-nonincreasing from JS^(N)/N, shape (N = 1, 2, ..., q)."""
    per_sample = np.asarray(per_sample, dtype=float)
    rise = worst(np.diff(per_sample, axis=0))
    return Verdict(no_nan(per_sample) and bool(rise <= threshold("ch4.js-per-sample-nonincreasing")["atol"]),
                   {"largest_increase": rise})


def dip_widths(qs, js_bits) -> list[float]:
    """For each row of ``js_bits`` (N, q), the width of {q : JS < saturated_bits} (0 if empty; NaN if a NaN)."""
    level, qs = threshold("ch4.js-bounded")["saturated_bits"], np.asarray(qs, dtype=float)
    widths = []
    for row in np.asarray(js_bits, dtype=float):
        below = qs[row < level]
        widths.append(float("nan") if np.isnan(row).any() else float(np.ptp(below)) if below.size else 0.0)
    return widths


def js_bounded(qs, js_bits) -> Verdict:
    """ch4.js-bounded from JS^(N) in bits, shape (N along the claim's list, q)."""
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
    return Verdict(passed, {"bounded": bounded, "smallest_change": smallest_change, "dip_width": widths,
                            "saturated": len(saturated), "narrowing": narrowing})


def relative_penalty(qs, js_bits: Mapping) -> dict:
    """``{N: mean JS^(N) over the low-entropy q / mean over the completely wrong q}`` (the claim's ranges)."""
    t, qs = threshold("ch4.low-entropy-penalty"), np.asarray(qs, dtype=float)
    low = (qs > t["low"][0]) & (qs < t["low"][1])
    wrong = (qs > t["wrong"][0]) & (qs < t["wrong"][1])
    return {n: float(np.mean(np.asarray(v, dtype=float)[low]) / np.mean(np.asarray(v, dtype=float)[wrong]))
            for n, v in js_bits.items()}


def low_entropy_penalty(qs, js_bits: Mapping) -> Verdict:
    """ch4.low-entropy-penalty: the relative penalty increases strictly along the N of ``js_bits``."""
    ratio = relative_penalty(qs, js_bits)
    ordered = [ratio[n] for n in sorted(ratio)]
    return Verdict(len(ordered) >= 2 and no_nan(ordered) and bool(np.all(np.diff(ordered) > 0)), {"ratio": ratio})


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
    return Verdict(passed, {"kl_error": kl_err, "js_gap_bits": js_gap, "argmin": argmins, "at_p": at_p})

"""Verdicts of statistical claims from an effect and its 95 % interval over seeds.

A statistical claim states, before it is run, its ``Effect``: what is measured (a level of one set of
runs, or the difference between two sets, paired by seed where the two share seeds), the direction the
source claims, the smallest effect that counts and the number of seeds. ``judge`` then gives one of
three outcomes (Cumming 2014, "The new statistics"; equivalence-style reading of an interval):

- REPRODUCED: the whole interval lies beyond the smallest effect, in the claimed direction;
- NOT REPRODUCED: the whole interval lies short of it;
- INCONCLUSIVE: the interval straddles it; ``seeds_to_settle`` says how many seeds would settle it if
  the interval's half-width shrinks as 1/sqrt(n) around the same estimate.

A run cut short of the protocol a claim is about decides it only where every completion of the unseen
remainder would (``completions``): the bounds of partial identification (Manski 2003, "Partial
Identification of Probability Distributions", ch. 1), applied to the verdict.

Intervals: a percentile bootstrap over seeds with a fixed generator (Efron & Tibshirani 1993, ch. 13),
or the exact distribution-free interval of a median from its order statistics (the sign test's
interval, Conover 1999, sec. 3.2), or, for a share of seeds (0/1 per seed, e.g. "the variant beats the
baseline on this seed"), the exact Clopper-Pearson interval of a binomial proportion.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..validation import choose, positive_int

OUTCOMES = ("REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE")
METHODS = ("bootstrap", "sign", "binomial")
STATISTICS = ("mean", "median")
LEVEL = 0.95
MIN_SEEDS = 3  # fewer seeds give a bootstrap interval of (almost) no width: no interval at all
BOOTSTRAP = 10_000  # resamples
BOOTSTRAP_SEED = 0  # the bootstrap's generator: the same data give the same interval


@dataclass(frozen=True)
class Effect:
    """A claim's effect, declared before it is run.

    Attributes:
        name: what is measured, e.g. "HQ fraction, top-k minus baseline".
        direction: +1 when the claim says the effect is positive (larger is the claim), -1 when negative.
        smallest: the smallest effect that counts (>= 0, in the effect's units, in the claimed direction).
        n_seeds: seeds per set.
        paired: the two sets share seeds and the effect is the statistic of the per-seed differences.
        statistic: "mean" or "median" over seeds.
        method: "bootstrap", "sign" (exact, for a median; paired or one set only) or "binomial" (exact, for
            the share of 0/1 per-seed outcomes against a level).
        level: for one set of runs, the level the statistic is compared with (the effect is statistic
            minus level); None for a difference of two sets.
    """

    name: str
    direction: int
    smallest: float
    n_seeds: int
    paired: bool = True
    statistic: str = "mean"
    method: str = "bootstrap"
    level: float | None = None

    def __post_init__(self):
        if self.direction not in (1, -1) or isinstance(self.direction, bool):
            raise ValueError(f"direction must be +1 or -1, got {self.direction!r}")
        if not (isinstance(self.smallest, (int, float)) and math.isfinite(self.smallest) and self.smallest >= 0):
            raise ValueError(f"smallest must be a finite number >= 0, got {self.smallest!r}")
        positive_int("n_seeds", self.n_seeds)
        choose("statistic", self.statistic, STATISTICS)
        choose("method", self.method, METHODS)
        if self.method == "sign" and (self.statistic != "median" or not (self.paired or self.level is not None)):
            raise ValueError("method 'sign' is the exact interval of a median: it needs statistic='median' and "
                             "paired runs or one set of runs (a level)")
        if self.method == "binomial" and (self.statistic != "mean" or self.level is None):
            raise ValueError("method 'binomial' is the exact interval of a share of 0/1 outcomes: it needs "
                             "statistic='mean' and a level")


@dataclass(frozen=True)
class Result:
    """An effect's estimate, its interval and the outcome."""

    outcome: str
    estimate: float
    low: float
    high: float
    n: int
    smallest: float
    direction: int
    name: str = ""
    seeds_to_settle: int | None = None
    reason: str = ""

    def summary(self) -> str:
        """``effect +0.12 [0.05, 0.20] n=8 (smallest 0.02)``, with the seeds that would settle an
        INCONCLUSIVE one and the reason of one that was not judged."""
        text = f"effect {self.interval()} (smallest {_num(self.direction * self.smallest)})"
        if self.outcome == "INCONCLUSIVE" and self.seeds_to_settle is not None:
            text += f"; about {self.seeds_to_settle} seeds would settle it"
        return text + (f"; {self.reason}" if self.reason else "")

    def interval(self) -> str:
        """``+0.12 [0.05, 0.20] n=8``: the estimate, its interval and the number of seeds."""
        return f"{_signed(self.estimate)} [{_num(self.low)}, {_num(self.high)}] n={self.n}"

    def as_dict(self) -> dict:
        return asdict(self)


def _num(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _signed(x: float) -> str:
    return f"{x:+.3g}" if math.isfinite(x) else _num(x)


def declared(claim_id: str) -> Effect:
    """The effect a claim declares in the catalogue (``claims.Claim.effect``), before anything is run."""
    from ..pipeline.claims import CATALOGUE

    claim = CATALOGUE[choose("claim", claim_id, CATALOGUE)]
    if not claim.effect:
        raise ValueError(f"claim {claim_id!r} declares no effect (Claim.effect is empty)")
    return Effect(**claim.effect)


def seed_block(seed: int, n: int) -> list[int]:
    """The ``seed``-th block of ``n`` seeds, ``[seed n, ..., seed n + n - 1]``: seed 0 is the published set,
    seed 1 the next, disjoint one (the chapters' ``seed`` parameter)."""
    from ..validation import seed as check_seed

    seed, n = check_seed(seed), positive_int("n", n)
    return list(range(seed * n, (seed + 1) * n))


def _stat(statistic: str):
    return np.mean if statistic == "mean" else np.median


def _array(name: str, values) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    if a.size == 0:
        raise ValueError(f"{name} must hold at least one value")
    return a


def bootstrap_interval(values, statistic: str = "mean", other=None, paired: bool = True,
                       level: float = LEVEL, resamples: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED
                       ) -> tuple[float, float, float]:
    """``(estimate, low, high)``: the statistic of ``values`` (minus that of ``other``, or of the paired
    differences) and its percentile-bootstrap interval over seeds, from a fixed generator."""
    stat = _stat(choose("statistic", statistic, STATISTICS))
    x = _array("values", values)
    rng = np.random.default_rng(seed)
    if other is None or paired:
        d = x if other is None else x - _paired(x, other)
        est = float(stat(d))
        boots = stat(d[rng.integers(0, len(d), (resamples, len(d)))], axis=1)
    else:
        y = _array("other", other)
        est = float(stat(x) - stat(y))
        boots = (stat(x[rng.integers(0, len(x), (resamples, len(x)))], axis=1)
                 - stat(y[rng.integers(0, len(y), (resamples, len(y)))], axis=1))
    alpha = (1 - level) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return est, float(low), float(high)


def _paired(x: np.ndarray, other) -> np.ndarray:
    y = _array("other", other)
    if y.shape != x.shape:
        raise ValueError(f"paired runs need as many values in both sets, got {len(x)} and {len(y)}")
    return y


def sign_interval(values, level: float = LEVEL) -> tuple[float, float, float]:
    """``(median, low, high)`` with the exact distribution-free interval of the median: the order statistics
    ``(x_(r), x_(n+1-r))`` with the largest r whose coverage ``1 - 2 P(Binomial(n, 1/2) < r)`` is at least
    ``level``. Fewer than 6 values cannot reach 95 %: the interval is then ``(-inf, inf)``."""
    from scipy.stats import binom

    x = np.sort(_array("values", values))
    n, r = len(x), 0
    while r + 1 <= n // 2 and 1 - 2 * binom.cdf(r, n, 0.5) >= level:  # P(Bin < r + 1) = cdf(r)
        r += 1
    if r == 0:
        return float(np.median(x)), -math.inf, math.inf
    return float(np.median(x)), float(x[r - 1]), float(x[n - r])


def binomial_interval(values, level: float = LEVEL) -> tuple[float, float, float]:
    """``(share, low, high)`` of per-seed 0/1 outcomes with the exact Clopper-Pearson interval."""
    from scipy.stats import binomtest

    x = _array("values", values)
    if not np.all((x == 0) | (x == 1)):
        raise ValueError(f"method 'binomial' needs 0/1 outcomes per seed, got {x.tolist()}")
    k, n = int(x.sum()), len(x)
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return k / n, float(ci.low), float(ci.high)


def judge(effect: Effect, values, other=None) -> Result:
    """The outcome of ``effect`` on the per-seed ``values`` (and ``other``, the set it is compared with).

    A NaN among the values, or fewer than ``MIN_SEEDS`` seeds, gives an INCONCLUSIVE result with an infinite
    interval and says so.
    """
    x = _array("values", values)
    if effect.level is None and other is None:
        raise ValueError(f"effect {effect.name!r} compares two sets of runs: give `other` (or declare a level)")
    if effect.level is not None and other is not None:
        raise ValueError(f"effect {effect.name!r} compares one set with the level {effect.level}: `other` "
                         f"must be None")
    n = len(x)
    if np.isnan(x).any() or (other is not None and np.isnan(_array("other", other)).any()):
        return Result("INCONCLUSIVE", math.nan, -math.inf, math.inf, n, effect.smallest, effect.direction,
                      effect.name, None, "a value is NaN")
    if n < MIN_SEEDS or (other is not None and len(_array("other", other)) < MIN_SEEDS):
        return Result("INCONCLUSIVE", math.nan, -math.inf, math.inf, n, effect.smallest, effect.direction,
                      effect.name, MIN_SEEDS, f"fewer than {MIN_SEEDS} seeds give no interval")
    if effect.method == "binomial":
        est, low, high = (v - effect.level for v in binomial_interval(x))
    elif effect.method == "sign":
        d = x - effect.level if effect.level is not None else x - _paired(x, other)
        est, low, high = sign_interval(d)
    else:
        est, low, high = bootstrap_interval(x, effect.statistic, other, effect.paired)
        if effect.level is not None:
            est, low, high = est - effect.level, low - effect.level, high - effect.level
    return _outcome(effect, est, low, high, n)


def _outcome(effect: Effect, est: float, low: float, high: float, n: int) -> Result:
    """Place the interval against the smallest effect, in the claimed direction."""
    s = effect.direction
    lo, hi, e = (low, high, est) if s > 0 else (-high, -low, -est)  # in the claimed direction
    if lo > effect.smallest:
        outcome = "REPRODUCED"
    elif hi < effect.smallest:
        outcome = "NOT REPRODUCED"
    else:
        outcome = "INCONCLUSIVE"
    settle = seeds_to_settle(e, lo, hi, effect.smallest, n) if outcome == "INCONCLUSIVE" else None
    return Result(outcome, est, low, high, n, effect.smallest, s, effect.name, settle)


def seeds_to_settle(estimate: float, low: float, high: float, smallest: float, n: int) -> int | None:
    """Seeds that would put the interval on one side of ``smallest`` if its half-width on that side shrank
    as 1/sqrt(n) around the same estimate: ``ceil(n (half / |estimate - smallest|)^2)``; None when the
    estimate sits on ``smallest`` or the interval is infinite (nothing can be said)."""
    gap = estimate - smallest
    half = estimate - low if gap > 0 else high - estimate
    if gap == 0 or not math.isfinite(half):
        return None
    return max(n + 1, math.ceil(n * (half / abs(gap)) ** 2))


# --- trained baselines -----------------------------------------------------------------------------
# The level a plain GAN reaches on the toy mixtures in PacGAN's Table 1 (Lin et al. 2018: grid 94.8 % HQ
# and 17.3 modes; ring 98.2 % and 6.3), rounded down to a level a trained baseline must clear. Modes
# are counted with at least ``metrics.min_count`` HQ samples each.
BASELINE_LEVELS: dict[str, dict[str, float]] = {
    "grid25": {"hq_fraction": 0.8, "modes_k": 15},
    "ring8": {"hq_fraction": 0.8, "modes_k": 6},
}


def baseline_trained(toy: str, hq_fraction, modes_k, *, statistic: str = "mean",
                     method: str = "bootstrap") -> Result:
    """Has the baseline trained? Its per-seed HQ fraction and modes (``modes_k``) against ``BASELINE_LEVELS``.

    Each metric is an effect "statistic minus level" (direction +1, smallest 0); REPRODUCED (trained)
    when both are, NOT REPRODUCED when either is, INCONCLUSIVE otherwise. The result's estimate and
    interval are those of the HQ fraction (the reason quotes the modes).
    """
    levels = BASELINE_LEVELS[choose("toy", toy, BASELINE_LEVELS)]
    hq, modes = _array("hq_fraction", hq_fraction), _array("modes_k", modes_k)
    results = [judge(Effect(f"{name} minus {lvl:g}", 1, 0.0, len(v), statistic=statistic, method=method,
                            level=lvl), v)
               for (name, lvl), v in zip(levels.items(), (hq, modes))]
    outs = [r.outcome for r in results]
    outcome = ("REPRODUCED" if all(o == "REPRODUCED" for o in outs) else
               "NOT REPRODUCED" if "NOT REPRODUCED" in outs else "INCONCLUSIVE")
    h, m = results
    reason = (f"{statistic} modes {_num(m.estimate + levels['modes_k'])} [{_num(m.low + levels['modes_k'])}, "
              f"{_num(m.high + levels['modes_k'])}] against {levels['modes_k']:g}")
    return Result(outcome, h.estimate, h.low, h.high, h.n, 0.0, 1, f"{statistic} HQ fraction minus "
                  f"{levels['hq_fraction']:g}", settling(outcome, results), reason)


def settling(outcome: str, sides) -> int | None:
    """The seeds that would settle an INCONCLUSIVE verdict made of several sides (each a ``Result``): the most
    that any undecided side needs (None when the verdict is decided, or no undecided side can say)."""
    need = [r.seeds_to_settle for r in sides if r.outcome == "INCONCLUSIVE" and r.seeds_to_settle is not None]
    return max(need) if outcome == "INCONCLUSIVE" and need else None


def gated(result: Result, baseline: Result) -> Result:
    """A comparison's result, INCONCLUSIVE when its baseline did not train (and saying so)."""
    if baseline.outcome == "REPRODUCED":
        return result
    return Result("INCONCLUSIVE", result.estimate, result.low, result.high, result.n, result.smallest,
                  result.direction, result.name, None,
                  f"the baseline did not train ({baseline.outcome.lower()}: {baseline.summary()})")


def completions(observed: Result, effect: Effect, favourable: tuple, unfavourable: tuple, unseen: str) -> Result:
    """The verdict of a run cut short of the claim's protocol: ``observed`` (the declared effect on the run as
    cut) stands only when the two extreme completions of what the cut leaves unseen give its outcome too.

    ``favourable`` and ``unfavourable`` are the ``(values, other)`` that ``judge`` takes with every unseen value
    at the end of its range most and least favourable to the claim. The bootstrap and exact intervals are
    monotone in each value, so every other completion's outcome lies between these two; when they differ the
    result is INCONCLUSIVE, its reason naming ``unseen`` and both completions (no count of seeds settles it).
    """
    best, worst = judge(effect, *favourable), judge(effect, *unfavourable)
    if best.outcome == worst.outcome == observed.outcome:
        return observed
    return Result("INCONCLUSIVE", observed.estimate, observed.low, observed.high, observed.n, observed.smallest,
                  observed.direction, observed.name, None,
                  f"{unseen} decide it: completed most favourably {best.interval()} ({best.outcome}), least "
                  f"{worst.interval()} ({worst.outcome})")

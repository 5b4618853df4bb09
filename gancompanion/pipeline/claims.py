"""The claims registry: every claim of the sources as an executable check with one stable line.

A notebook computes the evidence and calls ``report(...)``, which prints
``CLAIM <id>: PASS|FAIL|SKIP <short evidence>`` for an exact check, or, for a statistical claim judged from
an effect and its interval (``verdicts.judge``),
``CLAIM <id>: REPRODUCED|NOT REPRODUCED|INCONCLUSIVE effect +0.12 [0.05, 0.20] n=8 (smallest 0.02) ...``,
and writes a JSON record (atomically) under
``results_dir()/claims/<scale>/seed<seed>/<id>.json``. The ledger page of the book is built from those
records and from ``CATALOGUE``, so a claim that was never checked shows up too.

Thresholds live here, next to the statement they test, and come from the source or the paper it discusses:
never from a result.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..files import atomic_write_text
from .scales import SCALES
from ..validation import choose

STATUSES = ("PASS", "FAIL", "SKIP", "REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE")


@dataclass(frozen=True)
class Claim:
    id: str
    chapter: str  # notebook stem, e.g. "01_perfect_discriminator"
    statement: str  # what the source says, in our words
    source: str  # who says it, and where
    check: str  # how we test it, with the threshold
    kind: str = "stat"  # "exact": identity checked to a tight tolerance; "stat": statistical
    min_scale: str = "smoke"  # smallest scale at which the check is meaningful
    threshold: dict = field(default_factory=dict)  # the numbers ``check`` states; notebooks read them here
    figure: str = ""  # the ``:name:`` label of the glued figure the claim belongs to ("" if none)
    effect: dict = field(default_factory=dict)  # a statistical claim's declared effect (``verdicts.Effect``'s fields)
    why_not_below: str = ""  # why it is not checked below ``min_scale`` (the SKIP line; "": SHORT; at smoke: SHORT)


SHORT = "the runs are too short to test it"
_CH1 = "01_perfect_discriminator"
_AB = "Arjovsky & Bottou (2017), via Hui"
_CH3 = "03_instance_noise_to_regularisation"
_HUSZAR = "Huszar (2017), 'From instance noise to gradient regularisation'"
_MESCHEDER = "Mescheder, Geiger & Nowozin (2018)"
_CH4 = "04_minibatch_divergences"
_MINIBATCH = "Huszar (2016), 'Understanding minibatch discrimination in GANs'"
_CH5 = "05_improved_techniques"
_SALIMANS = "Salimans et al. (2016), 'Improved techniques for training GANs'"
_CH2 = "02_supports_do_not_overlap"
_LEE = "Lee, 'Tips for improving GAN'"
_GULRAJANI = "Gulrajani et al. (2017), 'Improved training of Wasserstein GANs'"
_CH6 = "06_five_plus_n_tricks"
_TRICKS = "'5+n tricks for GANs'"
_GRID_K = ("Grid of 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05 (VEEGAN/PacGAN); 2500 samples per seed from "
           "fixed latents; high quality (HQ) = within 3 std of the nearest mode; a mode covered = >= 10 HQ samples "
           "(metrics.min_count: a tenth of its fair share; noise covers at most 2)")
_GRID = ("Grid of 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05 (VEEGAN/PacGAN); 2500 samples per seed from fixed "
         "latents; high quality (HQ) = within 3 std of the nearest mode, a mode covered = >= 1 HQ sample")

BASELINE_CH6 = "ch6.grid-baseline-trained"
_N_CH6 = 16  # seeds per variant at `book` (scales "ch6.tricks"); the published set is seeds 0-15, the disjoint 16-31
_GRID6 = ("Grid of 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05 (VEEGAN/PacGAN), standardised to unit spread; 2500 "
          "samples per seed from fixed latents; high quality (HQ) = within 3 std of the nearest mode; a mode is "
          "covered with >= k = 10 HQ samples")
_HELPS = ("the mean rise of the final HQ fraction has a 95 % bootstrap interval above 0.02 (4 binomial standard errors "
          "of an HQ fraction near 0.95 at 2500 samples, rounded up) AND the mean change in modes covered has its "
          "interval above -1 (no mode lost); NOT REPRODUCED if either interval lies short of its bound.")


def _hq_effect(name: str) -> dict:
    """A paired rise of the HQ fraction whose smallest effect is 0.02: 4 binomial standard errors of an HQ
    fraction near the baseline's level 0.95 at 2500 samples, sqrt(0.95 * 0.05 / 2500) = 0.0044, rounded up."""
    return dict(name=name, direction=1, smallest=0.02, n_seeds=_N_CH6, paired=True, statistic="mean",
                method="bootstrap")


CATALOGUE: dict[str, Claim] = {c.id: c for c in [
    Claim("ch1.perfect-discriminator", _CH1,
          "A discriminator trained from scratch against a frozen generator quickly becomes perfect: "
          "accuracy 1 within a few hundred iterations, and its loss keeps falling by orders of magnitude.",
          _AB + ", Fig. 1",
          "For every generator checkpoint: the running-average accuracy reaches 0.99 within the first 500 "
          "iterations (or the whole run, if shorter) and the final running-average cross-entropy is at most "
          "1/100 of the initial one; a NaN anywhere fails.",
          threshold={"accuracy": 0.99, "within": 500, "ce_fall": 100.0}, figure="fig-ab-1"),
    Claim("ch1.gradient-vanishes", _CH1,
          "With the original cost log(1 - D(G(z))) the generator's gradient vanishes as the discriminator "
          "improves (paper: 'in the best case 5 orders of magnitude after 4000 discriminator iterations').",
          _AB + ", Fig. 2 and Thm 2.4",
          "For every generator checkpoint, the batch-mean gradient norm at the end (geometric mean over the "
          "last 10% of measurements) is at least 100 times below its peak; a NaN fall (a diverged probe) fails.",
          threshold={"fall": 100.0, "tail": 0.1}, figure="fig-ab-2"),
    Claim("ch1.nonsaturating-unstable", _CH1,
          "With the -log D cost the gradient does not vanish: its norm and its variance grow as the "
          "discriminator trains.",
          _AB + ", Fig. 3 and Thm 2.6",
          "For every generator checkpoint, both the batch-mean gradient norm and its standard deviation over "
          "batches are larger over the last 10% of measurements than over the first 10% (geometric means); "
          "a NaN fails.",
          threshold={"growth": 1.0, "tail": 0.1}, figure="fig-ab-3"),
    Claim("ch1.noise-keeps-gradient", _CH1,
          "With instance noise on the discriminator's inputs, the original-cost gradient stays away from zero "
          "even as the discriminator trains.",
          _AB + ", sec. 3 ('Towards softer metrics and distributions')",
          "For every generator checkpoint, with Gaussian noise of std sigma = 0.5 Delta on both real and generated "
          "inputs (Delta: the distance between the mean real and the mean generated image of that checkpoint; "
          "noise comparable to the gap, so that the blurred sets overlap), the final batch-mean gradient norm "
          "(as in ch1.gradient-vanishes: geometric mean over the last 10% of measurements) is less than 10 times "
          "below its peak; a NaN fails.",
          threshold={"fall": 10.0, "noise_scale": 0.5, "tail": 0.1}, figure="fig-ch1-noise"),
    Claim("ch3.noise-smooths-js", _CH3,
          "Instance noise changes the divergence: d_sigma[Q||P] = d[Q*N_sigma || P*N_sigma]. Between two point "
          "masses the plain JS is flat at log 2 (no gradient), the noise-smoothed one is smooth with a non-zero "
          "gradient.",
          _HUSZAR + "; Arjovsky & Bottou (2017), sec. 3",
          "P = delta_0, Q = delta_theta on a grid of theta in [-2, 2]: without noise, the JS of the two point masses "
          "computed from their atoms (js_smoothed with sigma 0) is log 2 to 1e-12 at every theta != 0 and 0 at "
          "theta = 0, and its central difference (step 1e-5) is 0 to 1e-12; for every sigma in {0.2, 0.5, 1}, by "
          "quadrature: 0 < JS < log 2, dJS/dtheta has the sign of theta (never 0), and the analytic derivative "
          "matches central differences (step 1e-5) to a relative 1e-4 wherever |dJS/dtheta| > 1e-6 (below that "
          "the differences are lost to rounding near log 2). A NaN anywhere fails.",
          kind="exact", threshold={"atol": 1e-12, "fd_step": 1e-5, "fd_rtol": 1e-4, "fd_min_grad": 1e-6},
          figure="fig-ch3-js"),
    Claim("ch3.taylor-order", _CH3,
          "Roth et al.'s regulariser is the second-order Taylor term of instance noise: the noisy objective at the "
          "optimal logit equals the clean one minus (sigma^2/2) Omega, up to higher-order terms.",
          _HUSZAR + "; Roth et al. (2017), sec. 3",
          "P = N(0, 1), Q = N(0.5, 1.5^2), optimal logit log p/q: the gap |F_sigma - F + sigma^2/2 Omega| at 9 "
          "sigmas log-spaced in [0.01, 0.3], F_sigma - F by quadrature and Omega by the regulariser the chapter "
          "trains with (Roth et al.'s, d_terms.roth_js, on 10^6 equal-probability nodes of P and of Q); its "
          "log-log slope must be within 1 of 4. Theory: the "
          "error is O(sigma^4). The noise is symmetric, so the expansion has even orders only: a missing, "
          "sign-flipped or mis-scaled sigma^2 term leaves an O(sigma^2) error (slope 2), and 1 is half the distance "
          "between neighbouring orders. A NaN or zero gap fails.",
          kind="exact", threshold={"order": 4.0, "tolerance": 1.0}, figure="fig-ch3-taylor"),
    Claim("ch3.regulariser-faster", _CH3,
          "On the 7-Gaussian ring embedded in 3-D, the regularisation helps the network converge to a good "
          "solution quicker.",
          _HUSZAR + ", on Roth et al. (2017) Fig. 1",
          "The step at which a run first covers all 7 modes, a mode covered by at least k = ceil(n / (10 K)) = 36 of "
          "n = 2500 samples within 3 std of it in 3-D (a tenth of its fair share: a diffuse generator covers none), "
          "evaluated every 500 steps; a run that never covers them counts as its length plus one evaluation. Effect: "
          "Roth et al.'s (gamma 0.1) minus the unregularised run's, paired by seed, mean over 8 runs (the paper: 3) "
          "with a 95% bootstrap interval. Smallest effect that counts: 1000 steps, a tenth of the paper's interval "
          "between frames (10,000 steps). REPRODUCED when the interval lies below -1000 steps. A run shorter than the "
          "paper's 100,000 steps decides it only when its uncovered runs, covering at the next evaluation or never "
          "(100,000 plus one evaluation) whichever is least and most favourable to the claim, give the same outcome; "
          "otherwise INCONCLUSIVE.",
          min_scale="book", figure="fig-ch3-roth-curves",
          effect=dict(name="steps to first cover all 7 modes, Roth minus unregularised", direction=-1, smallest=1000.0,
                      n_seeds=8, paired=True, statistic="mean", method="bootstrap")),
    Claim("ch3.regulariser-stable", _CH3,
          "... and then stays there in a stable manner.",
          _HUSZAR + ", on Roth et al. (2017) Fig. 1",
          "Per run with Roth's regulariser: the fraction of the evaluations after its first full coverage (all 7 modes "
          "with >= 36 of 2500 samples within 3 std each) that still cover all 7; 0 for a run that never covers them "
          "or does so only at its last evaluation. Effect: the mean over 8 runs (the paper: 3) minus 0.9 (nine in ten "
          "later evaluations), with a 95% bootstrap interval; REPRODUCED when it lies above 0. A run shorter than the "
          "paper's 100,000 steps decides it only when every continuation of its runs to that length (each unseen "
          "evaluation keeping all 7 modes, or none) gives the same outcome; otherwise INCONCLUSIVE.",
          min_scale="book", threshold={"kept": 0.9}, figure="fig-ch3-roth-curves",
          effect=dict(name="fraction of later evaluations keeping all 7 modes, Roth, minus 0.9", direction=1,
                      smallest=0.0, n_seeds=8, paired=False, statistic="mean", method="bootstrap", level=0.9)),
    Claim("ch3.dirac-unreg-cycles", _CH3,
          "On the Dirac-GAN, unregularised simultaneous gradient descent does not converge: it moves away from "
          "the equilibrium.",
          _MESCHEDER + ", sec. 2-3 and the DiracGAN notebook",
          "From (1, 1) with h = 0.2: the distance to (0, 0) after 500 simultaneous steps exceeds the initial one, "
          "and the linearised step's largest eigenvalue modulus, from the numerical Jacobian, equals the closed "
          "form sqrt(1 + h^2/4) > 1 to 1e-8.",
          kind="exact", threshold={"modulus_tol": 1e-8}, figure="fig-ch3-dirac"),
    Claim("ch3.dirac-r1-converges", _CH3,
          "On the Dirac-GAN, instance noise and the zero-centred gradient penalty R1 make gradient descent "
          "converge to the equilibrium.",
          _MESCHEDER + ", sec. 3-4 and the DiracGAN notebook",
          "R1 (gamma 0.3) and instance noise (sigma 0.7), simultaneous and alternating GD, h = 0.2, 500 steps "
          "from (1, 1): the final distance to (0, 0) is below 1% of the initial one in all four runs, and both "
          "Jacobians at the equilibrium have eigenvalues with negative real parts; a NaN fails.",
          kind="exact", threshold={"shrink": 0.01}, figure="fig-ch3-dirac"),
    Claim("ch4.kl-additive", _CH4,
          "KL divergence adds up over i.i.d. samples, KL[P^(N) || Q^(N)] = N KL[P || Q], so discriminating "
          "minibatches leaves a KL objective unchanged.",
          _MINIBATCH,
          "P = Bernoulli(0.2), Q = Bernoulli(q) on 201 q in [0, 1], N in {1, 2, 3, 8}, both directions (KL[P||Q] "
          "and KL[Q||P]), with KL the closed-form single-sample Bernoulli divergence (so that N = 1 compares the "
          "binomial route with it): |KL^(N) - N KL| <= 1e-9 max(1, N KL) wherever KL is finite, KL^(N) is "
          "infinite exactly where KL is, and no value is NaN.",
          kind="exact", threshold={"rtol": 1e-9}, figure="fig-ch4-js"),
    Claim("ch4.js-subadditive", _CH4,
          "JS divergence does not add up: JS[P^(N) || Q^(N)] <= N JS[P || Q].",
          _MINIBATCH,
          "Same grid, JS the closed-form single-sample Bernoulli divergence (nats): JS^(N) <= N JS + 1e-12 at every "
          "q and every N in {1, 2, 3, 8}, and the inequality is strict (by more than 1e-6) somewhere for every "
          "N >= 2; a NaN fails.",
          kind="exact", threshold={"atol": 1e-12, "strict": 1e-6}, figure="fig-ch4-js"),
    Claim("ch4.js-per-sample-nonincreasing", _CH4,
          "For fixed P and Q, JS[P^(N) || Q^(N)] / N is monotonically non-increasing in N.",
          _MINIBATCH,
          "Same grid of q: JS^(N)/N <= JS^(N-1)/(N-1) + 1e-12 for every N = 2 ... 64 and every q; a NaN fails.",
          kind="exact", threshold={"atol": 1e-12}, figure="fig-ch4-saturation"),
    Claim("ch4.js-bounded", _CH4,
          "JS is bounded by 1 bit, so minibatch JS saturates: as N grows it tends to 1 bit almost everywhere, "
          "except for a dip down to 0 around q = p.",
          _MINIBATCH,
          "Same grid, N in {1, 2, 3, 8, 32, 128, 512}: 0 <= JS^(N) <= 1 bit (+1e-12) everywhere; JS^(N) is "
          "non-decreasing in N at every q (-1e-12); the width of {q : JS^(N) < 0.99 bit} never grows along the "
          "list of N, and strictly decreases from the first N at which it is below the whole interval, which "
          "must happen for at least two N of the list (otherwise 'strictly decreases' tests nothing); a NaN "
          "fails.",
          kind="exact", threshold={"atol": 1e-12, "saturated_bits": 0.99, "min_saturated": 2},
          figure="fig-ch4-saturation"),
    Claim("ch4.low-entropy-penalty", _CH4,
          "For the JS-GAN, minibatch discrimination changes the objective non-trivially: it assigns a higher "
          "relative penalty to low-entropy generators (q < 0.1) compared with completely wrong ones (q > 0.5).",
          _MINIBATCH + ", summary",
          "Same grid: the mean of JS^(N) over q in (0, 0.1) divided by its mean over q in (0.5, 1) increases "
          "strictly along N = 1, 2, 3, 8; a NaN fails.",
          kind="exact", threshold={"low": (0.0, 0.1), "wrong": (0.5, 1.0)}, figure="fig-ch4-js"),
    Claim("ch4.preference-kl", _CH4,
          "The adversarial preference loss minimises d[Q x P || P x Q]; with d = KL this boils down to "
          "single-sample divergences (the source: 'the same thing as the original GAN'), with d = JS to "
          "'something weird'.",
          _MINIBATCH + ", 'Bonus track: adversarial preference loss'",
          "Same grid, interior q, single-sample divergences in closed form: |KL[Q x P || P x Q] - KL[Q||P] - "
          "KL[P||Q]| <= 1e-9 max(1, KL[Q x P || P x Q]) (relative above 1 bit, absolute below, as for "
          "ch4.kl-additive); JS[Q x P || P x Q] differs from JS[Q||P] + JS[P||Q] by more than 1e-3 bit at some q; "
          "both are minimised at the grid point nearest q = p; a NaN fails.",
          kind="exact", threshold={"rtol": 1e-9, "js_gap_bits": 1e-3}, figure="fig-ch4-preference"),
    Claim("ch2.js-saturates", _CH2,
          "When two distributions do not overlap, JS is log 2, KL infinite and TV 1 however far apart they are, "
          "while the earth mover's distance W = |theta| measures how far.",
          _LEE + "; Arjovsky, Chintala & Bottou (2017), Example 1 and Fig. 1",
          "Parallel lines P_0 = (0, Z), P_theta = (theta, Z), Z ~ U[0, 1], closed forms on 81 theta in [-1, 1]: "
          "JS = log 2, KL = inf, TV = 1 exactly at every theta != 0, all 0 at theta = 0, W = |theta|.",
          kind="exact", figure="fig-ch2-lines"),
    Claim("ch2.estimates-saturate", _CH2,
          "A trained GAN discriminator's estimate of JS sits at log 2 whatever the distance between the lines, "
          "while a WGAN critic's estimate of W follows the distance.",
          _LEE + "; Arjovsky, Chintala & Bottou (2017), sec. 4 and Fig. 1",
          "The lines of ch2.js-saturates at 9 theta, one discriminator and one WGAN-GP critic (lambda 10) per theta "
          "and seed, medians over seeds on fresh batches: the discriminator's log 2 - L_D/2 is >= 0.9 log 2 at every "
          "|theta| >= 0.25 and <= 0.1 log 2 at theta = 0; the critic's E f(P_0) - E f(P_theta) is within 20% of "
          "|theta| at every |theta| >= 0.25.",
          min_scale="book", threshold={"js_frac": 0.9, "js_zero_frac": 0.1, "w_rtol": 0.2, "theta_min": 0.25},
          figure="fig-ch2-lines"),
    Claim("ch2.emd-lp-matches", _CH2,
          "The earth mover's distance is the cost of the best moving plan: a linear program over plans whose rows "
          "sum to P and columns to Q.",
          _LEE + "; Arjovsky, Chintala & Bottou (2017), eq. 1",
          "The LP optimum (HiGHS) equals the 1-D closed form (the integral of |F_P - F_Q|) and "
          "scipy.stats.wasserstein_distance to a relative 1e-9 (absolute 1e-12) for the drawn example and 200 random "
          "pairs of 1-D discrete distributions; the plan is >= 0 and its marginals equal P and Q to 1e-9.",
          kind="exact", threshold={"rtol": 1e-9, "atol": 1e-12, "n_random": 200}, figure="fig-ch2-plan"),
    Claim("ch2.clipping-explodes-or-vanishes", _CH2,
          "With weight clipping, the gradient of a deep critic's loss grows or decays exponentially as it flows "
          "back through the layers; with the gradient penalty it stays of one size.",
          _GULRAJANI + ", Fig. 1b",
          "12-layer ReLU critic without batch norm against a fixed generator (Swiss roll plus unit noise); the norm "
          "of the critic loss's gradient with respect to the input of each of the 12 layers, median over seeds: "
          "for every c in {0.1, 0.01, 0.001} the first and last layers' norms differ by a factor >= 100 (either "
          "way); with the penalty (lambda 10) the largest and smallest layer norms differ by a factor <= 10.",
          min_scale="book", threshold={"clip_ratio": 100.0, "gp_ratio": 10.0}, figure="fig-ch2-deep"),
    Claim("ch2.gp-unit-gradient", _CH2,
          "A critic trained to optimality with the gradient penalty has input gradients of norm close to 1 on the "
          "points between data and generator where the penalty samples, as the optimal Kantorovich-Rubinstein "
          "critic does.",
          _GULRAJANI + ", Prop. 1 and sec. 4",
          "Critics trained with lambda = 10 against the fixed generator (data plus unit noise) on 8 Gaussians, "
          "25 Gaussians and the Swiss roll: for every dataset and seed the median of |grad D(x^)| over 4096 "
          "penalty points x^ = e x + (1 - e) x~ lies in [0.8, 1.2].",
          min_scale="book", threshold={"low": 0.8, "high": 1.2, "n_points": 4096}, figure="fig-ch2-surfaces"),
    Claim("ch2.sn-lipschitz", _CH2,
          "Spectral normalisation bounds the discriminator's gradient norm everywhere: each layer is divided by its "
          "largest singular value, so the net's Lipschitz constant is at most the product of the normalised layers' "
          "spectral norms.",
          _LEE + "; Miyato et al. (2018), sec. 2",
          "A trained seed-batched SN-GAN discriminator (hinge loss; measured without its fixed output gain), per "
          "seed: its input-gradient norm on 10,000 "
          "random inputs in [-6, 6]^2 and on a batch of data never exceeds 1 times the estimate's lag, times "
          "1 + 1e-5. The lag is the product over the spectrally normalised layers of the spectral norms (by SVD) "
          "of the weights they use, sigma_SVD / sigma_estimate per layer: 1 when the power iteration has "
          "converged, and 1 for a discriminator without spectral normalisation, whose gradient is then unbounded.",
          kind="exact", threshold={"rtol": 1e-5, "n_inputs": 10_000}, figure="fig-ch2-sn"),
    Claim("ch2.sn-one-iteration", _CH2,
          "One power iteration at a time is enough: the estimate tracks the largest singular value as the "
          "weights train, so the normalised layers have spectral norm close to 1.",
          "Miyato et al. (2018), sec. 2.1 and Algorithm 1; " + _LEE,
          "The SN-GAN discriminators of ch2.sn-lipschitz (one iteration per training-mode forward pass, as in "
          "torch's spectral_norm) at the end of training: for every seed, the product of the normalised layers' "
          "spectral norms (by SVD) is at most 1.05.",
          min_scale="book", threshold={"bound_max": 1.05}, figure="fig-ch2-sn"),
    Claim("ch2.objectives-baseline-trained", _CH2,
          "Before the objectives are compared, the plain GAN they are compared around has trained: on the grid of 25 "
          "a plain GAN reaches 94.8 % high-quality samples and 17.3 modes (PacGAN's Table 1).",
          "Lin et al. (2018), Table 1 (the level); Goodfellow et al. (2014)",
          _GRID_K + ". The non-saturating GAN of the six-objective comparison (3 x 96 ReLU nets, batch 512, Adam 1e-3 "
          "decayed by a cosine to 1e-5, 10,000 generator steps, data standardised), 16 seeds (the objectives' 3 are "
          "its first): the mean over seeds of the HQ fraction minus 0.8 and of the covered modes minus 15, each with "
          "its 95 % bootstrap interval; trained (REPRODUCED) when both intervals lie above 0.",
          min_scale="book", threshold={"hq_fraction": 0.8, "modes_k": 15, "n_eval": 2500, "k_std": 3.0},
          figure="fig-ch2-objectives",
          effect=dict(name="plain GAN: mean HQ fraction minus 0.8 (and mean modes_k minus 15)", direction=1,
                      smallest=0.0, n_seeds=16, paired=False, statistic="mean", method="bootstrap", level=0.8)),
    Claim("ch2.gp-concentrates-on-modes", _CH2,
          "The gradient penalty trains where weight clipping does not: with the same nets, budget and seeds, "
          "WGAN-GP concentrates the generator's mass on the modes (clipped critics ignore the data's higher moments "
          "and learn overly simple functions).",
          _GULRAJANI + ", sec. 1, 4 and Fig. 1; " + _LEE,
          _GRID_K + ". WGAN-GP (lambda 0.1) and WGAN with weights clipped at 0.01, 5 critic steps each, 10,000 "
          "generator steps (the budget of every objective), the same seeds: the HQ fraction at the last step, WGAN-GP "
          "minus clipping, mean of the per-seed differences with its 95 % bootstrap interval; the smallest effect "
          "that counts is 0.1 (one sample in ten moved onto a mode). Gated by ch2.objectives-baseline-trained.",
          min_scale="book", threshold={"n_eval": 2500, "k_std": 3.0}, figure="fig-ch2-objectives",
          effect=dict(name="HQ fraction at the budget, WGAN-GP minus WGAN (clip), paired by seed", direction=1,
                      smallest=0.1, n_seeds=3, paired=True, statistic="mean", method="bootstrap")),
    Claim("ch2.gp-faster-than-clipping", _CH2,
          "WGAN-GP trains faster than WGAN with weight clipping (Gulrajani et al.: 'converges faster' in generator "
          "iterations and in wall-clock time).",
          _GULRAJANI + ", sec. 5 and Fig. 3; " + _LEE,
          _GRID_K + ". The runs of ch2.gp-concentrates-on-modes, evaluated every 500 generator steps: per seed, the "
          "first step at which the run is at the trained level (HQ fraction >= 0.8 and >= 15 covered modes), a run "
          "that never gets there counted at the budget plus one interval (10,500); clipping minus WGAN-GP, "
          "mean of the per-seed differences with its 95 % bootstrap interval; the smallest effect that counts is one "
          "evaluation interval, 500 steps (the measurement's resolution). A seed on which neither run gets there has "
          "an unknown difference, not a zero one: a NOT REPRODUCED resting on such seeds is INCONCLUSIVE. Gated by "
          "ch2.objectives-baseline-trained.",
          min_scale="book", threshold={"hq_fraction": 0.8, "modes_k": 15, "eval_every": 500},
          figure="fig-ch2-objective-curves",
          effect=dict(name="generator steps to the trained level, WGAN (clip) minus WGAN-GP, paired by seed",
                      direction=1, smallest=500.0, n_seeds=3, paired=True, statistic="mean", method="bootstrap")),
    Claim(BASELINE_CH6, _CH6,
          "A plain non-saturating GAN on the grid of 25 Gaussians reaches about 95 % high-quality samples and 17 "
          "modes (PacGAN's Table 1): the baseline every trick of the chapter is compared with has trained.",
          "Lin et al. (2018), PacGAN, Table 1",
          _GRID6 + ". The baseline (three hidden layers of 96, batch 512, Adam 1e-3 cosine to 1e-5, 10,000 steps, "
          "the grid standardised), 16 seeds: the mean over seeds of the final HQ fraction minus 0.80 and of the modes "
          "minus 15, each with a 95 % bootstrap interval above 0 (verdicts.baseline_trained).",
          min_scale="book", threshold={"hq_fraction": 0.8, "modes_k": 15, "n_eval": 2500, "k_std": 3.0},
          figure="fig-ch6-noise"),
    Claim("ch6.annealed-noise-helps", _CH6,
          "Instance noise on real and generated samples addresses disjoint supports; the noise can be reduced "
          "(annealed) over time to improve performance.",
          _TRICKS + ", trick 1; Sonderby et al. (2017)",
          _GRID6 + ". The baseline with instance noise on D's inputs, sigma_0 = 0.25 of the modes' spacing, "
          "annealed as sigma_0 * 0.01^(t/T), against the baseline, paired by seed: " + _HELPS,
          min_scale="book", threshold={"fraction_of_spacing": 0.25, "decay": 0.01, "mode_margin": 1},
          figure="fig-ch6-noise", effect=_hq_effect("HQ fraction, annealed noise minus none")),
    Claim("ch6.top-k-helps", _CH6,
          "Computing G's loss on the top-k samples D finds most realistic (k annealed from the batch down) helps: the "
          "bottom samples give updates that point away from the data manifold.",
          _TRICKS + ", trick 5; Sinha et al. (2020)",
          _GRID6 + ". The baseline with top-k, k = max(0.99^epoch, 0.5) B (an epoch = 1% of the run), against the "
          "baseline, paired by seed, on quality and coverage together: " + _HELPS,
          min_scale="book", threshold={"gamma": 0.99, "nu": 0.5, "mode_margin": 1},
          figure="fig-ch6-noise", effect=_hq_effect("HQ fraction, top-k minus baseline")),
    Claim("ch6.sn-robust", _CH6,
          "Spectral normalisation makes GAN training robust to its optimiser's settings: SN-GANs train well across "
          "learning rates where unnormalised ones degrade.",
          "Miyato et al. (2018), Fig. 1 (unconfirmed in our references); " + _TRICKS + ", trick 2",
          _GRID6 + ". The baseline with and without SN on D (one power iteration, output gain 4 / spacing) under "
          "Miyato et al.'s Adam settings: each seed's worst final HQ fraction over the settings, SN minus plain, "
          "paired by seed: the mean difference's 95 % bootstrap interval lies above 0.02.",
          min_scale="paper", threshold={"gain_rule": "4 / spacing", "power_iterations": 1},
          figure="", effect=_hq_effect("worst HQ fraction over Miyato et al.'s settings, SN minus plain"),
          why_not_below="its sweep, two models per Adam setting at the baseline's budget, three of them with five D "
                        "steps per G step, does not fit the chapter's time budget"),
    Claim("ch6.latent-optimisation-helps", _CH6,
          "Latent optimisation (one gradient step on z towards what D finds realistic before G's update, LOGAN) gives "
          "better samples and more stable training.",
          _TRICKS + ", trick 4; Wu et al. (2019)",
          _GRID6 + ". LOGAN as in Wu et al.'s Algorithm 1 (f = D(G(z)), natural gradient alpha 0.9, beta 5, both "
          "players' gradients through dz, |dz|^2 weight 0.1, z ~ U(-1, 1) clipped) against the same U(-1, 1) prior "
          "without the step, paired by seed: " + _HELPS,
          min_scale="paper", threshold={"alpha": 0.9, "beta": 5.0, "penalty": 0.1, "mode_margin": 1},
          figure="", effect=_hq_effect("HQ fraction, LOGAN minus no latent step"),
          why_not_below="two more models at the baseline's budget, one of them at about 3.8 times a plain step's "
                        "cost, do not fit the chapter's time budget"),
    Claim("ch6.truncation-tradeoff", _CH6,
          "Sampling latents from a truncated normal avoids the tails and the poorer samples they give, but also "
          "reduces the diversity of the samples.",
          _TRICKS + ", trick 3; Brock et al. (2019), sec. 3.1",
          _GRID6 + ". On the trained baseline, latents truncated at 0.5 against untruncated ones, paired by seed: the "
          "mean rise of the HQ fraction has a 95 % bootstrap interval above 0.02.",
          min_scale="book", threshold={"truncation": 0.5}, figure="fig-ch6-truncation",
          effect=_hq_effect("HQ fraction, truncated at 0.5 minus untruncated")),
    Claim("ch6.conditional-baseline-trained", _CH6,
          "A class-conditional GAN on the grid of 25 Gaussians, the class being the mode, trains at least to the level "
          "of a plain GAN (PacGAN's Table 1): the model truncation is tested on within a class has trained.",
          "Lin et al. (2018), PacGAN, Table 1; Mirza & Osindero (2014)",
          _GRID6 + ". The baseline's nets, data, optimiser and budget, conditioned by concatenation (the one-hot class "
          "appended to z for G and to x for D); 2500 samples per seed from fixed latents whose classes take turns: "
          "the mean over seeds of the final HQ fraction minus 0.80 and of the modes minus 15, each with a 95 % "
          "bootstrap interval above 0 (verdicts.baseline_trained).",
          min_scale="book", threshold={"hq_fraction": 0.8, "modes_k": 15, "n_eval": 2500, "k_std": 3.0},
          figure="fig-ch6-truncation-conditional"),
    Claim("ch6.truncation-tradeoff-conditional", _CH6,
          "Truncating the latent trades variety for fidelity: on a class-conditional generator, latents truncated "
          "near the centre give samples more faithful to their class and less varied.",
          "Brock et al. (2019), sec. 3.1; " + _TRICKS + ", trick 3",
          _GRID6 + ". On the trained class-conditional model, 2500 fixed latents per seed (100 per class) truncated "
          "entry-wise at 0.5 against untruncated, paired by seed. Fidelity: the fraction of a class's samples within "
          "3 std of THAT class's mode; variety: the RMS distance of a class's HQ samples from their mean over the "
          "data's (1.378 std), averaged over classes. REPRODUCED when the mean rise of fidelity has its 95 % "
          "bootstrap interval above 0 (truncation claims no size; the ideal generator's rise is 1 - e^-4.5 = 0.011) "
          "AND the mean change of variety has its interval below -0.1 (a tenth of the data's spread); NOT "
          "REPRODUCED if either interval lies short of its bound; gated by ch6.conditional-baseline-trained.",
          min_scale="book", threshold={"truncation": 0.5, "variety_fall": 0.1},
          figure="fig-ch6-truncation-conditional",
          effect=dict(name="within-class fidelity, truncated at 0.5 minus untruncated", direction=1, smallest=0.0,
                      n_seeds=_N_CH6, paired=True, statistic="mean", method="bootstrap")),
    Claim("ch6.refinement-improves-quality-drs", _CH6,
          "Rejection sampling with the discriminator (DRS) improves the quality of a trained GAN's samples.",
          _TRICKS + ", trick 3; Azadi et al. (2019)",
          _GRID6 + ". On the trained baseline, 2500 DRS samples per seed (gamma at the 80th percentile of F over a "
          "10,000-sample burn-in, eps 1e-6) against 2500 plain ones, paired by seed: " + _HELPS,
          min_scale="book", threshold={"percentile": 80, "eps": 1e-6, "burn_in": 10_000, "mode_margin": 1},
          figure="fig-ch6-refinement", effect=_hq_effect("HQ fraction, DRS minus plain")),
    Claim("ch6.refinement-improves-quality-ddls", _CH6,
          "Discriminator driven latent sampling (Langevin dynamics in latent space on -log p0(z) - d(G(z))) improves "
          "the quality of a trained GAN's samples.",
          _TRICKS + ", trick 3; Che et al. (2020)",
          _GRID6 + ". On the trained baseline, its 2500 fixed latents per seed each refined by 50 Langevin steps whose "
          "size is set by the rule 'typical total latent displacement <= 0.25 prior std', against the plain samples, "
          "paired by seed: " + _HELPS,
          min_scale="book", threshold={"steps": 50, "latent_budget": 0.25, "mode_margin": 1},
          figure="fig-ch6-refinement", effect=_hq_effect("HQ fraction, DDLS minus plain")),
    Claim("ch6.refinement-improves-quality-dgflow", _CH6,
          "Discriminator gradient flow in latent space improves the quality of a trained GAN's samples.",
          _TRICKS + ", trick 3; Ansari et al. (2021)",
          _GRID6 + ". On the trained baseline, its 2500 fixed latents per seed each refined by 25 DGFlow steps (KL, "
          "gamma 0.01) whose size is set by the rule 'typical total latent displacement <= 0.25 prior std', against "
          "the plain samples, paired by seed: " + _HELPS,
          min_scale="book", threshold={"steps": 25, "gamma": 0.01, "latent_budget": 0.25, "mode_margin": 1},
          figure="fig-ch6-refinement", effect=_hq_effect("HQ fraction, DGFlow minus plain")),
    Claim("ch6.drs-costlier", _CH6,
          "Rejection sampling with the discriminator is too expensive; DDLS and DGFlow are the better approach.",
          _TRICKS + ", trick 3",
          "The trained grid baseline's samples with the grid embedded in 256 dimensions (each added coordinate: the "
          "data's spread, and the generator's spread error measured in the plane; D optimal there): per seed, log10 "
          "of exact rejection sampling's (gamma 0) D evaluations per accepted sample (burn-in included) over DDLS's "
          "50 per refined sample; the mean's 95 % bootstrap interval lies above 0.",
          min_scale="book", threshold={"dim": 256, "chain_steps": 50}, figure="fig-ch6-drs-dimension",
          effect=dict(name="log10 D evaluations per sample, exact DRS over DDLS, at 256 dimensions", direction=1,
                      smallest=0.0, n_seeds=_N_CH6, paired=False, statistic="mean", method="bootstrap", level=0.0)),
    Claim("ch5.historical-averaging-converges", _CH5,
          "On the game with value (f(x) - 1)(y - 1), f(x) = x for x < 0 and x^2 otherwise, gradient descent goes into "
          "extended orbits and does not reach the equilibrium; with historical averaging it finds the equilibrium.",
          _SALIMANS + ", sec. 3.3",
          "Simultaneous gradient steps (x minimises, y maximises) from (0.5, 0.5), step 0.01, 10000 steps; the "
          "penalty weight * (theta - mean of past theta)^2 on each player. Theory: linearised at (1, 1) (u = x - 1,"
          " v = y - 1) the game rotates at rate omega = f'(1) = 2 (u' = -2v, v' = 2u: z = u + i v turns as z' = i "
          "omega z); with the penalty's pull 2 * weight towards the mean m, theta relaxes (at rate 2 * weight) onto"
          " theta* = (2 weight / (2 weight - i omega)) m, and m then moves as dm/dt = (theta* - m) / t = (i omega /"
          " (2 weight - i omega)) m / t, so the distance falls like t^a with a = -1 / (1 + w^2), w = 2 * weight / "
          "omega (w = 1 and a = -1/2 at weight 1). Check: without the penalty the final distance to (1, 1) is at "
          "least 0.5 times the initial one (it orbits, no decay); with it the least-squares slope of log distance "
          "against log step over the second half of the run is at most a + 0.1. The tolerance 0.1 is twice the "
          "theory's first-order corrections there: the nonlinearity (f'(x) = 2 + 2u changes omega by a relative "
          "|u|, and da/dlog omega = -1/2 at w = 1, with the distance <= 0.71 (5000 / 50)^(-1/2) = 0.07 from step "
          "5000 by the same theory, 50 steps being the relaxation time 1 / (2 * 0.01 * weight): 0.035), and the lag"
          " of theta behind theta* (the slow rate |omega / (2 weight - i omega)| / t over the fast 2 * 0.01 * "
          "weight per step: < 0.01).",
          kind="exact", threshold={"gd_min_ratio": 0.5, "rate_tolerance": 0.1, "fit_from": 0.5},
          figure="fig-ch5-game"),
    Claim("ch5.label-smoothing-less-confident", _CH5,
          "One-sided label smoothing (real targets 0.9, generated 0) keeps the discriminator from becoming "
          "over-confident: its optimum is D(x) = 0.9 p_data / (p_data + p_model), never above 0.9.",
          _SALIMANS + ", sec. 3.4",
          "A discriminator trained with train.d_step against a frozen untrained generator on the ring of 8: the mean "
          "D(x) on 2500 real samples at the end is at most 0.9 + 0.01 for every seed with real_target 0.9, and above "
          "0.99 for every seed without smoothing; with smoothing, the mean D(G(z)) on 2500 generated samples is "
          "below 1 - 0.99 for every seed (one-sided: the generated target stays 0, so two-sided smoothing fails).",
          threshold={"real_target": 0.9, "tolerance": 0.01, "confident": 0.99}, figure="fig-ch5-smoothing"),
    Claim("ch5.toy-baseline-trained", _CH5,
          "The ring ablation's baseline (a plain non-saturating GAN) has trained before the techniques are compared "
          "with it: PacGAN's plain GAN reaches 98.2% high-quality samples and 6.3 modes on the ring of 8.",
          "Lin et al. (2018), PacGAN, Table 1",
          "Ring of 8 (radius 1, std 0.01), 2500 samples per seed from fixed latents: the baseline's mean HQ fraction "
          "(within 3 std) at least 0.8 and its mean number of modes with >= k = 32 HQ samples each at least 6, each "
          "with its 95% bootstrap interval above the level (verdicts.baseline_trained).",
          min_scale="book", threshold={"hq_fraction": 0.8, "modes_k": 6}, figure="fig-ch5-toy"),
    Claim("ch5.minibatch-discrimination-reduces-collapse", _CH5,
          "Minibatch discrimination lets the discriminator look at samples in combination, so a generator that "
          "collapses onto a few modes is caught: it reduces mode collapse.",
          _SALIMANS + ", sec. 3.2",
          "Ring of 8 (radius 1, std 0.01; 2500 samples, high quality within 3 std): modes covered by at least k = 32 HQ "
          "samples each (a tenth of a mode's fair share; noise covers none) at the end, with a minibatch-discrimination "
          "layer minus the same baseline without it, paired by seed, mean over 10 seeds with a 95% bootstrap "
          "interval. Smallest effect that counts: 0.5 modes (one more mode on half of the seeds). REPRODUCED when the "
          "interval lies above 0.5; INCONCLUSIVE when the baseline did not train (ch5.toy-baseline-trained).",
          min_scale="book", threshold={"n_eval": 2500, "k_std": 3.0}, figure="fig-ch5-toy",
          effect=dict(name="modes (>= k HQ samples), minibatch discrimination minus baseline", direction=1,
                      smallest=0.5, n_seeds=10, paired=True, statistic="mean", method="bootstrap")),
    Claim("ch5.feature-matching-stabilises", _CH5,
          "Feature matching (the generator matches the mean of an intermediate discriminator layer on real data "
          "instead of maximising D's output) addresses the instability of overtraining on the current discriminator.",
          _SALIMANS + ", sec. 3.1",
          "Ring of 8, same baseline: the mode hopping (mean total-variation distance between consecutive snapshots' "
          "histograms of samples over their nearest modes, over the second half of training) has a median over seeds "
          "strictly below the baseline's.",
          min_scale="book", threshold={}, figure="fig-ch5-toy"),
    Claim("ch5.classifier-score-real-highest", _CH5,
          "The Inception score exp(E_x KL(p(y|x) || p(y))) rewards confident, diverse samples; real data score highest "
          "(the paper's Table 3: real CIFAR-10 11.24, its best model 8.09).",
          _SALIMANS + ", sec. 4 and Table 3",
          "With an in-house digits classifier (test accuracy at least 0.97 on held-out digits), the held-out real "
          "digits' classifier score is strictly higher than that of every GAN variant and seed of the digits ablation.",
          threshold={"min_accuracy": 0.97}, figure="fig-ch5-digits"),
    Claim("ch5.semi-supervised-helps", _CH5,
          "A GAN whose discriminator is a K+1-class classifier (K classes and 'generated'), trained on labelled and "
          "unlabelled data with feature matching, classifies better than the same network trained on the labels alone "
          "(the paper's Table 1: 93 +- 6.5 errors of 10000 on MNIST with 100 labels).",
          _SALIMANS + ", sec. 5 and Table 1",
          "Digits (1348 training images, 449 held out), for each number of labels per class: the K+1 GAN's test error "
          "minus that of the same discriminator trained with the same labels, steps and batch size on the labelled "
          "examples alone, paired by seed (each seed its own labelled subset); mean over 5 seeds with a 95% bootstrap "
          "interval. Smallest effect that counts: 2 percentage points of error (9 of the 449 held-out digits), twice "
          "the binomial standard error of one model's error near 5% on 449 digits (sqrt(0.05 0.95 / 449) = 1.0 "
          "point). REPRODUCED when the interval lies below -2 points at every count.",
          min_scale="book", threshold={}, figure="fig-ch5-semi",
          effect=dict(name="test error, K+1 GAN minus labels only", direction=-1, smallest=0.02, n_seeds=5,
                      paired=True, statistic="mean", method="bootstrap")),
]}


def _median(values) -> float:
    import numpy as np

    return float(np.median(np.asarray(values, dtype=float)))


def _gap(details: dict, a: str, b: str) -> float:
    """Median over seeds of ``details[a]`` minus that of ``details[b]``."""
    return _median(details[a]) - _median(details[b])


# Each claim's key number: (what it is, how to read it from the record's ``details``). The ledger shows its
# median and range over the seeds a claim was checked on, so a reader sees how far each verdict is from its
# threshold and how much it moves with the seed. Claims without an entry show their verdicts only.
KEY_NUMBERS: dict[str, tuple[str, Callable[[dict], float]]] = {
    "ch1.perfect-discriminator": ("iterations to perfect accuracy, slowest checkpoint",
                                  lambda d: max(d["first_perfect"].values())),
    "ch1.gradient-vanishes": ("smallest fall of the gradient (x)", lambda d: min(d["fall_from_peak"].values())),
    "ch1.nonsaturating-unstable": ("smallest growth of the norm (x)", lambda d: min(d["growth"].values())),
    "ch1.noise-keeps-gradient": ("largest fall of the gradient (x)", lambda d: max(d["fall_from_peak"].values())),
    "ch2.emd-lp-matches": ("largest relative error", lambda d: d["max_scaled_error"]),
    "ch2.gp-unit-gradient": ("largest |median gradient norm - 1| with the penalty",
                             lambda d: max(abs(v - 1) for k, vs in d.items() if "penalty" in k for v in vs)),
    "ch2.sn-lipschitz": ("largest gradient norm / (1 x the estimate's lag)",
                         lambda d: max(g / b for g, b in zip(d["grad_max"], d.get("lag", d["bound"])))),
    "ch2.sn-one-iteration": ("largest product of spectral norms", lambda d: max(d["bound"])),
    "ch3.taylor-order": ("fitted order", lambda d: d["slope"]),
    "ch3.dirac-unreg-cycles": ("modulus of the step's eigenvalue", lambda d: d["modulus"]),
    "ch4.kl-additive": ("largest relative error", lambda d: d["worst_relative"]),
    "ch5.classifier-score-real-highest": ("held-out digits' score", lambda d: d["real"]),
    "ch5.feature-matching-stabilises": ("median mode hopping, with minus without", lambda d: _gap(d, "fm", "baseline")),
    "ch5.historical-averaging-converges": ("fitted rate a with averaging (theory -1/(1+w^2))", lambda d: d["rate"]),
    "ch5.label-smoothing-less-confident": ("largest mean D(x), smoothed", lambda d: max(d["smooth"])),
    "ch6.annealed-noise-helps": ("median HQ fraction, annealed minus fixed",
                                 lambda d: _gap(d, "annealed noise", "fixed noise")),
    "ch6.sn-robust": ("worst median modes over learning rates, SN minus plain",
                      lambda d: min(_median(v) for k, v in d.items() if k.startswith("SN "))
                      - min(_median(v) for k, v in d.items() if k.startswith("plain "))),
    "ch6.latent-optimisation-helps": ("median HQ fraction, LOGAN minus baseline", lambda d: _gap(d, "variant", "baseline")),
    "ch6.top-k-helps": ("median HQ fraction, top-k minus baseline", lambda d: _gap(d, "variant", "baseline")),
    **{f"ch6.refinement-improves-quality-{m}": ("median HQ fraction, refined minus plain",
                                               lambda d: _gap(d, "refined", "plain")) for m in ("drs", "ddls", "dgflow")},
}


# The experiment (a key of ``scales.TABLE``) behind a claim, where its settings name what each scale departs
# from the paper's protocol (``departures``) or the scale whose verdict is the published one (``verdict_scale``).
PROTOCOLS: dict[str, str] = {
    "ch3.regulariser-faster": "ch3.roth",
    "ch3.regulariser-stable": "ch3.roth",
}


def protocol(claim_id: str, scale: str) -> tuple[str, str | None]:
    """``(departures, verdict_scale)`` of a claim's experiment at ``scale``: what differs there from the
    paper's protocol ("" if nothing is said), and the scale whose verdict the chapter publishes (None: the
    scale the book is built at)."""
    from .scales import TABLE

    entry = TABLE.get(PROTOCOLS.get(claim_id, ""), {}).get(scale, {})
    return str(entry.get("departures", "")), entry.get("verdict_scale")


def _mean(values) -> float:
    return float(sum(values) / len(values))


def key_number(record: dict) -> tuple[str | None, float | None]:
    """A record's key number ``(what, value)``: a statistical claim's effect estimate when it was judged from an
    interval (``verdicts.Result``), else by ``KEY_NUMBERS``; ``(None, None)`` for a claim without one or a
    record whose details do not hold it (a SKIP, an older record)."""
    verdict = record.get("verdict")
    if record.get("status") != "SKIP" and isinstance(verdict, dict) and verdict.get("estimate") is not None:
        return f"effect: {verdict.get('name') or 'estimate'}", float(verdict["estimate"])
    entry = KEY_NUMBERS.get(record.get("id"))
    if entry is None or record.get("status") == "SKIP":
        return None, None
    try:
        value = float(entry[1](record.get("details") or {}))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None, None
    return entry[0], value


def register(claim: Claim) -> Claim:
    """Add a claim to the catalogue (chapters that define their own claims call this)."""
    if claim.id in CATALOGUE and CATALOGUE[claim.id] != claim:
        raise ValueError(f"claim {claim.id!r} is already registered with a different definition")
    choose("min_scale", claim.min_scale, SCALES)
    choose("kind", claim.kind, ("exact", "stat"))
    if claim.effect:
        if claim.kind == "exact":
            raise ValueError(f"claim {claim.id!r} is exact: it has no effect and interval")
        from ..evaluation.verdicts import Effect

        Effect(**claim.effect)  # refuses a bad declaration now, not when the chapter runs
    CATALOGUE[claim.id] = claim
    return claim


def catalogue() -> dict[str, Claim]:
    """``CATALOGUE`` with the claims that chapter modules register (``register``), every one imported."""
    import importlib
    import pkgutil

    from .. import chapters

    for module in pkgutil.iter_modules(chapters.__path__):
        importlib.import_module(f"{chapters.__name__}.{module.name}")
    return CATALOGUE


def results_dir() -> Path:
    """Where claim records go: ``$GANCOMPANION_RESULTS``, else ``_build/results`` of the project
    (the nearest folder up from here holding ``_toc.yml``), else ``./gancompanion-results``."""
    env = os.environ.get("GANCOMPANION_RESULTS")
    if env:
        return Path(env)
    from ..files import project_root

    root = project_root(required=False)
    return root / "_build" / "results" if root is not None else Path.cwd().resolve() / "gancompanion-results"


def claims_dir() -> Path:
    """Where ``report`` writes records: ``$GANCOMPANION_CLAIMS`` (the runner's staging folder while it
    executes a chapter: it moves the records in only when the notebook succeeded), else
    ``results_dir()/claims``."""
    env = os.environ.get("GANCOMPANION_CLAIMS")
    return Path(env) if env else results_dir() / "claims"


def record_path(claim_id: str, scale: str, seed: int, base: Path | None = None) -> Path:
    """A claim's record for one scale and seed: ``<base>/<scale>/seed<seed>/<id>.json``."""
    return (base if base is not None else claims_dir()) / scale / f"seed{int(seed)}" / f"{claim_id}.json"


def _status(claim_id: str, passed) -> str:
    """PASS, FAIL or SKIP for a check's verdict; NaN is a FAIL (``bool(nan)`` is True, so never test truthiness).
    A ``verdicts.Result`` (a statistical claim's effect and interval) gives its outcome."""
    import numpy as np

    from ..evaluation.verdicts import Result

    if isinstance(passed, Result):
        return passed.outcome
    if passed is None:
        return "SKIP"
    if isinstance(passed, (bool, np.bool_)):
        return "PASS" if bool(passed) else "FAIL"
    if isinstance(passed, float) and math.isnan(passed):
        return "FAIL"
    raise TypeError(f"the verdict of claim {claim_id!r} must be True, False or None (not checked), "
                    f"got {passed!r} of type {type(passed).__name__}")


def report(claim_id: str, passed, evidence: str, *, scale: str, seed: int, device: str,
           details: dict | None = None, cost: dict | None = None) -> dict:
    """Print and record the outcome of a claim's check.

    Args:
        claim_id: a key of ``CATALOGUE``.
        passed: the check's verdict: ``True`` (PASS), ``False`` (FAIL) or ``None`` (SKIP: not checked, the
            evidence says why); a float NaN is a FAIL, never a PASS, and any other value is refused. For a
            statistical claim, a ``verdicts.Result``: its outcome is the status, and the line starts with its
            effect, interval and n (an exact claim refuses one). Ignored (SKIP) when ``scale`` is below the
            claim's ``min_scale``.
        evidence: a short, stable summary of the numbers behind the verdict (rounded, no timings); may be
            empty after a ``Result``.
        scale, seed, device: how the evidence was computed.
        details: the full numbers, kept in the JSON record.
        cost: the compute spent on the claim, ``{"runs", "steps", "seconds"}`` (``Chapter.cost``), kept in the
            record (never printed: a CLAIM line holds no timings).
    Returns:
        dict: the record written (the catalogue entry plus ``status``, ``evidence``, the printed ``line``,
        scale, seed, ...).
    """
    claim = CATALOGUE[choose("claim", claim_id, CATALOGUE)]
    choose("scale", scale, SCALES)
    from ..evaluation.verdicts import Result

    if isinstance(passed, Result) and claim.kind == "exact":
        raise TypeError(f"claim {claim.id!r} is exact: its verdict is True, False or None, not an effect's interval")
    verdict = _status(claim.id, passed)
    if isinstance(passed, Result):
        evidence = passed.summary() + (f"; {evidence}" if evidence else "")
    if SCALES.index(scale) < SCALES.index(claim.min_scale):
        status = "SKIP"
        line_evidence = (f"statistical claim, checked at scale '{claim.min_scale}' or larger "
                         f"(at '{scale}' {(scale != SCALES[0] and claim.why_not_below) or SHORT})")
    else:
        status = verdict
        line_evidence = evidence
    line = f"CLAIM {claim.id}: {status} {line_evidence}"
    print(line)
    from .. import __version__

    record = {**asdict(claim), "status": status, "evidence": evidence, "line": line, "scale": scale, "seed": int(seed),
              "device": str(device), "version": __version__, "details": details or {},
              "cost": dict(cost) if cost else None, "verdict": passed.as_dict() if isinstance(passed, Result) else None,
              "notebook": os.environ.get("GANCOMPANION_NOTEBOOK", claim.chapter),
              "checked_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    atomic_write_text(record_path(claim.id, scale, seed),
                      json.dumps(record, indent=1, default=float))
    return record


REQUIRED = ("id", "status", "scale", "seed")  # what every record has (the ledger is keyed on them)


def load_records(root: Path | None = None, problems: list | None = None) -> list[dict]:
    """All claim records under ``root`` (default ``results_dir()``), any scale and seed.

    A file that is not a whole record (truncated, not JSON, a field of ``REQUIRED`` missing) is left out
    and named, with the remedy, in ``problems`` (or in a warning when ``problems`` is None): one bad file
    never hides the others. A record whose chapter's latest run (same scale and seed) failed after it was
    committed has that failure under ``later_failure`` (``later_failures``).
    """
    import warnings

    base = (root or results_dir()) / "claims"
    failed = later_failures(root)
    records = []
    for p in sorted(base.glob("*/seed*/*.json")):
        try:
            record = json.loads(p.read_text())
            missing = [k for k in REQUIRED if k not in record] if isinstance(record, dict) else list(REQUIRED)
            why = f"it lacks {', '.join(missing)}" if missing else ""
        except (OSError, ValueError) as exc:
            why = f"it cannot be read ({type(exc).__name__}: {str(exc)[:80]})"
        if why:
            msg = (f"{p} is not a claim record: {why}; delete it, or run its chapter again "
                   f"(gancompanion run CHAPTER --force)")
            if problems is None:
                warnings.warn(msg, RuntimeWarning, stacklevel=2)
            else:
                problems.append(msg)
            continue
        later = failed.get((record.get("notebook"), record["scale"], record["seed"]))
        if later:
            record["later_failure"] = later  # a later run of its chapter failed: this verdict is stale
        records.append(record)
    return records


def later_failures(root: Path | None = None) -> dict[tuple[str, str, int], dict]:
    """``{(notebook, scale, seed): failure}`` for every chapter whose latest run failed after its records were
    committed (the runner's ``failures/`` notes; a later good run removes them): those records are stale."""
    base = (root or results_dir()) / "failures"
    out = {}
    for p in sorted(base.glob("*/seed*/*.json")) if base.is_dir() else []:
        try:
            info = json.loads(p.read_text())
            out[(p.stem, p.parent.parent.name, int(p.parent.name[4:]))] = info if isinstance(info, dict) else {}
        except (OSError, ValueError):
            continue
    return out


def differing(record: dict) -> list[str]:
    """The parameters of the record's run that differ from its chapter's defaults, as ``-p name=value``."""
    return [f"-p {k}={v!r}" if isinstance(v, str) else f"-p {k}={v}"
            for k, v in sorted(((record.get("run") or {}).get("differs") or {}).items())]


def made_by(record: dict) -> tuple[str, str]:
    """Which run made a record: scale, seed and the parameters that differ from the chapter's defaults
    (``[smoke seed 0 -p steps=2]``), and its device and thread count (``cpu, 1 thread``)."""
    run = record.get("run") or {}
    differs = "".join(f" {d}" for d in differing(record))
    where = ", ".join(x for x in (run.get("device") or record.get("device") or "",
                                  f"{run['threads']} thread{'s' if str(run['threads']) != '1' else ''}"
                                  if run.get("threads") else "") if x)
    return f"[{record['scale']} seed {record['seed']}{differs}]", where


def stale_note(record: dict) -> str:
    """One line saying that a later run of the record's chapter failed ("" if none did)."""
    later = record.get("later_failure")
    if not later:
        return ""
    error = (str(later.get("error") or "").splitlines() or [""])[0][:120]
    return (f"stale: the latest run of {record.get('notebook')} ({later.get('at', '?')}) "
            f"{later.get('status', 'failed')}{': ' + error if error else ''}; this verdict is from the run before it")


# --- the kept notebooks, their records and the expected verdicts ---------------------------------
# A verdict counts only if the executed notebook that is kept printed it: these functions read the
# CLAIM lines of ``_build/executed/<scale>/*.ipynb``, compare them with the committed expected
# verdicts (``tests/expected_claims_<scale>.json``, claim id -> status) and with the JSON records, and
# list every disagreement with the claim's id. ``python -m gancompanion.pipeline.claims --write-expected``
# rewrites the expected file from a smoke run: a deliberate, reviewed change.

LINE = re.compile(r"^CLAIM (?P<id>\S+): (?P<status>PASS|FAIL|SKIP|REPRODUCED|NOT REPRODUCED|INCONCLUSIVE)"
                  r"(?: .*)?$", re.M)


def notebook_claims(path: Path) -> dict[str, str]:
    """The ``CLAIM`` lines an executed notebook printed, ``{claim id: line}`` (a claim printed twice is an error)."""
    nb = json.loads(Path(path).read_text())
    lines: dict[str, str] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        text = "".join(o["text"] if isinstance(o["text"], str) else "".join(o["text"])
                       for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stdout")
        for m in LINE.finditer(text):
            if m["id"] in lines:
                raise ValueError(f"{Path(path).name} prints claim {m['id']!r} twice")
            lines[m["id"]] = m.group(0)
    return lines


def executed_notebooks(root: Path, scale: str) -> list[Path]:
    """The kept executed chapters at ``scale`` (``_build/executed/<scale>/NN_*.ipynb``, failed runs excluded)."""
    folder = Path(root) / "_build" / "executed" / choose("scale", scale, SCALES)
    return sorted(p for p in folder.glob("[0-9]*.ipynb") if not p.name.endswith(".failed.ipynb"))


def executed_claims(notebooks: list[Path]) -> dict[str, tuple[str, str]]:
    """``{claim id: (notebook stem, line)}`` over ``notebooks``; a claim printed by two notebooks is an error."""
    found: dict[str, tuple[str, str]] = {}
    for nb in notebooks:
        for cid, line in notebook_claims(nb).items():
            if cid in found:
                raise ValueError(f"claim {cid!r} is printed by both {found[cid][0]} and {Path(nb).stem}")
            found[cid] = (Path(nb).stem, line)
    return found


def status_of(line: str) -> str:
    """The status of a ``CLAIM`` line: PASS, FAIL or SKIP, or a statistical claim's REPRODUCED, NOT REPRODUCED
    or INCONCLUSIVE."""
    m = LINE.match(line)
    if m is None:
        raise ValueError(f"not a CLAIM line: {line!r}")
    return m["status"]


def expected_file(root: Path, scale: str = "smoke") -> Path:
    """Where the committed expected verdicts at ``scale`` live."""
    return Path(root) / "tests" / f"expected_claims_{choose('scale', scale, SCALES)}.json"


def load_expected(path: Path) -> dict[str, str]:
    """The expected verdicts ``{claim id: status}``; refuses unknown statuses and exact claims that are not PASS."""
    expected = json.loads(Path(path).read_text())
    bad = [f"{cid}: {st!r}" for cid, st in expected.items() if st not in STATUSES]
    bad += [f"{cid}: an exact claim must be PASS, the file says {st}" for cid, st in expected.items()
            if cid in CATALOGUE and CATALOGUE[cid].kind == "exact" and st != "PASS"]
    if bad:
        raise ValueError(f"{path}: " + "; ".join(bad))
    return expected


def verdict_problems(expected: dict[str, str], found: dict[str, tuple[str, str]], chapters: list[str]) -> list[str]:
    """Every claim whose printed status differs from ``expected``, that vanished, or that is new without an entry.

    ``chapters``: the stems of the chapters that exist (their notebooks must have printed every catalogued
    claim of theirs; an expected claim of another chapter is reported as vanished too).
    """
    problems = []
    for cid, (nb, line) in sorted(found.items()):
        status = status_of(line)
        if cid not in expected:
            problems.append(f"{cid}: new claim ({status} in {nb}) without an entry in the expected verdicts")
        elif expected[cid] != status:
            problems.append(f"{cid}: {status}, expected {expected[cid]} (in {nb}: {line})")
    for cid, status in sorted(expected.items()):
        if cid not in found:
            problems.append(f"{cid}: expected {status}, but no executed notebook printed it")
    for c in CATALOGUE.values():
        if c.chapter in chapters and c.id not in found and c.id not in expected:
            problems.append(f"{c.id}: catalogued for {c.chapter}, but its notebook printed no CLAIM line for it")
    return problems


def _time(stamp: str | None) -> _dt.datetime | None:
    if not stamp:
        return None
    t = _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def record_problems(notebooks: list[Path], scale: str, results: Path) -> list[str]:
    """Every claim printed by ``notebooks`` whose record under ``results/claims/<scale>/seed<seed>/`` is
    missing, says something else, or is older than the notebook's run (a record the kept notebook did not
    write)."""
    problems = []
    for nb in notebooks:
        meta = json.loads(Path(nb).read_text()).get("metadata", {})
        params = meta.get("gancompanion", {}).get("parameters") or meta.get("papermill", {}).get("parameters") or {}
        started = _time(meta.get("papermill", {}).get("start_time"))
        for cid, line in notebook_claims(nb).items():
            path = record_path(cid, scale, params.get("seed", 0), Path(results) / "claims")
            if not path.exists():
                problems.append(f"{cid}: {Path(nb).stem} printed it but there is no record {path}")
                continue
            r = json.loads(path.read_text())
            if r.get("line") != line:
                problems.append(f"{cid}: the record says {r.get('line')!r}, the notebook {line!r}")
            if r.get("scale") != scale or ("seed" in params and r.get("seed") != params["seed"]):
                problems.append(f"{cid}: the record is of scale {r.get('scale')!r}, seed {r.get('seed')!r}; the "
                                f"notebook ran scale {scale!r}, seed {params.get('seed')!r}")
            checked = _time(r.get("checked_at"))
            if started is not None and checked is not None and checked < started - _dt.timedelta(seconds=1):
                problems.append(f"{cid}: the record ({r.get('checked_at')}) is older than the run of "
                                f"{Path(nb).stem} ({meta['papermill']['start_time']})")
    return problems


def ledger_problems(root: Path, scale: str, results: Path | None = None) -> list[str]:
    """What keeps the ledger at ``scale`` from being the record of the kept notebooks: a catalogued claim of
    an executed chapter that its notebook did not print, or a printed claim whose record is missing, differs
    or is older than the notebook (``record_problems``). Empty when every claim of every executed chapter
    has its record from the run that produced the kept notebook."""
    notebooks = executed_notebooks(root, scale)
    found = executed_claims(notebooks)
    stems = {nb.stem for nb in notebooks}
    problems = [f"{c.id}: catalogued for {c.chapter}, but its kept notebook printed no CLAIM line for it"
                for c in CATALOGUE.values() if c.chapter in stems and c.id not in found]
    return problems + record_problems(notebooks, scale, results or Path(root) / "_build" / "results")


def write_expected(root: Path, scale: str = "smoke") -> Path:
    """Rewrite ``tests/expected_claims_<scale>.json`` from the kept executed notebooks at ``scale``.

    Refuses when no notebook has been executed or an exact claim is not PASS (an exact claim that
    fails is a bug to fix, not a verdict to expect).
    """
    notebooks = executed_notebooks(root, scale)
    if not notebooks:
        raise FileNotFoundError(f"no executed notebooks in {Path(root) / '_build' / 'executed' / scale}; "
                                f"run `gancompanion run --scale {scale} --device cpu` first")
    found = executed_claims(notebooks)
    exact_bad = [f"{cid} ({status_of(line)})" for cid, (_, line) in found.items()
                 if cid in CATALOGUE and CATALOGUE[cid].kind == "exact" and status_of(line) != "PASS"]
    if exact_bad:
        raise ValueError("exact claims must PASS before their verdicts are written down: " + ", ".join(exact_bad))
    path = expected_file(root, scale)
    atomic_write_text(path, json.dumps({cid: status_of(line) for cid, (_, line) in sorted(found.items())},
                                       indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m gancompanion.pipeline.claims --check`` (default) or ``--write-expected`` [``--scale smoke``]."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gancompanion.pipeline.claims", description=main.__doc__)
    parser.add_argument("--write-expected", action="store_true",
                        help="rewrite tests/expected_claims_<scale>.json from the executed notebooks")
    parser.add_argument("--check", action="store_true", help="compare them with it and the records (the default)")
    parser.add_argument("--scale", choices=SCALES, default="smoke")
    parser.add_argument("--root", type=Path, default=None, help="the project folder (default: found from here)")
    args = parser.parse_args(argv)
    root = args.root or next((f for f in (Path.cwd().resolve(), *Path.cwd().resolve().parents)
                              if (f / "_toc.yml").exists()), Path.cwd())
    if args.write_expected:
        path = write_expected(root, args.scale)
        print(f"wrote {path}; review the diff before committing it")
        return 0
    notebooks = executed_notebooks(root, args.scale)
    found = executed_claims(notebooks)
    problems = verdict_problems(load_expected(expected_file(root, args.scale)), found,
                                [nb.stem for nb in sorted((Path(root) / "notebooks").glob("[0-9]*.md"))])
    problems += record_problems(notebooks, args.scale, Path(root) / "_build" / "results")
    print("\n".join(problems) or f"{len(found)} claims as expected at scale {args.scale}")
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"python -m gancompanion.pipeline.claims: error: {exc}") from None

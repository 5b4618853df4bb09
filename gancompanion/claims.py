"""The claims registry: every claim of the sources as an executable check with one stable line.

A notebook computes the evidence and calls ``report(...)``, which prints
``CLAIM <id>: PASS|FAIL|SKIP <short evidence>`` and writes a JSON record (atomically) under
``results_dir()/claims/<scale>/<id>.json``. The ledger page of the book is built from those
records and from ``CATALOGUE``, so a claim that was never checked shows up too.

Thresholds live here, next to the statement they test, and come from the source or DESIGN.md:
never from a result.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .scales import SCALES
from .validation import choose

STATUSES = ("PASS", "FAIL", "SKIP")


@dataclass(frozen=True)
class Claim:
    id: str
    chapter: str  # notebook stem, e.g. "01_perfect_discriminator"
    statement: str  # what the source says, in our words
    source: str  # who says it, and where
    check: str  # how we test it, with the threshold
    kind: str = "stat"  # "exact": identity checked to a tight tolerance; "stat": statistical
    min_scale: str = "smoke"  # smallest scale at which the check is meaningful


_CH1 = "01_perfect_discriminator"
_AB = "Arjovsky & Bottou (2017), via Hui (source 004)"
_CH3 = "03_instance_noise_to_regularisation"
_HUSZAR = "Huszar (2017), 'From instance noise to gradient regularisation' (source 000)"
_MESCHEDER = "Mescheder, Geiger & Nowozin (2018)"
_CH4 = "04_minibatch_divergences"
_MINIBATCH = "Huszar (2016), 'Understanding minibatch discrimination in GANs' (source 002)"

CATALOGUE: dict[str, Claim] = {c.id: c for c in [
    Claim("ch1.perfect-discriminator", _CH1,
          "A discriminator trained from scratch against a frozen generator quickly becomes perfect: "
          "accuracy 1 within a few hundred iterations, and its loss keeps falling by orders of magnitude.",
          _AB + ", Fig. 1",
          "For every generator checkpoint: the running-average accuracy reaches 0.99 within the first 500 "
          "iterations (or the whole run, if shorter) and the final running-average cross-entropy is at most "
          "1/100 of the initial one."),
    Claim("ch1.gradient-vanishes", _CH1,
          "With the original cost log(1 - D(G(z))) the generator's gradient vanishes as the discriminator "
          "improves (paper: 'in the best case 5 orders of magnitude after 4000 discriminator iterations').",
          _AB + ", Fig. 2 and Thm 2.4",
          "For every generator checkpoint, the batch-mean gradient norm at the end (geometric mean over the "
          "last 10% of measurements) is at least 100 times below its peak."),
    Claim("ch1.nonsaturating-unstable", _CH1,
          "With the -log D cost the gradient does not vanish: its norm and its variance grow as the "
          "discriminator trains.",
          _AB + ", Fig. 3 and Thm 2.6",
          "For every generator checkpoint, both the batch-mean gradient norm and its standard deviation over "
          "batches are larger over the last 10% of measurements than over the first 10% (geometric means)."),
    Claim("ch1.noise-keeps-gradient", _CH1,
          "With instance noise on the discriminator's inputs, the original-cost gradient stays away from zero "
          "even as the discriminator trains.",
          _AB + ", sec. 3 ('Towards softer metrics and distributions')",
          "For every generator checkpoint, with Gaussian noise on both real and generated inputs, the final "
          "batch-mean gradient norm (as in ch1.gradient-vanishes) is less than 10 times below its peak."),
    Claim("ch3.noise-smooths-js", _CH3,
          "Instance noise changes the divergence: d_sigma[Q||P] = d[Q*N_sigma || P*N_sigma]. Between two point "
          "masses the plain JS is flat at log 2 (no gradient), the noise-smoothed one is smooth with a non-zero "
          "gradient.",
          _HUSZAR + "; Arjovsky & Bottou (2017), sec. 3",
          "P = delta_0, Q = delta_theta on a grid of theta in [-2, 2], by quadrature: without noise JS = log 2 and "
          "dJS/dtheta = 0 at every theta != 0; for every sigma in {0.2, 0.5, 1}: 0 < JS < log 2, dJS/dtheta has "
          "the sign of theta (never 0), and the analytic derivative matches central differences to a relative 1e-4.",
          kind="exact"),
    Claim("ch3.taylor-order", _CH3,
          "Roth et al.'s regulariser is the second-order Taylor term of instance noise: the noisy objective at the "
          "optimal logit equals the clean one minus (sigma^2/2) Omega, up to higher-order terms.",
          _HUSZAR + "; Roth et al. (2017), sec. 3",
          "P = N(0, 1), Q = N(0.5, 1.5^2), optimal logit log p/q: the gap |F_sigma - F + sigma^2/2 Omega| by "
          "quadrature at 9 sigmas log-spaced in [0.01, 0.3]; its log-log slope must exceed 2 (the error falls "
          "faster than sigma^2; theory: 4).",
          kind="exact"),
    Claim("ch3.regulariser-faster", _CH3,
          "On the 7-Gaussian ring embedded in 3-D, the regularisation helps the network converge to a good "
          "solution quicker.",
          _HUSZAR + ", on Roth et al. (2017) Fig. 1",
          "Steps until all 7 modes are first covered (a mode is covered by >= 1 of 2500 samples within 3 std of "
          "it, in 3-D; VEEGAN/PacGAN convention), per seed, infinite if never: the median over seeds with Roth's "
          "regulariser (gamma 0.1) is strictly below the median without regularisation.",
          min_scale="book"),
    Claim("ch3.regulariser-stable", _CH3,
          "... and then stays there in a stable manner.",
          _HUSZAR + ", on Roth et al. (2017) Fig. 1",
          "For every seed of the run with Roth's regulariser: it covers all 7 modes at some snapshot, and at least "
          "90% of the snapshots after the first full coverage still cover all 7 (a run that never covers them, or "
          "only at its last snapshot, fails).",
          min_scale="book"),
    Claim("ch3.dirac-unreg-cycles", _CH3,
          "On the Dirac-GAN, unregularised simultaneous gradient descent does not converge: it moves away from "
          "the equilibrium.",
          _MESCHEDER + ", sec. 2-3 and the DiracGAN notebook",
          "From (1, 1) with h = 0.2: the distance to (0, 0) after 500 simultaneous steps exceeds the initial one, "
          "and the linearised step's largest eigenvalue modulus, from the numerical Jacobian, equals the closed "
          "form sqrt(1 + h^2/4) > 1 to 1e-8.",
          kind="exact"),
    Claim("ch3.dirac-r1-converges", _CH3,
          "On the Dirac-GAN, instance noise and the zero-centred gradient penalty R1 make gradient descent "
          "converge to the equilibrium.",
          _MESCHEDER + ", sec. 3-4 and the DiracGAN notebook",
          "R1 (gamma 0.3) and instance noise (sigma 0.7), simultaneous and alternating GD, h = 0.2, 500 steps "
          "from (1, 1): the final distance to (0, 0) is below 1% of the initial one in all four runs, and both "
          "Jacobians at the equilibrium have eigenvalues with negative real parts.",
          kind="exact"),
    Claim("ch4.kl-additive", _CH4,
          "KL divergence adds up over i.i.d. samples, KL[P^(N) || Q^(N)] = N KL[P || Q], so discriminating "
          "minibatches leaves a KL objective unchanged.",
          _MINIBATCH,
          "P = Bernoulli(0.2), Q = Bernoulli(q) on 201 q in [0, 1], N in {1, 2, 3, 8}, both directions (KL[P||Q] "
          "and KL[Q||P]): |KL^(N) - N KL| <= 1e-9 max(1, N KL) wherever KL is finite, and KL^(N) is infinite "
          "wherever KL is.",
          kind="exact"),
    Claim("ch4.js-subadditive", _CH4,
          "JS divergence does not add up: JS[P^(N) || Q^(N)] <= N JS[P || Q].",
          _MINIBATCH,
          "Same grid: JS^(N) <= N JS + 1e-12 at every q and every N in {1, 2, 3, 8}, and the inequality is "
          "strict (by more than 1e-6) somewhere for every N >= 2.",
          kind="exact"),
    Claim("ch4.js-per-sample-nonincreasing", _CH4,
          "For fixed P and Q, JS[P^(N) || Q^(N)] / N is monotonically non-increasing in N.",
          _MINIBATCH,
          "Same grid of q: JS^(N)/N <= JS^(N-1)/(N-1) + 1e-12 for every N = 2 ... 64 and every q.",
          kind="exact"),
    Claim("ch4.js-bounded", _CH4,
          "JS is bounded by 1 bit, so minibatch JS saturates: as N grows it tends to 1 bit almost everywhere, "
          "except for a dip down to 0 around q = p.",
          _MINIBATCH,
          "Same grid, N in {1, 2, 3, 8, 32, 128, 512}: 0 <= JS^(N) <= 1 bit (+1e-12) everywhere; JS^(N) is "
          "non-decreasing in N at every q (-1e-12); the width of {q : JS^(N) < 0.99 bit} never grows along the "
          "list of N, and strictly decreases from the first N at which it is below the whole interval.",
          kind="exact"),
    Claim("ch4.low-entropy-penalty", _CH4,
          "For the JS-GAN, minibatch discrimination changes the objective non-trivially: it assigns a higher "
          "relative penalty to low-entropy generators (q < 0.1) compared with completely wrong ones (q > 0.5).",
          _MINIBATCH + ", summary",
          "Same grid: the mean of JS^(N) over q in (0, 0.1) divided by its mean over q in (0.5, 1) increases "
          "strictly along N = 1, 2, 3, 8.",
          kind="exact"),
    Claim("ch4.preference-kl", _CH4,
          "The adversarial preference loss minimises d[Q x P || P x Q]; with d = KL this boils down to "
          "single-sample divergences (the source: 'the same thing as the original GAN'), with d = JS to "
          "'something weird'.",
          _MINIBATCH + ", 'Bonus track: adversarial preference loss'",
          "Same grid, interior q: KL[Q x P || P x Q] = KL[Q||P] + KL[P||Q] to a relative 1e-9; JS[Q x P || P x Q] "
          "differs from JS[Q||P] + JS[P||Q] by more than 1e-3 at some q; both are minimised at q = p on the grid.",
          kind="exact"),
]}


def register(claim: Claim) -> Claim:
    """Add a claim to the catalogue (chapters that define their own claims call this)."""
    if claim.id in CATALOGUE and CATALOGUE[claim.id] != claim:
        raise ValueError(f"claim {claim.id!r} is already registered with a different definition")
    choose("min_scale", claim.min_scale, SCALES)
    choose("kind", claim.kind, ("exact", "stat"))
    CATALOGUE[claim.id] = claim
    return claim


def results_dir() -> Path:
    """Where claim records go: ``$GANCOMPANION_RESULTS``, else ``_build/results`` of the project
    (the nearest folder up from here holding ``_toc.yml``), else ``./gancompanion-results``."""
    env = os.environ.get("GANCOMPANION_RESULTS")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists():
            return folder / "_build" / "results"
    return here / "gancompanion-results"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def report(claim_id: str, passed: bool | None, evidence: str, *, scale: str, seed: int, device: str,
           details: dict | None = None) -> dict:
    """Print and record the outcome of a claim's check.

    Args:
        claim_id: a key of ``CATALOGUE``.
        passed: the check's verdict; ignored (SKIP) when ``scale`` is below the claim's ``min_scale``.
        evidence: a short, stable summary of the numbers behind the verdict (rounded, no timings).
        scale, seed, device: how the evidence was computed.
        details: the full numbers, kept in the JSON record.
    Returns:
        dict: the record written (the catalogue entry plus ``status``, ``evidence``, scale, seed, ...).
    """
    claim = CATALOGUE[choose("claim", claim_id, CATALOGUE)]
    choose("scale", scale, SCALES)
    if SCALES.index(scale) < SCALES.index(claim.min_scale):
        status = "SKIP"
        line_evidence = (f"statistical claim, checked at scale '{claim.min_scale}' or larger "
                         f"(at '{scale}' the runs are too short to test it)")
    else:
        status = "PASS" if passed else "FAIL"
        line_evidence = evidence
    print(f"CLAIM {claim.id}: {status} {line_evidence}")
    from . import __version__

    record = {**asdict(claim), "status": status, "evidence": evidence, "scale": scale, "seed": int(seed),
              "device": str(device), "version": __version__, "details": details or {},
              "notebook": os.environ.get("GANCOMPANION_NOTEBOOK", claim.chapter),
              "checked_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    atomic_write_text(results_dir() / "claims" / scale / f"{claim.id}.json",
                      json.dumps(record, indent=1, default=float))
    return record


def load_records(root: Path | None = None) -> list[dict]:
    """All claim records under ``root`` (default ``results_dir()``), any scale."""
    base = (root or results_dir()) / "claims"
    return [json.loads(p.read_text()) for p in sorted(base.glob("*/*.json"))]

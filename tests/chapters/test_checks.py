"""The claims' checks fail on what they must fail on: NaN, a wrong expansion, a value compared with itself.

Mutation style: each test feeds a check the numbers a broken computation would give (a NaN injected,
the penalty's sign flipped, an N = 1 term off by a little) and asserts FAIL, next to the right numbers
and PASS.
"""

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest

from gancompanion.chapters import checks
from gancompanion.pipeline import claims
from gancompanion.analytic import divergences, minibatch_divergences
from gancompanion.analytic.divergences import LOG2, Mixture1D

NAN = float("nan")
ROOT = Path(__file__).resolve().parents[2]


# --- helpers: NaN is never dropped ---------------------------------------------------------------

@pytest.mark.parametrize("values", [{1: NAN, 2: 500.0}, {1: 500.0, 2: NAN}, [NAN], np.array([200.0, NAN])])
def test_nan_in_any_position_fails_every_bound(values):
    assert not checks.all_at_least(values, 100) and not checks.all_below(values, 1e9)
    assert not checks.all_above(values, 0) and not checks.all_at_most(values, 1e9)
    assert math.isnan(checks.worst(values)) and math.isnan(checks.least(values))


def test_python_max_drops_nan_which_is_why_the_checks_never_use_it():
    assert max(0.0, NAN) == 0.0 and max([200.0, NAN]) == 200.0 and min([200.0, NAN]) == 200.0


def test_no_values_is_no_pass():
    assert not checks.all_at_least({}, 0) and not checks.all_below([], 1)


# --- Chapter 1 -------------------------------------------------------------------------------------

def _probe_curves(fall=1000.0):
    acc = np.r_[np.linspace(0.5, 1.0, 50), np.ones(450)]
    ce = np.geomspace(1.0, 1.0 / fall, 500)
    return acc, ce


def test_perfect_discriminator_passes_and_fails_on_nan_or_slow_accuracy():
    acc, ce = _probe_curves()
    assert checks.perfect_discriminator({1: acc, 10: acc}, {1: ce, 10: ce}).passed
    diverged = ce.copy()
    diverged[300:] = NAN  # a diverged probe: the running mean is NaN from there on
    assert not checks.perfect_discriminator({1: acc, 10: acc}, {1: ce, 10: diverged}).passed
    never = np.full(500, 0.9)
    v = checks.perfect_discriminator({1: acc, 10: never}, {1: ce, 10: ce})
    assert not v.passed and v.values["first_perfect"][10] is None and v.values["slowest"] == math.inf
    assert not checks.perfect_discriminator({1: acc}, {1: _probe_curves(fall=50)[1]}).passed


@pytest.mark.parametrize("order", [(1, 25), (25, 1)])
def test_a_diverged_probes_nan_fall_fails_the_chapter_1_checks(order):
    good = {1: 1e4, 25: 1e4}
    bad = {order[0]: NAN, order[1]: good[order[1]]}
    assert checks.gradient_vanishes(good).passed and not checks.gradient_vanishes(bad).passed
    assert checks.noise_keeps_gradient({1: 2.0, 25: 2.0}).passed
    assert not checks.noise_keeps_gradient({order[0]: NAN, order[1]: 2.0}).passed
    assert checks.nonsaturating_unstable({1: 5.0, 25: 5.0}, {1: 3.0, 25: 3.0}).passed
    assert not checks.nonsaturating_unstable({order[0]: NAN, order[1]: 5.0}, {1: 3.0, 25: 3.0}).passed
    assert not checks.nonsaturating_unstable({1: 5.0, 25: 5.0}, {1: 1.0, 25: 3.0}).passed  # "larger than"


def test_thresholds_come_from_the_catalogue(monkeypatch):
    claim = claims.CATALOGUE["ch1.gradient-vanishes"]
    assert checks.gradient_vanishes({1: 150.0}).passed  # 150 >= 100
    monkeypatch.setitem(claims.CATALOGUE, claim.id, dataclasses.replace(claim, threshold={"fall": 200.0}))
    assert not checks.gradient_vanishes({1: 150.0}).passed


# --- Chapter 3 -------------------------------------------------------------------------------------

SIGMAS = np.logspace(np.log10(0.01), np.log10(0.3), 9)  # the chapter's grid (scales ch3.taylor)


@pytest.fixture(scope="module")
def taylor():
    p, q = Mixture1D.gaussian(0.0, 1.0), Mixture1D.gaussian(0.5, 1.5)
    return divergences.taylor_gap(p, q, SIGMAS), divergences.roth_omega(p, q)


def test_taylor_order_passes_the_right_expansion(taylor):
    gap, _ = taylor
    v = checks.taylor_order(SIGMAS, gap)
    assert v.passed and abs(v.values["slope"] - 4) < 0.2


@pytest.mark.parametrize("coefficient", [0.0, -0.5, 0.25], ids=["penalty removed", "sign flipped", "coefficient 1/4"])
@pytest.mark.parametrize("sign", [1, -1])
def test_taylor_order_fails_a_wrong_expansion(taylor, coefficient, sign):
    # |F_s - F + c s^2 Omega| = |e + (c - 1/2) s^2 Omega| with e the right expansion's O(s^4) error (either sign)
    gap, omega = taylor
    wrong = np.abs(sign * gap + (coefficient - 0.5) * SIGMAS**2 * omega)
    v = checks.taylor_order(SIGMAS, wrong)
    assert not v.passed and abs(v.values["slope"] - 2) < 0.1  # the old check (slope > 2) passed these


@pytest.mark.parametrize("bad", [NAN, 0.0])
def test_taylor_order_fails_a_nan_or_zero_gap(taylor, bad):
    gap = taylor[0].copy()
    gap[4] = bad
    assert not checks.taylor_order(SIGMAS, gap).passed


def _js_inputs():
    theta = np.linspace(-2, 2, 41)
    sigmas = (0.5, 1.0)
    h = claims.CATALOGUE["ch3.noise-smooths-js"].threshold["fd_step"]
    plain = lambda th: np.array([divergences.js_smoothed(Mixture1D.dirac(0.0), Mixture1D.dirac(t), 0.0)  # noqa: E731
                                 for t in th])
    js = {s: divergences.js_dirac(theta, s) for s in sigmas}
    grads = {s: divergences.js_dirac_grad(theta, s) for s in sigmas}
    fd = {s: (divergences.js_dirac(theta + h, s) - divergences.js_dirac(theta - h, s)) / (2 * h) for s in sigmas}
    return theta, plain(theta), (plain(theta + h) - plain(theta - h)) / (2 * h), js, grads, fd


def test_the_no_noise_half_is_computed_from_the_atoms_not_a_constant():
    theta, plain_js, plain_grad, js, grads, fd = _js_inputs()
    assert np.all(plain_js[theta != 0] == LOG2) and plain_js[theta == 0] == 0 and np.all(plain_grad[theta != 0] == 0)
    assert checks.noise_smooths_js(theta, plain_js, plain_grad, js, grads, fd).passed
    # two point masses that are not disjoint (the same atom twice, as a wrong JS for sigma 0 might report)
    overlap = np.array([divergences.js_smoothed(Mixture1D.dirac(0.0), Mixture1D((0.0, t), (0.0, 0.0), (0.5, 0.5)), 0.0)
                        for t in theta])
    assert not checks.noise_smooths_js(theta, overlap, plain_grad, js, grads, fd).passed


@pytest.mark.parametrize("where", ["plain_js", "plain_grad", "js", "grads", "fd"])
def test_noise_smooths_js_fails_on_a_nan_anywhere(where):
    theta, plain_js, plain_grad, js, grads, fd = _js_inputs()
    inputs = dict(plain_js=plain_js.copy(), plain_grad=plain_grad.copy(), js={k: v.copy() for k, v in js.items()},
                  grads={k: v.copy() for k, v in grads.items()}, fd={k: v.copy() for k, v in fd.items()})
    target = inputs[where] if isinstance(inputs[where], np.ndarray) else inputs[where][1.0]
    target[30] = NAN
    assert not checks.noise_smooths_js(theta, **inputs).passed
    if where == "fd":  # the old running maximum, max(0.0, nan), reported a perfect match
        assert math.isnan(checks.fd_error(inputs["fd"], inputs["grads"])) and max(0.0, NAN) == 0.0


def test_dirac_checks_fail_on_nan():
    assert checks.dirac_unreg_cycles(3.0, 1.005, 1.005).passed
    assert not checks.dirac_unreg_cycles(NAN, 1.005, 1.005).passed
    shrink = {"simultaneous/r1": 1e-5, "simultaneous/instance_noise": 1e-4, "alternating/r1": 1e-6,
              "alternating/instance_noise": 1e-5}
    assert checks.dirac_r1_converges(shrink, {"r1": -0.15, "instance_noise": -0.12}).passed
    assert not checks.dirac_r1_converges({**shrink, "simultaneous/r1": NAN}, {"r1": -0.15}).passed
    assert not checks.dirac_r1_converges({**shrink, "simultaneous/r1": 0.5}, {"r1": -0.15}).passed  # the half
    assert not checks.dirac_r1_converges(shrink, {"r1": NAN, "instance_noise": -0.1}).passed


def test_roth_toy_checks():
    inf = math.inf
    assert checks.regulariser_faster([300, 500, inf], [800, inf, inf]).passed
    assert not checks.regulariser_faster([300, NAN, 400], [800, inf, inf]).passed
    assert checks.regulariser_stable([300, 500], [0.95, 0.9]).passed
    assert not checks.regulariser_stable([300, inf], [0.95, 0.9]).passed
    assert not checks.regulariser_stable([300, 500], [0.95, NAN]).passed


# --- Chapter 4 -------------------------------------------------------------------------------------

P, QS, NS = 0.2, np.linspace(0, 1, 201), (1, 2, 3, 8)


def test_closed_form_bernoulli_divergences_match_a_hand_sum():
    for q in (0.0, 0.05, 0.2, 0.7, 1.0):
        kl = sum(a * math.log(a / b) if a > 0 else 0.0 for a, b in ((P, q), (1 - P, 1 - q)) if b > 0 or a == 0)
        assert checks.bernoulli_kl(P, q) == pytest.approx(kl if 0 < q < 1 else math.inf, rel=1e-14)
        m = ((P + q) / 2, 1 - (P + q) / 2)
        js = sum(0.5 * a * math.log(a / mm) for a, mm in zip((P, 1 - P), m) if a > 0) + \
            sum(0.5 * b * math.log(b / mm) for b, mm in zip((q, 1 - q), m) if b > 0)
        assert checks.bernoulli_js(P, q) == pytest.approx(js, rel=1e-13, abs=1e-16)


def _kl_inputs():
    directions = {"KL[P||Q]": (P, QS), "KL[Q||P]": (QS, P)}
    one = {k: checks.bernoulli_kl(a, b) for k, (a, b) in directions.items()}
    many = {(k, n): minibatch_divergences.product_divergence(a, b, n, "kl") for k, (a, b) in directions.items()
            for n in NS}
    return one, many


def test_kl_additive_passes_and_a_nan_in_kl2_fails_it():
    one, many = _kl_inputs()
    assert checks.kl_additive(one, many).passed
    many[("KL[P||Q]", 2)] = many[("KL[P||Q]", 2)].copy()
    many[("KL[P||Q]", 2)][50] = NAN
    assert not checks.kl_additive(one, many).passed


def test_kl_additive_fails_an_n1_term_that_is_off():
    # the old check compared KL^(1) with 1 * KL^(1), itself; the closed form catches a wrong binomial route
    one, many = _kl_inputs()
    many[("KL[Q||P]", 1)] = many[("KL[Q||P]", 1)] * (1 + 1e-6)
    assert not checks.kl_additive(one, many).passed


def test_kl_additive_needs_infinities_in_the_same_places():
    one, many = _kl_inputs()
    many[("KL[P||Q]", 3)] = np.where(np.isinf(many[("KL[P||Q]", 3)]), 1e300, many[("KL[P||Q]", 3)])
    v = checks.kl_additive(one, many)
    assert not v.passed and not v.values["infinite_together"]


def _js_many():
    return {n: minibatch_divergences.product_divergence(P, QS, n, "js") for n in NS}


def test_js_subadditive_passes_and_fails_on_nan_and_an_off_n1_term():
    one = checks.bernoulli_js(P, QS)
    assert checks.js_subadditive(one, _js_many()).passed
    many = _js_many()
    many[8][100] = NAN
    assert not checks.js_subadditive(one, many).passed
    many = _js_many()
    many[1] = many[1] + 1e-9  # JS^(1) above 1 x JS: the N = 1 term is no longer a value compared with itself
    assert not checks.js_subadditive(one, many).passed
    assert not checks.js_subadditive(one, {1: _js_many()[1]}).passed  # no N >= 2: nothing strict to show


def _per_sample():
    return np.stack([minibatch_divergences.product_divergence(P, QS, n, "js") / n for n in range(1, 65)])


def test_js_per_sample_nonincreasing_fails_on_a_rise_or_nan():
    per_sample = _per_sample()
    assert checks.js_per_sample_nonincreasing(per_sample).passed
    rising = per_sample.copy()
    rising[10, 120] = rising[9, 120] + 1e-9
    assert not checks.js_per_sample_nonincreasing(rising).passed
    with_nan = per_sample.copy()
    with_nan[10, 120] = NAN
    assert not checks.js_per_sample_nonincreasing(with_nan).passed


SAT_NS = (1, 2, 3, 8, 32, 128, 512)


def _saturation():
    return np.stack([minibatch_divergences.product_divergence(P, QS, n, "js") / LOG2 for n in SAT_NS])


def test_js_bounded_passes_and_every_part_can_fail():
    sat = _saturation()
    v = checks.js_bounded(QS, sat)
    assert v.passed and v.values["saturated"] >= 2
    falling = sat.copy()
    falling[4, 60] = falling[3, 60] - 1e-9  # JS^(32) below JS^(8) at one q: not monotone in N
    assert not checks.js_bounded(QS, falling).passed
    above = sat.copy()
    above[6, 200] = 1 + 1e-9
    assert not checks.js_bounded(QS, above).passed
    widening = sat[[0, 1, 2, 3, 5, 4, 6]]  # the dip widens from N = 128 to N = 32
    assert not checks.js_bounded(QS, widening).passed
    with_nan = sat.copy()
    with_nan[5, 100] = NAN  # a NaN read as "saturated" by JS < 0.99 being False
    assert not checks.js_bounded(QS, with_nan).passed


def test_js_bounded_strict_narrowing_needs_two_saturated_n():
    sat = _saturation()[:4]  # N = 1, 2, 3, 8: only N = 8 is below the whole interval
    v = checks.js_bounded(QS, sat)
    assert v.values["saturated"] == 1 and not v.passed  # "strictly decreases" would test nothing


def test_low_entropy_penalty():
    js_bits = {n: minibatch_divergences.product_divergence(P, QS, n, "js") / LOG2 for n in NS}
    assert checks.low_entropy_penalty(QS, js_bits).passed
    assert not checks.low_entropy_penalty(QS, {**js_bits, 1: js_bits[8]}).passed  # N = 1 as high as N = 8
    js_bits[3] = js_bits[3].copy()
    js_bits[3][10] = NAN
    assert not checks.low_entropy_penalty(QS, js_bits).passed


def _preference():
    return dict(pref_kl=minibatch_divergences.preference_divergence(P, QS, "kl") / LOG2,
                kl_qp=checks.bernoulli_kl(QS, P) / LOG2, kl_pq=checks.bernoulli_kl(P, QS) / LOG2,
                pref_js=minibatch_divergences.preference_divergence(P, QS, "js") / LOG2,
                js_single=checks.bernoulli_js(QS, P) / LOG2)


@pytest.mark.parametrize("mutation", ["kl off", "js equal", "nan in js", "minimum moved"])
def test_preference_kl_passes_and_each_half_can_fail(mutation):
    args = _preference()
    assert checks.preference_kl(QS, P, **args).passed
    if mutation == "kl off":
        args["pref_kl"] = args["pref_kl"] * (1 + 1e-6)
    elif mutation == "js equal":  # the JS half: "something weird" must differ from the sum of single-sample JS
        args["pref_js"] = 2 * args["js_single"]
    elif mutation == "nan in js":
        args["pref_js"] = args["pref_js"].copy()
        args["pref_js"][150] = NAN
    else:
        args["pref_js"] = args["pref_js"].copy()
        args["pref_js"][60] = -1.0
    assert not checks.preference_kl(QS, P, **args).passed


# --- the catalogue and the notebooks say the same thing --------------------------------------------

def _spellings(v):
    if isinstance(v, (tuple, list)):
        return None
    forms = {f"{v:g}", f"{v:g}".replace("e-0", "e-"), f"{v:.0e}".replace("e-0", "e-")}
    if 0 < v < 1:
        forms |= {f"{v:.0%}", f"1/{round(1 / v)}"}
    if float(v).is_integer():
        forms |= {str(int(v)), f"{int(v):,}"}
    return forms


def test_every_threshold_is_stated_in_its_claims_check():
    for c in claims.CATALOGUE.values():
        for name, value in c.threshold.items():
            values = value if isinstance(value, (tuple, list)) else (value,)
            for v in values:
                assert any(form in c.check for form in _spellings(v)), \
                    f"{c.id}: threshold {name} = {v!r} is not stated in its check: {c.check!r}"


def test_noise_keeps_gradient_states_its_sigma():
    c = claims.CATALOGUE["ch1.noise-keeps-gradient"]
    assert f"sigma = {c.threshold['noise_scale']:g} Delta" in c.check


def _claim_cells(chapter):
    text = (ROOT / "notebooks" / f"{chapter}.md").read_text()
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, re.S)
    return [cell for cell in cells if "claims.report(" in cell]


@pytest.mark.parametrize("chapter", sorted({c.chapter for c in claims.CATALOGUE.values()}))
def test_claim_cells_read_the_registry_and_never_drop_nan(chapter):
    if not (ROOT / "notebooks" / f"{chapter}.md").exists():
        pytest.skip(f"{chapter} is not written yet")
    for cell in _claim_cells(chapter):
        assert not re.search(r"\b(max|min)\([^()]*\.values\(\)\)", cell), f"{chapter}: Python max/min drop NaN:\n{cell}"
        assert not re.search(r"\bmax\(0(\.0)?,", cell), f"{chapter}: a running max(0.0, x) drops NaN:\n{cell}"


def test_every_claim_names_a_figure_its_chapter_glues():
    for c in claims.CATALOGUE.values():
        source = ROOT / "notebooks" / f"{c.chapter}.md"
        if c.figure and source.exists():
            assert re.search(rf"^:name: {re.escape(c.figure)}$", source.read_text(), re.M), \
                f"{c.id}: figure {c.figure!r} is not a :name: in {source.name}"


# --- every check can be seen to fail: break what the claim guards, the check no longer passes ----------


@pytest.fixture
def one_thread():
    """Train on one CPU thread (the chapters do; two threads on a shared machine are many times slower)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

def _hinge_discriminator(spectral_norm: bool, steps: int = 100, seeds=(0, 1, 2)):
    """A seed-batched hinge-loss discriminator trained on the grid against Gaussian noise; its largest
    input-gradient norm on [-6, 6]^2 and its estimate's lag, as Chapter 2 measures them."""
    import torch

    from gancompanion.techniques import constraints
    from gancompanion import data
    from gancompanion.training import nets

    torch.manual_seed(0)
    d = nets.mlp_discriminator(2, [64, 64], list(seeds))
    if spectral_norm:
        constraints.SpectralNorm(1).prepare(d)
    opt = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        real, fake = data.grid().sample((len(seeds), 128), g), torch.randn(len(seeds), 128, 2, generator=g)
        loss = (torch.relu(1 - d(real)).mean(-1) + torch.relu(1 + d(fake)).mean(-1)).sum()
        opt.zero_grad(), loss.backward(), opt.step()
    d.eval()
    x = (torch.rand(len(seeds), 4096, 2, generator=g) * 12 - 6).requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x)
    return grad.norm(dim=-1).amax(-1).numpy(), constraints.sn_lag(d).numpy()


def test_sn_lipschitz_fails_without_spectral_normalisation(one_thread):
    grad_max, lag = _hinge_discriminator(spectral_norm=True)
    assert checks.sn_lipschitz(grad_max, lag).passed
    grad_max, lag = _hinge_discriminator(spectral_norm=False)
    assert np.all(lag == 1.0)  # no normalised layer: no allowance
    v = checks.sn_lipschitz(grad_max, lag)
    assert not v.passed and v.values["ratio_max"] > 1
    assert not checks.sn_lipschitz([0.5, NAN], [1.0, 1.0]).passed


@pytest.fixture(scope="module")
def taylor_change():
    p, q = Mixture1D.gaussian(0.0, 1.0), Mixture1D.gaussian(0.5, 1.5)  # the chapter's (scales ch3.taylor)
    return p, q, divergences.noise_change(p, q, SIGMAS)


def test_taylor_order_is_measured_on_the_training_regulariser(taylor_change):
    p, q, change = taylor_change
    omega = divergences.roth_omega_regulariser(p, q)
    assert omega == pytest.approx(divergences.roth_omega(p, q), rel=1e-5)
    assert checks.taylor_order(SIGMAS, np.abs(change + SIGMAS**2 / 2 * omega)).passed


@pytest.mark.parametrize("broken", ["sign flipped", "fake term dropped", "halved"])
def test_taylor_order_fails_when_the_training_regulariser_is_broken(taylor_change, broken, monkeypatch):
    from gancompanion.techniques import d_terms

    p, q, change = taylor_change
    right = d_terms._from_norms

    def wrong(kind, d_real, d_fake, g_real, g_fake, weight):
        if broken == "fake term dropped":
            return 0.5 * weight * ((1 - d_real) ** 2 * g_real).mean(-1)
        return {"sign flipped": -1.0, "halved": 0.5}[broken] * right(kind, d_real, d_fake, g_real, g_fake, weight)

    monkeypatch.setattr(d_terms, "_from_norms", wrong)
    omega = divergences.roth_omega_regulariser(p, q, n=200_000)
    v = checks.taylor_order(SIGMAS, np.abs(change + SIGMAS**2 / 2 * omega))
    assert not v.passed and abs(v.values["slope"] - 2) < 0.2


def _smoothing(objective=None, real_target=0.9):
    from gancompanion.chapters import ch5
    from gancompanion import data
    from gancompanion.pipeline import scales

    cfg = scales.settings("ch5.smoothing", "smoke")  # the chapter's smallest run
    return ch5.smoothing_probe(cfg, data.ring(), [0, 1], real_target, "cpu", progress=False,
                                    objective=objective)


def test_label_smoothing_check_fails_two_sided_and_without_smoothing(one_thread):
    import torch.nn.functional as F

    from gancompanion.training import objectives

    plain, smooth = _smoothing(real_target=1.0), _smoothing()
    assert checks.label_smoothing_less_confident(plain["final"], smooth["final"], smooth["final_fake"]).passed
    # two-sided smoothing (real 0.9, generated 0.1): D(x) stays at 0.9 on the data, D(G(z)) rises to 0.1
    two_sided = objectives.Objective(
        "two-sided", lambda r, f: (0.9 * F.softplus(-r) + 0.1 * F.softplus(r)).mean(-1)
        + (0.9 * F.softplus(f) + 0.1 * F.softplus(-f)).mean(-1), objectives.nonsaturating_g_loss,
        objectives.sigmoid_metrics)
    both = _smoothing(objective=two_sided)
    v = checks.label_smoothing_less_confident(plain["final"], both["final"], both["final_fake"])
    assert not v.passed and v.values["fake_max"] > 0.05
    # the technique removed (no smoothing where the claim expects it): D(x) is not capped
    assert not checks.label_smoothing_less_confident(plain["final"], plain["final"], plain["final_fake"]).passed


def _dirac_verdicts(unreg: str, reg: str, **reg_kw):
    """ch3's two Dirac-GAN checks computed as the chapter does, with ``unreg`` as the unregularised field and
    ``reg`` (and its settings) in place of R1 and instance noise."""
    from gancompanion.analytic import dirac

    h, steps = 0.2, 500
    path = dirac.simultaneous(dirac.make_field(unreg), (1.0, 1.0), h, steps)
    radius = np.hypot(path[:, 0], path[:, 1])
    modulus = float(np.max(np.abs(1 + h * np.linalg.eigvals(dirac.jacobian(dirac.make_field(unreg))))))
    cycles = checks.dirac_unreg_cycles(float(radius[-1] / radius[0]), modulus, math.sqrt(1 + h**2 / 4))
    field = dirac.make_field(reg, **reg_kw)
    shrink = {}
    for name, scheme in (("simultaneous", dirac.simultaneous), ("alternating", dirac.alternating)):
        p = scheme(field, (1.0, 1.0), h, steps)
        shrink[name] = float(np.hypot(*p[-1]) / np.hypot(*p[0]))
    real_part = float(np.max(np.linalg.eigvals(dirac.jacobian(field)).real))
    return cycles, checks.dirac_r1_converges(shrink, {reg: real_part})


def test_dirac_checks_fail_when_the_technique_is_removed_or_put_where_it_does_not_belong():
    cycles, converges = _dirac_verdicts("gan", "r1", gamma=0.3)
    assert cycles.passed and converges.passed
    cycles, converges = _dirac_verdicts("r1", "r1", gamma=0.0)  # R1 where none belongs; R1 with weight 0
    assert not cycles.passed and not converges.passed


def test_chapter_1_and_roth_toy_checks_fail_on_what_a_broken_run_gives():
    # the gradient does not vanish (e.g. the non-saturating cost measured by mistake): a fall of 2x
    assert not checks.gradient_vanishes({1: 2.0, 25: 3.0}).passed
    # the noise dropped: the original cost's gradient falls by orders of magnitude again
    assert not checks.noise_keeps_gradient({1: 2.0, 25: 1e4}).passed
    # a sign flipped in the -log D cost: the norm shrinks instead of growing
    assert not checks.nonsaturating_unstable({1: 0.1, 25: 0.2}, {1: 2.0, 25: 2.0}).passed
    # the regulariser removed: both arms are the same runs, so the median is not strictly below
    first = [300.0, 500.0, math.inf]
    assert not checks.regulariser_faster(first, first).passed

"""Chapter 2's verdicts: each reads its thresholds from the claim and fails on the wrong side of them."""

import numpy as np

from gancompanion.analytic import divergences
from gancompanion.analytic.divergences import LOG2
from gancompanion.chapters import ch2
from gancompanion.chapters.checks import Verdict
from gancompanion.pipeline.claims import CATALOGUE


def test_js_saturates_on_the_closed_forms_and_fails_on_a_wrong_one():
    theta = np.linspace(-1, 1, 81)
    closed = divergences.parallel_lines(theta)
    v = ch2.js_saturates(theta, closed)
    assert isinstance(v, Verdict) and v.passed is True
    assert v.evidence == ("at all 80 theta != 0 of 81 in [-1, 1]: JS = log 2, KL = inf, TV = 1; all 0 at theta = 0; "
                          "W = |theta|: True")
    wrong = {**closed, "JS": np.where(theta != 0, LOG2 * 0.99, 0.0)}
    assert not ch2.js_saturates(theta, wrong).passed


def _lines(js_far, js_zero, w_scale):
    theta = np.linspace(-1, 1, 9)
    js = np.where(theta == 0, js_zero, js_far)[:, None].repeat(3, 1)
    w = (np.abs(theta) * w_scale)[:, None].repeat(3, 1)
    return dict(theta_est=theta, estimates={"GAN discriminator": js, "WGAN-GP critic": w})


def test_estimates_saturate_reads_its_fractions_from_the_claim():
    th = CATALOGUE["ch2.estimates-saturate"].threshold
    good = ch2.estimates_saturate(_lines(th["js_frac"] * LOG2 + 1e-6, 0.0, 1 + th["w_rtol"] / 2))
    assert good.passed and set(good.values) == {"theta", "js", "w"}
    assert good.evidence.startswith("GAN JS estimate >= 0.624 at |theta| >= 0.25 (>= 0.624 required), 0.000 at 0")
    assert not ch2.estimates_saturate(_lines(th["js_frac"] * LOG2 - 1e-3, 0.0, 1.0)).passed
    assert not ch2.estimates_saturate(_lines(LOG2, th["js_zero_frac"] * LOG2 + 1e-3, 1.0)).passed
    assert not ch2.estimates_saturate(_lines(LOG2, 0.0, 1 + 2 * th["w_rtol"])).passed


def test_emd_lp_matches():
    th = CATALOGUE["ch2.emd-lp-matches"].threshold
    v = ch2.emd_lp_matches(1.5, 1.5, [1e-12, 2e-12], [0.0, 1e-12], 0.0)
    assert v.passed and v.values == {"cost": 1.5, "closed": 1.5, "max_scaled_error": 2e-12}
    assert v.evidence == ("example: LP 1.500000 = closed form 1.500000; 2 random pairs: largest error 2e-12 relative "
                          "(<= 1e-09), marginals to 1e-12, plan >= 0")
    assert not ch2.emd_lp_matches(1.5, 1.5, [10 * th["rtol"]], [0.0], 0.0).passed
    assert not ch2.emd_lp_matches(1.5, 1.5, [np.nan], [0.0], 0.0).passed
    assert not ch2.emd_lp_matches(1.5, 1.5, [0.0], [0.0], -1e-3).passed
    assert not ch2.emd_lp_matches(1.5, 1.6, [0.0], [0.0], 0.0).passed


def test_the_moving_plan_experiment_is_exact():
    from gancompanion.pipeline.scales import Settings

    cfg = Settings(p=(0.5, 0.5), q=(0.25, 0.75), x_p=(0.0, 1.0), x_q=(0.0, 2.0), max_points=4)
    plan = ch2.plan_experiment(cfg, seed=0)
    v = ch2.emd_lp_matches(plan["best"].cost, plan["closed"], plan["errors"], plan["marginal_errors"], plan["negative"])
    assert v.passed and len(plan["errors"]) == CATALOGUE["ch2.emd-lp-matches"].threshold["n_random"]


def test_gp_unit_gradient():
    th = CATALOGUE["ch2.gp-unit-gradient"].threshold
    norms = {("8 Gaussians", "weight clipping"): np.array([0.01, 0.02]),
             ("8 Gaussians", "gradient penalty"): np.array([th["low"], 1.0]),
             ("Swiss roll", "weight clipping"): np.array([0.03, 0.01]),
             ("Swiss roll", "gradient penalty"): np.array([th["high"], 0.95])}
    v = ch2.gp_unit_gradient(norms, 256, 10.0)
    assert v.passed and set(v.values) == {"8 Gaussians/weight clipping", "8 Gaussians/gradient penalty",
                                          "Swiss roll/weight clipping", "Swiss roll/gradient penalty"}
    assert v.evidence == ("median |grad D| at 256 penalty points per seed, lambda 10: 8 Gaussians: 0.80, 1.00; Swiss "
                          "roll: 1.20, 0.95 (in [0.8, 1.2] required); clipped critics <= 0.030")
    norms["Swiss roll", "gradient penalty"] = np.array([th["high"] + 0.01, 1.0])
    assert not ch2.gp_unit_gradient(norms, 256, 10.0).passed


def test_clipping_explodes_or_vanishes():
    th = CATALOGUE["ch2.clipping-explodes-or-vanishes"].threshold
    layers = 12
    grow = np.geomspace(th["clip_ratio"] * 2, 1, layers)[:, None].repeat(2, 1)  # first / last = 2 x clip_ratio
    shrink = 1 / grow
    flat = np.linspace(1, 2, layers)[:, None].repeat(2, 1)
    curves = {"weight clipping c = 0.1": grow, "weight clipping c = 0.01": shrink, "gradient penalty": flat}
    v = ch2.clipping_explodes_or_vanishes(curves, (0.1, 0.01))
    assert v.passed and v.evidence == ("first/last layer gradient norm, median over seeds: c=0.1: 10^2.3, c=0.01: "
                                       "10^-2.3 (>= 100 either way required); penalty: max/min over layers 2.0 (<= 10)")
    assert not ch2.clipping_explodes_or_vanishes({**curves, "weight clipping c = 0.01": flat}, (0.1, 0.01)).passed
    assert not ch2.clipping_explodes_or_vanishes({**curves, "gradient penalty": grow}, (0.1, 0.01)).passed


def _runs(by_name: dict, steps: int = 6000, every: int = 500) -> dict:
    """Fake runs: {name: [(hq per seed, modes_k per seed) at each evaluation]} on the grid."""
    from types import SimpleNamespace

    runs = {}
    for name, evals in by_name.items():
        rec = {i * every: {"hq_fraction": np.asarray(h, float), "modes_k": np.asarray(m), "modes": np.asarray(m)}
               for i, (h, m) in enumerate(evals)}
        runs["grid", name] = {"result": SimpleNamespace(records={"eval": rec}), "steps": steps}
    return runs


def test_baseline_trained_needs_both_levels_on_every_resample():
    trained = _runs({"GAN": [([0.0] * 3, [0] * 3), ([0.93, 0.95, 0.94], [18, 20, 17])]})
    assert ch2.objectives_baseline_trained(trained, "grid").outcome == "REPRODUCED"
    at_fifteen = _runs({"GAN": [([0.93, 0.95, 0.94], [15, 20, 17])]})  # one seed at the level, not above it
    assert ch2.objectives_baseline_trained(at_fifteen, "grid").outcome != "REPRODUCED"
    untrained = _runs({"GAN": [([0.03, 0.02, 0.04], [0, 1, 0])]})  # a blob: no HQ mass, no covered mode
    assert ch2.objectives_baseline_trained(untrained, "grid").outcome == "NOT REPRODUCED"


def test_steps_to_level_counts_a_run_that_never_gets_there_past_the_budget():
    runs = _runs({"WGAN-GP": [([0.1, 0.1, 0.1], [5, 5, 5]), ([0.85, 0.5, 0.9], [20, 20, 10]),
                              ([0.9, 0.85, 0.9], [25, 22, 14])]}, steps=1000)
    assert ch2.steps_to_level(runs, "grid", "WGAN-GP", 500).tolist() == [500.0, 1000.0, 1500.0]


def test_gp_comparisons_are_judged_from_declared_effects_and_gated():
    from gancompanion.evaluation import verdicts

    trained = verdicts.baseline_trained("grid25", [0.93, 0.95, 0.94], [18, 20, 17])
    untrained = verdicts.baseline_trained("grid25", [0.03, 0.02, 0.04], [0, 1, 0])
    smallest = verdicts.declared("ch2.gp-concentrates-on-modes").smallest
    gp, clip = [0.86, 0.9, 0.88], [0.02, 0.017, 0.03]
    r = ch2.gp_concentrates_on_modes(gp, clip, trained)
    assert r.outcome == "REPRODUCED" and r.n == 3 and r.estimate > smallest
    assert ch2.gp_concentrates_on_modes(clip, clip, trained).outcome == "NOT REPRODUCED"  # the penalty removed
    assert ch2.gp_concentrates_on_modes(clip, gp, trained).outcome == "NOT REPRODUCED"  # sign flipped
    gated = ch2.gp_concentrates_on_modes(gp, clip, untrained)
    assert gated.outcome == "INCONCLUSIVE" and "baseline did not train" in gated.reason
    never, fast = [6500.0] * 3, [5000.0, 5500.0, 4500.0]  # budget 6000: "never" is counted past it
    assert ch2.gp_faster_than_clipping(never, fast, trained, 6000).outcome == "REPRODUCED"
    assert ch2.gp_faster_than_clipping(fast, fast, trained, 6000).outcome == "NOT REPRODUCED"  # no difference
    # neither reaches the level within the budget: their steps are unknown, not equal
    unknown = ch2.gp_faster_than_clipping(never, never, trained, 6000)
    assert unknown.outcome == "INCONCLUSIVE" and "neither run reached" in unknown.reason
    assert ch2.gp_faster_than_clipping(never, fast, untrained, 6000).outcome == "INCONCLUSIVE"


def test_critic_pull_tells_a_linear_critic_from_one_that_pulls_towards_modes():
    import torch
    from types import SimpleNamespace

    x = torch.randn(1, 2500, 2, generator=torch.Generator().manual_seed(0))
    g = lambda z: z  # noqa: E731 -- the samples are the latents
    st = SimpleNamespace(fixed_latent=lambda n: x[:, :n])
    class Critic(torch.nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, v):
            return self.fn(v)

    linear = torch.nn.Linear(2, 1)
    runs = {("grid", "WGAN (clip)"): {"g": g, "st": st, "d": Critic(lambda v: linear(v)[..., 0] * 1e-3)},
            ("grid", "WGAN-GP"): {"g": g, "st": st, "d": Critic(lambda v: -(v ** 2).sum(-1))}}  # pulls to 0
    pull = ch2.critic_pull(runs, "grid", ["WGAN (clip)", "WGAN-GP"])
    assert abs(pull["WGAN (clip)"]["aligned"][0] - 1) < 1e-6 and pull["WGAN (clip)"]["grad"][0] < 1e-2
    assert pull["WGAN-GP"]["aligned"][0] < 0.1


def test_the_sn_rule_and_a_tiny_real_run():
    from gancompanion import data
    from gancompanion.pipeline.scales import Settings
    import gancompanion as gc

    toy, scale = ch2.standardised(data.grid())
    assert abs(scale - 2 * 2 ** 0.5) < 1e-6 and abs(ch2.mode_spacing(toy) - 2 ** -0.5) < 1e-6
    assert abs(ch2.sn_gain(toy) - 4 * 2 ** 0.5) < 1e-5
    cfg = Settings({**gc.settings("ch2.objectives", "smoke"), "steps": 10, "wgan_steps": 6, "eval_every": 5,
                    "hidden": 8})
    runs = ch2.objectives_experiment(cfg, ["GAN", "SN-GAN (hinge)"], [0, 1], "smoke", "cpu")
    assert runs["grid", "GAN"]["steps"] == 10 and ch2.budget(cfg, "WGAN-GP") == 6
    assert isinstance(runs["grid", "SN-GAN (hinge)"]["d"], ch2.OutputGain)
    sn = ch2.sn_measure(runs["grid", "SN-GAN (hinge)"], [0, 1], 0, "cpu")  # the normalised net, without the gain
    assert ch2.sn_lipschitz(sn["grad_max"], sn["lag"], sn["bound"]).passed
    table = ch2.objectives_table(runs, "grid")
    assert list(table["who"])[:2] == ["this book, 10 steps", "this book, 10 steps"]
    assert all(w.startswith("theirs: ") for w in table["who"][2:])


def test_sn_verdicts():
    rtol = CATALOGUE["ch2.sn-lipschitz"].threshold["rtol"]
    v = ch2.sn_lipschitz(np.array([0.5, 1.0]), np.array([1.0, 1.0]), np.array([1.01, 1.02]))
    assert v.passed and v.values == {"grad_max": [0.5, 1.0], "bound": [1.01, 1.02], "lag": [1.0, 1.0]}
    assert v.evidence == ("largest input-gradient norm per seed 0.500, 1.000 on 10000 random inputs and data; 1 x the "
                          "estimate's lag 1.0000, 1.0000; norm <= 1 x lag x (1 + 1e-05): True")
    assert not ch2.sn_lipschitz(np.array([1 + 10 * rtol]), np.array([1.0]), np.array([1.0])).passed
    bound_max = CATALOGUE["ch2.sn-one-iteration"].threshold["bound_max"]
    one = ch2.sn_one_iteration(np.array([1.0, bound_max]), 300)
    assert one.passed and one.evidence == ("after 300 generator steps, product of the normalised layers' spectral "
                                           "norms per seed 1.0000, 1.0500 (<= 1.05 required)")
    assert not ch2.sn_one_iteration(np.array([1.0, bound_max + 1e-3]), 300).passed


def test_baseline_reading_says_whether_the_comparisons_are_judged():
    from gancompanion.evaluation import verdicts

    judged = ch2.baseline_reading(verdicts.baseline_trained("grid25", [0.93, 0.95, 0.94], [18, 20, 17]))
    assert judged.endswith("so the comparisons below are judged.")
    at_level = ch2.baseline_reading(verdicts.baseline_trained("grid25", [0.93, 0.95, 0.94], [15, 20, 14]))
    assert "has not been shown to reach the level" in at_level and "[14, 20]" in at_level


def test_gp_reading_says_when_the_budget_cuts_the_steps_off():
    cut = ch2.gp_reading("INCONCLUSIVE", {"WGAN-GP": np.array([6000.0, 6500, 6500]),
                                          "WGAN (clip)": np.array([6500.0, 6500, 6500])}, 6000)
    assert "on 1 (at step 6000) and WGAN with clipping on 0" in cut and "On 2 seed(s) neither gets there" in cut
    fast = ch2.gp_reading("REPRODUCED", {"WGAN-GP": np.array([5000.0, 5500, 4500]),
                                         "WGAN (clip)": np.array([6500.0, 6500, 6500])}, 6000)
    assert "neither" not in fast
    assert "On 3 seed(s) only one of them gets there" in fast and "lower bound" in fast
    assert "On 1 seed(s) only one of them gets there" in cut
    both = ch2.gp_reading("REPRODUCED", {"WGAN-GP": np.array([5000.0, 5500, 4500]),
                                         "WGAN (clip)": np.array([6000.0, 6000, 6000])}, 6000)
    assert "lower bound" not in both

"""Chapter 6's verdicts: each is judged from the effect its claim declares, and fails when what it guards is
removed (the variant fed as the baseline, a mode lost, the baseline untrained, the cost taken away)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from gancompanion import settings
from gancompanion.chapters import ch6
from gancompanion.evaluation import verdicts
from gancompanion.pipeline.claims import CATALOGUE

N = verdicts.declared("ch6.top-k-helps").n_seeds
BASE = np.resize([0.95, 0.94, 0.96, 0.93, 0.95, 0.94, 0.96, 0.95], N)  # per seed, for the declared n
MODES = np.resize([15.0, 17, 14, 16, 18, 16, 15, 17], N)


def trained():
    return ch6.baseline_trained(np.full(N, 0.95) + np.linspace(-0.01, 0.01, N),
                                np.resize([17, 18, 19, 17, 18, 19, 17, 18], N))


def test_book_trains_the_declared_seeds_and_every_claim_declares_its_effect():
    assert settings("ch6.tricks", "book").seeds == N
    for cid, claim in CATALOGUE.items():
        if cid.startswith("ch6.") and not cid.endswith("-baseline-trained"):
            assert verdicts.declared(cid).n_seeds == N, cid
    for cid in (ch6.BASELINE_CLAIM, ch6.CONDITIONAL_CLAIM):
        assert CATALOGUE[cid].min_scale == "book" and CATALOGUE[cid].threshold["hq_fraction"] == 0.8


def test_baseline_claim_passes_above_the_levels_only():
    assert trained().outcome == "REPRODUCED"
    undecided = ch6.baseline_trained(np.full(N, 0.95), np.resize([15, 14, 12, 20, 15, 14, 13, 15], N))
    assert undecided.outcome != "REPRODUCED"
    assert ch6.baseline_trained(np.full(N, 0.5), np.full(N, 20)).outcome == "NOT REPRODUCED"


@pytest.mark.parametrize("cid", ["ch6.annealed-noise-helps", "ch6.top-k-helps", "ch6.latent-optimisation-helps"])
def test_helps_needs_quality_and_coverage_together(cid):
    base = {"hq_fraction": BASE, "modes_k": MODES}
    better = {"hq_fraction": BASE + 0.04 + np.linspace(0, 0.01, N), "modes_k": MODES}
    r = ch6.better_together(cid, better, base, trained())
    assert r.outcome == "REPRODUCED" and r.estimate == pytest.approx(np.mean(better["hq_fraction"] - BASE))
    # the baseline fed as the variant: no effect
    assert ch6.better_together(cid, base, base, trained()).outcome == "NOT REPRODUCED"
    # better samples, but three modes lost on every seed
    lost = ch6.better_together(cid, {**better, "modes_k": MODES - 3}, base, trained())
    assert lost.outcome == "NOT REPRODUCED" and "coverage NOT REPRODUCED" in lost.reason
    # an untrained baseline makes every comparison inconclusive, and says so
    bad = ch6.baseline_trained(np.full(N, 0.2), np.full(N, 3))
    gated = ch6.better_together(cid, better, base, bad)
    assert gated.outcome == "INCONCLUSIVE" and "did not train" in gated.reason


def test_refinement_and_truncation_claims():
    ref = {"scores": {"plain": {"hq_fraction": BASE, "modes_k": MODES},
                      "DDLS": {"hq_fraction": BASE + 0.03 + np.linspace(0, 0.01, N), "modes_k": MODES + 1},
                      "DGFlow": {"hq_fraction": BASE + 0.03, "modes_k": MODES - 4},
                      "DRS": {"hq_fraction": BASE, "modes_k": MODES}}}
    assert ch6.refinement_improves_quality("DDLS", ref, trained()).outcome == "REPRODUCED"
    assert ch6.refinement_improves_quality("DGFlow", ref, trained()).outcome == "NOT REPRODUCED"
    assert ch6.refinement_improves_quality("DRS", ref, trained()).outcome == "NOT REPRODUCED"
    t = CATALOGUE["ch6.truncation-tradeoff"].threshold["truncation"]
    up = {None: {"hq_fraction": BASE - 0.2}, t: {"hq_fraction": BASE - 0.1 + np.linspace(0, 0.02, N)}}
    assert ch6.truncation_tradeoff(up, trained()).outcome == "REPRODUCED"
    down = {None: {"hq_fraction": BASE}, t: {"hq_fraction": BASE - 0.3}}
    assert ch6.truncation_tradeoff(down, trained()).outcome == "NOT REPRODUCED"


def test_sn_robust_compares_each_seeds_worst_setting():
    def run(hq):
        return {"evals": {100: {"hq_fraction": np.asarray(hq, float)}}}
    good, poor = BASE, np.full(N, 0.1) + np.linspace(0, 0.02, N)
    runs = {("SN", "B"): run(good), ("SN", "D"): run(good - 0.01), ("plain", "B"): run(good), ("plain", "D"): run(poor)}
    assert ch6.sn_robust(runs, ("B", "D"), trained()).outcome == "REPRODUCED"
    runs["SN", "D"] = run(poor)  # SN fails at the high rate as well
    assert ch6.sn_robust(runs, ("B", "D"), trained()).outcome == "NOT REPRODUCED"


def dims_table(evals_hi):
    return pd.DataFrame([{"dim": dim, "gamma": "exact", "seed": s, "acceptance": 1 / e, "d_evals": e}
                         for dim, e in ((2, 3.0), (256, evals_hi)) for s in range(N)])


def test_drs_costlier_compares_with_the_chain_at_the_largest_dimension():
    assert ch6.drs_costlier(dims_table(5000.0), 50.0, trained()).outcome == "REPRODUCED"
    assert ch6.drs_costlier(dims_table(5.0), 50.0, trained()).outcome == "NOT REPRODUCED"


def test_step_rule_spends_exactly_the_displacement_budget():
    cfg = settings("ch6.tricks", "book")
    for m in (0.5, 5.0, 18.0):
        r = ch6.step_rule(cfg, m)
        e, eta, b = r["ddls_step"], r["dgflow_eta"], cfg.latent_budget
        assert cfg.ddls_steps * m * e / 2 + math.sqrt(cfg.ddls_steps * e) == pytest.approx(b)
        assert cfg.dgflow_steps * m * eta + math.sqrt(2 * cfg.dgflow_gamma * cfg.dgflow_steps * eta) == pytest.approx(b)
    assert ch6.step_rule(cfg, 10.0)["dgflow_eta"] < ch6.step_rule(cfg, 1.0)["dgflow_eta"]


def test_drs_acceptance_falls_with_dimension_only_when_the_generator_errs():
    cfg = settings("ch6.tricks", "smoke")
    t = ch6.Tricks(cfg, 10, [0, 1, 2], "cpu", 0)
    g, d = t.build([0, 1, 2])
    run = {"g": g, "d": d, "seeds": [0, 1, 2]}
    exact = lambda tab, dim: tab[(tab.gamma == "exact") & (tab.dim == dim)].acceptance.median()
    err = ch6.drs_dimension(t, run, np.full(3, 1.3))
    assert exact(err, 256) < exact(err, 2) / 10
    same = ch6.drs_dimension(t, run, np.full(3, 1.0))  # the generator's spread is the data's: nothing to reject
    assert exact(same, 256) == pytest.approx(exact(same, 2))


def test_a_tiny_real_run_of_each_training_variant_gives_the_columns_the_claims_read():
    cfg = settings("ch6.tricks", "smoke")
    t = ch6.Tricks(cfg, 4, [0, 1, 2], "cpu", 0)
    base = ch6.train_runs(t, ch6.Recipe(), "baseline")
    topk = ch6.train_runs(t, ch6.Recipe(selection=ch6.topk_part(t)), "top-k")
    noisy = ch6.train_runs(t, ch6.noise_recipe(t), "noise")
    assert set(base["evals"]) == {0, 4} and ch6.final(base, "modes_k").shape == (3,)
    # an untrained baseline cannot pass its claim, and gates the comparisons
    gate = ch6.baseline_trained(ch6.final(base, "hq_fraction"), ch6.final(base, "modes_k"))
    assert gate.outcome == "NOT REPRODUCED"
    for run in (topk, noisy):
        r = ch6.better_together("ch6.top-k-helps", ch6.finals(run), ch6.finals(base), gate)
        assert r.outcome == "INCONCLUSIVE" and "did not train" in r.reason
    assert noisy["seconds"] > 0 and ch6.table({"b": base}).shape[0] == 2 * 3


def cond_scores(fid0, fid, var0, var):
    t = CATALOGUE[ch6.CONDITIONAL_TRADEOFF].threshold["truncation"]
    return {None: {"fidelity": np.asarray(fid0, float), "variety": np.asarray(var0, float)},
            t: {"fidelity": np.asarray(fid, float), "variety": np.asarray(var, float)}}


def test_conditional_tradeoff_needs_fidelity_up_and_variety_down():
    spread = np.linspace(0, 0.02, N)
    fid0, var0 = BASE, np.full(N, 0.95) + spread
    traded = cond_scores(fid0, fid0 + 0.03 + spread, var0, var0 - 0.6)
    assert ch6.truncation_tradeoff_conditional(traded, trained()).outcome == "REPRODUCED"
    # no truncation as the variant: nothing is traded
    same = cond_scores(fid0, fid0, var0, var0)
    assert ch6.truncation_tradeoff_conditional(same, trained()).outcome != "REPRODUCED"
    assert ch6.truncation_tradeoff_conditional(same, trained()).outcome == "NOT REPRODUCED"
    # variety lost but fidelity lost too (G(0, c) off its mode): not the trade
    worse = cond_scores(fid0, fid0 - 0.2 - spread, var0, var0 - 0.6)
    assert ch6.truncation_tradeoff_conditional(worse, trained()).outcome == "NOT REPRODUCED"
    # fidelity up but the variety kept: not the trade either
    kept = cond_scores(fid0, fid0 + 0.03 + spread, var0, var0 - 0.01)
    r = ch6.truncation_tradeoff_conditional(kept, trained())
    assert r.outcome == "NOT REPRODUCED" and "variety NOT REPRODUCED" in r.reason
    # an untrained conditional model gates it
    bad = ch6.conditional_trained(np.full(N, 0.2), np.full(N, 3))
    gated = ch6.truncation_tradeoff_conditional(traded, bad)
    assert gated.outcome == "INCONCLUSIVE" and "did not train" in gated.reason


def test_within_class_scores_an_ideal_generator_as_the_data():
    cfg = settings("ch6.tricks", "smoke")
    t = ch6.Tricks(cfg, 10, [0, 1, 2], "cpu", 0)
    k = len(t.grid.centers)
    classes = torch.arange(400 * k) % k
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(3, len(classes), 2, generator=gen)
    ideal = lambda z: t.grid.centers[classes] + t.grid.std * z
    s = ch6.within_class(t, ideal(z), classes)
    assert s["fidelity"] == pytest.approx(np.full(3, 1 - math.exp(-4.5)), abs=0.01)
    assert s["variety"] == pytest.approx(np.ones(3), abs=0.03)
    th = 0.5
    s5 = ch6.within_class(t, ideal(ch6.sampling.truncate(z, th, gen)), classes)
    assert s5["fidelity"] == pytest.approx(np.ones(3)) and s5["variety"] == pytest.approx(
        np.full(3, ch6.ideal_variety(t, th)), abs=0.02)
    # every sample on the wrong class's mode: no fidelity, no variety to measure
    wrong = ch6.within_class(t, t.grid.centers[(classes + 1) % k].expand(3, -1, -1), classes)
    assert np.all(wrong["fidelity"] == 0) and np.all(np.isnan(wrong["variety"]))
    assert ch6.data_spread(t.grid, 3.0) / t.grid.std == pytest.approx(1.378, abs=1e-3)


def test_a_tiny_conditional_run_carries_the_class_to_both_players():
    cfg = settings("ch6.tricks", "smoke")
    t = ch6.Tricks(cfg, 4, [0, 1, 2], "cpu", 0)
    run = ch6.train_runs(t, ch6.Recipe(), "conditional", conditional=True)
    st = run["streams"]
    real, z = st.real(), st.latent()
    assert real.shape == (3, cfg.batch_size, 27) and z.shape == (3, cfg.batch_size, cfg.latent_dim + 25)
    # a real sample's class is its nearest mode; a generated one keeps the class it was asked for
    near = torch.cdist(real[..., :2], t.grid.centers).argmin(-1)
    assert torch.equal(near, real[..., 2:].argmax(-1))
    with torch.no_grad():
        x = run["g"](z)
    assert torch.equal(x[..., 2:], z[..., 2:]) and set(run["evals"]) == {0, 4}
    gate = ch6.conditional_trained(ch6.final(run, "hq_fraction"), ch6.final(run, "modes_k"))
    assert gate.outcome == "NOT REPRODUCED"  # four steps do not train it
    cond = ch6.conditional_truncation(t, run)
    assert set(cond["scores"]) == {None, *cfg.truncations} and cond["scores"][None]["fidelity"].shape == (3,)
    r = ch6.truncation_tradeoff_conditional(cond["scores"], gate)
    assert r.outcome == "INCONCLUSIVE" and "did not train" in r.reason


def test_conditional_reading_says_what_was_traded():
    t = ch6.Tricks(settings("ch6.tricks", "book"), 10, list(range(N)), "cpu", 0)
    narrow = cond_scores(np.full(N, 0.9976), np.ones(N), np.full(N, 0.36), np.full(N, 0.22))
    text = ch6.conditional_tradeoff_reading(t, {"scores": narrow})
    assert "0.36 of the data's spread" in text and "0.0024" in text and "keeps 0.61" in text
    assert "less far out" in text
    empty = cond_scores(np.zeros(N), np.zeros(N), np.full(N, np.nan), np.full(N, np.nan))
    assert "nothing to trade" in ch6.conditional_tradeoff_reading(t, {"scores": empty})


def test_an_inconclusive_coverage_side_gives_the_seeds_that_would_settle_it():
    base = {"hq_fraction": BASE, "modes_k": MODES}
    better = {"hq_fraction": BASE + 0.05 + np.linspace(0, 0.01, N),  # quality clearly up
              "modes_k": MODES - np.resize([0, 2, 0, 1, 1, 0, 2, 0], N)}  # coverage straddles the margin
    r = ch6.better_together("ch6.top-k-helps", better, base, trained())
    assert r.outcome == "INCONCLUSIVE" and r.seeds_to_settle is not None and r.seeds_to_settle > N
    assert f"about {r.seeds_to_settle} seeds would settle it" in r.summary()


def test_the_delay_reading_gives_the_first_step_at_the_level_and_the_cosine_rate_then():
    t = ch6.Tricks(settings("ch6.tricks", "smoke"), 1000, [0, 1], "cpu", 0)
    early = {"evals": {0: {"hq_fraction": np.array([0.1, 0.2])}, 100: {"hq_fraction": np.array([0.85, 0.9])}}}
    late = {"evals": {0: {"hq_fraction": np.array([0.1, 0.2])}, 100: {"hq_fraction": np.array([0.85, 0.7])},
                      900: {"hq_fraction": np.array([0.9, 0.85])}}}
    never = {"evals": {0: {"hq_fraction": np.array([0.1, 0.2])}}}
    assert ch6.first_step_at(late, "hq_fraction", 0.8) == 900  # the median, not one seed
    text = ch6.delay_reading(t, {"a": early, "b": late, "c": never})
    assert "a: step 100, at a learning rate of 0.00098" in text and "b: step 900" in text
    assert "c: not within the 1000 steps" in text


def test_logan_reading_says_what_the_second_order_terms_did():
    first = {"hq_fraction": np.full(N, 0.85) + np.linspace(-0.01, 0.01, N), "modes_k": np.full(N, 16.0)}
    control = {"hq_fraction": np.full(N, 0.9), "modes_k": np.full(N, 17.0)}
    moved = {"LOGAN": np.full((N, 10), 0.07), "uniform prior": np.full((N, 10), 0.02)}
    for shift, word in ((-0.08, "lower"), (0.08, "raise"), (0.0, "do not clearly change")):
        full = {"hq_fraction": first["hq_fraction"] + shift + np.linspace(-0.02, 0.02, N)[::-1], "modes_k": MODES}
        text = ch6.logan_reading({"LOGAN": full, "LOGAN, first order": first, "uniform prior": control}, moved)
        assert f"through Δz {word} the HQ fraction" in text
        assert "by a median 0.070" in text and "never took it, by 0.020" in text


def test_latent_displacement_is_the_clipped_step_under_the_runs_own_networks():
    t = ch6.Tricks(settings("ch6.tricks", "smoke"), 2, [0, 1], "cpu", 0)
    run = ch6.train_runs(t, ch6.Recipe(), "uniform prior", prior="uniform")
    step = ch6.logan_step(t)
    moved = ch6.latent_displacement(run, step, 64)
    z = run["streams"].fixed_latent(64).requires_grad_(True)
    (grad,) = torch.autograd.grad(run["d"](run["g"](z)).sum(), z)
    dz = step.alpha * grad / (step.beta + (grad ** 2).sum(-1, keepdim=True))
    expected = ((z + dz).clamp(-1, 1) - z).norm(dim=-1).detach().numpy()
    assert moved.shape == (2, 64) and np.allclose(moved, expected, atol=1e-7)
    assert moved.max() <= step.alpha / (2 * math.sqrt(step.beta)) + 1e-6  # the natural step's bound
    bigger = ch6.latent_displacement(run, ch6.replace(step, alpha=2 * step.alpha, _last={}), 64)
    assert np.all(bigger >= moved - 1e-7) and bigger.mean() > moved.mean()


def test_the_sn_reading_measures_slopes_within_the_gain_and_leaves_the_power_iteration_alone():
    t = ch6.Tricks(settings("ch6.tricks", "smoke"), 2, [0, 1], "cpu", 0)
    gain = ch6.sn_gain(t)
    runs = {}
    for s in ("B", "C"):
        runs["plain", s] = ch6.train_runs(t, ch6.Recipe(), "plain")
        runs["SN", s] = ch6.train_runs(t, ch6.Recipe(constraints=(ch6.constraints.SpectralNorm(1),)), "SN",
                                       d_wrap=lambda d: ch6.Gain(d, gain))
    before = {k: v.clone() for k, v in runs["SN", "B"]["d"].state_dict().items()}
    slopes = ch6.logit_slope(runs["SN", "B"], t.grid, 200)
    after = runs["SN", "B"]["d"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before) and runs["SN", "B"]["d"].training
    # a 1-Lipschitz logit times the gain (up to the power iteration's estimate of sigma)
    assert slopes.shape == (2,) and np.all(slopes <= gain * 1.05) and np.all(slopes > 0)
    doubled = dict(runs["plain", "B"], d=ch6.Gain(runs["plain", "B"]["d"], 2.0))
    assert np.allclose(ch6.logit_slope(doubled, t.grid, 200), 2 * ch6.logit_slope(runs["plain", "B"], t.grid, 200))
    text = ch6.sn_reading(runs, ("B", "C"), t.grid, 200, gain)
    assert text.count("with SN") == 4 and f"against the bound {gain:.2f}" in text

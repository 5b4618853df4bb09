"""Verdicts from an effect and its interval: the three outcomes, the intervals, the claims' lines."""

import json
import math

import numpy as np
import pytest

from gancompanion.evaluation import verdicts
from gancompanion.pipeline import claims
from gancompanion.evaluation.verdicts import Effect, judge



def _effect(**kw):
    return Effect(**{"name": "HQ, variant minus baseline", "direction": 1, "smallest": 0.02, "n_seeds": 8, **kw})


def test_three_outcomes_paired_by_seed():
    base = np.array([0.50, 0.61, 0.55, 0.58, 0.47, 0.52, 0.60, 0.54])
    rng = np.random.default_rng(1)
    jitter = rng.normal(0, 0.01, 8)
    assert judge(_effect(), base + 0.12 + jitter, base).outcome == "REPRODUCED"
    assert judge(_effect(), base - 0.05 + jitter, base).outcome == "NOT REPRODUCED"
    wide = judge(_effect(), base + 0.03 + rng.normal(0, 0.08, 8), base)
    assert wide.outcome == "INCONCLUSIVE" and wide.seeds_to_settle > 8
    # the same data judged against the opposite direction: the interval now lies short of the claim
    assert judge(_effect(direction=-1), base + 0.12 + jitter, base).outcome == "NOT REPRODUCED"
    assert judge(_effect(direction=-1), base - 0.12 + jitter, base).outcome == "REPRODUCED"


def test_unpaired_and_level_effects():
    a, b = np.linspace(0.8, 0.9, 6), np.linspace(0.4, 0.5, 6)
    r = judge(_effect(paired=False), a, b)
    assert r.outcome == "REPRODUCED" and r.estimate == pytest.approx(0.4)
    level = Effect("HQ minus 0.8", 1, 0.0, 6, level=0.8)
    assert judge(level, a + 0.05).outcome == "REPRODUCED"
    assert judge(level, a - 0.3).outcome == "NOT REPRODUCED"
    with pytest.raises(ValueError, match="other"):
        judge(_effect(), a)
    with pytest.raises(ValueError, match="other"):
        judge(level, a, b)
    with pytest.raises(ValueError, match="paired"):
        judge(_effect(), a, b[:4])


def test_bootstrap_is_fixed_and_the_interval_holds_the_estimate():
    x = np.random.default_rng(3).normal(1, 1, 10)
    first = verdicts.bootstrap_interval(x)
    assert first == verdicts.bootstrap_interval(x)
    est, lo, hi = first
    assert lo < est < hi and est == pytest.approx(x.mean())


def test_sign_interval_is_the_exact_order_statistics():
    x = np.arange(10.0)  # n = 10: r = 2, coverage 1 - 2 * 11/1024 = 0.979 (r = 3 gives 0.891 < 0.95)
    assert verdicts.sign_interval(x) == (4.5, 1.0, 8.0)
    assert verdicts.sign_interval(np.arange(5.0))[1:] == (-math.inf, math.inf)  # 5 values cannot reach 95 %
    r = judge(_effect(statistic="median", method="sign", n_seeds=5), np.ones(5), np.zeros(5))
    assert r.outcome == "INCONCLUSIVE" and r.seeds_to_settle is None


def test_nan_is_inconclusive_and_bad_declarations_are_refused():
    r = judge(_effect(), [0.1, float("nan"), 0.2], [0.0, 0.0, 0.0])
    assert r.outcome == "INCONCLUSIVE" and "NaN" in r.reason
    one = judge(_effect(), [0.5], [0.0])  # one seed has no interval, however large its effect
    assert one.outcome == "INCONCLUSIVE" and "fewer than 3 seeds" in one.summary()
    for kw, word in [({"direction": 0}, "direction"), ({"smallest": -1.0}, "smallest"),
                     ({"n_seeds": 0}, "n_seeds"), ({"statistic": "mode"}, "statistic"),
                     ({"method": "t"}, "method"), ({"method": "sign"}, "sign"), ({"method": "binomial"}, "binomial")]:
        with pytest.raises(ValueError, match=word):
            _effect(**kw)


def test_seeds_to_settle_scales_as_one_over_sqrt_n():
    # estimate 0.1, smallest 0.05, half-width 0.1 at n = 4: need (0.1 / 0.05)^2 * 4 = 16 seeds
    assert verdicts.seeds_to_settle(0.1, 0.0, 0.2, 0.05, 4) == 16
    assert verdicts.seeds_to_settle(0.05, 0.0, 0.1, 0.05, 4) is None


def test_seed_blocks_are_disjoint():
    assert verdicts.seed_block(0, 4) == [0, 1, 2, 3] and verdicts.seed_block(1, 4) == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="seed"):
        verdicts.seed_block(-1, 4)


def test_baseline_trained_and_gated_comparison():
    ok = verdicts.baseline_trained("grid25", [0.93, 0.95, 0.94, 0.92], [20, 21, 19, 22])
    assert ok.outcome == "REPRODUCED"
    low = verdicts.baseline_trained("grid25", [0.02, 0.03, 0.02, 0.04], [20, 21, 19, 22])
    assert low.outcome == "NOT REPRODUCED"
    few_modes = verdicts.baseline_trained("ring8", [0.95, 0.96, 0.97, 0.95], [3, 4, 2, 3])
    assert few_modes.outcome == "NOT REPRODUCED" and "against 6" in few_modes.reason
    comparison = judge(_effect(n_seeds=4), [0.9, 0.95, 0.92, 0.93], [0.5, 0.52, 0.51, 0.5])
    assert verdicts.gated(comparison, ok) is comparison
    gated = verdicts.gated(comparison, low)
    assert gated.outcome == "INCONCLUSIVE" and "baseline did not train" in gated.summary()
    with pytest.raises(ValueError, match="toy"):
        verdicts.baseline_trained("swissroll", [1.0], [1])


def test_a_run_cut_short_stands_only_where_every_completion_of_its_remainder_agrees():
    up = Effect("x", 1, 0.1, 6, paired=False, level=0.5)
    seen = np.array([0.9, 0.95, 1.0, 0.92, 0.97, 0.99])
    # each value could still move by up to 0.05 either way: every completion clears 0.6 -> the cut decides
    observed = judge(up, seen)
    assert verdicts.completions(observed, up, (seen + 0.05,), (seen - 0.05,), "the rest") == observed
    # up to 0.5 down: the least favourable completion no longer clears it -> INCONCLUSIVE, saying why
    v = verdicts.completions(observed, up, (seen,), (seen - 0.5,), "the rest")
    assert v.outcome == "INCONCLUSIVE" and v.seeds_to_settle is None and v.reason.startswith("the rest decide it")
    assert (v.estimate, v.low, v.high) == (observed.estimate, observed.low, observed.high)
    assert "REPRODUCED)" in v.reason and "NOT REPRODUCED" in v.reason
    # the intervals are monotone in each value, so any completion between the two ends lands between them
    rng, order = np.random.default_rng(0), {"NOT REPRODUCED": 0, "INCONCLUSIVE": 1, "REPRODUCED": 2}
    for _ in range(20):
        mid = seen - 0.5 * rng.random(seen.size)
        o = order[judge(up, mid).outcome]
        assert order[judge(up, seen - 0.5).outcome] <= o <= order[judge(up, seen).outcome]


def test_claim_line_prints_outcome_effect_interval_and_n(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOMPANION_CLAIMS", str(tmp_path))
    r = verdicts.Result("REPRODUCED", 0.12, 0.05, 0.20, 8, 0.02, 1, "HQ")
    rec = claims.report("ch6.top-k-helps", r, "", scale="book", seed=0, device="cpu")
    assert rec["line"] == "CLAIM ch6.top-k-helps: REPRODUCED effect +0.12 [0.05, 0.2] n=8 (smallest 0.02)"
    assert claims.status_of(rec["line"]) == "REPRODUCED" and rec["verdict"]["low"] == 0.05
    saved = json.loads(claims.record_path("ch6.top-k-helps", "book", 0, tmp_path).read_text())
    assert saved["status"] == "REPRODUCED"
    assert claims.key_number(saved) == ("effect: HQ", 0.12)  # the ledger's key number is the effect
    line = "CLAIM ch6.top-k-helps: NOT REPRODUCED effect -0.01 [-0.03, 0.01] n=8 (smallest 0.02)"
    assert claims.status_of(line) == "NOT REPRODUCED"
    # below the claim's scale it is a SKIP like any other; an exact claim refuses an interval
    assert claims.report("ch6.top-k-helps", r, "", scale="smoke", seed=0, device="cpu")["status"] == "SKIP"
    with pytest.raises(TypeError, match="exact"):
        claims.report("ch3.taylor-order", r, "", scale="smoke", seed=0, device="cpu")


def test_published_and_disjoint_seed_sets_give_the_same_outcome(one_thread):
    """A cheap statistical claim (one-sided label smoothing lowers D's confidence on real data, Salimans et
    al. 2016, sec. 3.4), judged from its effect's interval on the published seeds (`--seed 0`) and on the
    next, disjoint block (`--seed 1`): the seeds' numbers differ, the outcome does not."""
    from gancompanion.chapters import ch5
    from gancompanion import data
    from gancompanion.pipeline import scales

    cfg = scales.settings("ch5.smoothing", "smoke")
    effect = Effect("mean D(x) on real data, smoothed minus plain", direction=-1, smallest=0.05, n_seeds=4)
    results = []
    for block in (0, 1):
        seeds = verdicts.seed_block(block, effect.n_seeds)
        plain, smooth = (ch5.smoothing_probe(cfg, data.ring(), seeds, t, "cpu", progress=False)["final"]
                         for t in (1.0, 0.9))
        results.append(judge(effect, smooth, plain))
    assert set(verdicts.seed_block(0, 4)).isdisjoint(verdicts.seed_block(1, 4))
    assert results[0].estimate != results[1].estimate  # different runs ...
    assert results[0].outcome == results[1].outcome == "REPRODUCED"  # ... the same verdict


def test_the_ledger_and_the_claims_command_carry_the_new_outcomes(tmp_path, monkeypatch, capsys):
    from gancompanion.pipeline import book, cli

    monkeypatch.setenv("GANCOMPANION_RESULTS", str(tmp_path))
    r = verdicts.Result("NOT REPRODUCED", -0.01, -0.03, 0.01, 8, 0.02, 1, "HQ")
    rec = claims.report("ch6.top-k-helps", r, "", scale="book", seed=0, device="cpu")
    page = book.ledger([rec], claims.CATALOGUE, "book")
    assert "1/1 NOT REPRODUCED" in page and "effect -0.01 [-0.03, 0.01] n=8" in page
    assert cli.main(["claims", "--scale", "book", "--strict"]) == 1  # NOT REPRODUCED fails --strict like FAIL
    assert "CLAIM ch6.top-k-helps: NOT REPRODUCED effect" in capsys.readouterr().out


def test_a_claim_declares_its_effect_in_the_catalogue(monkeypatch):
    monkeypatch.setattr(claims, "CATALOGUE", dict(claims.CATALOGUE))
    c = claims.Claim("ch9.test", "09_test", "s", "src", "check", effect=dict(
        name="HQ, top-k minus baseline", direction=1, smallest=0.02, n_seeds=8))
    claims.register(c)
    assert verdicts.declared("ch9.test") == Effect("HQ, top-k minus baseline", 1, 0.02, 8)
    with pytest.raises(ValueError, match="declares no effect"):
        verdicts.declared("ch1.perfect-discriminator")
    with pytest.raises(ValueError, match="smallest"):
        claims.register(claims.Claim("ch9.bad", "09_test", "s", "src", "check",
                                     effect=dict(name="x", direction=1, smallest=-1.0, n_seeds=8)))
    with pytest.raises(ValueError, match="exact"):
        claims.register(claims.Claim("ch9.exact", "09_test", "s", "src", "check", kind="exact",
                                     effect=dict(name="x", direction=1, smallest=0.0, n_seeds=8)))


def test_a_share_of_seeds_has_the_exact_clopper_pearson_interval():
    share, low, high = verdicts.binomial_interval([1] * 10)  # 10 of 10: [0.025^(1/10), 1] = [0.692, 1]
    assert share == 1.0 and low == pytest.approx(0.025 ** 0.1) and high == 1.0
    beats = Effect("share of seeds the variant wins", 1, 0.0, 10, method="binomial", level=0.5)
    assert judge(beats, [1] * 10).outcome == "REPRODUCED"
    assert judge(beats, [1] * 6 + [0] * 4).outcome == "INCONCLUSIVE"
    assert judge(beats, [0] * 10).outcome == "NOT REPRODUCED"
    with pytest.raises(ValueError, match="0/1"):
        judge(beats, [0.5] * 10)


def _critic_gradient_gap(seeds, penalty: float, steps: int = 150) -> np.ndarray:
    """Per seed: mean |grad D(x^)| - 1| of a WGAN critic trained ``steps`` steps on the ring of 8 against a
    fixed Gaussian blob, with the gradient penalty's weight ``penalty`` (0: none). Seed-batched over ``seeds``."""
    import torch

    from gancompanion import data
    from gancompanion.device import generator
    from gancompanion.techniques import d_terms
    from gancompanion.training import nets

    toy, S = data.ring(), len(seeds)
    d = nets.mlp_discriminator(2, (32, 32), seeds)
    opt = torch.optim.Adam(d.parameters(), 1e-3, betas=(0.5, 0.9))
    gens = [generator(s, "critic-test") for s in seeds]

    def batch(fn):
        return torch.stack([fn(g) for g in gens])

    def uniform(shape):
        return batch(lambda g: torch.rand(shape[1:], generator=g))

    for _ in range(steps):
        real = batch(lambda g: toy.sample(64, g))
        fake = batch(lambda g: 0.5 * torch.randn(64, 2, generator=g))
        loss = (d(fake).mean(-1) - d(real).mean(-1))
        if penalty:
            loss = loss + d_terms.wgan_gp(real, fake, 1, penalty, d, uniform)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
    real, fake = batch(lambda g: toy.sample(512, g)), batch(lambda g: 0.5 * torch.randn(512, 2, generator=g))
    eps = uniform((S, 512, 1))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    norm = d_terms.squared_norm(d_terms.input_gradient(d(x_hat), x_hat), 1).sqrt()
    return (norm - 1).abs().mean(-1).detach().numpy()


def test_published_and_disjoint_seed_sets_give_one_outcome_whatever_the_rounding(one_thread):
    """The protocol's mechanism on a cheap claim ("the gradient penalty keeps a critic's input gradient near
    unit norm", Gulrajani et al. 2017): the verdict is the effect's interval over a block of seeds, so the
    published block and the disjoint one give the same outcome, and so does each seed trained alone, whose
    numbers differ from the seed-batched ones by float rounding only. (Measured: block 0 effect +1.04
    [0.72, 1.33], block 1 +1.5 [0.91, 2.17], n=6, against the smallest effect 0.5.)"""
    effect = Effect("mean | |grad D| - 1 |, without the penalty minus with it", 1, 0.5, 6)
    outcomes, alone_vs_batched = [], []
    for block in (0, 1):
        seeds = verdicts.seed_block(block, effect.n_seeds)
        without, with_gp = _critic_gradient_gap(seeds, 0.0), _critic_gradient_gap(seeds, 10.0)
        batched = judge(effect, without, with_gp)
        alone = judge(effect, np.concatenate([_critic_gradient_gap([s], 0.0) for s in seeds]),
                      np.concatenate([_critic_gradient_gap([s], 10.0) for s in seeds]))
        outcomes += [batched.outcome, alone.outcome]
        alone_vs_batched.append(abs(alone.estimate - batched.estimate))
    assert seeds == [6, 7, 8, 9, 10, 11]  # block 1 is the next six seeds, disjoint from block 0
    assert outcomes == ["REPRODUCED"] * 4, outcomes
    # and the check can fail: the "penalty" removed from the variant gives no effect
    seeds = verdicts.seed_block(0, effect.n_seeds)
    same = _critic_gradient_gap(seeds, 0.0)
    assert judge(effect, same, _critic_gradient_gap(seeds, 0.0)).outcome == "NOT REPRODUCED"


def test_an_inconclusive_verdict_of_several_sides_says_how_many_seeds_would_settle_it():
    # the baseline: HQ clearly above its level, modes straddling theirs -> the modes side's count
    undecided = verdicts.baseline_trained("grid25", [0.95, 0.93, 0.96, 0.94, 0.95, 0.92, 0.96, 0.94],
                                          [18, 13, 20, 12, 15, 19, 14, 16])
    assert undecided.outcome == "INCONCLUSIVE" and undecided.seeds_to_settle > 8
    assert f"about {undecided.seeds_to_settle} seeds would settle it" in undecided.summary()
    assert verdicts.baseline_trained("grid25", [0.95] * 8, [20, 21, 19, 20, 22, 20, 21, 19]).seeds_to_settle is None
    # the gated comparison names the baseline's count in its reason
    gated = verdicts.gated(verdicts.judge(verdicts.Effect("x", 1, 0.1, 3), [1.0, 1.1, 1.2], [0.0, 0.1, 0.1]),
                           undecided)
    assert gated.outcome == "INCONCLUSIVE" and f"about {undecided.seeds_to_settle} seeds" in gated.summary()

"""Chapter 4's checks fail on what they must fail on: NaN, an N = 1 term that is off, a rise, a widening dip.

Mutation style: each test feeds a check the numbers a broken computation would give and asserts FAIL, next to
the right numbers and PASS.
"""

import math

import numpy as np
import pytest

from gancompanion.analytic import minibatch_divergences
from gancompanion.analytic.divergences import LOG2
from gancompanion.chapters import ch4

NAN = float("nan")


P, QS, NS = 0.2, np.linspace(0, 1, 201), (1, 2, 3, 8)


def test_closed_form_bernoulli_divergences_match_a_hand_sum():
    for q in (0.0, 0.05, 0.2, 0.7, 1.0):
        kl = sum(a * math.log(a / b) if a > 0 else 0.0 for a, b in ((P, q), (1 - P, 1 - q)) if b > 0 or a == 0)
        assert ch4.bernoulli_kl(P, q) == pytest.approx(kl if 0 < q < 1 else math.inf, rel=1e-14)
        m = ((P + q) / 2, 1 - (P + q) / 2)
        js = sum(0.5 * a * math.log(a / mm) for a, mm in zip((P, 1 - P), m) if a > 0) + \
            sum(0.5 * b * math.log(b / mm) for b, mm in zip((q, 1 - q), m) if b > 0)
        assert ch4.bernoulli_js(P, q) == pytest.approx(js, rel=1e-13, abs=1e-16)


def _kl_inputs():
    directions = {"KL[P||Q]": (P, QS), "KL[Q||P]": (QS, P)}
    one = {k: ch4.bernoulli_kl(a, b) for k, (a, b) in directions.items()}
    many = {(k, n): minibatch_divergences.product_divergence(a, b, n, "kl") for k, (a, b) in directions.items()
            for n in NS}
    return one, many


def test_kl_additive_passes_and_a_nan_in_kl2_fails_it():
    one, many = _kl_inputs()
    v = ch4.kl_additive(one, many)
    assert v.passed and v.evidence.startswith("N in [1, 2, 3, 8], 201 q, both directions, against the closed-form KL")
    assert v.evidence.endswith("(<= 1e-09 needed); infinite together at q = 0 and 1: True")
    many[("KL[P||Q]", 2)] = many[("KL[P||Q]", 2)].copy()
    many[("KL[P||Q]", 2)][50] = NAN
    assert not ch4.kl_additive(one, many).passed


def test_kl_additive_fails_an_n1_term_that_is_off():
    # the old check compared KL^(1) with 1 * KL^(1), itself; the closed form catches a wrong binomial route
    one, many = _kl_inputs()
    many[("KL[Q||P]", 1)] = many[("KL[Q||P]", 1)] * (1 + 1e-6)
    assert not ch4.kl_additive(one, many).passed


def test_kl_additive_needs_infinities_in_the_same_places():
    one, many = _kl_inputs()
    many[("KL[P||Q]", 3)] = np.where(np.isinf(many[("KL[P||Q]", 3)]), 1e300, many[("KL[P||Q]", 3)])
    v = ch4.kl_additive(one, many)
    assert not v.passed and not v.values["infinite_together"]


def _js_many():
    return {n: minibatch_divergences.product_divergence(P, QS, n, "js") for n in NS}


def test_js_subadditive_passes_and_fails_on_nan_and_an_off_n1_term():
    one = ch4.bernoulli_js(P, QS)
    assert ch4.js_subadditive(one, _js_many()).passed
    many = _js_many()
    many[8][100] = NAN
    assert not ch4.js_subadditive(one, many).passed
    many = _js_many()
    many[1] = many[1] + 1e-9  # JS^(1) above 1 x JS: the N = 1 term is no longer a value compared with itself
    assert not ch4.js_subadditive(one, many).passed
    assert not ch4.js_subadditive(one, {1: _js_many()[1]}).passed  # no N >= 2: nothing strict to show


def _per_sample():
    return np.stack([minibatch_divergences.product_divergence(P, QS, n, "js") / n for n in range(1, 65)])


def test_js_per_sample_nonincreasing_fails_on_a_rise_or_nan():
    per_sample = _per_sample()
    assert ch4.js_per_sample_nonincreasing(per_sample).passed
    rising = per_sample.copy()
    rising[10, 120] = rising[9, 120] + 1e-9
    assert not ch4.js_per_sample_nonincreasing(rising).passed
    with_nan = per_sample.copy()
    with_nan[10, 120] = NAN
    assert not ch4.js_per_sample_nonincreasing(with_nan).passed


SAT_NS = (1, 2, 3, 8, 32, 128, 512)


def _saturation():
    return np.stack([minibatch_divergences.product_divergence(P, QS, n, "js") / LOG2 for n in SAT_NS])


def test_js_bounded_passes_and_every_part_can_fail():
    sat = _saturation()
    v = ch4.js_bounded(QS, sat, SAT_NS)
    assert v.passed and v.values["saturated"] >= 2
    falling = sat.copy()
    falling[4, 60] = falling[3, 60] - 1e-9  # JS^(32) below JS^(8) at one q: not monotone in N
    assert not ch4.js_bounded(QS, falling, SAT_NS).passed
    above = sat.copy()
    above[6, 200] = 1 + 1e-9
    assert not ch4.js_bounded(QS, above, SAT_NS).passed
    widening = sat[[0, 1, 2, 3, 5, 4, 6]]  # the dip widens from N = 128 to N = 32
    assert not ch4.js_bounded(QS, widening, SAT_NS).passed
    with_nan = sat.copy()
    with_nan[5, 100] = NAN  # a NaN read as "saturated" by JS < 0.99 being False
    assert not ch4.js_bounded(QS, with_nan, SAT_NS).passed


def test_js_bounded_strict_narrowing_needs_two_saturated_n():
    sat = _saturation()[:4]  # N = 1, 2, 3, 8: only N = 8 is below the whole interval
    v = ch4.js_bounded(QS, sat, SAT_NS[:4])
    assert v.values["saturated"] == 1 and not v.passed  # "strictly decreases" would test nothing


def test_low_entropy_penalty():
    js_bits = {n: minibatch_divergences.product_divergence(P, QS, n, "js") / LOG2 for n in NS}
    assert ch4.low_entropy_penalty(QS, js_bits).passed
    assert not ch4.low_entropy_penalty(QS, {**js_bits, 1: js_bits[8]}).passed  # N = 1 as high as N = 8
    js_bits[3] = js_bits[3].copy()
    js_bits[3][10] = NAN
    assert not ch4.low_entropy_penalty(QS, js_bits).passed


def _preference():
    return dict(pref_kl=minibatch_divergences.preference_divergence(P, QS, "kl") / LOG2,
                kl_qp=ch4.bernoulli_kl(QS, P) / LOG2, kl_pq=ch4.bernoulli_kl(P, QS) / LOG2,
                pref_js=minibatch_divergences.preference_divergence(P, QS, "js") / LOG2,
                js_single=ch4.bernoulli_js(QS, P) / LOG2)


@pytest.mark.parametrize("mutation", ["kl off", "js equal", "nan in js", "minimum moved"])
def test_preference_kl_passes_and_each_half_can_fail(mutation):
    args = _preference()
    assert ch4.preference_kl(QS, P, **args).passed
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
    assert not ch4.preference_kl(QS, P, **args).passed


def test_the_enumeration_agrees_with_the_binomial_form_and_the_readings_say_what_they_see():
    assert ch4.enumeration_error(P, QS[::50], (1, 2, 3)) < 1e-12
    js_bits = {n: minibatch_divergences.product_divergence(P, QS, n, "js") / LOG2 for n in NS}
    assert ch4.describe_minima(QS, js_bits) == "Every curve has its minimum at q = 0.2."
    moved = {**js_bits, 8: js_bits[8][::-1]}
    text = ch4.describe_minima(QS, moved)
    assert text.startswith("The minima differ:") and "N = 8 at q = 0.8" in text
    assert "agree with the summary" in ch4.describe_penalty(True) and "does not grow" in ch4.describe_penalty(False)


def test_the_evidence_of_the_saturation_and_preference_checks():
    v = ch4.js_bounded(QS, _saturation(), SAT_NS)
    assert v.evidence.startswith("N in [1, 2, 3, 8, 32, 128, 512]: within [0, 1] bit: True; smallest change")
    assert v.evidence.endswith(f"({v.values['saturated']} N below the whole interval, 2 needed)")
    v = ch4.preference_kl(QS, P, **_preference())
    assert v.evidence.endswith("(> 0.001 needed); minimised at q = 0.2 (KL), 0.2 (JS)")
    assert ch4.describe_preference_minima(v) == "Both are still minimised at q = p."

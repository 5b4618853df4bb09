"""Chapter 1's module: the claims' checks, the recorded optimiser choice and the sentences the chapter glues.

The checks are tested mutation style: each test feeds a check the numbers a broken computation would give
(a NaN injected, a probe that never becomes perfect) and asserts FAIL, next to the right numbers and PASS.
"""

import dataclasses
import math

import numpy as np
import pytest

from gancompanion.chapters import ch1
from gancompanion.pipeline import claims


def test_the_recorded_optimiser_choice_is_the_first_candidate_at_the_level():
    from gancompanion.pipeline import scales

    record = ch1.OPTIMISER_CHOICE
    first = next(t for t in record["tried"] if t[3] <= record["level"])
    book = scales.TABLE["ch1.probe"]["book"]
    assert first[:3] == (book["probe_lr"], book["probe_betas"], book["probe_eps"])
    assert f"{first[0]:g}" in ch1.describe_choice()


def test_describe_falls_names_only_the_checkpoints_short_of_the_fall():
    assert ch1.describe_falls({1: 500.0, 10: 200.0}, {1: 1.0, 10: 1.0}, 100.0) == ""
    text = ch1.describe_falls({1: 500.0, 10: 20.0}, {1: 3.0, 10: 40.0}, 100.0)
    assert "20x after 10 epochs" in text and "40x" in text and "500x" not in text and "3x" not in text


def test_describe_spike_test_says_when_the_seed_does_not_test_the_explanation():
    assert ch1.describe_spike_test({"chosen": 2.0, "eps": 3.0}, 0.9, "eps").startswith("No run jumped")
    text = ch1.describe_spike_test({"chosen": 500.0, "eps": 200.0}, 0.9, "eps")
    assert "90% of its setting's ceiling" in text and "Raising eps did not prevent jumps" in text


# --- the claims' checks: they fail on what they must fail on (NaN, a slow or shallow probe) ----------------
NAN = float("nan")


def _probe_curves(fall=1000.0):
    acc = np.r_[np.linspace(0.5, 1.0, 50), np.ones(450)]
    ce = np.geomspace(1.0, 1.0 / fall, 500)
    return acc, ce


def test_perfect_discriminator_passes_and_fails_on_nan_or_slow_accuracy():
    acc, ce = _probe_curves()
    v = ch1.perfect_discriminator({1: acc, 10: acc}, {1: ce, 10: ce})
    assert v.passed
    assert v.evidence == ("accuracy >= 0.99 by iteration 49 at the latest (within 500 needed); cross-entropy fell "
                          "1e+03x at least (100x needed; checkpoints: epochs [1, 10])")
    diverged = ce.copy()
    diverged[300:] = NAN  # a diverged probe: the running mean is NaN from there on
    assert not ch1.perfect_discriminator({1: acc, 10: acc}, {1: ce, 10: diverged}).passed
    never = np.full(500, 0.9)
    v = ch1.perfect_discriminator({1: acc, 10: never}, {1: ce, 10: ce})
    assert not v.passed and v.values["first_perfect"][10] is None and v.values["slowest"] == math.inf
    assert not ch1.perfect_discriminator({1: acc}, {1: _probe_curves(fall=50)[1]}).passed


@pytest.mark.parametrize("order", [(1, 25), (25, 1)])
def test_a_diverged_probes_nan_fall_fails_the_chapter_1_checks(order):
    good = {1: 1e4, 25: 1e4}
    bad = {order[0]: NAN, order[1]: good[order[1]]}
    assert ch1.gradient_vanishes(good).passed and not ch1.gradient_vanishes(bad).passed
    assert ch1.noise_keeps_gradient({1: 2.0, 25: 2.0}).passed
    assert not ch1.noise_keeps_gradient({order[0]: NAN, order[1]: 2.0}).passed
    assert ch1.nonsaturating_unstable({1: 5.0, 25: 5.0}, {1: 3.0, 25: 3.0}).passed
    assert not ch1.nonsaturating_unstable({order[0]: NAN, order[1]: 5.0}, {1: 3.0, 25: 3.0}).passed
    assert not ch1.nonsaturating_unstable({1: 5.0, 25: 5.0}, {1: 1.0, 25: 3.0}).passed  # "larger than"


def test_the_checks_write_the_claim_lines_evidence():
    assert ch1.gradient_vanishes({1: 150.0, 25: 2e3}).evidence == (
        "fell from its peak by 1.5e+02x (epoch 1), 2e+03x (epoch 25) (100x needed); paper: 1e5x in the best case")
    assert ch1.nonsaturating_unstable({1: 5.0, 25: 7.0}, {1: 3.0, 25: 4.0}).evidence == (
        "norm grew 5x and its batch std 3x at least (first vs last tenth; both > 1 needed)")
    v = ch1.noise_keeps_gradient({1: 2.0, 25: 3.5}, {1: 10.0, 25: 4.0})
    assert v.evidence == ("with sigma = 0.5 x mean-image distance the gradient fell 2x (epoch 1), 3.5x (epoch 25) "
                          "from its peak (< 10x needed)")
    assert v.values["fall_from_peak"] == {1: 2.0, 25: 3.5} and v.values["distance"] == {1: 10.0, 25: 4.0}


def test_thresholds_come_from_the_catalogue(monkeypatch):
    claim = claims.CATALOGUE["ch1.gradient-vanishes"]
    assert ch1.gradient_vanishes({1: 150.0}).passed  # 150 >= 100
    monkeypatch.setitem(claims.CATALOGUE, claim.id, dataclasses.replace(claim, threshold={"fall": 200.0}))
    v = ch1.gradient_vanishes({1: 150.0})
    assert not v.passed and "(200x needed)" in v.evidence


def test_chapter_1_checks_fail_on_what_a_broken_run_gives():
    # the gradient does not vanish (e.g. the non-saturating cost measured by mistake): a fall of 2x
    assert not ch1.gradient_vanishes({1: 2.0, 25: 3.0}).passed
    # the noise dropped: the original cost's gradient falls by orders of magnitude again
    assert not ch1.noise_keeps_gradient({1: 2.0, 25: 1e4}).passed
    # a sign flipped in the -log D cost: the norm shrinks instead of growing
    assert not ch1.nonsaturating_unstable({1: 0.1, 25: 0.2}, {1: 2.0, 25: 2.0}).passed


def test_the_readings_of_the_probe():
    assert ch1.describe_criterion({1: 5e-6, 10: 2e-6}, 4000) == (
        "met after 4000 iterations: 5.0e-06 after 1 epoch, 2.0e-06 after 10 epochs.")
    assert ch1.describe_criterion({1: 5e-5}, 400).startswith("**not** met after 400 iterations")
    text = ch1.describe_small_noise({1: {0.0: 300.0, 0.1: 120.0, 0.5: 2.0}, 10: {0.0: 200.0, 0.5: 3.0}})
    assert text == ("After 1 epoch the gradient fell 3e+02x without noise, 1.2e+02x at sigma = 0.1 Delta, "
                    "2x at sigma = 0.5 Delta.")

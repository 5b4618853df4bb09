"""Chapter 4's library: minibatch divergences of Bernoulli data and learned set discriminators."""

import numpy as np
import pytest
import torch

from gancompanion.analytic import divergences, minibatch_divergences


@pytest.mark.parametrize("kind", ["js", "kl", "tv"])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_the_binomial_form_equals_the_sum_over_all_sequences(kind, n):
    for p, q in [(0.2, 0.7), (0.5, 0.45), (0.9, 0.1)]:
        assert minibatch_divergences.product_divergence(p, q, n, kind) == pytest.approx(
            minibatch_divergences.enumerated_divergence(p, q, n, kind), rel=1e-12, abs=1e-15)


def test_kl_adds_up_and_js_does_not():
    q = np.linspace(0.05, 0.95, 19)
    for n in (2, 3, 8):
        np.testing.assert_allclose(minibatch_divergences.product_divergence(0.2, q, n, "kl"),
                                   n * minibatch_divergences.product_divergence(0.2, q, 1, "kl"), rtol=1e-12)
        js_n, js_1 = minibatch_divergences.product_divergence(0.2, q, n), minibatch_divergences.product_divergence(0.2, q, 1)
        assert np.all(js_n <= n * js_1 + 1e-15) and np.any(js_n < n * js_1 - 1e-3)


def test_js_stays_finite_and_below_log2_with_subnormal_probabilities():
    # Binomial(512, .) has probabilities of 1e-324 and below: halving them must not give an infinite JS
    js = minibatch_divergences.product_divergence(0.2, np.linspace(0, 1, 201), 512)
    assert np.all(np.isfinite(js)) and np.all(js <= divergences.LOG2 + 1e-12)
    assert np.isfinite(divergences.js([1.0, 0.0], [1.0 - 5e-324, 5e-324]))


def test_preference_kl_is_the_sum_of_both_directions():
    q = np.linspace(0.05, 0.95, 19)
    kl_qp, kl_pq = minibatch_divergences.product_divergence(q, 0.3, 1, "kl"), minibatch_divergences.product_divergence(0.3, q, 1, "kl")
    np.testing.assert_allclose(minibatch_divergences.preference_divergence(0.3, q, "kl"), kl_qp + kl_pq, rtol=1e-12)
    assert minibatch_divergences.preference_divergence(0.3, 0.3) == pytest.approx(0.0, abs=1e-15)


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="p must be Bernoulli"):
        minibatch_divergences.product_divergence(1.2, 0.5, 2)
    with pytest.raises(ValueError, match="unknown kind 'hellinger'"):
        minibatch_divergences.product_divergence(0.2, 0.5, 2, "hellinger")
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        minibatch_divergences.product_divergence(0.2, 0.5, 0)
    with pytest.raises(ValueError, match="at most 16"):
        minibatch_divergences.enumerated_divergence(0.2, 0.5, 20)


def test_the_set_discriminator_ignores_the_order_of_a_minibatch():
    d = minibatch_divergences.SetDiscriminator(1, 8, seeds=[0, 1])
    x = torch.rand(2, 5, 4, 1)
    shuffled = x[:, :, torch.randperm(4)]
    torch.testing.assert_close(d(x), d(shuffled))
    assert d(x).shape == (2, 5)


class _CountLogit(torch.nn.Module):
    """A discriminator that outputs a given logit for each count of ones (a stand-in for a trained one)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.as_tensor(logits, dtype=torch.float64))  # (S, n + 1)

    def forward(self, x):
        k = x.sum((-1, -2)).long()  # (S, B)
        return torch.gather(self.logits, 1, k)


def test_the_bound_is_exact_for_the_optimal_discriminator_and_below_it_otherwise():
    p, qs, n = 0.2, np.array([0.1, 0.5, 0.9]), 3
    pk, qk = minibatch_divergences.binomial_pmf(p, n), minibatch_divergences.binomial_pmf(qs, n)
    optimal = _CountLogit(np.log(pk) - np.log(qk))  # D* = P / (P + Q): logit log P/Q
    exact = minibatch_divergences.product_divergence(p, qs, n)
    np.testing.assert_allclose(minibatch_divergences.js_lower_bound(optimal, p, qs, n), exact, rtol=1e-10)
    other = _CountLogit(np.zeros((3, n + 1)))  # D = 1/2 everywhere: the bound is 0
    np.testing.assert_allclose(minibatch_divergences.js_lower_bound(other, p, qs, n), 0.0, atol=1e-12)


def test_training_a_set_discriminator_approaches_the_exact_divergence():
    qs = np.array([0.2, 0.8])
    d, losses = minibatch_divergences.fit_set_discriminators(0.2, qs, 3, seeds=[0], steps=150, batch_size=128, progress=False)
    assert losses.shape == (150, 2) and losses[-20:, 1].mean() < losses[:5, 1].mean()
    bound, exact = minibatch_divergences.js_lower_bound(d, 0.2, qs, 3), minibatch_divergences.product_divergence(0.2, qs, 3)
    assert np.all(bound <= exact + 1e-9)  # a lower bound, whatever D is
    assert bound[1] > 0.8 * exact[1]  # and a trained D gets most of the way on an easy pair

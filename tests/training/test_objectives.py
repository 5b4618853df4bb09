import math

import pytest
import torch

from gancompanion.training import objectives as obj

LOG2 = math.log(2)


def test_bce_at_zero_logits_is_two_log_two():
    z = torch.zeros(3, 5)
    assert torch.allclose(obj.bce_d_loss(z, z), torch.full((3,), 2 * LOG2))


def test_bce_values_on_known_logits():
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    expected = -math.log(1 / (1 + math.exp(-2))) - math.log(1 - 1 / (1 + math.exp(1)))
    assert obj.bce_d_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def test_label_smoothing_changes_only_the_real_term():
    real, fake = torch.tensor([3.0]), torch.tensor([-2.0])
    smoothed = obj.bce_d_loss(real, fake, real_target=0.9).item()
    d = 1 / (1 + math.exp(-3))
    expected = -(0.9 * math.log(d) + 0.1 * math.log(1 - d)) - math.log(1 - 1 / (1 + math.exp(2)))
    assert smoothed == pytest.approx(expected, rel=1e-6)


def test_generator_costs_on_known_logits():
    l = torch.tensor([-3.0, 1.0])
    d = torch.sigmoid(l)
    assert obj.minimax_g_loss(l).item() == pytest.approx(torch.log(1 - d).mean().item(), rel=1e-6)
    assert obj.nonsaturating_g_loss(l).item() == pytest.approx(-torch.log(d).mean().item(), rel=1e-6)


def test_original_cost_saturates_and_alternative_does_not():
    l = torch.tensor([-30.0], requires_grad=True)  # D(G(z)) ~ 1e-13: the discriminator rejects the sample
    (g_orig,) = torch.autograd.grad(obj.minimax_g_loss(l), l)
    (g_ns,) = torch.autograd.grad(obj.nonsaturating_g_loss(l), l)
    assert abs(g_orig.item()) < 1e-12 and g_orig.item() != 0  # tiny but exact, not an underflow to 0
    assert g_ns.item() == pytest.approx(-1.0, abs=1e-9)


def test_other_objectives():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.5])
    assert obj.wgan_d_loss(real, fake).item() == pytest.approx(-0.25 - 2.0)
    assert obj.least_squares_d_loss(real, fake).item() == pytest.approx(0.5 * 2.0 + 0.5 * 0.625)
    assert obj.least_squares_g_loss(fake).item() == pytest.approx(0.5 * (4 + 0.25) / 2)
    assert obj.hinge_d_loss(real, fake).item() == pytest.approx(0.0 + 0.75)


def test_unknown_objective_lists_choices():
    with pytest.raises(ValueError, match="unknown objective 'gaussian'.*'minimax'.*'nonsaturating'"):
        obj.get_objective("gaussian")

import numpy as np
import pytest
import torch

from gancompanion.techniques import improved
from gancompanion.training.parts import DOutput, GView


def _view(fake_h, real_h, g=None, d=None):
    score = torch.zeros(fake_h.shape[:-1])
    return GView(fake=None, fake_out=DOutput(score, {"hidden": fake_h}), g=g, d=d, streams=None, event_ndim=1,
                 real=None, real_out=DOutput(score, {"hidden": real_h}))


def test_feature_matching_is_the_squared_distance_of_means():
    fake, real = torch.randn(3, 10, 4, requires_grad=True), torch.randn(3, 12, 4)
    out = improved.FeatureMatching(weight=2.0)(_view(fake, real), 0, 1)
    expected = 2.0 * ((fake.mean(1) - real.mean(1)) ** 2).mean(-1)
    assert out.shape == (3,) and torch.allclose(out, expected)
    out.sum().backward()
    assert fake.grad is not None
    assert improved.FeatureMatching.needs == {"features", "real"}


def test_feature_matching_is_zero_for_equal_means_and_names_missing_features():
    h = torch.randn(2, 5, 3)
    assert torch.allclose(improved.FeatureMatching()(_view(h, h.flip(1)), 0, 1), torch.zeros(2), atol=1e-6)
    view = _view(h, h)
    view.real_out = DOutput(torch.zeros(2, 5), {})
    with pytest.raises(ValueError, match="hidden"):
        improved.FeatureMatching()(view, 0, 1)
    with pytest.raises(ValueError, match="weight"):
        improved.FeatureMatching(weight=-1)


def test_historical_averaging_penalises_distance_to_the_running_mean():
    d = improved.FeatureDiscriminator([2, 4], seeds=[0, 1])
    ha = improved.HistoricalAveraging(0.5, player="d")
    ha.bind(None, d)
    view = _view(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), d=d)
    first = ha(view, 0, 1)
    assert first.shape == (2,) and torch.allclose(first, torch.zeros(2))  # the mean is theta itself
    before = [p.detach().clone() for p in d.parameters()]
    with torch.no_grad():
        for p in d.parameters():
            p.add_(1.0)
    second = ha(view, 1, 2)  # mean = theta_1 + 0.5, so every entry is 0.5 away
    n_per_run = sum(p[0].numel() for p in before)
    assert torch.allclose(second, torch.full((2,), 0.5 * 0.25 * n_per_run))
    second.sum().backward()
    assert all(p.grad is not None for p in d.parameters())
    state = ha.state_dict()
    other = improved.HistoricalAveraging(0.5, player="d")
    other.bind(None, d)
    other.load_state_dict(state)
    assert other.count == 2 and torch.allclose(other.sums[0], ha.sums[0])


def test_historical_averaging_validates():
    with pytest.raises(ValueError, match="weight"):
        improved.HistoricalAveraging(-1.0)
    with pytest.raises(ValueError, match="player"):
        improved.HistoricalAveraging(1.0, player="both")


def test_toy_game_gradient_descent_orbits_and_averaging_approaches():
    gd = improved.ha_game((0.5, 0.5), 0.01, 3000, 0.0)
    ha = improved.ha_game((0.5, 0.5), 0.01, 3000, 1.0)
    dist = lambda p: np.linalg.norm(p - 1.0, axis=1)
    assert dist(gd)[-1] > dist(gd)[0] and dist(ha)[-1] < 0.2 * dist(ha)[0]
    assert improved.ha_f(np.array([-2.0, 3.0])).tolist() == [-2.0, 9.0]


def test_feature_discriminator_outputs_and_per_sample_flag():
    d = improved.FeatureDiscriminator([2, 8, 8], seeds=[0, 1, 2])
    out = d.forward_features(torch.randn(3, 5, 2))
    assert out.score.shape == (3, 5) and out.features["hidden"].shape == (3, 5, 8) and d.per_sample
    mbd = improved.FeatureDiscriminator([2, 8], seeds=[0, 1], minibatch=(6, 3))
    assert not mbd.per_sample and mbd(torch.randn(2, 5, 2)).shape == (2, 5)
    k = improved.FeatureDiscriminator([64, 16], seeds=[0], outputs=10)
    out = k.forward_features(torch.randn(1, 4, 64))
    assert out.features["class_logits"].shape == (1, 4, 10)
    assert torch.allclose(out.score, torch.logsumexp(out.features["class_logits"], -1))


def test_feature_discriminator_passes_the_minibatch_layers_options():
    paper = improved.FeatureDiscriminator([2, 8], seeds=[0, 1], minibatch=(6, 3, {"weight_norm": True, "bias": -1.0}))
    assert paper.minibatch.log_scale is not None and paper.minibatch.bias.shape == (2, 1, 6)
    assert paper(torch.randn(2, 5, 2)).shape == (2, 5)
    plain = improved.FeatureDiscriminator([2, 8], seeds=[0, 1], minibatch=(6, 3))
    assert plain.minibatch.log_scale is None and plain.minibatch.bias is None
    with pytest.raises(ValueError, match="minibatch"):
        improved.FeatureDiscriminator([2, 8], seeds=[0], minibatch=(6,))


def test_generator_with_virtual_batch_norm():
    g = improved.MLPGenerator([3, 16, 2], seeds=[0, 1], vbn=32, output="tanh")
    z = torch.randn(2, 7, 3)
    x = g(z)
    assert x.shape == (2, 7, 2) and x.abs().max() <= 1 and not g.per_sample
    # a sample's output does not depend on the other samples of its batch
    assert torch.allclose(g(z[:, :1]), x[:, :1], atol=1e-6)
    plain = improved.MLPGenerator([3, 16, 2], seeds=[0, 1])
    assert plain.per_sample and plain(z).shape == (2, 7, 2)


def test_without_g_loss():
    from gancompanion.training import objectives

    base = objectives.get_objective("nonsaturating", real_target=0.9)
    wrapped = improved.without_g_loss(base)
    assert objectives.get_objective(wrapped) is wrapped
    fake = torch.randn(3, 4)
    assert torch.equal(wrapped.g_loss(fake), torch.zeros(3))
    real = torch.randn(3, 4)
    assert torch.equal(wrapped.d_loss(real, fake), base.d_loss(real, fake))


@pytest.mark.parametrize("target", [0.0, -0.1, 1.2, float("nan")])
def test_label_smoothing_target_outside_unit_interval_is_rejected(target):
    from gancompanion.training import objectives

    with pytest.raises(ValueError, match="real_target"):
        objectives.get_objective("nonsaturating", real_target=target)


def test_one_sided_smoothing_optimum_is_the_target():
    """D's loss on a real sample, a*softplus(-l) + (1-a)*softplus(l), is minimised at sigmoid(l) = a."""
    from gancompanion.training import objectives

    obj = objectives.get_objective("nonsaturating", real_target=0.9)
    logits = torch.linspace(-1, 5, 6001).reshape(1, -1, 1).expand(1, -1, 1)
    losses = torch.stack([obj.d_loss(l.reshape(1, 1), torch.full((1, 1), -50.0)) for l in logits[0, :, 0]])
    best = torch.sigmoid(logits[0, losses.argmin(), 0])
    assert abs(best.item() - 0.9) < 1e-3

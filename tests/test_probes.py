import pytest
import torch

from gancompanion import data, nets, probes, streams


class Sampler(torch.nn.Module):
    """A 'generator' that ignores z and returns draws of a fixed distribution."""

    def __init__(self, dist, seed):
        super().__init__()
        self.dist, self.gen = dist, torch.Generator().manual_seed(seed)
        self.scale = torch.nn.Parameter(torch.ones(1))  # something to differentiate

    def forward(self, z):
        return self.scale * self.dist.sample(z.shape[:-1], self.gen)


def _probe(fake_dist, iterations, noise_sigma=0.0, real_std=1.0):
    real = data.gaussians_1d([0.0], std=real_std)
    st = streams.ToyStreams(real, [0], batch_size=256, latent_dim=1)
    return probes.perfect_discriminator_probe(
        Sampler(fake_dist, 1), lambda: nets.mlp_discriminator(1, [16], [0]), st, iterations=iterations,
        lr=1e-2, grad_every=25, grad_batches=3, noise_sigma=noise_sigma, progress=False)


def test_identical_distributions_cannot_be_told_apart():
    res = _probe(data.gaussians_1d([0.0], std=1.0), iterations=200)
    assert abs(res.steps.accuracy.tail(50).mean() - 0.5) < 0.05
    assert abs(res.steps.cross_entropy.tail(50).mean() - 0.693) < 0.02


def test_far_apart_distributions_give_a_perfect_discriminator_and_a_vanishing_gradient():
    res = _probe(data.gaussians_1d([3.0], std=0.1), iterations=600, real_std=0.1)
    assert res.steps.accuracy.tail(50).min() == 1.0
    original = res.grads[res.grads.cost == "original"].groupby("iteration").grad_norm.mean()
    nonsat = res.grads[res.grads.cost == "nonsaturating"].groupby("iteration").grad_norm.mean()
    assert probes.fall_from_peak(original) > 100
    assert probes.growth(nonsat) > 1
    assert set(res.grads.batch) == {0, 1, 2}
    assert res.grads.iteration.max() == 600


def test_fall_and_growth_helpers():
    import pandas as pd

    s = pd.Series([1.0, 10.0, 5.0, 0.1, 0.1])
    assert probes.fall_from_peak(s, tail=0.2) == pytest.approx(100.0)
    assert probes.growth(pd.Series([1.0, 2.0, 4.0, 8.0]), tail=0.25) == pytest.approx(8.0)


def test_noise_keeps_the_discriminator_from_becoming_perfect():
    res = _probe(data.gaussians_1d([3.0], std=0.1), iterations=600, real_std=0.1, noise_sigma=3.0)
    assert res.steps.accuracy.tail(100).mean() < 0.8
    original = res.grads[res.grads.cost == "original"].groupby("iteration").grad_norm.mean()
    assert probes.fall_from_peak(original) < 10


def test_input_gradient_norm_of_a_linear_logit_is_a_quarter_of_its_weight_at_the_boundary():
    import torch

    class Linear(torch.nn.Module):
        def forward(self, x):
            return x @ torch.tensor([3.0, 4.0])  # logit w.x, |w| = 5; zero on the points below

    x = torch.tensor([[[4.0, -3.0], [-4.0, 3.0]]])  # (1, 2, 2), w.x = 0: sigmoid' = 1/4
    assert probes.input_gradient_norm(Linear(), x) == pytest.approx(5 / 4)


def test_supports_probe_measures_the_discriminator_on_the_curves_themselves():
    import torch

    from gancompanion import data, device, nets

    d = nets.mlp_discriminator(2, [8], [0])
    real, fake = data.Curve(offset=0.0), data.Curve(offset=0.3)
    on_real, on_fake = real.points(400).reshape(1, -1, 2), fake.points(400).reshape(1, -1, 2)
    with torch.no_grad():
        expected = 0.5 * ((d(on_real) > 0).float().mean() + (d(on_fake) < 0).float().mean()).item()
    # lr 0: D never changes, so every check must see the initial D
    trace = probes.supports_probe(d, real, fake, sigma=0.1, iterations=20, lr=0.0, batch_size=16, every=10,
                                  gen=device.generator(0, "test"), progress=False)
    assert trace.iteration.tolist() == [0, 10, 20]
    assert trace.accuracy.tolist() == pytest.approx([expected] * 3)
    assert trace.grad_real.tolist() == pytest.approx([probes.input_gradient_norm(d, on_real)] * 3)
    with pytest.raises(ValueError, match="sigma must be a number >= 0"):
        probes.supports_probe(d, real, fake, sigma=-1.0, iterations=1, lr=0.0, batch_size=4, every=1,
                              gen=device.generator(0, "test"), progress=False)

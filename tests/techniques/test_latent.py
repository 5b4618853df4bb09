"""LOGAN's latent step, and training with it beside top-k selection."""

import pytest
import torch
from torch import nn

from gancompanion.techniques import latent, selections
from gancompanion.training import nets, objectives, streams as streams_mod, train
from gancompanion import data


class Linear1(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w))

    def forward(self, x):
        return x @ self.w


class Identity(nn.Module):
    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return z + 0 * self.p


def test_latent_step_gd_and_natural():
    # WGAN's G loss -mean D(G(z)) with D linear: the per-sample gradient ascent direction is w
    w = torch.tensor([0.6, -0.8])
    obj = objectives.get_objective("wgan")
    z = torch.randn(3, 5, 2)
    gd = latent.LatentOptimisation(alpha=0.5, method="gd")(z, Identity(), Linear1(w), obj)
    assert torch.allclose(gd - z, 0.5 * w.expand_as(z), atol=1e-6)
    nat = latent.LatentOptimisation(alpha=0.9, beta=5.0, method="natural")(z, Identity(), Linear1(w), obj)
    assert torch.allclose(nat - z, 0.9 * w.expand_as(z) / (5.0 + 1.0), atol=1e-6)


def test_latent_step_keeps_g_differentiable_and_d_untouched():
    g = nets.mlp_generator(2, [8], 2, [0, 1])
    d = nets.mlp_discriminator(2, [8], [0, 1])
    z = torch.randn(2, 4, 2)
    obj = objectives.get_objective("nonsaturating")
    for through in (False, True):
        step = latent.LatentOptimisation(through_step=through)
        z2 = step(z, g, d, obj)
        assert all(p.grad is None for p in d.parameters())
        obj.g_loss(d(g(z2))).sum().backward()
        assert all(p.grad is not None for p in g.parameters())
        g.zero_grad(), d.zero_grad()
    clipped = latent.LatentOptimisation(alpha=100.0, method="gd", clip=1.0)(z, g, d, obj)
    assert clipped.abs().max() <= 1.0


@pytest.mark.parametrize("kwargs,name", [(dict(alpha=0.0), "alpha"), (dict(beta=-1.0), "beta"),
                                         (dict(method="adam"), "method"), (dict(clip=0.0), "clip")])
def test_latent_bad_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        latent.LatentOptimisation(**kwargs)


def test_train_with_latent_step_and_top_k():
    seeds = [0, 1]
    g = nets.mlp_generator(2, [16], 2, seeds)
    d = nets.mlp_discriminator(2, [16], seeds)
    st = streams_mod.ToyStreams(data.grid(), seeds, 32, 2)
    res = train.train(g, d, st, train.TrainConfig(steps=6, log_every=3), latent_step=latent.LatentOptimisation(),
                      selection=selections.TopK(epoch_steps=2), progress=False)
    assert len(res.history) == 4 and res.history["g_loss"].notna().all()

"""Post-training sampling: truncation, DRS, DDLS and DGFlow on cases with known answers."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from gancompanion.training import nets
from gancompanion import sampling


class Identity(nn.Module):
    """G(z) = z, with one (unused) parameter so that the samplers can find a device."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return z + 0 * self.p


class Fn(nn.Module):
    """D(x) = fn(x), no parameters beyond a dummy one."""

    def __init__(self, fn):
        super().__init__()
        self.fn, self.p = fn, nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.fn(x) + 0 * self.p


def test_truncation_never_beyond_threshold():
    gen = torch.Generator().manual_seed(0)
    for threshold in (0.1, 0.5, 2.0):
        z = sampling.truncated_normal((3, 5000, 4), threshold, gen)
        assert z.shape == (3, 5000, 4) and z.abs().max() <= threshold
    z = sampling.truncated_normal((20000, 1), 1.0, gen)
    # a standard normal truncated at +-1 has variance 1 - 2 phi(1) / (2 Phi(1) - 1) = 0.2911
    assert z.var().item() == pytest.approx(0.2911, abs=0.01)
    assert sampling.truncated_normal((10, 2), None, gen).shape == (10, 2)


@pytest.mark.parametrize("threshold", [0.0, -1.0, float("nan")])
def test_truncation_bad_threshold(threshold):
    with pytest.raises(ValueError, match="threshold"):
        sampling.truncate(torch.zeros(3), threshold)


def test_drs_score_is_exact_rejection_at_gamma_zero():
    logits = torch.tensor([[-3.0, -1.0, 0.0, 0.5]])
    d_max = torch.tensor([0.5])
    p = torch.sigmoid(sampling.drs_score(logits, d_max, eps=1e-8))
    assert torch.allclose(p, torch.exp(logits - 0.5), atol=1e-5)


def test_drs_accepts_by_the_density_ratio():
    # p_g = N(0, 1), p_data = N(0, 0.5^2): the optimal logit is log(p_data / p_g)(x) = log 2 - 1.5 x^2
    g, d = Identity(), Fn(lambda x: math.log(2) - 1.5 * x[..., 0] ** 2)
    gen = torch.Generator().manual_seed(1)
    out = sampling.drs(g, d, 4000, (2, 1), gamma=0.0, eps=1e-8, burn_in=2000, batch=4000, generator=gen)
    assert out.samples.shape == (2, 4000, 1)
    assert out.samples.var(dim=1).flatten().tolist() == pytest.approx([0.25, 0.25], abs=0.02)
    # acceptance of exact rejection sampling: E_pg[p_data / (M p_g)] = 1 / M = 1/2
    assert out.extra["acceptance"] == pytest.approx([0.5, 0.5], abs=0.03)
    assert np.all(out.cost.d_evals == out.cost.g_evals) and np.all(out.cost.d_evals > 2)


def test_drs_percentile_raises_the_bar():
    g, d = Identity(), Fn(lambda x: -x[..., 0] ** 2)
    gen = torch.Generator().manual_seed(2)
    low = sampling.drs(g, d, 500, (1, 1), percentile=0, burn_in=1000, generator=gen)
    high = sampling.drs(g, d, 500, (1, 1), percentile=95, burn_in=1000, generator=gen)
    assert high.extra["acceptance"][0] < low.extra["acceptance"][0]
    assert high.samples.abs().mean() < low.samples.abs().mean()


def test_drs_gamma_accepting_nothing_is_an_error():
    g, d = Identity(), Fn(lambda x: -x[..., 0] ** 2)
    with pytest.raises(ValueError, match="gamma"):
        sampling.drs(g, d, 10, (1, 1), gamma=1e4, burn_in=100, batch=100, max_proposals=1000)
    with pytest.raises(ValueError, match="percentile"):
        sampling.drs(g, d, 10, (1, 1), percentile=120)


def test_langevin_recovers_a_known_gaussian():
    # E(z) = (z - m)^2 / (2 s^2): the chains must end at mean m, variance s^2 (up to the step's bias)
    m, s = 1.5, 0.7
    gen = torch.Generator().manual_seed(3)
    z = sampling.langevin(torch.zeros(20000, 1), lambda v: ((v - m) ** 2 / (2 * s * s)).sum(-1), 0.01, 500, gen)
    assert z.mean().item() == pytest.approx(m, abs=0.03)
    assert z.var().item() == pytest.approx(s * s, rel=0.05)


def test_ddls_targets_prior_times_exp_logit():
    # d(G(z)) = a z with G = identity: p_t(z) ~ N(0, 1) e^{a z} = N(a, 1)
    a = 0.8
    g, d = Identity(), Fn(lambda x: a * x[..., 0])
    gen = torch.Generator().manual_seed(4)
    out = sampling.ddls(g, d, torch.zeros(1, 20000, 1), step_size=0.02, steps=400, generator=gen)
    assert out.samples.mean().item() == pytest.approx(a, abs=0.03)
    assert out.samples.var().item() == pytest.approx(1.0, rel=0.05)
    assert out.cost.d_evals == 400 and out.cost.g_evals == 401
    assert g.p.grad is None and d.p.grad is None


def test_dgflow_step_moves_along_a_linear_discriminator():
    w = torch.tensor([0.3, -1.2])
    g, d = Identity(), Fn(lambda x: x @ w)
    z = torch.randn(2, 7, 2, generator=torch.Generator().manual_seed(5))
    step = sampling.dgflow_step(z, g, d, eta=0.1, gamma=0.0, divergence="KL")
    assert torch.allclose(step - z, 0.1 * w.expand_as(z), atol=1e-6)
    js = sampling.dgflow_step(z, g, d, eta=0.1, gamma=0.0, divergence="JS")
    assert torch.allclose(js - z, 0.1 * torch.sigmoid(z @ w).unsqueeze(-1) * w, atol=1e-6)
    out = sampling.dgflow(g, d, z, gamma=0.0)  # defaults: eta 0.1, 25 steps
    assert torch.allclose(out.latents - z, 25 * 0.1 * w.expand_as(z), atol=1e-5)


def test_dgflow_and_ddls_bad_settings():
    g, d = Identity(), Fn(lambda x: x[..., 0])
    z = torch.zeros(1, 3, 1)
    for kwargs, name in [(dict(eta=0.0), "eta"), (dict(steps=0), "steps"), (dict(divergence="W"), "divergence"),
                         (dict(gamma=-1.0), "gamma")]:
        with pytest.raises(ValueError, match=name):
            sampling.dgflow(g, d, z, **kwargs)
    for kwargs, name in [(dict(step_size=0.0), "step_size"), (dict(steps=0), "steps")]:
        with pytest.raises(ValueError, match=name):
            sampling.ddls(g, d, z, **kwargs)


def test_seed_batched_mlps():
    g = nets.mlp_generator(2, [16], 2, [0, 1, 2])
    d = nets.mlp_discriminator(2, [16], [0, 1, 2])
    z = torch.randn(3, 50, 2)
    for out in (sampling.ddls(g, d, z, steps=3), sampling.dgflow(g, d, z, steps=3),
                sampling.drs(g, d, 50, (3, 2), burn_in=200, batch=200)):
        assert out.samples.shape == (3, 50, 2) and out.latents.shape == (3, 50, 2)
        assert torch.isfinite(out.samples).all() and out.cost.seconds > 0
    assert all(p.grad is None for p in [*g.parameters(), *d.parameters()])


def test_unbatched_networks():
    # runs = (): latents (n, latent_dim), as for the DCGAN
    g, d = Identity(), Fn(lambda x: -x[..., 0] ** 2)
    out = sampling.drs(g, d, 100, (1,), burn_in=200, batch=200)
    assert out.samples.shape == (100, 1) and isinstance(out.cost.d_evals, float)
    z = torch.randn(30, 1)
    assert sampling.ddls(g, d, z, steps=2).samples.shape == (30, 1)
    assert sampling.dgflow(g, d, z, steps=2).samples.shape == (30, 1)


@pytest.mark.parametrize("eta, gamma, name", [(-0.1, 0.0, "eta"), (0.0, 0.0, "eta"), (0.1, -1.0, "gamma"),
                                              (float("nan"), 0.0, "eta")])
def test_a_dgflow_step_refuses_a_step_that_moves_the_wrong_way(eta, gamma, name):
    g, d = nn.Identity(), nn.Linear(2, 1)
    with pytest.raises(ValueError, match=name):
        sampling.dgflow_step(torch.zeros(4, 2), g, lambda x: d(x).squeeze(-1), eta, gamma)

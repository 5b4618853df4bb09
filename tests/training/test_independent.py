"""The library against code written another way: not the same path on both sides of an assertion.

Seed-batched networks and training against plain per-seed ``torch.nn.functional.linear`` networks
and a hand-written loop; the minibatch divergences against sums written out with ``math``; the
running mean that feeds Chapter 1's verdicts against a loop.
"""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancompanion import data, plotting
from gancompanion.analytic import minibatch_divergences
from gancompanion.training import nets, streams, train


def _layers(mlp):
    return [m for m in mlp if isinstance(m, nets.SeedBatchedLinear)]


def _per_seed_forward(mlp, x, s, act=torch.tanh):
    """Run ``s`` of a seed-batched MLP as an ordinary network: F.linear with that seed's weight and bias."""
    layers = _layers(mlp)
    h = x
    for i, layer in enumerate(layers):
        h = F.linear(h, layer.weight[s].T, layer.bias[s, 0])
        if i < len(layers) - 1:
            h = act(h)
    return h


@pytest.mark.parametrize("init_std", [None, 0.1])
def test_seed_batched_mlp_equals_f_linear_on_each_seed(init_std):
    g = nets.mlp_generator(2, [16, 16], 3, seeds=[3, 5, 8], init_std=init_std)
    d = nets.mlp_discriminator(3, [16, 16], seeds=[3, 5, 8], init_std=init_std)
    z = torch.randn(3, 10, 2)
    x = g(z)
    out = d(x)
    for s in range(3):
        x_s = _per_seed_forward(g, z[s], s)
        torch.testing.assert_close(x[s], x_s, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(out[s], _per_seed_forward(d, x_s, s).squeeze(-1), rtol=1e-6, atol=1e-6)


def test_seed_batched_gradients_equal_per_seed_gradients():
    d = nets.mlp_discriminator(2, [8], seeds=[0, 1])
    x = torch.randn(2, 6, 2)
    d(x).pow(2).mean(-1).sum().backward()
    for s in range(2):
        w = [layer.weight[s].detach().clone().requires_grad_(True) for layer in _layers(d)]
        b = [layer.bias[s, 0].detach().clone().requires_grad_(True) for layer in _layers(d)]
        h = torch.tanh(F.linear(x[s], w[0].T, b[0]))
        F.linear(h, w[1].T, b[1]).squeeze(-1).pow(2).mean().backward()
        for layer, wi, bi in zip(_layers(d), w, b):
            torch.testing.assert_close(layer.weight.grad[s], wi.grad, rtol=1e-5, atol=1e-7)
            torch.testing.assert_close(layer.bias.grad[s, 0], bi.grad, rtol=1e-5, atol=1e-7)


class _Recorder:
    """Streams that remember every batch they hand out, so that a hand-written loop can replay them."""

    def __init__(self, inner):
        self.inner, self.taken = inner, []

    def real(self):
        x = self.inner.real()
        self.taken.append(("real", x.clone()))
        return x

    def latent(self):
        z = self.inner.latent()
        self.taken.append(("latent", z.clone()))
        return z

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _plain_copy(mlp, s):
    """Seed ``s`` of a seed-batched MLP as an nn.Sequential of nn.Linear (weights transposed)."""
    layers = []
    for i, layer in enumerate(_layers(mlp)):
        lin = torch.nn.Linear(*layer.weight.shape[1:])
        with torch.no_grad():
            lin.weight.copy_(layer.weight[s].T), lin.bias.copy_(layer.bias[s, 0])
        layers += [lin] + ([torch.nn.Tanh()] if i < len(_layers(mlp)) - 1 else [])
    return torch.nn.Sequential(*layers)


def test_training_equals_a_hand_written_loop_per_seed():
    seeds, steps, lr = [3, 7], 6, 1e-3
    st = _Recorder(streams.ToyStreams(data.ring(), seeds, batch_size=32, latent_dim=2, chunk=8))
    g = nets.mlp_generator(2, [16, 16], 2, seeds)
    d = nets.mlp_discriminator(2, [16, 16], seeds)
    plain = [(_plain_copy(g, s), _plain_copy(d, s)) for s in range(len(seeds))]
    train.train(g, d, st, train.TrainConfig(steps=steps, log_every=steps, lr_d=lr, lr_g=lr), progress=False)
    latents = [x for kind, x in st.taken if kind == "latent"]
    reals = [x for kind, x in st.taken if kind == "real"]
    assert len(latents) == len(reals) == steps
    for s, (g_s, d_s) in enumerate(plain):  # the textbook loop: D step on detached fakes, then -log D for G
        opt_g = torch.optim.Adam(g_s.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d_s.parameters(), lr=lr, betas=(0.5, 0.999))
        for z, x in zip(latents, reals):
            fake = g_s(z[s])
            d_loss = F.softplus(-d_s(x[s])).mean() + F.softplus(d_s(fake.detach())).mean()
            opt_d.zero_grad(), d_loss.backward(), opt_d.step()
            g_loss = F.softplus(-d_s(fake)).mean()
            opt_g.zero_grad(), g_loss.backward(), opt_g.step()
        for batched, single in ((g, g_s), (d, d_s)):
            for layer, lin in zip(_layers(batched), [m for m in single if isinstance(m, torch.nn.Linear)]):
                torch.testing.assert_close(layer.weight[s].T.detach(), lin.weight.detach(), rtol=1e-4, atol=1e-6)
                torch.testing.assert_close(layer.bias[s, 0].detach(), lin.bias.detach(), rtol=1e-4, atol=1e-6)


# --- minibatch divergences, by hand -----------------------------------------------------------------

def _hand(p, q, n, kind):
    """The divergence between the 2^n-sequence products, summed with math over every sequence."""
    total = 0.0
    for seq in itertools.product((0, 1), repeat=n):
        k = sum(seq)
        a, b = p**k * (1 - p) ** (n - k), q**k * (1 - q) ** (n - k)
        if kind == "tv":
            total += abs(a - b) / 2
        elif kind == "kl":
            if a > 0:
                total += math.inf if b == 0 else a * math.log(a / b)
        else:
            m = (a + b) / 2
            total += (a * math.log(a / m) if a > 0 else 0.0) / 2 + (b * math.log(b / m) if b > 0 else 0.0) / 2
    return total


@pytest.mark.parametrize("kind", ["js", "kl", "tv"])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_product_divergence_equals_a_sum_written_with_math(kind, n):
    for q in (0.0, 0.05, 0.2, 0.6, 1.0):
        want = _hand(0.2, q, n, kind)
        got = float(minibatch_divergences.product_divergence(0.2, q, n, kind))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15) if math.isfinite(want) else math.isinf(got)


def test_preference_divergence_equals_a_sum_over_the_four_pairs():
    p = 0.2
    for q in (0.05, 0.5, 0.9):
        a = {(x1, x2): (q if x1 else 1 - q) * (p if x2 else 1 - p) for x1 in (0, 1) for x2 in (0, 1)}  # Q x P
        b = {(x1, x2): (p if x1 else 1 - p) * (q if x2 else 1 - q) for x1 in (0, 1) for x2 in (0, 1)}  # P x Q
        kl = sum(a[k] * math.log(a[k] / b[k]) for k in a)
        js = sum(a[k] * math.log(2 * a[k] / (a[k] + b[k])) + b[k] * math.log(2 * b[k] / (a[k] + b[k])) for k in a) / 2
        assert float(minibatch_divergences.preference_divergence(p, q, "kl")) == pytest.approx(kl, rel=1e-12)
        assert float(minibatch_divergences.preference_divergence(p, q, "js")) == pytest.approx(js, rel=1e-12)


# --- the running mean that feeds Chapter 1's verdicts -----------------------------------------------

@pytest.mark.parametrize("window", [1, 3, 20, 100])
def test_running_mean_equals_a_loop(window):
    x = np.random.default_rng(0).lognormal(size=57)
    want = [np.mean(x[max(0, i - window + 1): i + 1]) for i in range(len(x))]
    np.testing.assert_allclose(plotting.running_mean(x, window), want, rtol=1e-12)


def test_running_mean_carries_a_nan_forward():
    x = np.ones(10)
    x[4] = np.nan
    r = plotting.running_mean(x, 3)
    assert np.all(r[:4] == 1) and np.all(np.isnan(r[4:]))  # a NaN never disappears from a verdict's input


def test_derived_seeds_of_different_stream_names_differ():
    """Every byte of a stream's name counts: names sharing their first four bytes get unrelated streams
    (a seed taken from the first four bytes only gave "eval" and "eval-real" the same numbers)."""
    from gancompanion.device import derive_seed

    names = ["eval", "eval-real", "labels", "labelled-batches", "latent", "latent-z", "data", "data\0"]
    seeds = [derive_seed(3, n) for n in names]
    assert len(set(seeds)) == len(names)
    assert derive_seed(3, "eval") == derive_seed(3, "eval")  # the same arguments, the same stream
    assert derive_seed(3, "eval") != derive_seed(4, "eval")


def test_conditional_streams_give_each_run_its_own_numbers_and_the_classes_of_its_modes():
    from gancompanion import data
    from gancompanion.training.streams import ConditionalToyStreams, with_class

    grid = data.grid()
    both, alone = (ConditionalToyStreams(grid, seeds, 16, 2) for seeds in ([3, 5], [5]))
    for draw in ("real", "latent"):
        a, b = getattr(both, draw)(), getattr(alone, draw)()
        assert a.shape == (2, 16, 2 + 25) and torch.equal(a[1], b[0])
    real = both.real()
    assert torch.equal(torch.cdist(real[..., :2], grid.centers).argmin(-1), real[..., 2:].argmax(-1))
    fixed = both.fixed_latent(50)
    assert torch.equal(fixed[..., 2:].argmax(-1), (torch.arange(50) % 25).expand(2, 50))
    assert torch.equal(with_class(torch.zeros(1, 3, 2), 4, 25)[..., 2:].argmax(-1), torch.full((1, 3), 4))
    with pytest.raises(ValueError, match="centers"):
        ConditionalToyStreams(data.SwissRoll(), [0], 4, 2)

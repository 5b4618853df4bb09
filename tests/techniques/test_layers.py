import pytest
import torch

from gancompanion.techniques.layers import MinibatchDiscrimination, VirtualBatchNorm


def _naive_minibatch(x, T, b, c):
    """o(x_i)_b = sum_{j != i} exp(-||M_ib - M_jb||_1), written out with loops (Salimans et al. 2016, eq. in 3.2)."""
    m = (x @ T).reshape(x.shape[0], b, c)
    n = x.shape[0]
    o = torch.zeros(n, b)
    for i in range(n):
        for j in range(n):
            if i != j:
                o[i] += torch.exp(-(m[i] - m[j]).abs().sum(-1))
    return o


def test_minibatch_features_match_the_definition():
    layer = MinibatchDiscrimination(4, kernels=3, kernel_dim=2, init_std=0.5)
    x = torch.randn(6, 4)
    out = layer(x)
    assert out.shape == (6, 4 + 3)
    assert torch.equal(out[:, :4], x)
    assert torch.allclose(out[:, 4:], _naive_minibatch(x, layer.T.detach(), 3, 2), atol=1e-5)


def test_minibatch_seed_batched_runs_are_independent():
    both = MinibatchDiscrimination(4, 5, 3, seeds=[1, 2])
    alone = MinibatchDiscrimination(4, 5, 3, seeds=[2])
    assert both.T.shape == (2, 4, 15) and torch.equal(both.T[1], alone.T[0])
    x = torch.randn(2, 7, 4)
    assert torch.allclose(both(x)[1], alone(x[1:])[0], atol=1e-6)


def test_minibatch_identical_samples_get_large_features():
    layer = MinibatchDiscrimination(3, 10, 5)
    same = layer(torch.ones(8, 3))[:, 3:]
    spread = layer(torch.randn(8, 3) * 10)[:, 3:]
    assert torch.allclose(same, torch.full_like(same, 7.0))  # 7 others at distance 0
    assert spread.mean() < same.mean()


def test_minibatch_paper_default_sizes_and_gradient():
    layer = MinibatchDiscrimination(8)
    assert (layer.kernels, layer.kernel_dim) == (100, 5)
    x = torch.randn(3, 16, 8, requires_grad=True)
    layer(x).sum().backward()
    assert torch.isfinite(layer.T.grad).all() and torch.isfinite(x.grad).all()


def test_minibatch_defaults_keep_the_plain_layer():
    layer = MinibatchDiscrimination(4, 3, 2)
    assert layer.log_scale is None and layer.bias is None and layer.weight() is layer.T
    assert [n for n, _ in layer.named_parameters()] == ["T"]


@pytest.mark.parametrize("seeds", [None, [3, 4]])
def test_minibatch_paper_options_shapes(seeds):
    layer = MinibatchDiscrimination(8, 100, 5, seeds=seeds, weight_norm=True, bias=-1.0)
    lead = () if seeds is None else (2,)
    x = torch.randn(*lead, 16, 8)
    assert layer(x).shape == (*lead, 16, 8 + 100)
    assert layer.log_scale.shape == (*lead, *((1,) if seeds else ()), 500)
    assert layer.bias.shape == (*lead, *((1,) if seeds else ()), 100)
    w = layer.weight()
    assert w.shape == layer.T.shape
    assert torch.allclose(w.square().sum(-2), torch.ones(()), atol=1e-5)  # unit columns at log-scale 0
    layer(x).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


def test_minibatch_weight_norm_is_invariant_to_scaling_T():
    layer = MinibatchDiscrimination(4, 3, 2, weight_norm=True)
    x = torch.randn(6, 4)
    before = layer(x)
    with torch.no_grad():
        layer.T.mul_(7.5)
    assert torch.allclose(layer(x), before, atol=1e-5)
    plain = MinibatchDiscrimination(4, 3, 2)  # the same T without weight norm does change
    before = plain(x)
    with torch.no_grad():
        plain.T.mul_(7.5)
    assert not torch.allclose(plain(x), before, atol=1e-3)


def test_minibatch_weight_norm_matches_the_definition_with_its_scale():
    layer = MinibatchDiscrimination(4, 3, 2, weight_norm=True, init_std=0.5)
    with torch.no_grad():
        layer.log_scale.copy_(torch.linspace(-1, 1, 6))
    T = layer.T.detach()
    w = T * torch.linspace(-1, 1, 6).exp() / T.norm(dim=0)
    x = torch.randn(6, 4)
    assert torch.allclose(layer(x)[:, 4:], _naive_minibatch(x, w, 3, 2), atol=1e-5)


def test_minibatch_bias_shifts_each_kernels_feature():
    plain = MinibatchDiscrimination(4, 3, 2, init_std=0.5)
    biased = MinibatchDiscrimination(4, 3, 2, init_std=0.5, bias=-1.0)
    x = torch.randn(6, 4)
    assert torch.equal(biased.T, plain.T) and torch.allclose(biased.bias, torch.full((3,), -1.0))
    with torch.no_grad():
        biased.bias.copy_(torch.tensor([-1.0, 0.5, 2.0]))
    shift = biased(x) - plain(x)
    assert torch.allclose(shift[:, :4], torch.zeros(6, 4))
    assert torch.allclose(shift[:, 4:], torch.tensor([-1.0, 0.5, 2.0]).expand(6, 3), atol=1e-6)
    seeded = MinibatchDiscrimination(4, 3, 2, seeds=[0, 1], bias=0.25)
    xs = torch.randn(2, 6, 4)
    assert torch.allclose(seeded(xs)[..., 4:] - MinibatchDiscrimination(4, 3, 2, seeds=[0, 1])(xs)[..., 4:],
                          torch.full((2, 6, 3), 0.25), atol=1e-6)


@pytest.mark.parametrize("kw, name", [(dict(bias=float("nan")), "bias"), (dict(weight_norm="yes"), "weight_norm")])
def test_minibatch_bad_options_are_rejected(kw, name):
    with pytest.raises(ValueError, match=name):
        MinibatchDiscrimination(4, **kw)


@pytest.mark.parametrize("kw, name", [(dict(kernels=0), "B"), (dict(kernel_dim=0), "C"),
                                      (dict(kernels=-3), "B"), (dict(kernel_dim=0.5), "C")])
def test_minibatch_sizes_below_one_are_rejected(kw, name):
    with pytest.raises(ValueError, match=name):
        MinibatchDiscrimination(4, **kw)


def test_virtual_batch_norm_reference_uses_its_own_statistics():
    vbn = VirtualBatchNorm(3, n_ref=50)
    ref = torch.randn(50, 3) * 4 + 2
    out = vbn(torch.cat([ref, torch.randn(5, 3)]))
    assert torch.allclose(out[:50].mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out[:50].pow(2).mean(0), torch.ones(3), atol=1e-3)


def test_virtual_batch_norm_sample_does_not_depend_on_its_batch():
    """A sample's output depends on the reference batch and on itself only, not on the other samples."""
    vbn = VirtualBatchNorm(3, n_ref=10, runs=2)
    ref, x = torch.randn(2, 10, 3), torch.randn(2, 4, 3)
    full = vbn(torch.cat([ref, x], dim=1))[:, 10:]
    for i in range(4):
        alone = vbn(torch.cat([ref, x[:, i:i + 1]], dim=1))[:, 10:]
        assert torch.allclose(full[:, i:i + 1], alone, atol=1e-6)
    # the statistics mix the sample in with weight 1/(n_ref + 1)
    s = x[0, 0]
    mean = (10 * ref[0].mean(0) + s) / 11
    var = (10 * ref[0].pow(2).mean(0) + s * s) / 11 - mean**2
    assert torch.allclose(full[0, 0], (s - mean) / torch.sqrt(var + 1e-5), atol=1e-5)


def test_virtual_batch_norm_bad_arguments():
    with pytest.raises(ValueError, match="n_ref"):
        VirtualBatchNorm(3, n_ref=0)
    with pytest.raises(ValueError, match="reference"):
        VirtualBatchNorm(3, n_ref=8)(torch.randn(4, 3))

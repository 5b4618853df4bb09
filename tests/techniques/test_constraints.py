import pytest
import torch
from torch import nn

from gancompanion.techniques import constraints as C
from gancompanion.training import nets


def _d(seeds=(0, 1, 2), hidden=(16, 16), activation="relu"):
    return nets.mlp_discriminator(2, list(hidden), list(seeds), activation=activation)


def _update(layer):
    """The weight the layer uses in training mode: one power iteration, then W / sigma."""
    return layer.normalised_weight()


def test_batched_sn_matches_torch_spectral_norm_per_seed():
    d = _d()
    C.SpectralNorm(1).prepare(d)
    layer = d[0]
    assert isinstance(layer, C.SpectrallyNormalisedLinear) and isinstance(layer, nets.SeedBatchedLinear)
    with torch.no_grad():  # to convergence: torch iterates u from v first, we v from u, equal only there
        for _ in range(300):
            _update(layer)
    raw = layer.weight.detach()
    u0, v0 = layer._u.clone(), layer._v.clone()
    ours_all = _update(layer)  # one power iteration for every seed, then W / sigma
    layer.eval()
    again = layer.normalised_weight()  # eval mode: the same vectors, no new iteration
    layer.train()
    assert torch.allclose(again, ours_all)
    for s in range(raw.shape[0]):
        ref = nn.Linear(raw.shape[1], raw.shape[2], bias=False)
        with torch.no_grad():
            ref.weight.copy_(raw[s].T)
        nn.utils.parametrizations.spectral_norm(ref, n_power_iterations=1)
        tp = ref.parametrizations.weight[0]
        with torch.no_grad():  # the same starting vectors: torch's u is our u, its v our v
            tp._u.copy_(u0[s, 0])
            tp._v.copy_(v0[s, 0])
        ours = ours_all[s]
        theirs = ref.weight.T
        assert torch.allclose(ours, theirs, atol=1e-6)


def test_batched_sn_gradient_matches_torch_spectral_norm_per_seed():
    """Ours against torch's parametrisation: with the vectors of our iteration (Miyato et al.'s Algorithm 1
    order: v from u, then u from v) given to torch in eval mode, the same W / sigma and the same gradient,
    u and v held constant."""
    d = _d()
    C.SpectralNorm(1).prepare(d)
    layer = d[0]
    raw = layer.weight
    g = torch.randn_like(raw)
    ours = layer.normalised_weight()  # training mode: one iteration, then W / sigma
    (grad,) = torch.autograd.grad((ours * g).sum(), raw)
    for s in range(raw.shape[0]):
        ref = nn.Linear(raw.shape[1], raw.shape[2], bias=False)
        with torch.no_grad():
            ref.weight.copy_(raw[s].detach().T)
        nn.utils.parametrizations.spectral_norm(ref, n_power_iterations=1)
        tp = ref.parametrizations.weight[0]
        with torch.no_grad():  # torch's u (out) is our u, its v (in) our v
            tp._u.copy_(layer._u[s, 0])
            tp._v.copy_(layer._v[s, 0])
        ref.eval()
        original = ref.parametrizations.weight.original
        theirs = ref.weight
        (their_grad,) = torch.autograd.grad((theirs * g[s].T).sum(), original)
        assert torch.allclose(ours[s], theirs.T, atol=1e-6)
        assert torch.allclose(grad[s], their_grad.T, atol=1e-6)


def test_vector_layers_match_torch_spectral_norm_per_seed():
    """A layer with one input or one output: sigma is |W| after one iteration from any start, in torch
    as in ours; the same W / sigma and the same gradient, seed by seed, and the norm by SVD."""
    d = nets.MLP([1, 8, 1], [0, 1, 2], "D", squeeze=True)
    C.SpectralNorm(1).prepare(d)
    for layer in (d[0], d[2]):  # (S, 1, 8): one input; (S, 8, 1): one output
        assert layer.is_vector
        raw = layer.weight
        g = torch.randn_like(raw)
        ours = layer.normalised_weight()
        (grad,) = torch.autograd.grad((ours * g).sum(), raw)
        for s in range(raw.shape[0]):
            ref = nn.Linear(raw.shape[1], raw.shape[2], bias=False)
            with torch.no_grad():
                ref.weight.copy_(raw[s].detach().T)
            nn.utils.parametrizations.spectral_norm(ref, n_power_iterations=1)  # training mode: one iteration
            original = ref.parametrizations.weight.original
            theirs = ref.weight
            (their_grad,) = torch.autograd.grad((theirs * g[s].T).sum(), original)
            assert torch.allclose(ours[s], theirs.T, atol=1e-6)
            assert torch.allclose(grad[s], their_grad.T, atol=1e-6)
        assert torch.allclose(C.spectral_norm_estimate(layer), C.spectral_norm_exact(layer), rtol=1e-5)
        assert torch.allclose(C.spectral_norm_exact(layer, normalised=True), torch.ones(3), atol=1e-5)


def test_estimate_converges_to_svd_per_seed():
    d = _d(seeds=(0, 1, 2, 3))
    C.SpectralNorm(1).prepare(d)
    layer = d[2]
    for _ in range(200):
        _update(layer)
    est = C.spectral_norm_estimate(layer)
    raw = layer.weight.detach()
    exact = torch.linalg.matrix_norm(raw.double(), ord=2).float()
    svd = torch.stack([torch.linalg.svdvals(w)[0] for w in raw])
    assert est.shape == (4,)
    assert torch.allclose(est, exact, rtol=1e-4)
    assert torch.allclose(exact, svd, rtol=1e-5)
    assert torch.allclose(C.spectral_norm_exact(layer, normalised=True), torch.ones(4), atol=1e-3)
    # one sigma per seed, never the stacked weight as one matrix
    assert not torch.allclose(est, est[0].expand(4))


def test_sn_gradient_within_lipschitz_bound_and_trains():
    torch.manual_seed(0)
    d = _d(seeds=(0, 1))
    C.SpectralNorm(1).prepare(d)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2)
    for _ in range(100):  # the normalisation works inside training (after 20 steps one seed's lagged by 1.36)
        loss = -d(torch.randn(2, 64, 2)).mean()
        opt.zero_grad(), loss.backward(), opt.step()
    d.eval()
    x = (torch.randn(2, 512, 2) * 3).requires_grad_(True)
    (g,) = torch.autograd.grad(d(x).sum(), x)
    norms = g.norm(dim=-1)
    bound = C.lipschitz_bound(d)
    assert torch.all(norms <= bound[:, None] * (1 + 1e-5))
    assert torch.all(bound < 1.05)  # the persistent power iteration has caught up (100 steps: < 1.01 on 8 seeds)


def test_prepare_is_idempotent_and_plain_modules_use_torch():
    d = _d()
    sn = C.SpectralNorm()
    sn.prepare(d)
    u = d[0]._u.clone()
    sn.prepare(d)  # a second prepare leaves the layer as it is: no new start for u
    assert torch.equal(d[0]._u, u) and type(d[0]) is C.SpectrallyNormalisedLinear
    lin = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    sn.prepare(lin)
    assert C.has_spectral_norm(lin[0]) and C.has_spectral_norm(lin[2])
    for _ in range(100):
        lin[0].weight
    assert C.spectral_norm_estimate(lin[0]).item() == pytest.approx(
        torch.linalg.matrix_norm(lin[0].parametrizations.weight.original.detach(), ord=2).item(), rel=1e-4)


def test_weight_clip_bounds_every_parameter():
    d = _d()
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(100)
    C.WeightClip(0.01).after_step(d)
    assert all(p.abs().max() <= 0.01 for p in d.parameters())
    assert any((p.abs() == 0.01).any() for p in d.parameters())


@pytest.mark.parametrize("make, match", [
    (lambda: C.WeightClip(-0.1), "c must be"),
    (lambda: C.SpectralNorm(0), "n_power_iterations"),
    (lambda: C.get_constraint("max_norm"), "unknown constraint 'max_norm'"),
])
def test_bad_input_names_the_parameter(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_registry():
    assert isinstance(C.get_constraint("weight_clip", c=0.1), C.WeightClip)
    assert C.get_constraint("spectral_norm", n_power_iterations=2).n_power_iterations == 2
    with pytest.raises(ValueError, match="no spectral normalisation"):
        C.spectral_norm_estimate(nn.Linear(2, 2))


def test_weight_clip_per_run():
    d = _d(seeds=(0, 1, 2))
    with torch.no_grad():
        for p in d.parameters():
            p.fill_(5.0)
    C.WeightClip((0.1, 0.01, 0.001)).after_step(d)
    for p in d.parameters():
        assert torch.allclose(p.amax(dim=tuple(range(1, p.ndim))), torch.tensor([0.1, 0.01, 0.001]))
    with pytest.raises(ValueError, match="first axis"):
        C.WeightClip((0.1, 0.2)).after_step(d)
    with pytest.raises(ValueError, match="c must be"):
        C.WeightClip((0.1, -1.0))


def test_iterates_in_training_only_and_graphs_stay_valid():
    d = _d(seeds=(0, 1))
    C.SpectralNorm(1).prepare(d)
    layer = d[0]
    x = torch.randn(2, 8, 2, requires_grad=True)
    a, b = d(x).sum(), d(x * 2).sum()  # two calls before any backward (as the gradient penalty makes)
    (a + b).backward()  # no error: the vectors were replaced, not modified in place
    u1 = layer._u.clone()
    d.eval()  # eval mode: the stored vectors, no new iteration
    assert torch.allclose(layer.normalised_weight(), layer.weight / layer.sigma()[:, None, None])
    assert torch.allclose(C.used_weight(layer), layer.normalised_weight())
    d(x)
    assert torch.equal(layer._u, u1)
    d.train()
    d.requires_grad_(False)  # as in the generator's step: still an iteration, as torch's spectral_norm does
    d(x)
    assert not torch.equal(layer._u, u1)


def test_normalised_layers_keep_their_state_in_a_state_dict():
    """u and v are buffers: a checkpoint carries them, and a net loaded from it iterates from there."""
    d, e = _d(seeds=(0, 1)), _d(seeds=(0, 1))
    for net in (d, e):
        C.SpectralNorm(1).prepare(net)
    for _ in range(5):
        d(torch.randn(2, 8, 2))
    e.load_state_dict(d.state_dict())
    x = torch.randn(2, 8, 2)
    assert torch.equal(d(x), e(x)) and torch.equal(d[2]._u, e[2]._u)


def test_tracks_svd_under_fused_adam():
    torch.manual_seed(0)
    d = _d(seeds=(0, 1), hidden=(32, 32))
    C.SpectralNorm(1).prepare(d)
    opt = torch.optim.Adam(d.parameters(), lr=1e-3, fused=True)  # in-place updates by one kernel
    for _ in range(300):
        loss = (d(torch.randn(2, 64, 2)) - d(torch.randn(2, 64, 2) + 2)).mean()
        opt.zero_grad(), loss.backward(), opt.step()
    for m in d.modules():
        if C.has_spectral_norm(m):
            assert torch.allclose(C.spectral_norm_estimate(m), C.spectral_norm_exact(m), rtol=0.1)


def test_layer_gradient_norms_of_a_linear_critic():
    """One linear layer f(x) = w.x + b: every one of the 2n inputs gets gradient +-w / n, so the norm is
    |w| sqrt(2 / n) per run."""
    net = nets.MLP([2, 1], [0, 1], "D", squeeze=True)
    n = 8
    norms = C.layer_gradient_norms(net, torch.randn(2, n, 2), torch.randn(2, n, 2))
    w = net[0].weight.detach().reshape(2, 2).norm(dim=1)
    assert norms.shape == (1, 2)
    assert torch.allclose(torch.as_tensor(norms[0]), w * (2 / n) ** 0.5, rtol=1e-5)


@pytest.mark.parametrize("c", ["0.01", None, ["0.01"], -0.1])
def test_weight_clip_names_c(c):
    with pytest.raises(ValueError, match=r"^c must be a number >= 0"):
        C.WeightClip(c)

"""LOGAN's latent step (Wu et al. 2019), and training with it beside top-k selection."""

import copy

import pytest
import torch
from torch import nn

from gancompanion.techniques import latent, selections
from gancompanion.training import nets, objectives, streams as streams_mod, train
from gancompanion.training.parts import DOutput, DView
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


class LinearG(nn.Module):
    """G(z) = A z, batched over runs: z (*runs, B, k) -> (*runs, B, n)."""

    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(torch.as_tensor(a))

    def forward(self, z):
        return z @ self.a.T


class LinearD(nn.Module):
    """D(x) = w . x + b."""

    def __init__(self, w, b=0.0):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w))
        self.b = nn.Parameter(torch.as_tensor(b, dtype=self.w.dtype))

    def forward(self, x):
        return x @ self.w + self.b


def linear_pair():
    a = torch.tensor([[1.0, 0.5, -0.3], [0.2, -1.0, 0.7]], dtype=torch.float64)  # G: R^3 -> R^2
    w = torch.tensor([0.4, -0.9], dtype=torch.float64)
    return LinearG(a), LinearD(w, 0.1), a, w


def test_latent_step_gd_and_natural():
    # WGAN's G loss -mean D(G(z)) with D linear: the per-sample gradient ascent direction is w
    w = torch.tensor([0.6, -0.8])
    obj = objectives.get_objective("wgan")
    z = torch.randn(3, 5, 2)
    gd = latent.LatentOptimisation(alpha=0.5, method="gd")(z, Identity(), Linear1(w), obj)
    assert torch.allclose(gd - z, 0.5 * w.expand_as(z), atol=1e-6)
    nat = latent.LatentOptimisation(alpha=0.9, beta=5.0, method="natural")(z, Identity(), Linear1(w), obj)
    assert torch.allclose(nat - z, 0.9 * w.expand_as(z) / (5.0 + 1.0), atol=1e-6)


@pytest.mark.parametrize("objective", ["nonsaturating", "wgan"])
def test_score_step_direction_and_size_closed_form(objective):
    # f(z) = D(G(z)) = w.(A z) + b, so df/dz = A^T w for every sample, whatever the objective
    g, d, a, w = linear_pair()
    grad = a.T @ w
    z = torch.randn(2, 4, 3, dtype=torch.float64)
    obj = objectives.get_objective(objective)
    gd = latent.LatentOptimisation(alpha=0.3, method="gd", target="score")(z, g, d, obj)
    assert torch.allclose(gd - z, (0.3 * grad).expand_as(z), atol=1e-12)
    # the natural-gradient step: dz = alpha g / (beta + |g|^2), so |dz| = alpha |g| / (beta + |g|^2)
    nat = latent.LatentOptimisation(alpha=0.9, beta=5.0, method="natural", target="score")(z, g, d, obj)
    size = 0.9 * grad.norm() / (5.0 + grad.norm() ** 2)
    assert torch.allclose((nat - z).norm(dim=-1), size.expand(2, 4), atol=1e-12)
    assert torch.allclose(nat - z, (0.9 * grad / (5.0 + grad @ grad)).expand_as(z), atol=1e-12)


def test_natural_step_size_is_bounded_by_alpha_over_two_sqrt_beta():
    # |dz| = alpha |g| / (beta + |g|^2) peaks at |g| = sqrt(beta), at alpha / (2 sqrt(beta)), for any D
    g = Identity().double()
    obj = objectives.get_objective("wgan")
    z = torch.zeros(1, 7, 2, dtype=torch.float64)
    step = latent.LatentOptimisation(alpha=0.9, beta=4.0, method="natural", target="score")
    for scale in [0.1, 2.0, 50.0]:  # |g| below, at and above sqrt(beta) = 2
        d = Linear1(torch.tensor([scale, 0.0], dtype=torch.float64))
        size = (step(z, g, d, obj) - z).norm(dim=-1)
        assert torch.allclose(size, torch.full_like(size, 0.9 * scale / (4.0 + scale ** 2)), atol=1e-12)
        assert (size <= 0.9 / (2 * 4.0 ** 0.5) + 1e-12).all()


def test_g_loss_target_weights_the_nonsaturating_step_by_one_minus_sigmoid():
    # the library's earlier step: f = -B L_G; for -log sigmoid(D) its gradient is (1 - sigmoid(D)) A^T w
    g, d, a, w = linear_pair()
    z = torch.randn(1, 5, 3, dtype=torch.float64)
    obj = objectives.get_objective("nonsaturating")
    out = latent.LatentOptimisation(alpha=0.3, method="gd")(z, g, d, obj)
    weight = 1 - torch.sigmoid(d(g(z))).detach()
    assert torch.allclose(out - z, 0.3 * weight[..., None] * (a.T @ w), atol=1e-12)


def test_clipping_to_the_box():
    g, d, a, w = linear_pair()
    obj = objectives.get_objective("wgan")
    z = 2 * torch.rand(3, 6, 3, dtype=torch.float64) - 1
    step = latent.LatentOptimisation(alpha=2.0, method="gd", clip=1.0, target="score")
    out = step(z, g, d, obj)
    assert out.abs().max() <= 1.0
    assert torch.equal(out, (z + 2.0 * (a.T @ w)).clamp(-1, 1))
    assert (out.abs() == 1.0).any()  # the step was large enough for the clip to act


def _mlp_pair(seed=0):
    torch.manual_seed(seed)
    g = nets.mlp_generator(3, [6], 2, [0]).double()
    d = nets.mlp_discriminator(2, [6], [0]).double()
    return g, d


def _finite_differences(params, fn, eps=1e-6):
    """Central differences of the scalar ``fn()`` in every entry of ``params``, flattened."""
    out = []
    for p in params:
        for i in range(p.numel()):
            vals = []
            for sign in (1, -1):
                with torch.no_grad():
                    p.view(-1)[i] += sign * eps
                vals.append(fn().item())
                with torch.no_grad():
                    p.view(-1)[i] -= sign * eps
            out.append((vals[0] - vals[1]) / (2 * eps))
    return torch.tensor(out, dtype=torch.float64)


def _g_loss_through_step(step, g, d, z, obj):
    return obj.g_loss(d(g(step(z, g, d, obj)))).sum()


@pytest.mark.parametrize("method", ["gd", "natural"])
def test_second_order_gradient_matches_finite_differences(method):
    g, d = _mlp_pair()
    obj = objectives.get_objective("nonsaturating")
    z = 0.8 * (2 * torch.rand(1, 5, 3, dtype=torch.float64) - 1)  # inside the box: the clip does not act
    step = latent.LatentOptimisation(alpha=0.5, beta=1.0, method=method, clip=1.0, through_step=True,
                                     target="score")
    loss = _g_loss_through_step(step, g, d, z, obj)
    auto = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss, list(g.parameters()))])
    fd = _finite_differences(list(g.parameters()), lambda: _g_loss_through_step(step, g, d, z, obj))
    assert torch.allclose(auto, fd, rtol=1e-5, atol=1e-8)
    # the first-order gradient (dz a constant) misses the second-order terms: it differs from the total
    first = latent.LatentOptimisation(alpha=0.5, beta=1.0, method=method, clip=1.0, target="score")
    loss1 = _g_loss_through_step(first, g, d, z, obj)
    auto1 = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss1, list(g.parameters()))])
    assert (auto1 - fd).abs().max() > 1e-4


@pytest.mark.parametrize("method,penalty", [("gd", 0.0), ("natural", 0.0), ("natural", 0.5)])
def test_ds_gradient_through_the_step_matches_finite_differences(method, penalty):
    # L_D = d_loss(D(x), D(G([z + dz]))) + w mean |dz|^2 with dz = dz(theta_D): the D step's gradient (its
    # loss on G(z') as a constant, plus the step's D terms) must be L_D's total derivative in D's weights
    g, d = _mlp_pair(1)
    obj = objectives.get_objective("nonsaturating")
    z = 0.8 * (2 * torch.rand(1, 5, 3, dtype=torch.float64) - 1)
    real = torch.randn(1, 5, 2, dtype=torch.float64)
    step = latent.LatentOptimisation(alpha=0.5, beta=1.0, method=method, clip=1.0, through_step_d=True,
                                     target="score", penalty=penalty, penalise="d")
    d_terms, g_terms = step.terms()
    assert g_terms == () and len(d_terms) == (2 if penalty else 1)
    for t in d_terms:
        t.bind(g, d)

    def d_loss_total():
        moved = step(z, g, d, obj)
        return (obj.d_loss(d(real), d(g(moved))) + penalty * step._last["dz"].pow(2).sum(-1).mean(-1)).sum()

    x = g(step(z, g, d, obj)).detach()
    view = DView(real, x, DOutput(d(real)), DOutput(d(x)), d, None, 1)
    plain = obj.d_loss(view.real_out.score, view.fake_out.score)
    extra = sum(t(view) for t in d_terms)
    # the through-step term adds 0 to the loss's value; the penalty adds w mean |dz|^2
    assert torch.allclose(extra, penalty * step._last["dz"].pow(2).sum(-1).mean(-1), atol=1e-12)
    params = list(d.parameters())
    auto = torch.cat([t.reshape(-1) for t in torch.autograd.grad((plain + extra).sum(), params, retain_graph=True)])
    first = torch.cat([t.reshape(-1) for t in torch.autograd.grad(plain.sum(), params)])
    fd = _finite_differences(params, d_loss_total)
    assert torch.allclose(auto, fd, rtol=1e-5, atol=1e-8)
    assert (first - fd).abs().max() > 1e-4  # without the term the gradient misses the through-step part


def test_d_terms_act_on_the_last_d_step_after_each_latent_step():
    g, d, a, w = linear_pair()
    obj = objectives.get_objective("wgan")
    z = torch.randn(2, 4, 3, dtype=torch.float64)
    step = latent.LatentOptimisation(alpha=0.3, method="gd", target="score", penalty=7.0, penalise="d")
    (term,), _ = step.terms(n_dis=3)
    term.bind(g, d)
    view = type("View", (), {"d": d, "fake_out": DOutput(torch.zeros(2, 4, dtype=torch.float64))})()
    want = 7.0 * float((0.3 * a.T @ w).pow(2).sum())
    for _ in range(2):  # two iterations of the loop
        step(z, g, d, obj)
        values = [float(term(view)[0].detach()) for _ in range(3)]
        assert values[:2] == [0.0, 0.0] and values[2] == pytest.approx(want, rel=1e-12)


def test_the_step_penalty_terms_value():
    # dz = alpha A^T w (gd, score): the term is w_pen |alpha A^T w|^2, for G's and for D's loss alike
    g, d, a, w = linear_pair()
    obj = objectives.get_objective("wgan")
    z = torch.randn(2, 4, 3, dtype=torch.float64)
    step = latent.LatentOptimisation(alpha=0.3, method="gd", target="score", penalty=7.0)
    d_terms, g_terms = step.terms()
    assert len(d_terms) == 1 and len(g_terms) == 1
    step(z, g, d, obj)
    want = torch.full((2,), 7.0 * float((0.3 * a.T @ w).pow(2).sum()), dtype=torch.float64)
    g_val = g_terms[0](None)
    d_terms[0].bind(g, d)
    view = type("View", (), {"d": d})()
    d_val = d_terms[0](view)
    assert torch.allclose(g_val, want, atol=1e-12) and torch.allclose(d_val, want, atol=1e-12)
    # D's term reaches D's weights and not G's; G's term reaches G's weights and not D's
    d_val.sum().backward()
    assert d.w.grad is not None and g.a.grad is None
    d.zero_grad()
    g_val.sum().backward()
    assert g.a.grad is not None and d.w.grad is None
    assert latent.LatentOptimisation(penalty=0.0).terms() == ((), ())
    only_g = latent.LatentOptimisation(penalty=1.0, penalise="g").terms()
    assert only_g[0] == () and len(only_g[1]) == 1


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


def test_second_order_step_is_immune_to_ds_in_place_update():
    # the step's graph is built on D's weights of the moment: a fused Adam step on D afterwards (which does
    # not trip autograd's version check) must not change G's gradient through dz
    g, d = _mlp_pair()
    obj = objectives.get_objective("nonsaturating")
    z = 0.5 * torch.randn(1, 6, 3, dtype=torch.float64)
    step = latent.LatentOptimisation(alpha=0.5, method="gd", through_step=True, target="score")
    z2 = step(z, g, d, obj)
    d_old = copy.deepcopy(d)
    opt = torch.optim.Adam(d.parameters(), lr=0.5, fused=True)  # as the loop's: no version bump
    sum(p.sum() for p in d.parameters()).backward()
    opt.step()
    assert any((p - q).abs().max() > 0.1 for p, q in zip(d.parameters(), d_old.parameters()))
    got = torch.autograd.grad(obj.g_loss(d(g(z2))).sum(), list(g.parameters()))
    frozen = obj.g_loss(d(g(step(z, g, d_old, obj)))).sum()  # dz from the old D, the loss from the new
    want = torch.autograd.grad(frozen, list(g.parameters()))
    for a_, b_ in zip(got, want):
        assert torch.allclose(a_, b_, atol=1e-12)


def test_train_second_order_g_gradient_uses_d_before_its_update():
    # one training step, G's learning rate 0 so its gradient stays on its parameters: G's gradient must be
    # that of g_loss(D_new(G(z'))) with z' = [z + dz] and dz from D's weights *before* the D step
    seeds = [0, 1]
    torch.manual_seed(0)
    g = nets.mlp_generator(3, [16], 2, seeds)
    d = nets.mlp_discriminator(2, [16], seeds)
    g0, d0 = copy.deepcopy(g), copy.deepcopy(d)
    step = latent.LatentOptimisation.published(penalty=0.0, alpha=2.0, method="gd")
    make = lambda: streams_mod.ToyStreams(data.grid(), seeds, 32, 3, prior="uniform")  # noqa: E731
    train.train(g, d, make(), train.TrainConfig(steps=1, lr_g=0.0, lr_d=0.05, log_every=1), latent_step=step,
                progress=False, compile=False)
    got = [p.grad.clone() for p in g.parameters()]
    assert all(torch.equal(p, q) for p, q in zip(g.parameters(), g0.parameters()))  # lr 0: G unchanged
    assert any((p - q).abs().max() > 1e-3 for p, q in zip(d.parameters(), d0.parameters()))  # D moved
    obj = objectives.get_objective("nonsaturating")
    z = make().latent()

    def g_grad(d_for_step):
        loss = obj.g_loss(d(g0(step(z, g0, d_for_step, obj)))).sum()
        return torch.autograd.grad(loss, list(g0.parameters()))

    right, wrong = g_grad(d0), g_grad(d)
    for a_, b_ in zip(got, right):
        assert torch.allclose(a_, b_, rtol=1e-5, atol=1e-7)
    assert max((a_ - b_).abs().max() for a_, b_ in zip(right, wrong)) > 1e-4  # the test can tell them apart


def test_uniform_prior_and_bad_prior():
    st = streams_mod.ToyStreams(data.grid(), [0, 1], 256, 4, prior="uniform")
    z = torch.cat([st.latent() for _ in range(8)], dim=1)
    assert z.min() >= -1 and z.max() <= 1
    # U(-1, 1) has variance 1/3 (N(0, 1) has 1); 16384 draws put the sample variance within 0.02 of it
    assert abs(z.var().item() - 1 / 3) < 0.02
    assert st.fixed_latent(64).abs().max() <= 1
    with pytest.raises(ValueError, match="prior"):
        streams_mod.ToyStreams(data.grid(), [0], 8, 2, prior="cauchy")


@pytest.mark.parametrize("kwargs,name", [(dict(alpha=0.0), "alpha"), (dict(beta=-1.0), "beta"),
                                         (dict(method="adam"), "method"), (dict(clip=0.0), "clip"),
                                         (dict(target="loss"), "target"), (dict(penalty=-1.0), "penalty"),
                                         (dict(penalise="x"), "penalise")])
def test_latent_bad_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        latent.LatentOptimisation(**kwargs)


def test_checkpoint_id_of_the_earlier_settings_is_unchanged():
    assert latent.LatentOptimisation().checkpoint_id == (
        "LatentOptimisation(alpha=0.9, beta=5.0, method='natural', clip=None, through_step=False, name='logan')")
    assert "penalty=3.0" in latent.LatentOptimisation.published(penalty=3.0).checkpoint_id


def test_train_with_latent_step_and_top_k():
    seeds = [0, 1]
    g = nets.mlp_generator(2, [16], 2, seeds)
    d = nets.mlp_discriminator(2, [16], seeds)
    st = streams_mod.ToyStreams(data.grid(), seeds, 32, 2)
    res = train.train(g, d, st, train.TrainConfig(steps=6, log_every=3), latent_step=latent.LatentOptimisation(),
                      selection=selections.TopK(epoch_steps=2), progress=False)
    assert len(res.history) == 4 and res.history["g_loss"].notna().all()


def test_train_logan_as_published_logs_its_penalty_terms():
    seeds = [0, 1]
    g = nets.mlp_generator(2, [16], 2, seeds)
    d = nets.mlp_discriminator(2, [16], seeds)
    st = streams_mod.ToyStreams(data.grid(), seeds, 32, 2, prior="uniform")
    step = latent.LatentOptimisation.published(penalty=1.0)
    res = train.train(g, d, st, train.TrainConfig(steps=4, n_dis=2, log_every=2), latent_step=step, progress=False)
    assert {"logan_dz_d", "logan_dz_g", "logan_through_dz_d"} <= set(res.history.columns)
    assert (res.history[["logan_dz_d", "logan_dz_g"]] > 0).all().all()

import pytest
import torch

from gancompanion.techniques import d_terms as reg


class Linear(torch.nn.Module):
    """phi(x) = x . w per run: its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.as_tensor(w, dtype=torch.float64))

    def forward(self, x):
        return (x * self.w).sum(-1)


def _inputs(n=6, dim=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(1, n, dim, generator=g, dtype=torch.float64).requires_grad_(True)
    fake = torch.randn(1, n, dim, generator=g, dtype=torch.float64).requires_grad_(True)
    return real, fake


def test_r1_and_r2_of_a_linear_discriminator():
    d = Linear([1.0, -2.0, 2.0])  # |w|^2 = 9
    real, fake = _inputs()
    assert reg.r1(real=real, real_logits=d(real), event_ndim=1, weight=0.4).item() == pytest.approx(0.2 * 9)
    assert reg.r2(fake=fake, fake_logits=d(fake), event_ndim=1, weight=0.4).item() == pytest.approx(0.2 * 9)


def test_roth_weights_by_one_minus_d_on_data_and_d_on_samples():
    d = Linear([0.5, 0.0, 0.0])
    real, fake = _inputs()
    lr, lf = d(real), d(fake)
    expected = 0.5 * 0.1 * (((1 - torch.sigmoid(lr)) ** 2).mean() * 0.25 + (torch.sigmoid(lf) ** 2).mean() * 0.25)
    got = reg.roth_js(real=real, fake=fake, real_logits=lr, fake_logits=lf, event_ndim=1, weight=0.1)
    assert got.item() == pytest.approx(expected.item(), rel=1e-10)


def test_roth_penalty_gradient_against_finite_differences():
    torch.manual_seed(0)
    d = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    real, fake = _inputs(dim=2)

    def penalty():
        r, f = real.detach().requires_grad_(True), fake.detach().requires_grad_(True)
        lr, lf = d(r).squeeze(-1), d(f).squeeze(-1)
        return reg.roth_js(real=r, fake=f, real_logits=lr, fake_logits=lf, event_ndim=1, weight=1.0).sum()

    w = d[0].weight
    (analytic,) = torch.autograd.grad(penalty(), w)  # double backpropagation
    eps, numeric = 1e-6, torch.zeros_like(w)
    for idx in [(0, 0), (3, 1), (7, 0)]:
        with torch.no_grad():
            w[idx] += eps
        up = penalty().item()
        with torch.no_grad():
            w[idx] -= 2 * eps
        down = penalty().item()
        with torch.no_grad():
            w[idx] += eps
        numeric[idx] = (up - down) / (2 * eps)
        assert analytic[idx].item() == pytest.approx(numeric[idx].item(), rel=1e-5, abs=1e-9)


def test_wgan_gp_penalises_distance_from_unit_norm():
    real, fake = _inputs()
    uniform = lambda shape: torch.rand(shape, dtype=torch.float64)  # noqa: E731
    unit = Linear([0.6, 0.8, 0.0])
    double = Linear([1.2, 1.6, 0.0])
    kw = dict(real=real, fake=fake, event_ndim=1, weight=10.0, uniform=uniform)
    assert reg.wgan_gp(d=unit, **kw).item() == pytest.approx(0.0, abs=1e-9)
    assert reg.wgan_gp(d=double, **kw).item() == pytest.approx(10.0, rel=1e-6)
    half = Linear([0.3, 0.4, 0.0])
    assert reg.wgan_gp(d=half, **kw).item() == pytest.approx(2.5, rel=1e-6)
    assert reg.REGULARIZERS["wgan_gp_one_sided"].penalty(d=half, **kw).item() == pytest.approx(0.0, abs=1e-9)


def test_penalties_are_per_run():
    d = Linear([[1.0, 0.0], [0.0, 3.0]])  # two runs with different gradients
    real = torch.randn(2, 5, 2, dtype=torch.float64).requires_grad_(True)
    out = reg.r1(real=real, real_logits=(real * d.w.unsqueeze(1)).sum(-1), event_ndim=1, weight=2.0)
    assert out.tolist() == pytest.approx([1.0, 9.0])


def test_unknown_regularizer_lists_choices():
    with pytest.raises(ValueError, match="unknown regularizer 'l2'.*'roth'.*'r1'"):
        reg.get_regularizer("l2")


def _fd_squared_input_gradient(d, x, eps=1e-6):
    """|d phi / d x|^2 per sample by central finite differences of the logit, (*runs, B)."""
    grads = []
    with torch.no_grad():
        for j in range(x.shape[-1]):
            dx = torch.zeros_like(x)
            dx[..., j] = eps
            grads.append((d(x + dx) - d(x - dx)) / (2 * eps))
    return torch.stack(grads, -1).pow(2).sum(-1)


@pytest.mark.parametrize("name", ["roth", "r1", "r2"])
def test_penalty_values_against_finite_difference_input_gradients(name):
    """Each penalty of a nonlinear (tanh MLP, two runs) discriminator, rebuilt from its definition with
    input gradients taken by finite differences instead of autograd."""
    from gancompanion.training import nets

    d = nets.mlp_discriminator(3, [16, 16], seeds=[0, 1], init_std=0.5).double()
    g = torch.Generator().manual_seed(3)
    real = torch.randn(2, 7, 3, generator=g, dtype=torch.float64)
    fake = torch.randn(2, 7, 3, generator=g, dtype=torch.float64) + 0.5
    r, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    lr, lf = d(r), d(f)
    got = reg.get_regularizer(name).penalty(real=r, fake=f, real_logits=lr, fake_logits=lf, event_ndim=1,
                                            weight=0.3)
    gr, gf = _fd_squared_input_gradient(d, real), _fd_squared_input_gradient(d, fake)
    dr, df = torch.sigmoid(lr.detach()), torch.sigmoid(lf.detach())
    expected = {
        "roth": 0.15 * (((1 - dr) ** 2 * gr).mean(-1) + (df**2 * gf).mean(-1)),
        "r1": 0.15 * gr.mean(-1),
        "r2": 0.15 * gf.mean(-1),
    }[name]
    assert got.shape == (2,)
    assert got.detach().numpy() == pytest.approx(expected.numpy(), rel=1e-7)
    assert expected[0] != pytest.approx(expected[1].item(), rel=1e-3)  # the two runs differ
